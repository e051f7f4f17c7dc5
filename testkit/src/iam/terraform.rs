//! Reads the permissions of every role out of `infra/terraform/*.tf`, so the IAM-faithful object
//! store ([`super::IamObjectStore`]) and the policy test are fed with exactly what a deployment
//! grants, not with a copy that can drift.
//!
//! The files are parsed with `hcl-rs` and evaluated the way Terraform would: variables (their
//! defaults, or values a test sets), `locals`, `resource` and `data` blocks (with `count` and
//! `for_each`) to a fixpoint, `aws_iam_role_policy` documents with their `dynamic "statement"`
//! blocks, conditionals, splats and the functions the files use. What a plan would only know at
//! apply time is a deterministic placeholder:
//!
//! - resources with a name get the ARN AWS gives them, in [`REGION`] of account [`ACCOUNT_ID`]
//!   (`aws_dynamodb_table.chunks.arn` = `arn:aws:dynamodb:us-east-1:123456789012:table/
//!   meeting-recorder-chunks`, likewise state machines, activities, queues, log groups, roles and
//!   functions); a KMS key is `key/terraform-key-{name}`; `aws_s3_bucket.recordings` is the bucket
//!   [`super::TERRAFORM_BUCKET`] (any other bucket `terraform-bucket-{name}`);
//! - `data.aws_bedrock_inference_profile` routes to the model in each of
//!   [`INFERENCE_PROFILE_REGIONS`];
//! - every other resource or data attribute is the symbol `<kind.name.attribute>`.
//!
//! Anything this reader does not model is an error, never a silent "no permission": an unknown
//! reference in a statement, `not_actions`, `principals` or a `Deny` in a role policy, a condition
//! operator it cannot evaluate, a policy document merged from other documents, a managed policy it
//! does not know ([`super::MANAGED_POLICIES`]), an inline or customer-managed policy on a role,
//! or a bucket policy that grants something.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hcl::eval::{Context, Evaluate, FuncArgs, FuncDef, ParamType};
use hcl::expr::{ObjectKey, TraversalOperator};
use hcl::{Block, Body, Expression, Map, Value};

use super::roles::{ManagedPolicy, RolePolicy, Statement, StatementOrigin};
use super::{Condition, Grants, S3Statement, TERRAFORM_BUCKET};

/// Partition the data sources resolve to.
pub const PARTITION: &str = "aws";
/// Region the data sources resolve to.
pub const REGION: &str = "us-east-1";
/// Account the data sources resolve to.
pub const ACCOUNT_ID: &str = "123456789012";
/// The destination regions `data.aws_bedrock_inference_profile` reports for every profile: the
/// home region and another one, so a policy that grants only the home region shows.
pub const INFERENCE_PROFILE_REGIONS: [&str; 2] = [REGION, "us-west-2"];

/// The stream label of every DynamoDB stream ARN (`{table arn}/stream/{label}`).
const STREAM_LABEL: &str = "1970-01-01T00:00:00.000";

/// Attributes every resource or data source without a model has, as symbols.
const SYMBOLIC_ATTRIBUTES: [&str; 12] = [
    "arn",
    "id",
    "name",
    "function_name",
    "stream_arn",
    "json",
    "repository_url",
    "key_id",
    "url",
    "bucket",
    "output_path",
    "output_base64sha256",
];

/// Condition operators [`super::Grants`] and [`Statement`] evaluate (each also with the
/// `IfExists` suffix).
const SUPPORTED_OPERATORS: [&str; 8] = [
    "StringEquals",
    "StringNotEquals",
    "StringLike",
    "StringNotLike",
    "ArnEquals",
    "ArnNotEquals",
    "ArnLike",
    "ArnNotLike",
];

/// Why the Terraform could not be read as a set of role permissions.
#[derive(Debug, thiserror::Error)]
pub enum IamError {
    /// A file or the folder could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid HCL.
    #[error("parsing {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        #[source]
        source: hcl::Error,
    },
    /// An expression that decides a permission could not be evaluated.
    #[error("evaluating {what}: {source}")]
    Eval {
        /// Where the expression is.
        what: String,
        /// The evaluator's error.
        #[source]
        source: Box<hcl::eval::Error>,
    },
    /// The files have a shape this reader does not model: update `testkit/src/iam/terraform.rs`.
    #[error("infra/terraform has a shape testkit::iam does not model: {0}")]
    Unmodelled(String),
}

/// Environment variables by name.
pub type Environment = BTreeMap<String, String>;

/// One Lambda function: its role's permissions and its environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LambdaFunction {
    /// Every statement of the function's role.
    pub role: RolePolicy,
    /// `environment.variables`.
    pub environment: Environment,
    /// The `event_source_arn` of every `aws_lambda_event_source_mapping` that invokes it.
    pub event_sources: Vec<String>,
}

/// The state machine: its role and the definition Terraform deploys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateMachine {
    /// Every statement of the state machine's role.
    pub role: RolePolicy,
    /// The deployed definition (ASL JSON, with the deployment's names substituted).
    pub definition: String,
}

/// The ECS worker service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerService {
    /// The task role: what the worker's code (and its X-Ray sidecar) runs with.
    pub task_role: RolePolicy,
    /// The task execution role: what the ECS agent runs with (image pull, log shipping).
    pub execution_role: RolePolicy,
    /// The environment of the container that runs the worker image.
    pub environment: Environment,
}

/// The permissions of every role, read from one Terraform folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TerraformRoles {
    /// By Lambda function key (`chunk-upload-handler`, ...): its role's S3 statements.
    pub lambdas: BTreeMap<String, Grants>,
    /// The worker task role's S3 statements.
    pub worker_task: Grants,
    /// By Lambda function key: every statement of its role, and its environment.
    pub lambda_functions: BTreeMap<String, LambdaFunction>,
    /// The state machine.
    pub state_machine: StateMachine,
    /// The worker service.
    pub worker: WorkerService,
}

/// Reads every `*.tf` file of `dir` with the variables' defaults.
pub fn read_roles(dir: &Path) -> Result<TerraformRoles, IamError> {
    read_roles_with(dir, &[])
}

