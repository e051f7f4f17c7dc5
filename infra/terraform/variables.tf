variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "us-east-1"
}

variable "name_prefix" {
  description = "Prefix of every resource name (tables, functions, activities, state machine). The code derives the same names from it (domain/src/deployment.rs)."
  type        = string
  default     = "meeting-recorder"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name_prefix))
    error_message = "name_prefix must be 3-31 lower-case letters, digits or dashes, starting with a letter."
  }
}

variable "recordings_bucket_name" {
  description = "Globally unique name of the S3 bucket for chunks and outputs."
  type        = string
}

variable "lambda_artifacts_dir" {
  description = "Folder holding the Lambda bootstrap binaries built for arm64 (one sub-folder per function with a file named bootstrap); see README \"Building the Lambdas\"."
  type        = string
  default     = "../../target/lambda"
}

variable "worker_image_tag" {
  description = "Tag of the worker image pushed to the ECR repository this module creates (tags are immutable: use a new tag per release)."
  type        = string
}

variable "vpc_subnet_ids" {
  description = "Private subnets (with a NAT gateway or VPC endpoints for S3, Step Functions, Transcribe, Bedrock, ECR, Logs) for the Fargate workers."
  type        = list(string)
}

variable "vpc_id" {
  description = "VPC of the subnets."
  type        = string
}

variable "max_chunk_bytes" {
  description = "Largest accepted chunk, bytes."
  type        = number
  default     = 209715200
}

variable "completion_grace_seconds" {
  description = "Seconds after a recording stopped before missing chunks are reported as incomplete_chunks."
  type        = number
  default     = 900
}

variable "give_up_after_seconds" {
  description = "Seconds after which a recording that never completed (chunks still missing, never started) is retired by the sweeper with a final status instead of being re-checked forever. Default 7 days (domain::deployment::env::DEFAULT_GIVE_UP_AFTER_SECONDS)."
  type        = number
  default     = 604800
  validation {
    # Terraform >= 1.6 cannot compare with another variable here; a day is far above any sane grace.
    condition     = var.give_up_after_seconds >= 86400
    error_message = "give_up_after_seconds must be at least one day (86400)."
  }
}

variable "sweep_limit" {
  description = "Recordings the sweeper examines per run (oldest due first); the rest wait for the next run, five minutes later. Default 500 (domain::deployment::env::DEFAULT_SWEEP_LIMIT)."
  type        = number
  default     = 500
  validation {
    # A few DynamoDB / S3 / Step Functions calls per recording must fit the sweeper's 300 s timeout.
    condition     = var.sweep_limit >= 1 && var.sweep_limit <= 5000
    error_message = "sweep_limit must be 1-5000."
  }
}

variable "processing_stale_seconds" {
  description = "Seconds after which a recording still in processing is reconciled by the sweeper with DescribeExecution (the safety net for lost Execution Status Change events, which EventBridge delivers best effort). Default 32400 = the workflow's 8 h TimeoutSeconds + 1 h (domain::deployment::env::DEFAULT_PROCESSING_STALE_SECONDS)."
  type        = number
  default     = 32400
  validation {
    condition     = var.processing_stale_seconds >= 28800
    error_message = "processing_stale_seconds must be at least the workflow's 8 h time limit (28800), or running executions would be reconciled."
  }
}

variable "transcribe_vocabulary" {
  description = "Words the recogniser should spell right (names, product words, acronyms), one per element, in `recorder --vocabulary`'s line format (\"DynamoDB = Dynamo-D.B.\" gives the pronunciation). With transcriber = aws the workers create an Amazon Transcribe custom vocabulary from it (named meeting-recorder-LANG-HASH; each changed list is a new one, and an account holds at most 100); with whisper it is Whisper's prompt."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for term in var.transcribe_vocabulary : length(term) <= 256 && !can(regex("[\\n\\t,;<>\"]", term))])
    error_message = "Each vocabulary term is at most 256 characters without newlines, tabs, commas, semicolons, angle brackets or quotes."
  }
}

variable "transcriber" {
  description = "Transcription engine of the workers: aws (Amazon Transcribe) or whisper (offline, on the worker's CPU)."
  type        = string
  default     = "aws"
  validation {
    condition     = contains(["aws", "whisper"], var.transcriber)
    error_message = "transcriber must be aws or whisper."
  }
}

variable "summarizer" {
  description = "Summary engine of the workers: bedrock, extractive or openai."
  type        = string
  default     = "bedrock"
  validation {
    condition     = contains(["bedrock", "extractive", "openai"], var.summarizer)
    error_message = "summarizer must be bedrock, extractive or openai."
  }
}

variable "bedrock_model_id" {
  description = "Bedrock foundation-model id (anthropic.claude-3-5-haiku-20241022-v1:0) or system-defined cross-Region inference profile id (us.anthropic.claude-3-5-haiku-20241022-v1:0, eu..., apac..., global...) used for summaries. A profile id grants the worker the profile and its destination models (iam.tf), read at plan time with bedrock:GetInferenceProfile."
  type        = string
  default     = "anthropic.claude-3-5-haiku-20241022-v1:0"
  validation {
    # The worker's IAM statements are built from the id; an ARN (application inference profile,
    # provisioned throughput) would need other resources.
    condition     = can(regex("^[a-z0-9-]+\\.[A-Za-z0-9.:-]+$", var.bedrock_model_id))
    error_message = "bedrock_model_id must be a model id or a system-defined inference profile id (provider.model or geo.provider.model), not an ARN."
  }
}

variable "max_speakers" {
  description = "Default maximum number of speaker labels for Transcribe (2-30)."
  type        = number
  default     = 10
  validation {
    condition     = var.max_speakers >= 2 && var.max_speakers <= 30
    error_message = "Transcribe accepts 2 to 30 speaker labels."
  }
}

variable "worker_min_tasks" {
  description = "Minimum number of worker tasks."
  type        = number
  default     = 1
}

variable "worker_max_tasks" {
  description = "Maximum number of worker tasks."
  type        = number
  default     = 10
}

variable "worker_concurrency" {
  description = "Concurrent tasks per activity in one worker task."
  type        = number
  default     = 2
}

variable "worker_drain_seconds" {
  description = "Seconds the worker lets running tasks finish after SIGTERM before failing them as Worker.Interrupted (retried by the workflow). The worker exits within drain + about 30 s (5 s cancel grace, reporting, open polls return); the ECS stop timeout is Fargate's maximum of 120 s, so drain may be at most 90."
  type        = number
  default     = 90
  validation {
    condition     = var.worker_drain_seconds >= 5 && var.worker_drain_seconds <= 90
    error_message = "worker_drain_seconds must be 5-90 so the worker exits within Fargate's 120 s stop timeout."
  }
}

variable "log_retention_days" {
  description = "Retention of every log group."
  type        = number
  default     = 365
}

variable "alarm_email" {
  description = "Optional e-mail address subscribed to the alarm topic (empty: no subscription)."
  type        = string
  default     = ""
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "xray_daemon_image" {
  description = "The X-Ray daemon sidecar image of the worker task (the worker sends its task segments to it over UDP)."
  type        = string
  default     = "public.ecr.aws/xray/aws-xray-daemon:3.x"
}
