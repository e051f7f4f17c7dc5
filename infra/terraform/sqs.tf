# Dead-letter queues: events EventBridge could not deliver, and failed Lambda invocations /
# stream batches. `recorder dlq inspect|replay` reads the events queue.

resource "aws_sqs_queue" "events_dlq" {
  name                      = "${var.name_prefix}-events-dlq"
  message_retention_seconds = 1209600 # 14 days, the SQS maximum
  kms_master_key_id         = aws_kms_key.main.arn
}

data "aws_iam_policy_document" "events_dlq" {
  statement {
    sid       = "EventBridgeDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.events_dlq.arn]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values = concat(
        [for r in aws_cloudwatch_event_rule.uploads : r.arn],
        [aws_cloudwatch_event_rule.sweeper.arn, aws_cloudwatch_event_rule.execution_status.arn],
      )
    }
  }
}

resource "aws_sqs_queue_policy" "events_dlq" {
  queue_url = aws_sqs_queue.events_dlq.id
  policy    = data.aws_iam_policy_document.events_dlq.json
}

resource "aws_sqs_queue" "lambda_dlq" {
  name                      = "${var.name_prefix}-lambda-dlq"
  message_retention_seconds = 1209600 # 14 days, the SQS maximum
  kms_master_key_id         = aws_kms_key.main.arn
}