/// Reads every `*.tf` file of `dir` with `variables` set (as `-var name=value` would) and the
/// other variables at their defaults. A variable without a default stays undefined: a permission
/// that uses one fails to read.
pub fn read_roles_with(dir: &Path, variables: &[(&str, &str)]) -> Result<TerraformRoles, IamError> {
    let body = parse_dir(dir)?;
    for (name, _) in variables {
        if !blocks(&body, "variable").any(|b| label(b, 0) == Some(name)) {
            return Err(IamError::Unmodelled(format!(
                "no variable {name} to set in {}",
                dir.display()
            )));
        }
    }
    let module_path = std::path::absolute(dir).map_err(|source| IamError::Read {
        path: dir.to_owned(),
        source,
    })?;
    let (ctx, unevaluated) = evaluate_module(&body, &module_path, variables);
    read_with(&body, &ctx).map_err(|error| match error {
        // Name what could not be evaluated, and why, rather than only "no such key".
        IamError::Eval { what, source } => {
            let text = source.to_string();
            let causes: Vec<String> = unevaluated
                .iter()
                .filter(|(name, _)| {
                    let short = name.rsplit('.').next().unwrap_or(name);
                    text.contains(short)
                })
                .map(|(name, why)| format!("{name} could not be evaluated: {why}"))
                .collect();
            IamError::Eval {
                what: if causes.is_empty() {
                    what
                } else {
                    format!("{what} ({})", causes.join("; "))
                },
                source,
            }
        }
        other => other,
    })
}

fn read_with(body: &Body, ctx: &Context<'static>) -> Result<TerraformRoles, IamError> {
    check_role_definitions(body)?;
    check_bucket_policies(body, ctx)?;
    let documents = role_documents(body, ctx)?;
    let managed = managed_policies(body, ctx)?;
    let policy_of = |role: &RoleRef| -> Result<RolePolicy, IamError> {
        let mut statements = Vec::new();
        for document in documents.get(role).into_iter().flatten() {
            statements.extend(document_statements(body, ctx, document)?);
        }
        for policy in managed.get(role).into_iter().flatten() {
            statements.push(policy.statement());
        }
        if statements.is_empty() {
            return Err(IamError::Unmodelled(format!(
                "no aws_iam_role_policy or known managed policy attaches to {role}"
            )));
        }
        Ok(RolePolicy {
            role: role.to_string(),
            statements,
        })
    };
    let mut lambdas = BTreeMap::new();
    let mut lambda_functions = BTreeMap::new();
    let mappings = event_source_mappings(body, ctx)?;
    for (function, function_arn, role, environment) in lambda_functions_of(body, ctx)? {
        let role = policy_of(&role)?;
        let event_sources = mappings
            .iter()
            .filter(|(target, _)| {
                *target == function_arn || function_arn.ends_with(&format!(":function:{target}"))
            })
            .map(|(_, source)| source.clone())
            .collect();
        lambdas.insert(function.clone(), s3_grants(&role));
        lambda_functions.insert(
            function,
            LambdaFunction {
                role,
                environment,
                event_sources,
            },
        );
    }
    if lambdas.is_empty() {
        return Err(IamError::Unmodelled("no aws_lambda_function found".into()));
    }
    let (machine_role, definition) = state_machine_of(body, ctx)?;
    let state_machine = StateMachine {
        role: policy_of(&machine_role)?,
        definition,
    };
    let (task_role, execution_role, environment) = worker_of(body, ctx)?;
    let task_role = policy_of(&task_role)?;
    Ok(TerraformRoles {
        lambdas,
        worker_task: s3_grants(&task_role),
        lambda_functions,
        state_machine,
        worker: WorkerService {
            task_role,
            execution_role: policy_of(&execution_role)?,
            environment,
        },
    })
}

fn parse_dir(dir: &Path) -> Result<Body, IamError> {
    let read_error = |source| IamError::Read {
        path: dir.to_owned(),
        source,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(read_error)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(read_error)?;
    files.retain(|p| p.extension().is_some_and(|e| e == "tf"));
    files.sort();
    if files.is_empty() {
        return Err(IamError::Unmodelled(format!(
            "no .tf file in {}",
            dir.display()
        )));
    }
    let mut structures = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|source| IamError::Read {
            path: path.clone(),
            source,
        })?;
        let body = hcl::parse(&text).map_err(|source| IamError::Parse { path, source })?;
        structures.extend(body.into_inner());
    }
    Ok(Body(structures))
}

// ---------------------------------------------------------------------------------------------
// Functions
// ---------------------------------------------------------------------------------------------

fn object<I, K>(entries: I) -> Value
where
    I: IntoIterator<Item = (K, Value)>,
    K: Into<String>,
{
    Value::Object(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
}

/// The placeholder name of bucket resource `name`.
fn bucket_placeholder(name: &str) -> String {
    if name == "recordings" {
        TERRAFORM_BUCKET.to_owned()
    } else {
        format!("terraform-bucket-{name}")
    }
}

fn string_arg(args: &FuncArgs, index: usize, function: &str) -> Result<String, String> {
    args[index]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{function} of a non-string {}", args[index]))
}

fn length(args: FuncArgs) -> Result<Value, String> {
    match &args[0] {
        Value::Array(a) => Ok(Value::from(a.len() as u64)),
        Value::Object(o) => Ok(Value::from(o.len() as u64)),
        Value::String(s) => Ok(Value::from(s.chars().count() as u64)),
        other => Err(format!("length of {other}")),
    }
}

fn concat(args: FuncArgs) -> Result<Value, String> {
    let mut out = Vec::new();
    for arg in args.into_values() {
        match arg {
            Value::Array(a) => out.extend(a),
            other => return Err(format!("concat of a non-list {other}")),
        }
    }
    Ok(Value::Array(out))
}

fn tostring(args: FuncArgs) -> Result<Value, String> {
    match &args[0] {
        Value::String(s) => Ok(Value::String(s.clone())),
        Value::Number(n) => Ok(Value::String(n.to_string())),
        Value::Bool(b) => Ok(Value::String(b.to_string())),
        other => Err(format!("tostring of {other}")),
    }
}

/// A set of strings, as Terraform iterates it: sorted, without duplicates.
fn toset(args: FuncArgs) -> Result<Value, String> {
    let Value::Array(items) = &args[0] else {
        return Err(format!("toset of {}", args[0]));
    };
    let mut strings: Vec<String> = items
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("toset of a non-string {v}"))
        })
        .collect::<Result<_, _>>()?;
    strings.sort();
    strings.dedup();
    Ok(Value::Array(strings.into_iter().map(Value::from).collect()))
}

/// `file(path)`: `path.module` is absolute, so every path the files build is.
fn file(args: FuncArgs) -> Result<Value, String> {
    let path = string_arg(&args, 0, "file")?;
    std::fs::read_to_string(&path)
        .map(Value::from)
        .map_err(|e| format!("file({path}): {e}"))
}

fn jsondecode(args: FuncArgs) -> Result<Value, String> {
    let text = string_arg(&args, 0, "jsondecode")?;
    serde_json::from_str::<Value>(&text).map_err(|e| format!("jsondecode: {e}"))
}

fn jsonencode(args: FuncArgs) -> Result<Value, String> {
    serde_json::to_string(&args[0])
        .map(Value::from)
        .map_err(|e| format!("jsonencode: {e}"))
}

