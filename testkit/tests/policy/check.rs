//! The comparison: every call a role's code makes must be allowed by the role on the resource the
//! deployment names, and every action a role holds must be one its code calls or one AWS requires
//! of it for a service acting on its behalf ([`PLATFORM`], each with its reason).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use meeting_domain::deployment::env;
use recorder_testkit::iam::terraform::{
    ACCOUNT_ID, Environment, INFERENCE_PROFILE_REGIONS, PARTITION, REGION,
};
use recorder_testkit::iam::{RolePolicy, Statement, StatementOrigin, TerraformRoles};
use serde_json::Value;

use super::sdk;

/// Geography prefixes of system-defined cross-Region inference profiles (Bedrock user guide,
/// "Supported Regions and models for inference profiles"; the AWS CDK's
/// `CrossRegionInferenceProfileRegion`).
pub const PROFILE_PREFIXES: [&str; 8] = ["us", "us-gov", "eu", "apac", "jp", "au", "ca", "global"];

/// What a call needs, before the deployment's names are known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Spec {
    /// The DynamoDB table named by environment variable `env`, or one of its indexes.
    Table {
        /// The variable naming the table.
        env: String,
        /// The index queried, if any.
        index: Option<String>,
    },
    /// Objects of the recordings bucket (`RECORDINGS_BUCKET`). Which keys is checked
    /// behaviourally by the IAM-faithful object store (`testkit::iam`) in the Lambda tests.
    Objects,
    /// The recordings bucket itself.
    Bucket,
    /// The state machine named by `env`.
    StateMachine {
        /// The variable holding its ARN.
        env: String,
    },
    /// An execution of the state machine named by `env`.
    Executions {
        /// The variable holding the state machine's ARN.
        env: String,
    },
    /// The activities the deployed definition names.
    Activities,
    /// `*` (actions without resource-level permissions).
    Anything,
    /// A transcription job of this account and region.
    TranscriptionJobs,
    /// A custom vocabulary of this account and region, named as the Transcribe adapter names
    /// them.
    Vocabularies,
    /// The model or inference profile of `BEDROCK_MODEL_ID`.
    Model,
}

/// Only when the environment variable has one of the values (the engine the worker builds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gate {
    /// The variable.
    pub env: String,
    /// The values that select the code.
    pub values: Vec<String>,
}

/// One AWS call of a role's code.
#[derive(Clone, Debug)]
pub struct Need {
    /// The IAM action it is authorized as.
    pub action: String,
    /// Its resource.
    pub spec: Spec,
    /// When it is made at all.
    pub gate: Option<Gate>,
    /// The code path, for the report.
    pub via: String,
}

/// The calls of every role's code.
#[derive(Clone, Debug, Default)]
pub struct CodeNeeds {
    /// By Lambda function key.
    pub lambdas: BTreeMap<String, Vec<Need>>,
    /// The worker (task role).
    pub worker: Vec<Need>,
}

/// Which roles a platform permission applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleClass {
    /// Every Lambda function's role.
    Lambda,
    /// The state machine's role.
    StateMachine,
    /// The worker task role.
    WorkerTask,
    /// The worker task execution role.
    WorkerExecution,
}

/// The resources a platform permission may be held on.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// A pattern, with `{partition}`, `{region}`, `{account}`.
    Pattern(&'static str),
    /// The event sources of the function's event source mappings.
    EventSources,
}

/// A permission AWS requires of a role for a service acting on its behalf, not for a call of
/// the code.
#[derive(Clone, Copy, Debug)]
pub struct Platform {
    /// The roles.
    pub roles: &'static [RoleClass],
    /// The actions.
    pub actions: &'static [&'static str],
    /// Where.
    pub shape: Shape,
    /// Why.
    pub reason: &'static str,
}

const KMS_USE: [&str; 3] = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"];
const XRAY: [&str; 5] = [
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:GetSamplingStatisticSummaries",
];
const THE_KEY: Shape = Shape::Pattern("arn:{partition}:kms:{region}:{account}:key/*");

