output "recordings_bucket" {
  description = "Bucket the client uploads chunks to (users/{userId}/chunks/{recordingId}/chunk_NNN.mp4)."
  value       = aws_s3_bucket.recordings.bucket
}

output "chunk_table" {
  description = "DynamoDB chunk tracking table."
  value       = aws_dynamodb_table.chunks.name
}

output "catalog_table" {
  description = "DynamoDB recording catalog; the client writes expectedChunkCount here when it stops."
  value       = aws_dynamodb_table.catalog.name
}

output "state_machine_arn" {
  description = "Processing state machine."
  value       = aws_sfn_state_machine.processing.arn
}

output "activity_arn_prefix" {
  description = "ACTIVITY_ARN_PREFIX of the workers: the activity ARNs without \"-{activity}\"."
  value       = local.activity_arn_base
}

output "activity_arns" {
  description = "Activity ARNs by activity name."
  value       = { for name, a in aws_sfn_activity.activity : name => a.id }
}

output "worker_repository_url" {
  description = "ECR repository to push the worker image to."
  value       = aws_ecr_repository.worker.repository_url
}

output "events_dlq_url" {
  description = "Dead-letter queue of undeliverable upload events (for `recorder dlq inspect|replay`)."
  value       = aws_sqs_queue.events_dlq.id
}

output "lambda_dlq_url" {
  description = "Dead-letter queue of failed Lambda invocations and stream batches."
  value       = aws_sqs_queue.lambda_dlq.id
}

output "alarm_topic_arn" {
  description = "SNS topic every alarm notifies."
  value       = aws_sns_topic.alarms.arn
}

output "lambda_function_names" {
  description = "Lambda function names by role."
  value       = { for k, f in aws_lambda_function.fn : k => f.function_name }
}