/// `replace(string, substring, replacement)`; a `/regex/` substring is not modelled.
fn replace(args: FuncArgs) -> Result<Value, String> {
    let text = string_arg(&args, 0, "replace")?;
    let from = string_arg(&args, 1, "replace")?;
    let to = string_arg(&args, 2, "replace")?;
    if from.len() > 1 && from.starts_with('/') && from.ends_with('/') {
        return Err(format!("replace with the regular expression {from}"));
    }
    Ok(Value::from(text.replace(&from, &to)))
}

fn merge(args: FuncArgs) -> Result<Value, String> {
    let mut out = Map::new();
    for arg in args.into_values() {
        match arg {
            Value::Object(map) => out.extend(map),
            Value::Null => {}
            other => return Err(format!("merge of a non-map {other}")),
        }
    }
    Ok(Value::Object(out))
}

fn contains(args: FuncArgs) -> Result<Value, String> {
    match &args[0] {
        Value::Array(items) => Ok(Value::from(items.contains(&args[1]))),
        other => Err(format!("contains of a non-list {other}")),
    }
}

fn split(args: FuncArgs) -> Result<Value, String> {
    let separator = string_arg(&args, 0, "split")?;
    let text = string_arg(&args, 1, "split")?;
    Ok(Value::Array(
        text.split(separator.as_str()).map(Value::from).collect(),
    ))
}

fn join(args: FuncArgs) -> Result<Value, String> {
    let separator = string_arg(&args, 0, "join")?;
    let Some(Value::Array(items)) = args.get(1) else {
        return Err("join needs a list".to_owned());
    };
    let parts: Vec<String> = items
        .iter()
        .map(|item| match item {
            Value::String(s) => Ok(s.clone()),
            other => Err(format!("join of {other}")),
        })
        .collect::<Result<_, _>>()?;
    Ok(Value::from(parts.join(separator.as_str())))
}

fn declare_functions(ctx: &mut Context<'static>) {
    let any = |f| FuncDef::builder().param(ParamType::Any).build(f);
    let two = |f| {
        FuncDef::builder()
            .param(ParamType::Any)
            .param(ParamType::Any)
            .build(f)
    };
    ctx.declare_func("length", any(length));
    ctx.declare_func("tostring", any(tostring));
    ctx.declare_func("toset", any(toset));
    ctx.declare_func("file", any(file));
    ctx.declare_func("jsondecode", any(jsondecode));
    ctx.declare_func("jsonencode", any(jsonencode));
    ctx.declare_func("contains", two(contains));
    ctx.declare_func("split", two(split));
    ctx.declare_func("join", two(join));
    ctx.declare_func(
        "replace",
        FuncDef::builder()
            .param(ParamType::Any)
            .param(ParamType::Any)
            .param(ParamType::Any)
            .build(replace),
    );
    ctx.declare_func(
        "concat",
        FuncDef::builder()
            .variadic_param(ParamType::array_of(ParamType::Any))
            .build(concat),
    );
    ctx.declare_func(
        "merge",
        FuncDef::builder()
            .variadic_param(ParamType::Any)
            .build(merge),
    );
}

// ---------------------------------------------------------------------------------------------
// Evaluation of the module: variables, locals, resources and data sources
// ---------------------------------------------------------------------------------------------

/// What the module evaluated to so far.
#[derive(Default)]
struct Scope {
    module_path: String,
    variables: Map<String, Value>,
    locals: Map<String, Value>,
    /// By kind, by name.
    resources: BTreeMap<String, Map<String, Value>>,
    /// By kind, by name.
    data: BTreeMap<String, Map<String, Value>>,
}

impl Scope {
    fn context(&self) -> Context<'static> {
        let mut ctx = Context::new();
        declare_functions(&mut ctx);
        let path = Value::from(self.module_path.clone());
        ctx.declare_var(
            "path",
            object([
                ("module", path.clone()),
                ("root", path.clone()),
                ("cwd", path),
            ]),
        );
        ctx.declare_var("var", Value::Object(self.variables.clone()));
        ctx.declare_var("local", Value::Object(self.locals.clone()));
        ctx.declare_var(
            "data",
            object(
                self.data
                    .iter()
                    .map(|(kind, by_name)| (kind.clone(), Value::Object(by_name.clone()))),
            ),
        );
        for (kind, by_name) in &self.resources {
            ctx.declare_var(kind.clone(), Value::Object(by_name.clone()));
        }
        ctx
    }
}

/// A declaration whose value others may reference.
enum Declaration<'a> {
    Local(&'a str, &'a Expression),
    Resource(&'a Block),
    Data(&'a Block),
}

impl Declaration<'_> {
    fn name(&self) -> String {
        match self {
            Self::Local(name, _) => format!("local.{name}"),
            Self::Resource(block) => block_address(block),
            Self::Data(block) => format!("data.{}", block_address(block)),
        }
    }
}

fn block_address(block: &Block) -> String {
    format!(
        "{}.{}",
        label(block, 0).unwrap_or_default(),
        label(block, 1).unwrap_or_default()
    )
}

/// Evaluates variables, locals, resources and data sources to a fixpoint (each round evaluates
/// what the previous rounds made possible); returns the final context and what could not be
/// evaluated, with why (it matters only if a permission uses it).
fn evaluate_module(
    body: &Body,
    module_path: &Path,
    overrides: &[(&str, &str)],
) -> (Context<'static>, BTreeMap<String, String>) {
    let mut scope = Scope {
        module_path: module_path.display().to_string(),
        ..Scope::default()
    };
    let bare = scope.context();
    for block in blocks(body, "variable") {
        let Some(name) = label(block, 0) else {
            continue;
        };
        if let Some((_, value)) = overrides.iter().find(|(n, _)| *n == name) {
            scope.variables.insert(name.to_owned(), Value::from(*value));
        } else if let Some(default) = attribute(block.body(), "default")
            && let Ok(value) = default.evaluate(&bare)
        {
            scope.variables.insert(name.to_owned(), value);
        }
    }
    let mut pending: Vec<Declaration> = blocks(body, "locals")
        .flat_map(|b| b.body().attributes())
        .map(|a| Declaration::Local(a.key(), a.expr()))
        .chain(blocks(body, "resource").map(Declaration::Resource))
        .chain(blocks(body, "data").map(Declaration::Data))
        .collect();
    loop {
        let ctx = scope.context();
        let mut unevaluated = BTreeMap::new();
        let before = pending.len();
        pending.retain(|declaration| {
            let result = match declaration {
                Declaration::Local(name, expr) => expr
                    .evaluate(&ctx)
                    .map(|value| {
                        scope.locals.insert((*name).to_owned(), value);
                    })
                    .map_err(|e| e.to_string()),
                Declaration::Resource(block) => block_value("resource", block, &ctx).map(|v| {
                    insert_block(&mut scope.resources, block, v);
                }),
                Declaration::Data(block) => block_value("data", block, &ctx).map(|v| {
                    insert_block(&mut scope.data, block, v);
                }),
            };
            match result {
                Ok(()) => false,
                Err(why) => {
                    unevaluated.insert(declaration.name(), why);
                    true
                }
            }
        });
        if pending.len() == before {
            return (scope.context(), unevaluated);
        }
    }
}