/// Every permission a role holds that its code does not call, with the reason AWS needs it.
pub const PLATFORM: [Platform; 9] = [
    Platform {
        roles: &[RoleClass::Lambda],
        actions: &["logs:CreateLogStream", "logs:PutLogEvents"],
        shape: Shape::Pattern("arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/*"),
        reason: "the Lambda service writes the function's logs to its log group with the function's role",
    },
    Platform {
        roles: &[RoleClass::Lambda],
        actions: &["sqs:SendMessage"],
        shape: Shape::Pattern("arn:{partition}:sqs:{region}:{account}:*"),
        reason: "the Lambda service sends failed asynchronous invocations (dead_letter_config) and failed stream batches (on-failure destination) to the dead-letter queue with the function's role",
    },
    Platform {
        roles: &[RoleClass::Lambda],
        actions: &[
            "dynamodb:GetRecords",
            "dynamodb:GetShardIterator",
            "dynamodb:DescribeStream",
            "dynamodb:ListStreams",
        ],
        shape: Shape::EventSources,
        reason: "the event source mapping polls the function's DynamoDB stream with the function's role",
    },
    Platform {
        roles: &[RoleClass::Lambda],
        actions: &KMS_USE,
        shape: THE_KEY,
        reason: "used on the role's behalf: S3 decrypts the SSE-KMS chunks it reads, SQS encrypts the dead letters, Lambda decrypts the environment encrypted with the key",
    },
    Platform {
        roles: &[RoleClass::StateMachine],
        actions: &KMS_USE,
        shape: THE_KEY,
        reason: "Step Functions encrypts execution data with the customer-managed key (encryption_configuration) using the state machine's role",
    },
    Platform {
        roles: &[RoleClass::WorkerTask],
        actions: &KMS_USE,
        shape: THE_KEY,
        reason: "used on the role's behalf: S3 decrypts the SSE-KMS objects the worker reads and encrypts the outputs it writes; Transcribe encrypts its output with TRANSCRIBE_OUTPUT_KMS_KEY with the caller's rights",
    },
    Platform {
        roles: &[
            RoleClass::Lambda,
            RoleClass::StateMachine,
            RoleClass::WorkerTask,
        ],
        actions: &XRAY,
        shape: Shape::Pattern("*"),
        reason: "X-Ray (managed AWSXRayDaemonWriteAccess): Lambda active tracing, Step Functions tracing_configuration, the worker's X-Ray daemon sidecar upload segments with the role",
    },
    Platform {
        roles: &[RoleClass::StateMachine],
        actions: &[
            "logs:CreateLogDelivery",
            "logs:GetLogDelivery",
            "logs:UpdateLogDelivery",
            "logs:DeleteLogDelivery",
            "logs:ListLogDeliveries",
            "logs:PutResourcePolicy",
            "logs:DescribeResourcePolicies",
            "logs:DescribeLogGroups",
        ],
        shape: Shape::Pattern("*"),
        reason: "Step Functions delivers the execution logs (logging_configuration) with the state machine's role; these CloudWatch Logs actions take no resource",
    },
    Platform {
        roles: &[RoleClass::WorkerExecution],
        actions: &[
            "ecr:GetAuthorizationToken",
            "ecr:BatchCheckLayerAvailability",
            "ecr:GetDownloadUrlForLayer",
            "ecr:BatchGetImage",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
        ],
        shape: Shape::Pattern("*"),
        reason: "the ECS agent pulls the worker image and ships the containers' logs with the task execution role (managed AmazonECSTaskExecutionRolePolicy)",
    },
];

/// What the check found wrong.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Problem {
    /// The code calls `action` on `resource` but the role does not allow it.
    Missing,
    /// The role holds `action` on `resource` but nothing calls it.
    Unused,
    /// The comparison cannot be made (an unknown resource shape, a missing variable).
    Unmodelled,
}

/// One row of the report.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// What is wrong.
    pub problem: Problem,
    /// The role (Terraform address, with the function).
    pub role: String,
    /// The action.
    pub action: String,
    /// The resource expected (missing) or held (unused).
    pub resource: String,
    /// The code path (missing) or the statement (unused).
    pub detail: String,
}

