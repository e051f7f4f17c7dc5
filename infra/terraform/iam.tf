# Least-privilege roles: one per Lambda, one for the state machine, and distinct execution and
# task roles for the workers.

data "aws_iam_policy_document" "assume_lambda" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

locals {
  chunk_objects     = "${aws_s3_bucket.recordings.arn}/users/*/chunks/*"
  processed_objects = "${aws_s3_bucket.recordings.arn}/users/*/processed/*"

  catalog_sweep_index   = "${aws_dynamodb_table.catalog.arn}/index/${local.sweep_index_name}"
  processing_executions = "arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${local.state_machine_name}:*"

  # No Lambda role holds s3:ListBucket, deliberately. The Lambdas read single, known keys (a chunk's
  # metadata, a recording's manifest.json); listing would let a compromised or buggy handler
  # enumerate every user's recordings. The price is S3's documented behaviour for a GET/HEAD of an
  # absent key without ListBucket: 403 AccessDenied instead of 404 NoSuchKey. The code is built
  # for that (an absent manifest or a deleted chunk is not an error that loses the recording), and
  # testkit::iam's IAM-faithful object store, fed with these very statements, proves it.
  #
  # Every action below is one the function's code calls (the `policy` test of recorder-testkit
  # derives the calls from the sources and fails on a missing or an unused action). UpdateItem on the chunk table is
  # deliberately absent: no Lambda rewrites a recorded chunk (a checksum mismatch is judged on
  # every check, never stamped on the chunk). DescribeExecution is needed by every function that
  # starts executions: a start refused with ExecutionAlreadyExists is settled from what the
  # existing execution says (lambdas::completion::reconcile_started).
  lambda_permissions = {
    chunk-upload-handler = {
      s3_read            = [local.chunk_objects]
      chunk_actions      = ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query"]
      catalog_actions    = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
      sweep_index        = false
      start_execution    = true
      describe_execution = true
    }
    catalog-stream-handler = {
      s3_read            = [local.chunk_objects]
      chunk_actions      = ["dynamodb:Query"]
      catalog_actions    = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
      sweep_index        = false
      start_execution    = true
      describe_execution = true
    }
    # Pages through the sweep-due index (a Query of the index, not of the table), restarts
    # recordings left ready without an execution and reconciles stale `processing` ones with
    # DescribeExecution.
    sweeper = {
      s3_read            = [local.chunk_objects]
      chunk_actions      = ["dynamodb:Query"]
      catalog_actions    = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
      sweep_index        = true
      start_execution    = true
      describe_execution = true
    }
    # Reads the recording's current run and writes processing_failed, conditional on that run.
    execution-status-handler = {
      s3_read            = []
      chunk_actions      = []
      catalog_actions    = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
      sweep_index        = false
      start_execution    = false
      describe_execution = false
    }
  }
}

resource "aws_iam_role" "lambda" {
  for_each           = local.lambda_functions
  name               = "${var.name_prefix}-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
}

data "aws_iam_policy_document" "lambda" {
  for_each = local.lambda_permissions

  dynamic "statement" {
    for_each = length(each.value.s3_read) > 0 ? [1] : []
    content {
      sid       = "ReadChunkObjects"
      actions   = ["s3:GetObject"]
      resources = each.value.s3_read
    }
  }
  dynamic "statement" {
    for_each = length(each.value.chunk_actions) > 0 ? [1] : []
    content {
      sid       = "ChunkTable"
      actions   = each.value.chunk_actions
      resources = [aws_dynamodb_table.chunks.arn]
    }
  }
  statement {
    sid       = "Catalog"
    actions   = each.value.catalog_actions
    resources = [aws_dynamodb_table.catalog.arn]
  }
  dynamic "statement" {
    for_each = each.value.sweep_index ? [1] : []
    content {
      sid       = "SweepDueIndex"
      actions   = ["dynamodb:Query"]
      resources = [local.catalog_sweep_index]
    }
  }
  dynamic "statement" {
    for_each = each.value.start_execution ? [1] : []
    content {
      sid       = "StartProcessing"
      actions   = ["states:StartExecution"]
      resources = [aws_sfn_state_machine.processing.arn]
    }
  }
  dynamic "statement" {
    for_each = each.value.describe_execution ? [1] : []
    content {
      sid       = "ReconcileExecutions"
      actions   = ["states:DescribeExecution"]
      resources = [local.processing_executions]
    }
  }
  dynamic "statement" {
    for_each = each.key == "catalog-stream-handler" ? [1] : []
    content {
      sid       = "ReadCatalogStream"
      actions   = ["dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:DescribeStream", "dynamodb:ListStreams"]
      resources = [aws_dynamodb_table.catalog.stream_arn]
    }
  }
  statement {
    sid       = "EncryptionKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [aws_kms_key.main.arn]
  }
  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.lambda_dlq.arn]
  }
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.lambda[each.key].arn}:*"]
  }
}