fn insert_block(into: &mut BTreeMap<String, Map<String, Value>>, block: &Block, value: Value) {
    if let (Some(kind), Some(name)) = (label(block, 0), label(block, 1)) {
        into.entry(kind.to_owned())
            .or_default()
            .insert(name.to_owned(), value);
    }
}

/// The value a reference to a resource or data block sees: one instance, a list (`count`) or a
/// map (`for_each`).
fn block_value(root: &str, block: &Block, ctx: &Context<'static>) -> Result<Value, String> {
    let instances = instances(block, ctx).map_err(|e| e.to_string())?;
    let single = !has_repetition(block);
    let values: Vec<(Option<String>, Value)> = instances
        .iter()
        .map(|i| instance_value(root, block, &i.ctx).map(|v| (i.key.clone(), v)))
        .collect::<Result<_, _>>()?;
    if single {
        return Ok(values
            .into_iter()
            .next()
            .map(|(_, v)| v)
            .unwrap_or(Value::Null));
    }
    if attribute(block.body(), "count").is_some() {
        return Ok(Value::Array(values.into_iter().map(|(_, v)| v).collect()));
    }
    Ok(Value::Object(
        values
            .into_iter()
            .map(|(k, v)| (k.unwrap_or_default(), v))
            .collect(),
    ))
}

fn has_repetition(block: &Block) -> bool {
    attribute(block.body(), "count").is_some() || attribute(block.body(), "for_each").is_some()
}

/// The attributes of one instance of a resource or data block: modelled kinds from their
/// arguments, the others as symbols.
fn instance_value(root: &str, block: &Block, ctx: &Context<'static>) -> Result<Value, String> {
    let kind = label(block, 0).unwrap_or_default();
    let name = label(block, 1).unwrap_or_default();
    let argument = |key: &str| -> Result<String, String> {
        let expr = attribute(block.body(), key)
            .ok_or_else(|| format!("{root} {kind}.{name} has no {key}"))?;
        let value = expr.evaluate(ctx).map_err(|e| e.to_string())?;
        value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("{key} of {kind}.{name} is {value}"))
    };
    let with_arn = |arn: String, id: String, name: String| {
        object([
            ("arn", Value::from(arn)),
            ("id", Value::from(id)),
            ("name", Value::from(name)),
        ])
    };
    let arn = |service: &str, rest: &str| {
        format!("arn:{PARTITION}:{service}:{REGION}:{ACCOUNT_ID}:{rest}")
    };
    Ok(match (root, kind) {
        ("resource", "aws_s3_bucket") => {
            let bucket = bucket_placeholder(name);
            object([
                ("arn", Value::from(format!("arn:{PARTITION}:s3:::{bucket}"))),
                ("id", Value::from(bucket.clone())),
                ("bucket", Value::from(bucket)),
            ])
        }
        ("resource", "aws_dynamodb_table") => {
            let table = argument("name")?;
            let table_arn = arn("dynamodb", &format!("table/{table}"));
            let mut value = with_arn(table_arn.clone(), table.clone(), table);
            if let Value::Object(map) = &mut value {
                map.insert(
                    "stream_arn".into(),
                    Value::from(format!("{table_arn}/stream/{STREAM_LABEL}")),
                );
            }
            value
        }
        ("resource", "aws_sfn_state_machine") => {
            let machine = argument("name")?;
            let machine_arn = arn("states", &format!("stateMachine:{machine}"));
            with_arn(machine_arn.clone(), machine_arn, machine)
        }
        ("resource", "aws_sfn_activity") => {
            let activity = argument("name")?;
            let activity_arn = arn("states", &format!("activity:{activity}"));
            with_arn(activity_arn.clone(), activity_arn, activity)
        }
        ("resource", "aws_sqs_queue") => {
            let queue = argument("name")?;
            let url = format!("https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{queue}");
            let mut value = with_arn(arn("sqs", &queue), url.clone(), queue);
            if let Value::Object(map) = &mut value {
                map.insert("url".into(), Value::from(url));
            }
            value
        }
        ("resource", "aws_cloudwatch_log_group") => {
            let group = argument("name")?;
            with_arn(
                arn("logs", &format!("log-group:{group}")),
                group.clone(),
                group,
            )
        }
        ("resource", "aws_iam_role") => {
            let role = argument("name")?;
            with_arn(
                format!("arn:{PARTITION}:iam::{ACCOUNT_ID}:role/{role}"),
                role.clone(),
                role,
            )
        }
        ("resource", "aws_lambda_function") => {
            let function = argument("function_name")?;
            let function_arn = arn("lambda", &format!("function:{function}"));
            object([
                ("arn", Value::from(function_arn)),
                ("id", Value::from(function.clone())),
                ("function_name", Value::from(function)),
            ])
        }
        ("resource", "aws_kms_key") => {
            let key = format!("terraform-key-{name}");
            object([
                ("arn", Value::from(arn("kms", &format!("key/{key}")))),
                ("id", Value::from(key.clone())),
                ("key_id", Value::from(key)),
            ])
        }
        ("data", "aws_partition") => object([
            ("partition", Value::from(PARTITION)),
            ("id", Value::from(PARTITION)),
        ]),
        ("data", "aws_region") => {
            object([("name", Value::from(REGION)), ("id", Value::from(REGION))])
        }
        ("data", "aws_caller_identity") => object([
            ("account_id", Value::from(ACCOUNT_ID)),
            ("id", Value::from(ACCOUNT_ID)),
        ]),
        ("data", "aws_bedrock_inference_profile") => {
            let id = argument("inference_profile_id")?;
            let (_, model) = id
                .split_once('.')
                .ok_or_else(|| format!("inference profile id {id} has no geography prefix"))?;
            let models = INFERENCE_PROFILE_REGIONS
                .iter()
                .map(|region| {
                    object([(
                        "model_arn",
                        Value::from(format!(
                            "arn:{PARTITION}:bedrock:{region}::foundation-model/{model}"
                        )),
                    )])
                })
                .collect();
            object([
                ("inference_profile_id", Value::from(id.clone())),
                (
                    "inference_profile_arn",
                    Value::from(arn("bedrock", &format!("inference-profile/{id}"))),
                ),
                ("models", Value::Array(models)),
            ])
        }
        _ => object(SYMBOLIC_ATTRIBUTES.map(|a| (a, Value::from(format!("<{kind}.{name}.{a}>"))))),
    })
}

