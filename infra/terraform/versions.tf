# Terraform for the whole meeting-recorder backend on AWS. See README.md ("Deploying to AWS").

terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source = "hashicorp/aws"
      # >= 5.72 for data.aws_bedrock_inference_profile (iam.tf); the 5.x attribute names
      # (data.aws_region.current.name) are used throughout.
      version = "~> 5.80"
    }
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.6"
    }
  }
}

provider "aws" {
  region = var.region
  default_tags {
    tags = merge(var.tags, { Application = var.name_prefix })
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}