resource "aws_iam_role_policy" "lambda" {
  for_each = local.lambda_functions
  name     = "least-privilege"
  role     = aws_iam_role.lambda[each.key].id
  policy   = data.aws_iam_policy_document.lambda[each.key].json
}

resource "aws_iam_role_policy_attachment" "lambda_xray" {
  for_each   = local.lambda_functions
  role       = aws_iam_role.lambda[each.key].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"
}

# --- State machine ------------------------------------------------------------------------------

data "aws_iam_policy_document" "assume_states" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "state_machine" {
  name               = "${var.name_prefix}-state-machine"
  assume_role_policy = data.aws_iam_policy_document.assume_states.json
}

data "aws_iam_policy_document" "state_machine" {
  #checkov:skip=CKV_AWS_111:CloudWatch Logs delivery actions (logs:CreateLogDelivery etc.) do not support resource-level permissions; AWS documents "*" for them.
  #checkov:skip=CKV_AWS_356:CloudWatch Logs delivery actions do not support resource-level permissions; AWS documents "*" for them.
  statement {
    sid       = "RecordResultsInCatalog"
    actions   = ["dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.catalog.arn]
  }
  statement {
    sid       = "EncryptionKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [aws_kms_key.main.arn]
  }
  statement {
    sid = "LogDelivery"
    actions = [
      "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "state_machine" {
  name   = "least-privilege"
  role   = aws_iam_role.state_machine.id
  policy = data.aws_iam_policy_document.state_machine.json
}

resource "aws_iam_role_policy_attachment" "state_machine_xray" {
  role       = aws_iam_role.state_machine.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"
}

# --- Bedrock: the summary model, or the cross-Region inference profile and its destinations ------

locals {
  bedrock_summaries = var.summarizer == "bedrock"
  # Geography prefixes of the system-defined cross-Region inference profiles (us.anthropic...,
  # eu.amazon..., global....); a plain foundation-model id starts with its provider instead.
  bedrock_profile_prefixes = ["us", "us-gov", "eu", "apac", "jp", "au", "ca", "global"]
  bedrock_through_profile  = local.bedrock_summaries && contains(local.bedrock_profile_prefixes, split(".", var.bedrock_model_id)[0])
}

# The profile's ARN and its destination foundation models, read at plan time: the identity running
# terraform plan/apply needs bedrock:GetInferenceProfile on the profile (arn:...:inference-profile/
# <id> in var.region). Requires hashicorp/aws >= 5.72 (data source added in 5.71, which was pulled).
data "aws_bedrock_inference_profile" "summary" {
  count                = local.bedrock_through_profile ? 1 : 0
  inference_profile_id = var.bedrock_model_id
}

# --- Workers: execution role (pull image, write logs) and task role (the work) -----------------

data "aws_iam_policy_document" "assume_ecs_tasks" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "worker_execution" {
  name               = "${var.name_prefix}-worker-execution"
  assume_role_policy = data.aws_iam_policy_document.assume_ecs_tasks.json
}

resource "aws_iam_role_policy_attachment" "worker_execution" {
  role       = aws_iam_role.worker_execution.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

resource "aws_iam_role" "worker_task" {
  name               = "${var.name_prefix}-worker-task"
  assume_role_policy = data.aws_iam_policy_document.assume_ecs_tasks.json
}

data "aws_iam_policy_document" "worker_task" {
  #checkov:skip=CKV_AWS_111:states:SendTask* accept only "*" (task tokens are not resources); transcribe job ARNs are scoped to this account's jobs.
  #checkov:skip=CKV_AWS_356:states:SendTask* accept only "*" (task tokens are not resources).
  statement {
    sid       = "ReadChunksAndOutputs"
    actions   = ["s3:GetObject"]
    resources = [local.chunk_objects, local.processed_objects]
  }
  # A failed multipart upload of a large output is aborted (the bucket's lifecycle rule for
  # incomplete uploads is the fallback). No s3:ListBucket: the workers read and write known keys
  # only, so an absent key is a 403, which the activities treat like a 404.
  statement {
    sid       = "WriteOutputs"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = [local.processed_objects]
  }
  statement {
    sid       = "PollActivities"
    actions   = ["states:GetActivityTask"]
    resources = [for a in aws_sfn_activity.activity : a.id]
  }
  statement {
    sid       = "ReportTasks"
    actions   = ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"]
    resources = ["*"]
  }
  statement {
    sid       = "FindExecutionTrace"
    actions   = ["states:ListExecutions"]
    resources = [aws_sfn_state_machine.processing.arn]
  }
  statement {
    sid       = "ReadExecutionTrace"
    actions   = ["states:DescribeExecution"]
    resources = [local.processing_executions]
  }
  # Only with the Amazon Transcribe engine. Transcribe reads the media and writes its output with
  # the caller's rights: the GetObject and PutObject grants on the processed objects above.
  dynamic "statement" {
    for_each = var.transcriber == "aws" ? [1] : []
    content {
      sid       = "Transcribe"
      actions   = ["transcribe:StartTranscriptionJob", "transcribe:GetTranscriptionJob"]
      resources = ["arn:${local.partition}:transcribe:${local.region}:${local.account_id}:transcription-job/*"]
    }
  }
  # The custom vocabulary of `transcribe_vocabulary`, named meeting-recorder-LANG-HASH by its
  # content; Transcribe reads its table from the processed objects with the caller's rights.
  dynamic "statement" {
    for_each = var.transcriber == "aws" ? [1] : []
    content {
      sid       = "TranscribeVocabulary"
      actions   = ["transcribe:CreateVocabulary", "transcribe:GetVocabulary"]
      resources = ["arn:${local.partition}:transcribe:${local.region}:${local.account_id}:vocabulary/meeting-recorder-*"]
    }
  }
  # Only with the Bedrock engine. Converse is authorized as bedrock:InvokeModel (Bedrock API
  # reference, Converse). A plain model id: that foundation model in this region.
  dynamic "statement" {
    for_each = local.bedrock_summaries && !local.bedrock_through_profile ? [1] : []
    content {
      sid       = "Summarize"
      actions   = ["bedrock:InvokeModel"]
      resources = ["arn:${local.partition}:bedrock:${local.region}::foundation-model/${var.bedrock_model_id}"]
    }
  }
  # A cross-Region inference profile: the profile itself, and the foundation model in every
  # destination region of the profile (Bedrock user guide, "Prerequisites for inference
  # profiles"), usable only through this profile (bedrock:InferenceProfileArn).
  dynamic "statement" {
    for_each = data.aws_bedrock_inference_profile.summary
    content {
      sid       = "SummarizeThroughProfile"
      actions   = ["bedrock:InvokeModel"]
      resources = [statement.value.inference_profile_arn]
    }
  }
  dynamic "statement" {
    for_each = data.aws_bedrock_inference_profile.summary
    content {
      sid       = "SummarizeInProfileRegions"
      actions   = ["bedrock:InvokeModel"]
      resources = statement.value.models[*].model_arn
      condition {
        test     = "StringEquals"
        variable = "bedrock:InferenceProfileArn"
        values   = [statement.value.inference_profile_arn]
      }
    }
  }
  statement {
    sid       = "EncryptionKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [aws_kms_key.main.arn]
  }
}

resource "aws_iam_role_policy" "worker_task" {
  name   = "least-privilege"
  role   = aws_iam_role.worker_task.id
  policy = data.aws_iam_policy_document.worker_task.json
}

resource "aws_iam_role_policy_attachment" "worker_xray" {
  role       = aws_iam_role.worker_task.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"
}