/// One instance of a block: its key (`each.key`, or the `count.index`) and the context with
/// `each` / `count` bound.
struct Instance {
    key: Option<String>,
    ctx: Context<'static>,
}

fn with_each(ctx: &Context<'static>, name: &str, key: &Value, value: &Value) -> Context<'static> {
    let mut scoped = ctx.clone();
    scoped.declare_var(
        name.to_owned(),
        object([("key", key.clone()), ("value", value.clone())]),
    );
    scoped
}

fn evaluate(
    expr: &Expression,
    ctx: &Context,
    what: impl FnOnce() -> String,
) -> Result<Value, IamError> {
    expr.evaluate(ctx).map_err(|source| IamError::Eval {
        what: what(),
        source: Box::new(source),
    })
}

/// The instances of a block with `count` or `for_each` (a block without either has one
/// instance with no key).
fn instances(block: &Block, ctx: &Context<'static>) -> Result<Vec<Instance>, IamError> {
    if let Some(count) = attribute(block.body(), "count") {
        let value = evaluate(count, ctx, || format!("count of {}", describe(block)))?;
        let n = value.as_u64().ok_or_else(|| {
            IamError::Unmodelled(format!("count of {} is {value}", describe(block)))
        })?;
        return Ok((0..n)
            .map(|index| {
                let mut scoped = ctx.clone();
                scoped.declare_var("count", object([("index", Value::from(index))]));
                Instance {
                    key: Some(index.to_string()),
                    ctx: scoped,
                }
            })
            .collect());
    }
    let Some(for_each) = attribute(block.body(), "for_each") else {
        return Ok(vec![Instance {
            key: None,
            ctx: ctx.clone(),
        }]);
    };
    let value = evaluate(for_each, ctx, || format!("for_each of {}", describe(block)))?;
    // The for_each of a resource is a map or a set of strings (a list is a Terraform error):
    // a set's elements are its keys.
    let entries = match value {
        Value::Array(items) => items.into_iter().map(|v| (v.clone(), v)).collect(),
        other => collection_entries(other).ok_or_else(|| {
            IamError::Unmodelled(format!(
                "for_each of {} is not a map or a set",
                describe(block)
            ))
        })?,
    };
    Ok(entries
        .into_iter()
        .map(|(key, value)| Instance {
            key: Some(key_string(&key)),
            ctx: with_each(ctx, "each", &key, &value),
        })
        .collect())
}

/// The `(key, value)` pairs a `dynamic` block iterates over: map entries, or list elements with
/// their index.
fn collection_entries(value: Value) -> Option<Vec<(Value, Value)>> {
    match value {
        Value::Object(map) => Some(map.into_iter().map(|(k, v)| (Value::from(k), v)).collect()),
        Value::Array(items) => Some(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| (Value::from(i as u64), v))
                .collect(),
        ),
        _ => None,
    }
}

fn key_string(key: &Value) -> String {
    key.as_str().map_or_else(|| key.to_string(), str::to_owned)
}

// ---------------------------------------------------------------------------------------------
// Body helpers
// ---------------------------------------------------------------------------------------------

fn blocks<'a>(body: &'a Body, identifier: &'a str) -> impl Iterator<Item = &'a Block> + 'a {
    body.blocks().filter(move |b| b.identifier() == identifier)
}

fn label(block: &Block, index: usize) -> Option<&str> {
    block.labels().get(index).map(|l| l.as_str())
}

fn attribute<'a>(body: &'a Body, key: &str) -> Option<&'a Expression> {
    body.attributes().find(|a| a.key() == key).map(|a| a.expr())
}

fn resources<'a>(body: &'a Body, kind: &'a str) -> impl Iterator<Item = &'a Block> + 'a {
    blocks(body, "resource").filter(move |b| label(b, 0) == Some(kind))
}

fn describe(block: &Block) -> String {
    let labels: Vec<&str> = block.labels().iter().map(|l| l.as_str()).collect();
    format!("{} {}", block.identifier(), labels.join("."))
}

/// The only block of `kind`, or an error.
fn only_resource<'a>(body: &'a Body, kind: &'a str) -> Result<&'a Block, IamError> {
    let mut found = resources(body, kind);
    let block = found
        .next()
        .ok_or_else(|| IamError::Unmodelled(format!("no {kind}")))?;
    if found.next().is_some() || has_repetition(block) {
        return Err(IamError::Unmodelled(format!("more than one {kind}")));
    }
    Ok(block)
}

// ---------------------------------------------------------------------------------------------
// Roles and the documents attached to them
// ---------------------------------------------------------------------------------------------

/// `aws_iam_role.NAME` or `aws_iam_role.NAME[KEY]`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct RoleRef {
    name: String,
    key: Option<String>,
}

impl std::fmt::Display for RoleRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.key {
            Some(key) => write!(f, "aws_iam_role.{}[\"{key}\"]", self.name),
            None => write!(f, "aws_iam_role.{}", self.name),
        }
    }
}

/// `data.aws_iam_policy_document.NAME` or `...NAME[KEY]`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct DocumentRef {
    name: String,
    key: Option<String>,
}

impl std::fmt::Display for DocumentRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.key {
            Some(key) => write!(f, "{}[\"{key}\"]", self.name),
            None => write!(f, "{}", self.name),
        }
    }
}

/// Splits `ROOT.a.b[index].c` into its root variable and operators with the index evaluated.
fn traversal_path(expr: &Expression, ctx: &Context) -> Option<(String, Vec<String>)> {
    let Expression::Traversal(traversal) = expr else {
        return None;
    };
    let Expression::Variable(root) = &traversal.expr else {
        return None;
    };
    let mut path = Vec::new();
    for operator in &traversal.operators {
        match operator {
            TraversalOperator::GetAttr(name) => path.push(name.as_str().to_owned()),
            TraversalOperator::Index(index) => {
                let value = index.evaluate(ctx).ok()?;
                path.push(format!("[{}]", key_string(&value)));
            }
            _ => return None,
        }
    }
    Some((root.as_str().to_owned(), path))
}

fn indexed(rest: &[String]) -> (Option<String>, &[String]) {
    match rest
        .first()
        .and_then(|s| s.strip_prefix('['))
        .and_then(|s| s.strip_suffix(']'))
    {
        Some(key) => (Some(key.to_owned()), &rest[1..]),
        None => (None, rest),
    }
}

fn role_ref(expr: &Expression, ctx: &Context, what: &str) -> Result<RoleRef, IamError> {
    let unmodelled = || {
        IamError::Unmodelled(format!(
            "{what} is not a reference to an aws_iam_role (aws_iam_role.NAME[KEY].arn|id|name)"
        ))
    };
    let (root, path) = traversal_path(expr, ctx).ok_or_else(unmodelled)?;
    let [name, rest @ ..] = path.as_slice() else {
        return Err(unmodelled());
    };
    let (key, rest) = indexed(rest);
    if root != "aws_iam_role"
        || !matches!(rest, [attr] if ["arn", "id", "name"].contains(&attr.as_str()))
    {
        return Err(unmodelled());
    }
    Ok(RoleRef {
        name: name.clone(),
        key,
    })
}

