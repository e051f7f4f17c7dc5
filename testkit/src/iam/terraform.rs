//! Reads the S3 statements of the Lambda and worker roles out of `infra/terraform/*.tf`, so the
//! IAM-faithful object store ([`super::IamObjectStore`]) is fed with exactly what a deployment
//! grants, not with a copy that can drift.
//!
//! The files are parsed with `hcl-rs` and the parts that decide a role's S3 permissions are
//! evaluated the way Terraform would: `locals` (to a fixpoint), `for_each` instances of
//! `aws_lambda_function`, `aws_iam_role_policy` and `data "aws_iam_policy_document"`, `dynamic
//! "statement"` blocks, conditionals and the few functions the files use. References to an
//! `aws_s3_bucket` resolve to a placeholder bucket ([`super::TERRAFORM_BUCKET`] for
//! `aws_s3_bucket.recordings`), data sources to a fixed partition, region and account.
//!
//! Anything this reader does not model is an error, never a silent "no permission": an unknown
//! reference in an S3 statement, `not_actions`, a `Deny` on S3 actions, a condition operator it
//! cannot evaluate, a policy document merged from other documents, a managed policy it does not
//! know to be free of S3 rights, an inline or customer-managed policy on a role, or a bucket
//! policy that grants something.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hcl::eval::{Context, Evaluate, FuncArgs, FuncDef, ParamType};
use hcl::expr::TraversalOperator;
use hcl::{Block, Body, Expression, Map, Value};

use super::{Condition, Grants, S3Statement, TERRAFORM_BUCKET};

/// Partition, region and account the data sources resolve to.
const PARTITION: &str = "aws";
const REGION: &str = "us-east-1";
const ACCOUNT_ID: &str = "123456789012";

/// Managed policies a role may carry because they grant no S3 action (checked by name: any other
/// attachment is refused, since e.g. `AmazonS3ReadOnlyAccess` would grant `s3:ListBucket`).
const MANAGED_POLICIES_WITHOUT_S3: [&str; 3] = [
    "AWSXRayDaemonWriteAccess",
    "service-role/AmazonECSTaskExecutionRolePolicy",
    "service-role/AWSLambdaBasicExecutionRole",
];

/// Condition operators [`super::Grants`] evaluates (each also with the `IfExists` suffix).
const SUPPORTED_OPERATORS: [&str; 4] = [
    "StringEquals",
    "StringNotEquals",
    "StringLike",
    "StringNotLike",
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

/// The S3 permissions of every role a test needs, read from one Terraform folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TerraformRoles {
    /// By Lambda function key (`chunk-upload-handler`, ...): its role's S3 statements.
    pub lambdas: BTreeMap<String, Grants>,
    /// The worker task role's S3 statements.
    pub worker_task: Grants,
}

