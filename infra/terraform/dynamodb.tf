# The chunk table and the catalog, as declared in aws-adapters/src/schema.rs.

resource "aws_dynamodb_table" "chunks" {
  name         = local.chunk_table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "recordingId"
  range_key    = "chunkIndex"

  attribute {
    name = "recordingId"
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
  hash_key         = "recordingId"
  stream_enabled   = true
  stream_view_type = "NEW_AND_OLD_IMAGES"

  attribute {
    name = "recordingId"
    type = "S"
  }
  attribute {
    name = "userId"
    type = "S"
  }
  attribute {
    name = "updatedAt"
    type = "S"
  }
  attribute {
    name = "awaitingCompletion"
    type = "S"
  }
  attribute {
    name = "stoppedAt"
    type = "S"
  }

  global_secondary_index {
    name            = "userId-updatedAt"
    hash_key        = "userId"
    range_key       = "updatedAt"
    projection_type = "ALL"
  }

  # Sparse: only recordings still waiting for chunks carry awaitingCompletion (the sweeper's list).
  global_secondary_index {
    name            = "awaitingCompletion-stoppedAt"
    hash_key        = "awaitingCompletion"
    range_key       = "stoppedAt"
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