fn document_ref(expr: &Expression, ctx: &Context, what: &str) -> Result<DocumentRef, IamError> {
    let unmodelled = || {
        IamError::Unmodelled(format!(
            "{what} is not data.aws_iam_policy_document.NAME[KEY].json"
        ))
    };
    let (root, path) = traversal_path(expr, ctx).ok_or_else(unmodelled)?;
    let [kind, name, rest @ ..] = path.as_slice() else {
        return Err(unmodelled());
    };
    let (key, rest) = indexed(rest);
    if root != "data"
        || kind != "aws_iam_policy_document"
        || !matches!(rest, [attr] if attr == "json")
    {
        return Err(unmodelled());
    }
    Ok(DocumentRef {
        name: name.clone(),
        key,
    })
}

/// Every `aws_iam_role_policy` instance: which role gets which policy document.
fn role_documents(
    body: &Body,
    ctx: &Context<'static>,
) -> Result<BTreeMap<RoleRef, Vec<DocumentRef>>, IamError> {
    let mut out: BTreeMap<RoleRef, Vec<DocumentRef>> = BTreeMap::new();
    for block in resources(body, "aws_iam_role_policy") {
        for instance in instances(block, ctx)? {
            let what = describe(block);
            let role = attribute(block.body(), "role")
                .ok_or_else(|| IamError::Unmodelled(format!("{what} has no role")))?;
            let policy = attribute(block.body(), "policy")
                .ok_or_else(|| IamError::Unmodelled(format!("{what} has no policy")))?;
            let role = role_ref(role, &instance.ctx, &format!("role of {what}"))?;
            let document = document_ref(policy, &instance.ctx, &format!("policy of {what}"))?;
            out.entry(role).or_default().push(document);
        }
    }
    Ok(out)
}

/// Roles carry no inline (`inline_policy`) or customer-managed policy.
fn check_role_definitions(body: &Body) -> Result<(), IamError> {
    for block in resources(body, "aws_iam_role") {
        if block
            .body()
            .blocks()
            .any(|b| b.identifier() == "inline_policy")
            || attribute(block.body(), "managed_policy_arns").is_some()
        {
            return Err(IamError::Unmodelled(format!(
                "{} declares inline_policy or managed_policy_arns",
                describe(block)
            )));
        }
    }
    for kind in [
        "aws_iam_policy",
        "aws_iam_policy_attachment",
        "aws_iam_role_policies_exclusive",
        "aws_iam_role_policy_attachments_exclusive",
    ] {
        if resources(body, kind).next().is_some() {
            return Err(IamError::Unmodelled(format!("{kind} resources")));
        }
    }
    Ok(())
}

/// The AWS managed policies attached to each role; an unknown one is an error.
fn managed_policies(
    body: &Body,
    ctx: &Context<'static>,
) -> Result<BTreeMap<RoleRef, Vec<&'static ManagedPolicy>>, IamError> {
    let mut out: BTreeMap<RoleRef, Vec<&'static ManagedPolicy>> = BTreeMap::new();
    for block in resources(body, "aws_iam_role_policy_attachment") {
        for instance in instances(block, ctx)? {
            let what = describe(block);
            let role = attribute(block.body(), "role")
                .ok_or_else(|| IamError::Unmodelled(format!("{what} has no role")))?;
            let role = role_ref(role, &instance.ctx, &format!("role of {what}"))?;
            let expr = attribute(block.body(), "policy_arn")
                .ok_or_else(|| IamError::Unmodelled(format!("{what} has no policy_arn")))?;
            let arn = evaluate(expr, &instance.ctx, || format!("policy_arn of {what}"))?;
            let arn = arn.as_str().unwrap_or_default();
            let policy = arn
                .strip_prefix(&format!("arn:{PARTITION}:iam::aws:policy/"))
                .and_then(ManagedPolicy::known)
                .ok_or_else(|| {
                    IamError::Unmodelled(format!(
                        "{what} attaches {arn}, not a managed policy testkit::iam knows"
                    ))
                })?;
            out.entry(role).or_default().push(policy);
        }
    }
    Ok(out)
}

/// Bucket policies may only deny requests without TLS (which the double's callers never make)
/// or allow AWS services (not our roles): anything else would change what a role can do.
fn check_bucket_policies(body: &Body, ctx: &Context<'static>) -> Result<(), IamError> {
    for block in resources(body, "aws_s3_bucket_policy") {
        let what = describe(block);
        let policy = attribute(block.body(), "policy")
            .ok_or_else(|| IamError::Unmodelled(format!("{what} has no policy")))?;
        let document = document_ref(policy, ctx, &format!("policy of {what}"))?;
        let doc = find_document(body, &document.name)?;
        for (body, scoped) in statement_bodies(doc, ctx, &document)? {
            let effect =
                string_attribute(&body, &scoped, "effect")?.unwrap_or_else(|| "Allow".into());
            let principals: Vec<String> = body
                .blocks()
                .filter(|b| b.identifier() == "principals")
                .filter_map(|b| attribute(b.body(), "type"))
                .filter_map(|e| e.evaluate(&scoped).ok())
                .map(|v| key_string(&v))
                .collect();
            let conditions = conditions(&body, &scoped)?;
            let denies_plain_http = effect == "Deny"
                && conditions
                    .iter()
                    .any(|c| c.variable == "aws:SecureTransport" && c.values == ["false"]);
            let allows_services = effect == "Allow"
                && !principals.is_empty()
                && principals.iter().all(|p| p == "Service");
            if !denies_plain_http && !allows_services {
                return Err(IamError::Unmodelled(format!(
                    "a statement of {what} other than a TLS-only Deny or a service Allow"
                )));
            }
        }
    }
    Ok(())
}

/// Every `aws_lambda_event_source_mapping`: (function name or ARN, event source ARN).
fn event_source_mappings(
    body: &Body,
    ctx: &Context<'static>,
) -> Result<Vec<(String, String)>, IamError> {
    let mut out = Vec::new();
    for block in resources(body, "aws_lambda_event_source_mapping") {
        for instance in instances(block, ctx)? {
            let what = describe(block);
            let field = |key: &str| -> Result<String, IamError> {
                let expr = attribute(block.body(), key)
                    .ok_or_else(|| IamError::Unmodelled(format!("{what} has no {key}")))?;
                let value = evaluate(expr, &instance.ctx, || format!("{key} of {what}"))?;
                value
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| IamError::Unmodelled(format!("{key} of {what} is {value}")))
            };
            out.push((field("function_name")?, field("event_source_arn")?));
        }
    }
    Ok(out)
}

