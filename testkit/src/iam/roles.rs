//! Every permission of every role, of every AWS service: the statements of the inline policies
//! as Terraform would render them, and the statements of the AWS managed policies the roles carry.
//! The policy test (`testkit/tests/policy.rs`) compares them with the AWS calls the code makes.

use std::fmt;

use super::{Condition, holds, wildcard_match};

/// Where a statement comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatementOrigin {
    /// A statement of an inline policy (`aws_iam_role_policy`) rendered from
    /// `data.aws_iam_policy_document.{document}`.
    Inline {
        /// `NAME` or `NAME["KEY"]` of the policy document.
        document: String,
    },
    /// What an attached AWS managed policy grants.
    Managed {
        /// The policy's name under `arn:aws:iam::aws:policy/`.
        policy: &'static str,
    },
}

impl fmt::Display for StatementOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Inline { document } => write!(f, "data.aws_iam_policy_document.{document}"),
            Self::Managed { policy } => write!(f, "managed policy {policy}"),
        }
    }
}

/// One `Allow` statement of a role, any service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// The statement id, if any.
    pub sid: Option<String>,
    /// Action patterns (`dynamodb:Query`, `s3:Get*`, `*`).
    pub actions: Vec<String>,
    /// Resource ARN patterns.
    pub resources: Vec<String>,
    /// Conditions, all of which must hold.
    pub conditions: Vec<Condition>,
    /// The policy it belongs to.
    pub origin: StatementOrigin,
}

impl Statement {
    /// Whether the statement's action patterns match `action` (case-insensitively, as IAM does).
    pub fn names_action(&self, action: &str) -> bool {
        let action = action.to_ascii_lowercase();
        self.actions
            .iter()
            .any(|pattern| wildcard_match(&pattern.to_ascii_lowercase(), &action))
    }

    /// Whether the statement allows `action` on `resource` for a request carrying `context`.
    pub fn allows(&self, action: &str, resource: &str, context: &[(&str, &str)]) -> bool {
        self.names_action(action)
            && self.resources.iter().any(|r| wildcard_match(r, resource))
            && self.conditions.iter().all(|c| holds(c, context))
    }
}

/// The permissions of one IAM role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RolePolicy {
    /// The Terraform address of the role (`aws_iam_role.lambda["sweeper"]`).
    pub role: String,
    /// Every statement of its inline and managed policies.
    pub statements: Vec<Statement>,
}

impl RolePolicy {
    /// Whether any statement allows `action` on `resource` for a request carrying `context`.
    pub fn allows(&self, action: &str, resource: &str, context: &[(&str, &str)]) -> bool {
        self.statements
            .iter()
            .any(|s| s.allows(action, resource, context))
    }

    /// Every (action pattern, resource pattern, statement) the role holds.
    pub fn grants(&self) -> impl Iterator<Item = (&str, &str, &Statement)> {
        self.statements.iter().flat_map(|s| {
            s.actions
                .iter()
                .flat_map(move |a| s.resources.iter().map(move |r| (a.as_str(), r.as_str(), s)))
        })
    }
}

/// An AWS managed policy a role may carry, with what it grants (from the policy's current
/// version; all on `"*"`). Any other managed policy is refused by the reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ManagedPolicy {
    /// The name under `arn:aws:iam::aws:policy/`.
    pub name: &'static str,
    /// Its actions, all granted on `"*"`.
    pub actions: &'static [&'static str],
    /// Why a role of this deployment carries it.
    pub purpose: &'static str,
}

/// The managed policies the roles may carry.
pub const MANAGED_POLICIES: [ManagedPolicy; 2] = [
    ManagedPolicy {
        name: "AWSXRayDaemonWriteAccess",
        actions: &[
            "xray:PutTraceSegments",
            "xray:PutTelemetryRecords",
            "xray:GetSamplingRules",
            "xray:GetSamplingTargets",
            "xray:GetSamplingStatisticSummaries",
        ],
        purpose: "X-Ray tracing: Lambda active tracing, Step Functions tracing and the worker's X-Ray daemon sidecar upload segments with the role",
    },
    ManagedPolicy {
        name: "service-role/AmazonECSTaskExecutionRolePolicy",
        actions: &[
            "ecr:GetAuthorizationToken",
            "ecr:BatchCheckLayerAvailability",
            "ecr:GetDownloadUrlForLayer",
            "ecr:BatchGetImage",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
        ],
        purpose: "the ECS agent pulls the worker image from ECR and ships the containers' logs with the task execution role",
    },
];

impl ManagedPolicy {
    /// The known managed policy named `name`, if any.
    pub fn known(name: &str) -> Option<&'static ManagedPolicy> {
        MANAGED_POLICIES.iter().find(|p| p.name == name)
    }

    /// What it grants, as one statement.
    pub fn statement(&self) -> Statement {
        Statement {
            sid: None,
            actions: self.actions.iter().map(|a| (*a).to_owned()).collect(),
            resources: vec!["*".to_owned()],
            conditions: Vec::new(),
            origin: StatementOrigin::Managed { policy: self.name },
        }
    }
}