/// Reads every `*.tf` file of `dir` and returns the S3 statements of each Lambda's role and of
/// the worker task role.
pub fn read_roles(dir: &Path) -> Result<TerraformRoles, IamError> {
    let body = parse_dir(dir)?;
    let (ctx, unevaluated) = base_context(&body);
    read_with(&body, &ctx).map_err(|error| match error {
        // Name the local that could not be evaluated, and why, rather than only "no such key".
        IamError::Eval { what, source } => {
            let text = source.to_string();
            let causes: Vec<String> = unevaluated
                .iter()
                .filter(|(name, _)| text.contains(name.as_str()))
                .map(|(name, why)| format!("local.{name} could not be evaluated: {why}"))
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
    let (body, ctx) = (body, ctx.clone());
    check_role_definitions(body, &ctx)?;
    check_bucket_policies(body, &ctx)?;
    let role_documents = role_documents(body, &ctx)?;
    let grants_of = |role: &RoleRef| -> Result<Grants, IamError> {
        let documents = role_documents.get(role).ok_or_else(|| {
            IamError::Unmodelled(format!("no aws_iam_role_policy attaches to {role}"))
        })?;
        let mut statements = Vec::new();
        for document in documents {
            statements.extend(s3_statements(body, &ctx, document)?);
        }
        Ok(Grants::new(statements))
    };
    let mut lambdas = BTreeMap::new();
    for (function, role) in lambda_roles(body, &ctx)? {
        lambdas.insert(function, grants_of(&role)?);
    }
    if lambdas.is_empty() {
        return Err(IamError::Unmodelled("no aws_lambda_function found".into()));
    }
    let worker_task = grants_of(&worker_task_role(body, &ctx)?)?;
    Ok(TerraformRoles {
        lambdas,
        worker_task,
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
// Evaluation context
// ---------------------------------------------------------------------------------------------

fn object<I, K>(entries: I) -> Value
where
    I: IntoIterator<Item = (K, Value)>,
    K: Into<String>,
{
    Value::Object(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
}

/// The placeholder name of bucket resource `name`.
pub(super) fn bucket_placeholder(name: &str) -> String {
    if name == "recordings" {
        TERRAFORM_BUCKET.to_owned()
    } else {
        format!("terraform-bucket-{name}")
    }
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

/// Data sources, variable defaults, placeholder attributes of every resource, the functions the
/// files use, and every `local` that can be evaluated from those; with the locals that could not
/// be, and why (they matter only if a permission uses them).
fn base_context(body: &Body) -> (Context<'static>, BTreeMap<String, String>) {
    let mut ctx = Context::new();
    ctx.declare_func(
        "length",
        FuncDef::builder().param(ParamType::Any).build(length),
    );
    ctx.declare_func(
        "concat",
        FuncDef::builder()
            .variadic_param(ParamType::array_of(ParamType::Any))
            .build(concat),
    );
    ctx.declare_func(
        "tostring",
        FuncDef::builder().param(ParamType::Any).build(tostring),
    );
    ctx.declare_var(
        "data",
        object([
            (
                "aws_partition",
                object([("current", object([("partition", Value::from(PARTITION))]))]),
            ),
            (
                "aws_region",
                object([("current", object([("name", Value::from(REGION))]))]),
            ),
            (
                "aws_caller_identity",
                object([("current", object([("account_id", Value::from(ACCOUNT_ID))]))]),
            ),
        ]),
    );
    // Variables with a default (the others stay undefined: a statement using one fails loudly).
    let mut variables = Map::new();
    for block in blocks(body, "variable") {
        if let (Some(name), Some(default)) = (label(block, 0), attribute(block.body(), "default"))
            && let Ok(value) = default.evaluate(&ctx)
        {
            variables.insert(name.to_owned(), value);
        }
    }
    ctx.declare_var("var", Value::Object(variables));
    // Resources: S3 buckets by their placeholder name; every other resource with symbolic
    // attributes, so locals that mention them evaluate (their values never reach an S3 grant).
    let mut resources: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for block in blocks(body, "resource") {
        let (Some(kind), Some(name)) = (label(block, 0), label(block, 1)) else {
            continue;
        };
        let attributes = if kind == "aws_s3_bucket" {
            let bucket = bucket_placeholder(name);
            object([
                ("arn", Value::from(format!("arn:{PARTITION}:s3:::{bucket}"))),
                ("id", Value::from(bucket.clone())),
                ("bucket", Value::from(bucket)),
            ])
        } else {
            object(
                ["arn", "id", "name", "function_name", "stream_arn", "json"]
                    .map(|a| (a, Value::from(format!("<{kind}.{name}.{a}>")))),
            )
        };
        resources
            .entry(kind.to_owned())
            .or_default()
            .insert(name.to_owned(), attributes);
    }
    for (kind, by_name) in resources {
        ctx.declare_var(kind, Value::Object(by_name));
    }
    // Locals, to a fixpoint: each round evaluates what the previous rounds made possible.
    let pending: Vec<(&str, &Expression)> = blocks(body, "locals")
        .flat_map(|b| b.body().attributes().map(|a| (a.key(), a.expr())))
        .collect();
    let mut locals = Map::new();
    let mut unevaluated = BTreeMap::new();
    loop {
        ctx.declare_var("local", Value::Object(locals.clone()));
        let before = locals.len();
        unevaluated.clear();
        for (name, expr) in &pending {
            if locals.contains_key(*name) {
                continue;
            }
            match expr.evaluate(&ctx) {
                Ok(value) => {
                    locals.insert((*name).to_owned(), value);
                }
                Err(e) => {
                    unevaluated.insert((*name).to_owned(), e.to_string());
                }
            }
        }
        if locals.len() == before {
            break;
        }
    }
    (ctx, unevaluated)
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

/// The instances of a block with `for_each`: `(each.key, each.value)`; a block without it has one
/// instance with no key.
fn instances(
    block: &Block,
    ctx: &Context<'static>,
) -> Result<Vec<Option<(Value, Value)>>, IamError> {
    let Some(for_each) = attribute(block.body(), "for_each") else {
        return Ok(vec![None]);
    };
    let value = evaluate(for_each, ctx, || format!("for_each of {}", describe(block)))?;
    collection_entries(value)
        .map(|entries| entries.into_iter().map(Some).collect())
        .ok_or_else(|| {
            IamError::Unmodelled(format!(
                "for_each of {} is not a map, set or list",
                describe(block)
            ))
        })
}

/// The `(key, value)` pairs Terraform iterates over: map entries, or list elements (sets use the
/// element as key, lists in `dynamic` blocks the index; both are only used as keys here).
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
                path.push(format!(
                    "[{}]",
                    value
                        .as_str()
                        .map_or_else(|| value.to_string(), str::to_owned)
                ));
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

fn key_string(key: &Value) -> String {
    key.as_str().map_or_else(|| key.to_string(), str::to_owned)
}

/// Every `aws_iam_role_policy` instance: which role gets which policy document.
fn role_documents(
    body: &Body,
    ctx: &Context<'static>,
) -> Result<BTreeMap<RoleRef, Vec<DocumentRef>>, IamError> {
    let mut out: BTreeMap<RoleRef, Vec<DocumentRef>> = BTreeMap::new();
    for block in resources(body, "aws_iam_role_policy") {
        for instance in instances(block, ctx)? {
            let scoped = match &instance {
                Some((key, value)) => with_each(ctx, "each", key, value),
                None => ctx.clone(),
            };
            let what = describe(block);
            let role = attribute(block.body(), "role")
                .ok_or_else(|| IamError::Unmodelled(format!("{what} has no role")))?;
            let policy = attribute(block.body(), "policy")
                .ok_or_else(|| IamError::Unmodelled(format!("{what} has no policy")))?;
            let role = role_ref(role, &scoped, &format!("role of {what}"))?;
            let document = document_ref(policy, &scoped, &format!("policy of {what}"))?;
            out.entry(role).or_default().push(document);
        }
    }
    Ok(out)
}

/// Roles carry no inline or customer-managed policy, and only managed policies known to grant
/// no S3 action.
fn check_role_definitions(body: &Body, ctx: &Context<'static>) -> Result<(), IamError> {
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
    if resources(body, "aws_iam_policy").next().is_some()
        || resources(body, "aws_iam_role_policies_exclusive")
            .next()
            .is_some()
    {
        return Err(IamError::Unmodelled(
            "customer-managed aws_iam_policy resources".into(),
        ));
    }
    for block in resources(body, "aws_iam_role_policy_attachment") {
        for instance in instances(block, ctx)? {
            let scoped = match &instance {
                Some((key, value)) => with_each(ctx, "each", key, value),
                None => ctx.clone(),
            };
            let expr = attribute(block.body(), "policy_arn").ok_or_else(|| {
                IamError::Unmodelled(format!("{} has no policy_arn", describe(block)))
            })?;
            let arn = evaluate(expr, &scoped, || {
                format!("policy_arn of {}", describe(block))
            })?;
            let arn = arn.as_str().unwrap_or_default();
            let managed = arn
                .strip_prefix(&format!("arn:{PARTITION}:iam::aws:policy/"))
                .unwrap_or_default();
            if !MANAGED_POLICIES_WITHOUT_S3.contains(&managed) {
                return Err(IamError::Unmodelled(format!(
                    "{} attaches {arn}, not known to grant no S3 action",
                    describe(block)
                )));
            }
        }
    }
    Ok(())
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
        for statement in statement_bodies(doc, ctx, &document)? {
            let (body, scoped) = statement;
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

/// `aws_lambda_function` instances: function key → role.
fn lambda_roles(body: &Body, ctx: &Context<'static>) -> Result<Vec<(String, RoleRef)>, IamError> {
    let mut out = Vec::new();
    for block in resources(body, "aws_lambda_function") {
        for instance in instances(block, ctx)? {
            let (function, scoped) = match &instance {
                Some((key, value)) => (key_string(key), with_each(ctx, "each", key, value)),
                None => (label(block, 1).unwrap_or_default().to_owned(), ctx.clone()),
            };
            let role = attribute(block.body(), "role")
                .ok_or_else(|| IamError::Unmodelled(format!("{} has no role", describe(block))))?;
            out.push((
                function,
                role_ref(role, &scoped, &format!("role of {}", describe(block)))?,
            ));
        }
    }
    Ok(out)
}

/// The `task_role_arn` of the worker's ECS task definition.
fn worker_task_role(body: &Body, ctx: &Context<'static>) -> Result<RoleRef, IamError> {
    let mut roles = resources(body, "aws_ecs_task_definition")
        .filter_map(|b| attribute(b.body(), "task_role_arn").map(|e| (b, e)));
    let (block, expr) = roles.next().ok_or_else(|| {
        IamError::Unmodelled("no aws_ecs_task_definition with a task_role_arn".into())
    })?;
    if roles.next().is_some() {
        return Err(IamError::Unmodelled(
            "more than one aws_ecs_task_definition".into(),
        ));
    }
    role_ref(expr, ctx, &format!("task_role_arn of {}", describe(block)))
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
        .find(|i| match (i, &document.key) {
            (None, None) => true,
            (Some((key, _)), Some(wanted)) => key_string(key) == *wanted,
            _ => false,
        })
        .ok_or_else(|| {
            IamError::Unmodelled(format!(
                "{what} has no instance {:?}",
                document.key.as_deref().unwrap_or("(single)")
            ))
        })?;
    let ctx = match &instance {
        Some((key, value)) => with_each(ctx, "each", key, value),
        None => ctx.clone(),
    };
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

/// Whether an IAM action pattern can match an S3 action.
fn is_s3_action(action: &str) -> bool {
    let lower = action.to_ascii_lowercase();
    lower == "*" || lower.starts_with("s3:")
}

/// The S3 statements of one policy document instance.
fn s3_statements(
    body: &Body,
    ctx: &Context<'static>,
    document: &DocumentRef,
) -> Result<Vec<S3Statement>, IamError> {
    let doc = find_document(body, &document.name)?;
    let mut out = Vec::new();
    for (statement, scoped) in statement_bodies(doc, ctx, document)? {
        for key in ["not_actions", "not_resources", "not_principals"] {
            if attribute(&statement, key).is_some() {
                return Err(IamError::Unmodelled(format!(
                    "{key} in data.aws_iam_policy_document.{}",
                    document.name
                )));
            }
        }
        let actions = strings_attribute(&statement, &scoped, "actions")?;
        if actions.is_empty() {
            return Err(IamError::Unmodelled(format!(
                "a statement without actions in data.aws_iam_policy_document.{}",
                document.name
            )));
        }
        let s3_actions: Vec<String> = actions.into_iter().filter(|a| is_s3_action(a)).collect();
        if s3_actions.is_empty() {
            continue;
        }
        let sid = string_attribute(&statement, &scoped, "sid")?;
        let effect =
            string_attribute(&statement, &scoped, "effect")?.unwrap_or_else(|| "Allow".into());
        if effect != "Allow" {
            return Err(IamError::Unmodelled(format!(
                "a {effect} statement on S3 actions ({sid:?}) in data.aws_iam_policy_document.{}",
                document.name
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
                    "condition operator {} in statement {sid:?}",
                    condition.test
                )));
            }
        }
        out.push(S3Statement {
            sid,
            actions: s3_actions,
            resources: strings_attribute(&statement, &scoped, "resources")?,
            conditions,
        });
    }
    Ok(out)
}