/// `aws_lambda_function` instances: function key → function ARN, role and environment.
fn lambda_functions_of(
    body: &Body,
    ctx: &Context<'static>,
) -> Result<Vec<(String, String, RoleRef, Environment)>, IamError> {
    let mut out = Vec::new();
    for block in resources(body, "aws_lambda_function") {
        for instance in instances(block, ctx)? {
            let what = describe(block);
            let function = instance
                .key
                .clone()
                .unwrap_or_else(|| label(block, 1).unwrap_or_default().to_owned());
            let role = attribute(block.body(), "role")
                .ok_or_else(|| IamError::Unmodelled(format!("{what} has no role")))?;
            let role = role_ref(role, &instance.ctx, &format!("role of {what}"))?;
            let function_arn = instance_value("resource", block, &instance.ctx)
                .map_err(|why| IamError::Unmodelled(format!("{what}[{function}]: {why}")))?
                .as_object()
                .and_then(|o| o.get("arn"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let environment = match block
                .body()
                .blocks()
                .find(|b| b.identifier() == "environment")
                .and_then(|b| attribute(b.body(), "variables"))
            {
                Some(expr) => string_map(
                    evaluate(expr, &instance.ctx, || {
                        format!("environment of {what}[{function}]")
                    })?,
                    &format!("environment of {what}[{function}]"),
                )?,
                None => BTreeMap::new(),
            };
            out.push((function, function_arn, role, environment));
        }
    }
    Ok(out)
}

fn string_map(value: Value, what: &str) -> Result<BTreeMap<String, String>, IamError> {
    let Value::Object(map) = value else {
        return Err(IamError::Unmodelled(format!("{what} is not a map")));
    };
    map.into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            other => Err(IamError::Unmodelled(format!("{what}: {k} is {other}"))),
        })
        .collect()
}

/// The role and the deployed definition of the one `aws_sfn_state_machine`.
fn state_machine_of(body: &Body, ctx: &Context<'static>) -> Result<(RoleRef, String), IamError> {
    let block = only_resource(body, "aws_sfn_state_machine")?;
    let what = describe(block);
    let role = attribute(block.body(), "role_arn")
        .ok_or_else(|| IamError::Unmodelled(format!("{what} has no role_arn")))?;
    let definition = attribute(block.body(), "definition")
        .ok_or_else(|| IamError::Unmodelled(format!("{what} has no definition")))?;
    let definition = evaluate(definition, ctx, || format!("definition of {what}"))?;
    let definition = definition
        .as_str()
        .ok_or_else(|| IamError::Unmodelled(format!("the definition of {what} is not a string")))?
        .to_owned();
    Ok((
        role_ref(role, ctx, &format!("role_arn of {what}"))?,
        definition,
    ))
}

/// The task role, the execution role and the worker container's environment of the one
/// `aws_ecs_task_definition`. The worker container is the one whose image comes from an
/// `aws_ecr_repository` of this module (the others are sidecars of public images).
fn worker_of(
    body: &Body,
    ctx: &Context<'static>,
) -> Result<(RoleRef, RoleRef, Environment), IamError> {
    let block = only_resource(body, "aws_ecs_task_definition")?;
    let what = describe(block);
    let role = |key: &str| {
        let expr = attribute(block.body(), key)
            .ok_or_else(|| IamError::Unmodelled(format!("{what} has no {key}")))?;
        role_ref(expr, ctx, &format!("{key} of {what}"))
    };
    let (task_role, execution_role) = (role("task_role_arn")?, role("execution_role_arn")?);
    let unmodelled = || {
        IamError::Unmodelled(format!(
            "container_definitions of {what} is not jsonencode([...]) with one container of an aws_ecr_repository image"
        ))
    };
    let Some(Expression::FuncCall(call)) = attribute(block.body(), "container_definitions") else {
        return Err(unmodelled());
    };
    let (true, [Expression::Array(containers)]) = (
        call.name.name.as_str() == "jsonencode",
        call.args.as_slice(),
    ) else {
        return Err(unmodelled());
    };
    let mut ours = containers.iter().filter_map(|c| match c {
        Expression::Object(fields) => {
            let image = object_field(fields, "image")?;
            let text = match image {
                Expression::TemplateExpr(template) => template.to_string(),
                other => format!("{other:?}"),
            };
            text.contains("aws_ecr_repository.").then_some(fields)
        }
        _ => None,
    });
    let (Some(fields), None) = (ours.next(), ours.next()) else {
        return Err(unmodelled());
    };
    let environment = match object_field(fields, "environment") {
        None => BTreeMap::new(),
        Some(expr) => {
            let place = format!("environment of the worker container of {what}");
            let value = evaluate(expr, ctx, || place.clone())?;
            let Value::Array(entries) = value else {
                return Err(IamError::Unmodelled(format!("{place} is not a list")));
            };
            entries
                .into_iter()
                .map(|entry| {
                    let field = |key: &str| {
                        entry
                            .as_object()
                            .and_then(|o| o.get(key))
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    };
                    match (field("name"), field("value")) {
                        (Some(name), Some(value)) => Ok((name, value)),
                        _ => Err(IamError::Unmodelled(format!(
                            "{place}: an entry without string name and value"
                        ))),
                    }
                })
                .collect::<Result<_, _>>()?
        }
    };
    Ok((task_role, execution_role, environment))
}

fn object_field<'a>(
    fields: &'a hcl::expr::Object<ObjectKey, Expression>,
    key: &str,
) -> Option<&'a Expression> {
    fields.iter().find_map(|(k, v)| {
        let name = match k {
            ObjectKey::Identifier(id) => id.as_str(),
            ObjectKey::Expression(Expression::String(s)) => s.as_str(),
            _ => return None,
        };
        (name == key).then_some(v)
    })
}

// ---------------------------------------------------------------------------------------------
// Policy documents
// ---------------------------------------------------------------------------------------------

fn find_document<'a>(body: &'a Body, name: &str) -> Result<&'a Block, IamError> {
    blocks(body, "data")
        .find(|b| label(b, 0) == Some("aws_iam_policy_document") && label(b, 1) == Some(name))
        .ok_or_else(|| {
            IamError::Unmodelled(format!(
                "data.aws_iam_policy_document.{name} is not declared"
            ))
        })
}

