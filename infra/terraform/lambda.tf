# The four Lambdas: provided.al2023 on arm64, built from the workspace's binaries
# (see README "Building the Lambdas"). Each has its own role (iam.tf), log group, X-Ray tracing,
# reserved concurrency, encrypted environment and a dead-letter queue.

data "archive_file" "lambda" {
  for_each    = local.lambda_functions
  type        = "zip"
  source_file = "${var.lambda_artifacts_dir}/${each.key}/bootstrap"
  output_path = "${path.module}/.build/${each.key}.zip"
}

resource "aws_cloudwatch_log_group" "lambda" {
  for_each          = local.lambda_functions
  name              = "/aws/lambda/${var.name_prefix}-${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_lambda_function" "fn" {
  #checkov:skip=CKV_AWS_117:The functions call only AWS APIs over TLS and hold no network-reachable resources; a VPC would add NAT cost and cold-start latency without reducing exposure.
  #checkov:skip=CKV_AWS_272:Artifacts are built and deployed by this Terraform from the reviewed workspace; Lambda code signing needs an AWS Signer profile the deploying organisation chooses.
  for_each      = local.lambda_functions
  function_name = "${var.name_prefix}-${each.key}"
  description   = each.value.description
  role          = aws_iam_role.lambda[each.key].arn

  filename         = data.archive_file.lambda[each.key].output_path
  source_code_hash = data.archive_file.lambda[each.key].output_base64sha256
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = ["arm64"]
  memory_size      = each.value.memory
  timeout          = each.value.timeout

  reserved_concurrent_executions = each.value.concurrency
  kms_key_arn                    = aws_kms_key.main.arn

  environment {
    variables = merge(local.lambda_environment, { for k, v in local.sweeper_environment : k => v if each.key == "sweeper" })
  }
  tracing_config {
    mode = "Active"
  }
  dead_letter_config {
    target_arn = aws_sqs_queue.lambda_dlq.arn
  }
  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.lambda[each.key].name
  }
}

# Failed asynchronous invocations (after Lambda's own two retries) go to the DLQ as well.
resource "aws_lambda_function_event_invoke_config" "fn" {
  for_each                     = { for name, fn in local.lambda_functions : name => fn if fn.asynchronous }
  function_name                = aws_lambda_function.fn[each.key].function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 21600
  destination_config {
    on_failure {
      destination = aws_sqs_queue.lambda_dlq.arn
    }
  }
}

# The catalog stream drives the completion check when expectedChunkCount is written. Partial batch
# responses retry only the failed records; poison records end in the DLQ after bisecting.
resource "aws_lambda_event_source_mapping" "catalog_stream" {
  event_source_arn                   = aws_dynamodb_table.catalog.stream_arn
  function_name                      = aws_lambda_function.fn["catalog-stream-handler"].arn
  starting_position                  = "LATEST"
  batch_size                         = 100
  maximum_batching_window_in_seconds = 1
  function_response_types            = ["ReportBatchItemFailures"]
  bisect_batch_on_function_error     = true
  maximum_retry_attempts             = 10
  maximum_record_age_in_seconds      = 86400

  filter_criteria {
    filter {
      pattern = jsonencode({
        eventName = ["INSERT", "MODIFY"]
        dynamodb  = { NewImage = { expectedChunkCount = { N = [{ exists = true }] } } }
      })
    }
  }

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.lambda_dlq.arn
    }
  }
}
