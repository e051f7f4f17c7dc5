# The seed's alarms (missing chunks, handler errors, DLQ depth) plus failed executions and
# undeliverable events, all to the SNS topic; and one dashboard.

locals {
  alarms = {
    sessions-with-missing-chunks = {
      description = "A recording stopped with chunks missing after the grace period (status incomplete_chunks)."
      namespace   = "MeetingRecorder"
      metric      = "SessionsWithMissingChunks"
      dimensions  = {}
      statistic   = "Sum"
      period      = 300
      threshold   = 0
    }
    chunk-handler-errors = {
      description = "The chunk upload handler failed more than 5 times in a minute."
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      dimensions  = { FunctionName = aws_lambda_function.fn["chunk-upload-handler"].function_name }
      statistic   = "Sum"
      period      = 60
      threshold   = 5
    }
    stream-handler-errors = {
      description = "The catalog stream handler failed."
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      dimensions  = { FunctionName = aws_lambda_function.fn["catalog-stream-handler"].function_name }
      statistic   = "Sum"
      period      = 300
      threshold   = 0
    }
    execution-status-handler-errors = {
      description = "The execution status handler failed: a failed, timed-out or aborted run may still show processing until the sweeper reconciles it."
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      dimensions  = { FunctionName = aws_lambda_function.fn["execution-status-handler"].function_name }
      statistic   = "Sum"
      period      = 300
      threshold   = 0
    }
    sweeper-errors = {
      description = "The sweeper failed: recordings left ready, waiting or stale are not being looked at."
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      dimensions  = { FunctionName = aws_lambda_function.fn["sweeper"].function_name }
      statistic   = "Sum"
      period      = 300
      threshold   = 0
    }
    events-dlq-depth = {
      description = "Upload events could not be delivered and wait in the dead-letter queue: fix, then `recorder dlq replay`."
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = aws_sqs_queue.events_dlq.name }
      statistic   = "Maximum"
      period      = 300
      threshold   = 0
    }
    lambda-dlq-depth = {
      description = "Lambda invocations or stream batches failed for good and wait in the dead-letter queue."
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = aws_sqs_queue.lambda_dlq.name }
      statistic   = "Maximum"
      period      = 300
      threshold   = 0
    }
    executions-failed = {
      description = "A processing execution failed (status processing_failed in the catalog, with error and cause)."
      namespace   = "AWS/States"
      metric      = "ExecutionsFailed"
      dimensions  = { StateMachineArn = aws_sfn_state_machine.processing.arn }
      statistic   = "Sum"
      period      = 300
      threshold   = 0
    }
    executions-timed-out = {
      description = "A processing execution hit its time limit."
      namespace   = "AWS/States"
      metric      = "ExecutionsTimedOut"
      dimensions  = { StateMachineArn = aws_sfn_state_machine.processing.arn }
      statistic   = "Sum"
      period      = 300
      threshold   = 0
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "alarm" {
  for_each            = local.alarms
  alarm_name          = "${var.name_prefix}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = each.value.period
  evaluation_periods  = 1
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_dashboard" "main" {
  dashboard_name = var.name_prefix
  dashboard_body = jsonencode({
    widgets = [
      {
        type = "metric", x = 0, y = 0, width = 12, height = 6
        properties = {
          title  = "Chunks"
          region = local.region
          stat   = "Sum"
          period = 300
          metrics = [
            ["MeetingRecorder", "ChunksRecorded"],
            [".", "DuplicateChunks"],
            [".", "ChunkReuploads"],
            [".", "MalformedKeys"],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 0, width = 12, height = 6
        properties = {
          title  = "Recordings"
          region = local.region
          stat   = "Sum"
          period = 300
          metrics = [
            ["MeetingRecorder", "SessionsStarted"],
            [".", "SessionsWithMissingChunks"],
            ["AWS/States", "ExecutionsSucceeded", "StateMachineArn", aws_sfn_state_machine.processing.arn],
            [".", "ExecutionsFailed", ".", "."],
          ]
        }
      },
      {
        type = "metric", x = 0, y = 6, width = 12, height = 6
        properties = {
          title   = "Lambda errors and duration (p99)"
          region  = local.region
          period  = 300
          metrics = [for name, _ in local.lambda_functions : ["AWS/Lambda", "Errors", "FunctionName", "${var.name_prefix}-${name}", { stat = "Sum" }]]
        }
      },
      {
        type = "metric", x = 12, y = 6, width = 12, height = 6
        properties = {
          title  = "Dead-letter queues and workers"
          region = local.region
          period = 300
          metrics = [
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", aws_sqs_queue.events_dlq.name, { stat = "Maximum" }],
            [".", ".", ".", aws_sqs_queue.lambda_dlq.name, { stat = "Maximum" }],
            ["AWS/ECS", "CPUUtilization", "ClusterName", aws_ecs_cluster.workers.name, "ServiceName", aws_ecs_service.worker.name, { stat = "Average" }],
          ]
        }
      },
    ]
  })
}