/// The statement bodies of one instance of a policy document, each with the context it is
/// evaluated in (`each` of the document, the iterator of a `dynamic "statement"`).
fn statement_bodies(
    doc: &Block,
    ctx: &Context<'static>,
    document: &DocumentRef,
) -> Result<Vec<(Body, Context<'static>)>, IamError> {
    let what = describe(doc);
    for key in [
        "source_policy_documents",
        "override_policy_documents",
        "source_json",
        "override_json",
    ] {
        if attribute(doc.body(), key).is_some() {
            return Err(IamError::Unmodelled(format!(
                "{what} merges other documents ({key})"
            )));
        }
    }
    let instance = instances(doc, ctx)?
        .into_iter()
        .find(|i| i.key == document.key)
        .ok_or_else(|| {
            IamError::Unmodelled(format!(
                "{what} has no instance {:?}",
                document.key.as_deref().unwrap_or("(single)")
            ))
        })?;
    let ctx = instance.ctx;
    let mut out = Vec::new();
    for block in doc.body().blocks() {
        match (block.identifier(), label(block, 0)) {
            ("statement", _) => out.push((block.body().clone(), ctx.clone())),
            ("dynamic", Some("statement")) => {
                let iterator = match attribute(block.body(), "iterator") {
                    Some(Expression::Variable(v)) => v.as_str().to_owned(),
                    Some(_) => {
                        return Err(IamError::Unmodelled(format!(
                            "iterator of a dynamic block in {what}"
                        )));
                    }
                    None => "statement".to_owned(),
                };
                let for_each = attribute(block.body(), "for_each").ok_or_else(|| {
                    IamError::Unmodelled(format!("a dynamic statement of {what} has no for_each"))
                })?;
                let entries = collection_entries(evaluate(for_each, &ctx, || {
                    format!("for_each of a dynamic statement of {what}")
                })?)
                .ok_or_else(|| {
                    IamError::Unmodelled(format!("for_each of a dynamic statement of {what}"))
                })?;
                let content = block
                    .body()
                    .blocks()
                    .find(|b| b.identifier() == "content")
                    .ok_or_else(|| {
                        IamError::Unmodelled(format!(
                            "a dynamic statement of {what} has no content"
                        ))
                    })?;
                for (key, value) in entries {
                    out.push((
                        content.body().clone(),
                        with_each(&ctx, &iterator, &key, &value),
                    ));
                }
            }
            (other, _) => {
                return Err(IamError::Unmodelled(format!("block {other} in {what}")));
            }
        }
    }
    Ok(out)
}

fn string_attribute(body: &Body, ctx: &Context, key: &str) -> Result<Option<String>, IamError> {
    attribute(body, key)
        .map(|expr| {
            let value = evaluate(expr, ctx, || format!("statement attribute {key}"))?;
            value.as_str().map(str::to_owned).ok_or_else(|| {
                IamError::Unmodelled(format!("statement attribute {key} is {value}"))
            })
        })
        .transpose()
}

fn strings_attribute(body: &Body, ctx: &Context, key: &str) -> Result<Vec<String>, IamError> {
    let Some(expr) = attribute(body, key) else {
        return Ok(Vec::new());
    };
    let value = evaluate(expr, ctx, || format!("statement attribute {key}"))?;
    let items = value
        .as_array()
        .ok_or_else(|| IamError::Unmodelled(format!("statement attribute {key} is {value}")))?;
    items
        .iter()
        .map(|item| {
            item.as_str()
                .map(str::to_owned)
                .ok_or_else(|| IamError::Unmodelled(format!("an element of {key} is {item}")))
        })
        .collect()
}

fn conditions(body: &Body, ctx: &Context) -> Result<Vec<Condition>, IamError> {
    if body
        .blocks()
        .any(|b| b.identifier() == "dynamic" && label(b, 0) == Some("condition"))
    {
        return Err(IamError::Unmodelled("a dynamic condition block".into()));
    }
    body.blocks()
        .filter(|b| b.identifier() == "condition")
        .map(|b| {
            let field = |key: &str| {
                string_attribute(b.body(), ctx, key)?
                    .ok_or_else(|| IamError::Unmodelled(format!("a condition without {key}")))
            };
            Ok(Condition {
                test: field("test")?,
                variable: field("variable")?,
                values: strings_attribute(b.body(), ctx, "values")?,
            })
        })
        .collect()
}

/// Every statement of one instance of a role's policy document.
fn document_statements(
    body: &Body,
    ctx: &Context<'static>,
    document: &DocumentRef,
) -> Result<Vec<Statement>, IamError> {
    let doc = find_document(body, &document.name)?;
    let place = format!("data.aws_iam_policy_document.{document}");
    let mut out = Vec::new();
    for (statement, scoped) in statement_bodies(doc, ctx, document)? {
        for key in ["not_actions", "not_resources"] {
            if attribute(&statement, key).is_some() {
                return Err(IamError::Unmodelled(format!("{key} in {place}")));
            }
        }
        if statement
            .blocks()
            .any(|b| matches!(b.identifier(), "principals" | "not_principals"))
        {
            return Err(IamError::Unmodelled(format!(
                "principals in the role policy {place}"
            )));
        }
        let sid = string_attribute(&statement, &scoped, "sid")?;
        let effect =
            string_attribute(&statement, &scoped, "effect")?.unwrap_or_else(|| "Allow".into());
        if effect != "Allow" {
            return Err(IamError::Unmodelled(format!(
                "a {effect} statement ({sid:?}) in {place}"
            )));
        }
        let actions = strings_attribute(&statement, &scoped, "actions")?;
        let resources = strings_attribute(&statement, &scoped, "resources")?;
        if actions.is_empty() || resources.is_empty() {
            return Err(IamError::Unmodelled(format!(
                "a statement ({sid:?}) without actions or resources in {place}"
            )));
        }
        let conditions = conditions(&statement, &scoped)?;
        for condition in &conditions {
            let operator = condition
                .test
                .strip_suffix("IfExists")
                .unwrap_or(&condition.test);
            if !SUPPORTED_OPERATORS.contains(&operator) {
                return Err(IamError::Unmodelled(format!(
                    "condition operator {} in statement {sid:?} of {place}",
                    condition.test
                )));
            }
        }
        out.push(Statement {
            sid,
            actions,
            resources,
            conditions,
            origin: StatementOrigin::Inline {
                document: document.to_string(),
            },
        });
    }
    Ok(out)
}

/// Whether an IAM action pattern can match an S3 action.
fn is_s3_action(action: &str) -> bool {
    let lower = action.to_ascii_lowercase();
    lower == "*" || lower.starts_with("s3:")
}

/// The S3 part of a role's statements.
fn s3_grants(role: &RolePolicy) -> Grants {
    Grants::new(
        role.statements
            .iter()
            .filter_map(|s| {
                let actions: Vec<String> = s
                    .actions
                    .iter()
                    .filter(|a| is_s3_action(a))
                    .cloned()
                    .collect();
                (!actions.is_empty()).then(|| S3Statement {
                    sid: s.sid.clone(),
                    actions,
                    resources: s.resources.clone(),
                    conditions: s.conditions.clone(),
                })
            })
            .collect(),
    )
}