/// The outcome of one check.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// What is wrong, sorted.
    pub findings: Vec<Finding>,
    /// Which [`PLATFORM`] entries some role needed.
    pub platform_used: BTreeSet<usize>,
    /// Every (role, action, resource) the code needs, for the table printed on success too.
    pub needed: Vec<(String, String, String)>,
}

impl Report {
    /// Whether the check found `problem` for `action` in a role whose address contains `role`
    /// on a resource containing `resource`.
    pub fn has(&self, problem: &Problem, role: &str, action: &str, resource: &str) -> bool {
        self.findings.iter().any(|f| {
            f.problem == *problem
                && f.role.contains(role)
                && f.action == action
                && f.resource.contains(resource)
        })
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<[String; 5]> = self
            .findings
            .iter()
            .map(|x| {
                [
                    format!("{:?}", x.problem),
                    x.role.clone(),
                    x.action.clone(),
                    x.resource.clone(),
                    x.detail.clone(),
                ]
            })
            .collect();
        let header = [
            "problem".to_owned(),
            "role".to_owned(),
            "action".to_owned(),
            "resource (expected / held)".to_owned(),
            "code path / statement".to_owned(),
        ];
        let widths: Vec<usize> = (0..4)
            .map(|i| {
                rows.iter()
                    .map(|r| r[i].len())
                    .chain([header[i].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for row in std::iter::once(&header).chain(&rows) {
            writeln!(
                f,
                "{:w0$} | {:w1$} | {:w2$} | {:w3$} | {}",
                row[0],
                row[1],
                row[2],
                row[3],
                row[4],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3]
            )?;
        }
        Ok(())
    }
}

/// What a role must be allowed, instantiated with the deployment's names.
#[derive(Clone, Debug)]
enum Expected {
    /// `action` on `resource`, for a request carrying `context`.
    Exact {
        resource: String,
        context: Vec<(String, String)>,
    },
    /// `action` on some object of `bucket`.
    ObjectOf { bucket: String },
}

impl Expected {
    fn describe(&self) -> String {
        match self {
            Self::Exact { resource, context } if context.is_empty() => resource.clone(),
            Self::Exact { resource, context } => {
                let keys: Vec<String> = context.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("{resource} (with {})", keys.join(", "))
            }
            Self::ObjectOf { bucket } => format!("arn:{PARTITION}:s3:::{bucket}/<an object>"),
        }
    }

    /// Whether one held (action pattern, resource pattern) of `statement` covers this.
    fn covered_by(
        &self,
        statement: &Statement,
        action: &str,
        pattern_action: &str,
        pattern: &str,
    ) -> bool {
        let single = Statement {
            actions: vec![pattern_action.to_owned()],
            resources: vec![pattern.to_owned()],
            ..statement.clone()
        };
        match self {
            Self::Exact { resource, context } => {
                let context: Vec<(&str, &str)> = context
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                single.allows(action, resource, &context)
            }
            Self::ObjectOf { bucket } => {
                single.names_action(action)
                    && single.conditions.is_empty()
                    && pattern.starts_with(&format!("arn:{PARTITION}:s3:::{bucket}/"))
            }
        }
    }
}

fn placeholders(pattern: &str) -> String {
    pattern
        .replace("{partition}", PARTITION)
        .replace("{region}", REGION)
        .replace("{account}", ACCOUNT_ID)
}

/// One role to check.
struct Role<'a> {
    label: String,
    class: RoleClass,
    policy: &'a RolePolicy,
    event_sources: &'a [String],
    needs: Vec<(String, Expected, String)>,
}

/// Compares the code's needs with the roles of `terraform`.
pub fn check(needs: &CodeNeeds, terraform: &TerraformRoles) -> Report {
    let mut report = Report::default();
    let mut roles = Vec::new();
    for (function, lambda) in &terraform.lambda_functions {
        let mut expected = Vec::new();
        match needs.lambdas.get(function) {
            Some(calls) => {
                for need in calls {
                    instantiate(
                        need,
                        &lambda.environment,
                        terraform,
                        &mut expected,
                        &mut report,
                        function,
                    );
                }
            }
            None => report.findings.push(Finding {
                problem: Problem::Unmodelled,
                role: lambda.role.role.clone(),
                action: "-".into(),
                resource: "-".into(),
                detail: format!(
                    "Terraform deploys Lambda {function}, the code has no binary of that name"
                ),
            }),
        }
        roles.push(Role {
            label: format!("{} (Lambda {function})", lambda.role.role),
            class: RoleClass::Lambda,
            policy: &lambda.role,
            event_sources: &lambda.event_sources,
            needs: expected,
        });
    }
    for function in needs.lambdas.keys() {
        if !terraform.lambda_functions.contains_key(function) {
            report.findings.push(Finding {
                problem: Problem::Unmodelled,
                role: "-".into(),
                action: "-".into(),
                resource: "-".into(),
                detail: format!(
                    "the code has a Lambda binary {function} that Terraform does not deploy"
                ),
            });
        }
    }
    let mut worker = Vec::new();
    for need in &needs.worker {
        let selected = need.gate.as_ref().is_none_or(|gate| {
            terraform
                .worker
                .environment
                .get(&gate.env)
                .is_some_and(|v| gate.values.contains(v))
        });
        if selected {
            instantiate(
                need,
                &terraform.worker.environment,
                terraform,
                &mut worker,
                &mut report,
                "worker",
            );
        }
    }
    roles.push(Role {
        label: format!("{} (worker task)", terraform.worker.task_role.role),
        class: RoleClass::WorkerTask,
        policy: &terraform.worker.task_role,
        event_sources: &[],
        needs: worker,
    });
    roles.push(Role {
        label: format!("{} (state machine)", terraform.state_machine.role.role),
        class: RoleClass::StateMachine,
        policy: &terraform.state_machine.role,
        event_sources: &[],
        needs: state_machine_needs(&terraform.state_machine.definition, &mut report),
    });
    roles.push(Role {
        label: format!(
            "{} (worker task execution)",
            terraform.worker.execution_role.role
        ),
        class: RoleClass::WorkerExecution,
        policy: &terraform.worker.execution_role,
        event_sources: &[],
        needs: Vec::new(),
    });
    for role in &roles {
        compare(role, &mut report);
    }
    report.findings.sort();
    report.findings.dedup();
    report
}

fn compare(role: &Role, report: &mut Report) {
    // Every call is allowed.
    for (action, expected, via) in &role.needs {
        report
            .needed
            .push((role.label.clone(), action.clone(), expected.describe()));
        let held = role.policy.statements.iter().any(|s| {
            s.actions.iter().any(|a| {
                s.resources
                    .iter()
                    .any(|r| expected.covered_by(s, action, a, r))
            })
        });
        if !held {
            report.findings.push(Finding {
                problem: Problem::Missing,
                role: role.label.clone(),
                action: action.clone(),
                resource: expected.describe(),
                detail: via.clone(),
            });
        }
    }
    // Every grant is called, or required by the platform.
    for (action, resource, statement) in role.policy.grants() {
        let called = role
            .needs
            .iter()
            .any(|(needed, expected, _)| expected.covered_by(statement, needed, action, resource));
        if called {
            continue;
        }
        let platform = PLATFORM.iter().position(|p| {
            p.roles.contains(&role.class)
                && p.actions.iter().any(|a| a.eq_ignore_ascii_case(action))
                && match p.shape {
                    Shape::Pattern(shape) => {
                        let shape = Statement {
                            sid: None,
                            actions: vec![action.to_owned()],
                            resources: vec![placeholders(shape)],
                            conditions: Vec::new(),
                            origin: statement.origin.clone(),
                        };
                        shape.allows(action, resource, &[])
                    }
                    Shape::EventSources => role.event_sources.iter().any(|s| s == resource),
                }
        });
        match platform {
            Some(index) => {
                report.platform_used.insert(index);
            }
            None => report.findings.push(Finding {
                problem: Problem::Unused,
                role: role.label.clone(),
                action: action.to_owned(),
                resource: resource.to_owned(),
                detail: match (&statement.origin, &statement.sid) {
                    (StatementOrigin::Inline { document }, Some(sid)) => {
                        format!(
                            "statement {sid} of {}",
                            StatementOrigin::Inline {
                                document: document.clone()
                            }
                        )
                    }
                    (origin, _) => origin.to_string(),
                },
            }),
        }
    }
}

fn instantiate(
    need: &Need,
    environment: &Environment,
    terraform: &TerraformRoles,
    out: &mut Vec<(String, Expected, String)>,
    report: &mut Report,
    whose: &str,
) {
    let mut unmodelled = |detail: String| {
        report.findings.push(Finding {
            problem: Problem::Unmodelled,
            role: whose.to_owned(),
            action: need.action.clone(),
            resource: format!("{:?}", need.spec),
            detail,
        });
    };
    let var = |name: &str| environment.get(name).cloned();
    let exact = |resource: String| Expected::Exact {
        resource,
        context: Vec::new(),
    };
    let mut push = |expected: Expected| out.push((need.action.clone(), expected, need.via.clone()));
    match &need.spec {
        Spec::Table {
            env: variable,
            index,
        } => match var(variable) {
            Some(table) => {
                let arn = format!("arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT_ID}:table/{table}");
                push(exact(match index {
                    Some(index) => format!("{arn}/index/{index}"),
                    None => arn,
                }));
            }
            None => unmodelled(format!(
                "{whose} has no {variable} in its environment ({})",
                need.via
            )),
        },
        Spec::Objects | Spec::Bucket => match var(env::RECORDINGS_BUCKET) {
            Some(bucket) if need.spec == Spec::Objects => push(Expected::ObjectOf { bucket }),
            Some(bucket) => push(exact(format!("arn:{PARTITION}:s3:::{bucket}"))),
            None => unmodelled(format!(
                "{whose} has no {} in its environment",
                env::RECORDINGS_BUCKET
            )),
        },
        Spec::StateMachine { env: variable } => match var(variable) {
            Some(arn) => push(exact(arn)),
            None => unmodelled(format!("{whose} has no {variable} in its environment")),
        },
        Spec::Executions { env: variable } => {
            match var(variable)
                .as_deref()
                .and_then(|arn| arn.split_once(":stateMachine:"))
            {
                Some((prefix, machine)) => push(exact(format!(
                    "{prefix}:execution:{machine}:policy-test-execution"
                ))),
                None => unmodelled(format!("{whose} has no state machine ARN in {variable}")),
            }
        }
        Spec::Activities => {
            let prefix = var(env::ACTIVITY_ARN_PREFIX).unwrap_or_default();
            let activities = activity_arns(&terraform.state_machine.definition);
            if activities.is_empty() {
                unmodelled("the deployed definition names no activity".into());
            }
            for arn in activities {
                if !arn.starts_with(&format!("{prefix}-")) {
                    unmodelled(format!(
                        "the definition names activity {arn}, the worker polls {prefix}-{{activity}}"
                    ));
                }
                push(exact(arn));
            }
        }
        Spec::Anything => push(exact("*".into())),
        Spec::TranscriptionJobs => push(exact(format!(
            "arn:{PARTITION}:transcribe:{REGION}:{ACCOUNT_ID}:transcription-job/policy-test-job"
        ))),
        // `Vocabulary::transcribe_name`: meeting-recorder-LANGUAGE-16 hex digits.
        Spec::Vocabularies => push(exact(format!(
            "arn:{PARTITION}:transcribe:{REGION}:{ACCOUNT_ID}:vocabulary/meeting-recorder-en-US-0123456789abcdef"
        ))),
        Spec::Model => match var(env::BEDROCK_MODEL_ID) {
            Some(id) => match id.split_once('.') {
                Some((geography, model)) if PROFILE_PREFIXES.contains(&geography) => {
                    let profile = format!(
                        "arn:{PARTITION}:bedrock:{REGION}:{ACCOUNT_ID}:inference-profile/{id}"
                    );
                    push(exact(profile.clone()));
                    for region in INFERENCE_PROFILE_REGIONS {
                        push(Expected::Exact {
                            resource: format!(
                                "arn:{PARTITION}:bedrock:{region}::foundation-model/{model}"
                            ),
                            context: vec![("bedrock:InferenceProfileArn".into(), profile.clone())],
                        });
                    }
                }
                _ => push(exact(format!(
                    "arn:{PARTITION}:bedrock:{REGION}::foundation-model/{id}"
                ))),
            },
            None => unmodelled(format!(
                "{whose} has no {} in its environment",
                env::BEDROCK_MODEL_ID
            )),
        },
    }
}

/// Every state of a definition, nested ones included.
fn states(definition: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    if let Some(all) = definition.get("States").and_then(Value::as_object) {
        for state in all.values() {
            out.push(state);
            for branch in state
                .get("Branches")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                out.extend(states(branch));
            }
            for key in ["Iterator", "ItemProcessor"] {
                if let Some(inner) = state.get(key) {
                    out.extend(states(inner));
                }
            }
        }
    }
    out
}

fn activity_arns(definition: &str) -> Vec<String> {
    let Ok(definition) = serde_json::from_str::<Value>(definition) else {
        return Vec::new();
    };
    states(&definition)
        .into_iter()
        .filter_map(|s| s.get("Resource").and_then(Value::as_str))
        .filter(|r| r.contains(":activity:"))
        .map(str::to_owned)
        .collect()
}

/// The calls the state machine's role makes: its Task states' service integrations
/// (`arn:aws:states:::dynamodb:updateItem` → `dynamodb:UpdateItem` on `Parameters.TableName`).
/// Activities need no permission of the role (the worker polls them).
fn state_machine_needs(definition: &str, report: &mut Report) -> Vec<(String, Expected, String)> {
    let mut out = Vec::new();
    let mut unmodelled = |detail: String| {
        report.findings.push(Finding {
            problem: Problem::Unmodelled,
            role: "state machine".into(),
            action: "-".into(),
            resource: "-".into(),
            detail,
        });
    };
    let definition: Value = match serde_json::from_str(definition) {
        Ok(value) => value,
        Err(e) => {
            unmodelled(format!("the deployed definition is not JSON: {e}"));
            return out;
        }
    };
    for state in states(&definition) {
        if state.get("Type").and_then(Value::as_str) != Some("Task") {
            continue;
        }
        let Some(resource) = state.get("Resource").and_then(Value::as_str) else {
            unmodelled(format!("a Task without Resource: {state}"));
            continue;
        };
        if resource.contains(":activity:") {
            continue;
        }
        let Some(integration) = resource.strip_prefix(&format!("arn:{PARTITION}:states:::")) else {
            unmodelled(format!(
                "Task resource {resource} is not a service integration"
            ));
            continue;
        };
        let integration = integration
            .trim_end_matches(".sync")
            .trim_end_matches(".waitForTaskToken");
        let Some((service, api)) = integration.split_once(':') else {
            unmodelled(format!("Task resource {resource}"));
            continue;
        };
        let parameters = state.get("Parameters").or_else(|| state.get("Arguments"));
        let via = format!("Task {resource}");
        match service {
            "dynamodb" => match parameters
                .and_then(|p| p.get("TableName"))
                .and_then(Value::as_str)
            {
                Some(table) => out.push((
                    format!("dynamodb:{}", sdk::upper_first(api)),
                    Expected::Exact {
                        resource: format!(
                            "arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT_ID}:table/{table}"
                        ),
                        context: Vec::new(),
                    },
                    via,
                )),
                None => unmodelled(format!("{via} has no literal TableName")),
            },
            other => unmodelled(format!("{via}: the {other} integration is not modelled")),
        }
    }
    out
}
