# The chunk table and the catalog, as declared in aws-adapters/src/schema.rs. Every key is scoped
# by user: a recording id is unique only within its user, so user B can never address user A's
# recording (and a client's IAM policy can pin it to its own items with dynamodb:LeadingKeys).

resource "aws_dynamodb_table" "chunks" {
  name         = local.chunk_table_name
  billing_mode = "PAY_PER_REQUEST"
  # "{userId}/{recordingId}": the chunks of one recording of one user.
  hash_key  = "recordingKey"
  range_key = "chunkIndex"

  attribute {
    name = "recordingKey"
    type = "S"
  }
  attribute {
    name = "chunkIndex"
    type = "N"
  }
  attribute {
    name = "userId"
    type = "S"
  }
  attribute {
    name = "uploadedAt"
    type = "S"
  }

  global_secondary_index {
    name            = "userId-uploadedAt"
    hash_key        = "userId"
    range_key       = "uploadedAt"
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = true
  }
  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.main.arn
  }
  deletion_protection_enabled = true
}

resource "aws_dynamodb_table" "catalog" {
  name             = local.catalog_table_name
  billing_mode     = "PAY_PER_REQUEST"
  hash_key         = "userId"
  range_key        = "recordingId"
  stream_enabled   = true
  stream_view_type = "NEW_AND_OLD_IMAGES"

  attribute {
    name = "userId"
    type = "S"
  }
  attribute {
    name = "recordingId"
    type = "S"
  }
  attribute {
    name = "updatedAt"
    type = "S"
  }
  attribute {
    name = "sweepShard"
    type = "S"
  }
  attribute {
    name = "sweepAt"
    type = "S"
  }

  global_secondary_index {
    name            = "userId-updatedAt"
    hash_key        = "userId"
    range_key       = "updatedAt"
    projection_type = "ALL"
  }

  # Sparse: a recording carries sweepShard ("due") and sweepAt (RFC 3339 UTC, ms) only while
  # someone must still look at it (waiting for chunks, ready but not started, processing past its
  # time limit). The sweeper pages through it oldest due first, a bounded number per run.
  global_secondary_index {
    name            = local.sweep_index_name
    hash_key        = "sweepShard"
    range_key       = "sweepAt"
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = true
  }
  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.main.arn
  }
  deletion_protection_enabled = true
}
