# Activity workers on ECS Fargate: one service polling every activity. The image holds the worker
# binary and FFmpeg (see README "The worker image"). Root filesystem read-only; media work goes to
# a scratch volume on the task's ephemeral storage. ECS sends SIGTERM, waits stopTimeout (120 s,
# the Fargate maximum), then SIGKILLs; the worker's drain deadline (at most 90 s) plus its cancel
# grace and final reports fit inside it, so running tasks finish or fail cleanly.

resource "aws_ecr_repository" "worker" {
  name                 = "${var.name_prefix}-worker"
  image_tag_mutability = "IMMUTABLE"
  image_scanning_configuration {
    scan_on_push = true
  }
  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.main.arn
  }
}

resource "aws_ecr_lifecycle_policy" "worker" {
  repository = aws_ecr_repository.worker.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the 20 most recent images"
      selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = 20 }
      action       = { type = "expire" }
    }]
  })
}

resource "aws_ecs_cluster" "workers" {
  name = "${var.name_prefix}-workers"
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_cloudwatch_log_group" "worker" {
  name              = "/ecs/${var.name_prefix}-worker"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_ecs_task_definition" "worker" {
  family                   = "${var.name_prefix}-worker"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 2048
  memory                   = 4096
  execution_role_arn       = aws_iam_role.worker_execution.arn
  task_role_arn            = aws_iam_role.worker_task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "ARM64"
  }
  ephemeral_storage {
    size_in_gib = 50
  }
  volume {
    name = "scratch"
  }

  container_definitions = jsonencode([
    {
      name                   = "worker"
      image                  = "${aws_ecr_repository.worker.repository_url}:${var.worker_image_tag}"
      essential              = true
      readonlyRootFilesystem = true
      privileged             = false
      user                   = "10001"
      stopTimeout            = 120 # Fargate's maximum; see var.worker_drain_seconds
      environment = concat(
        [for k, v in local.worker_environment : { name = k, value = v }],
        [{ name = "TMPDIR", value = "/scratch" }, { name = "TRANSCRIBE_OUTPUT_KMS_KEY", value = aws_kms_key.main.arn }],
        # X-Ray: segments to the daemon sidecar; the execution's trace is looked up on the state machine.
        [{ name = "AWS_XRAY_DAEMON_ADDRESS", value = "127.0.0.1:2000" }, { name = "STATE_MACHINE_ARN", value = aws_sfn_state_machine.processing.arn }],
      )
      dependsOn   = [{ containerName = "xray-daemon", condition = "START" }]
      mountPoints = [{ sourceVolume = "scratch", containerPath = "/scratch", readOnly = false }]
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.worker.name
          awslogs-region        = local.region
          awslogs-stream-prefix = "worker"
        }
      }
    },
    {
      # The X-Ray daemon: receives the worker's segments on UDP 2000 (same task network
      # namespace) and uploads them with the task role (AWSXRayDaemonWriteAccess).
      name                   = "xray-daemon"
      image                  = var.xray_daemon_image
      essential              = false
      readonlyRootFilesystem = true
      privileged             = false
      cpu                    = 32
      memoryReservation      = 256
      portMappings           = [{ containerPort = 2000, protocol = "udp" }]
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.worker.name
          awslogs-region        = local.region
          awslogs-stream-prefix = "xray"
        }
      }
    },
  ])
}

resource "aws_security_group" "worker" {
  #checkov:skip=CKV_AWS_382:Workers must reach AWS service endpoints (S3, Step Functions, Transcribe, Bedrock, ECR, Logs) on 443; restrict further with VPC endpoints and prefix lists per deployment.
  name        = "${var.name_prefix}-worker"
  description = "Activity workers: no inbound traffic, HTTPS out to AWS APIs"
  vpc_id      = var.vpc_id

  egress {
    description = "HTTPS to AWS service endpoints"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_ecs_service" "worker" {
  name            = "${var.name_prefix}-worker"
  cluster         = aws_ecs_cluster.workers.id
  task_definition = aws_ecs_task_definition.worker.arn
  desired_count   = var.worker_min_tasks
  launch_type     = "FARGATE"

  network_configuration {
    subnets          = var.vpc_subnet_ids
    security_groups  = [aws_security_group.worker.id]
    assign_public_ip = false
  }
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
  lifecycle {
    ignore_changes = [desired_count]
  }
}

resource "aws_appautoscaling_target" "worker" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.workers.name}/${aws_ecs_service.worker.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.worker_min_tasks
  max_capacity       = var.worker_max_tasks
}

resource "aws_appautoscaling_policy" "worker_cpu" {
  name               = "${var.name_prefix}-worker-cpu"
  service_namespace  = aws_appautoscaling_target.worker.service_namespace
  resource_id        = aws_appautoscaling_target.worker.resource_id
  scalable_dimension = aws_appautoscaling_target.worker.scalable_dimension
  policy_type        = "TargetTrackingScaling"
  target_tracking_scaling_policy_configuration {
    target_value       = 60
    scale_in_cooldown  = 300
    scale_out_cooldown = 60
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}
