//! An IAM-faithful object store double: [`IamObjectStore`] wraps any [`ObjectStore`] and answers
//! every operation the way S3 answers a caller holding a given set of S3 statements ([`Grants`]),
//! which tests read from the Terraform itself ([`lambda_grants`], [`worker_task_grants`],
//! [`terraform::read_roles`]). moto and the in-memory fake enforce no IAM; this double is what
//! lets a test see that a Lambda role without `s3:ListBucket` gets 403 for an absent key.
//!
//! What S3 does (Amazon S3 API Reference, GetObject and HeadObject, "Permissions"): "If the
//! object you request doesn't exist, the error that Amazon S3 returns depends on whether you also
//! have the s3:ListBucket permission. If you have the s3:ListBucket permission on the bucket,
//! Amazon S3 returns an HTTP status code 404 Not Found error. If you don't have the s3:ListBucket
//! permission, Amazon S3 returns an HTTP status code 403 Forbidden error."
//! (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html>,
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html>)
//!
//! The double's rules:
//! - `head`, `get_range`, `get_bytes`, `download_to` need `s3:GetObject` on
//!   `arn:aws:s3:::{bucket}/{key}`; `put_bytes`, `upload_from` need `s3:PutObject` there; `list`
//!   needs `s3:ListBucket` on `arn:aws:s3:::{bucket}` with `s3:prefix` = the prefix. Otherwise
//!   [`PortError::AccessDenied`].
//! - An absent key is `NotFound` (and `head` is `Ok(None)`) only when `s3:ListBucket` is granted on
//!   the bucket by a statement WITHOUT a condition: a GetObject request carries no `s3:prefix`, so
//!   a ListBucket grant limited by one does not apply to it. Otherwise it is `AccessDenied`, so
//!   `head` of an absent key is `Err(AccessDenied)`, not `Ok(None)`.
//! - Action patterns match case-insensitively with `*` and `?`, resource patterns
//!   case-sensitively (IAM's rules); conditions with `String(Not)Equals` / `String(Not)Like` /
//!   `Arn(Not)Equals` / `Arn(Not)Like` (and `IfExists`) are evaluated against the request's keys
//!   (`s3:prefix` for `list`).
//!
//! The same reader also returns every statement of every role, of every service
//! ([`TerraformRoles::lambda_functions`], [`TerraformRoles::worker`],
//! [`TerraformRoles::state_machine`]): `testkit/tests/policy.rs` checks them against the AWS calls
//! the code makes.

mod roles;
pub mod terraform;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use bytes::Bytes;
use meeting_domain::PortError;
use meeting_domain::ports::{ObjectMeta, ObjectStore};

pub use roles::{MANAGED_POLICIES, ManagedPolicy, RolePolicy, Statement, StatementOrigin};
pub use terraform::{
    IamError, LambdaFunction, StateMachine, TerraformRoles, WorkerService, read_roles,
    read_roles_with,
};

/// The bucket name `aws_s3_bucket.recordings` stands for in grants read from Terraform;
/// [`IamObjectStore::new`] rebinds it to the bucket the test uses.
pub const TERRAFORM_BUCKET: &str = "terraform-recordings-bucket";

/// Service name in the errors of this double.
const SERVICE: &str = "s3 (IAM double)";

/// One IAM condition: `test` (operator), `variable` (condition key), `values` (any may match).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    /// The operator (`StringLike`, `StringEqualsIfExists`, ...).
    pub test: String,
    /// The condition key (`s3:prefix`, ...).
    pub variable: String,
    /// The values; the condition holds when any of them matches.
    pub values: Vec<String>,
}

/// An `Allow` statement's S3 part: its S3 actions, resource ARN patterns and conditions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Statement {
    /// The statement id, if any.
    pub sid: Option<String>,
    /// S3 action patterns (`s3:GetObject`, `s3:Get*`, `*`).
    pub actions: Vec<String>,
    /// Resource ARN patterns (`arn:aws:s3:::bucket/users/*/chunks/*`).
    pub resources: Vec<String>,
    /// Conditions, all of which must hold.
    pub conditions: Vec<Condition>,
}

impl S3Statement {
    /// Whether the statement carries any condition.
    pub fn is_conditional(&self) -> bool {
        !self.conditions.is_empty()
    }

    fn matches(&self, action: &str, resource: &str) -> bool {
        self.actions
            .iter()
            .any(|a| wildcard_match(&a.to_ascii_lowercase(), &action.to_ascii_lowercase()))
            && self.resources.iter().any(|r| wildcard_match(r, resource))
    }
}

/// The S3 statements a caller holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grants {
    statements: Vec<S3Statement>,
}

impl Grants {
    /// Grants made of `statements`.
    pub fn new(statements: Vec<S3Statement>) -> Self {
        Self { statements }
    }

    /// Every S3 action on [`TERRAFORM_BUCKET`] and its objects, without condition (what the
    /// bucket owner has): the double then behaves exactly like the store it wraps.
    pub fn full() -> Self {
        let bucket = format!("arn:aws:s3:::{TERRAFORM_BUCKET}");
        Self::new(vec![S3Statement {
            sid: Some("Everything".into()),
            actions: vec!["s3:*".into()],
            resources: vec![bucket.clone(), format!("{bucket}/*")],
            conditions: Vec::new(),
        }])
    }

    /// The statements.
    pub fn statements(&self) -> &[S3Statement] {
        &self.statements
    }

    /// Whether any statement allows `action` on `resource` for a request carrying `context`
    /// (condition key → value).
    pub fn allows(&self, action: &str, resource: &str, context: &[(&str, &str)]) -> bool {
        self.statements
            .iter()
            .any(|s| s.matches(action, resource) && s.conditions.iter().all(|c| holds(c, context)))
    }

    /// Whether an absent key of `bucket` may be reported as absent: `s3:ListBucket` granted on
    /// the bucket by a statement without a condition.
    pub fn reveals_absence(&self, bucket: &str) -> bool {
        let arn = bucket_arn(bucket);
        self.statements
            .iter()
            .any(|s| !s.is_conditional() && s.matches("s3:ListBucket", &arn))
    }

    /// The same grants with `arn:aws:s3:::{from}` rebound to `arn:aws:s3:::{to}`.
    pub fn rebound(&self, from: &str, to: &str) -> Self {
        let (from, to) = (bucket_arn(from), bucket_arn(to));
        let rebind = |resource: &String| match resource.strip_prefix(&from) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("{to}{rest}"),
            _ => resource.clone(),
        };
        Self::new(
            self.statements
                .iter()
                .map(|s| S3Statement {
                    resources: s.resources.iter().map(rebind).collect(),
                    ..s.clone()
                })
                .collect(),
        )
    }
}

fn bucket_arn(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}")
}

fn object_arn(bucket: &str, key: &str) -> String {
    format!("arn:aws:s3:::{bucket}/{key}")
}

/// IAM's wildcard matching: `*` any run of characters (including `/`), `?` one character.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Evaluates one condition against the request's keys. A key the request does not carry makes
/// `...IfExists` and the negated operators hold and every other operator fail (IAM's rules).
fn holds(condition: &Condition, context: &[(&str, &str)]) -> bool {
    let (operator, if_exists) = match condition.test.strip_suffix("IfExists") {
        Some(op) => (op, true),
        None => (condition.test.as_str(), false),
    };
    let negated = operator.contains("Not");
    let Some(value) = context
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(&condition.variable))
        .map(|(_, v)| *v)
    else {
        return if_exists || negated;
    };
    let any = |like: bool| {
        condition.values.iter().any(|pattern| {
            if like {
                wildcard_match(pattern, value)
            } else {
                pattern == value
            }
        })
    };
    match operator {
        "StringEquals" => any(false),
        "StringNotEquals" => !any(false),
        // ArnEquals and ArnLike both match with wildcards (IAM User Guide, "ARN condition
        // operators").
        "StringLike" | "ArnLike" | "ArnEquals" => any(true),
        "StringNotLike" | "ArnNotLike" | "ArnNotEquals" => !any(true),
        // The reader refuses other operators; a hand-built grant with one is denied.
        _ => false,
    }
}

/// The Terraform folder of this workspace.
pub fn terraform_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/terraform")
}

/// A copy of this workspace's `infra/terraform` (and of the `asl/` folder its locals read),
/// possibly edited, in a temporary folder: what tests read to show that a change of the Terraform
/// changes, or breaks, what the reader returns.
#[derive(Debug)]
pub struct TerraformCopy {
    root: tempfile::TempDir,
}

impl TerraformCopy {
    /// An unedited copy.
    ///
    /// # Panics
    /// When the folders cannot be copied.
    pub fn new() -> Self {
        let root = tempfile::tempdir().expect("a temporary folder");
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        copy_dir(&workspace.join("asl"), &root.path().join("asl"));
        copy_dir(&terraform_dir(), &root.path().join("infra/terraform"));
        Self { root }
    }

    /// A copy with `edit` applied to the text of `file` (`iam.tf`).
    ///
    /// # Panics
    /// When the edit changes nothing (a stale test) or the files cannot be copied.
    pub fn edited(file: &str, edit: impl Fn(&str) -> String) -> Self {
        let copy = Self::new();
        copy.edit(file, edit);
        copy
    }

    /// Applies `edit` to the text of `file` of the copy.
    ///
    /// # Panics
    /// When the edit changes nothing (a stale test) or the file cannot be rewritten.
    pub fn edit(&self, file: &str, edit: impl Fn(&str) -> String) {
        let path = self.terraform_dir().join(file);
        let text = std::fs::read_to_string(&path).expect("read the copied file");
        let edited = edit(&text);
        assert_ne!(edited, text, "the edit of {file} changed nothing");
        std::fs::write(&path, edited).expect("write the edited file");
    }

    /// The copy's Terraform folder.
    pub fn terraform_dir(&self) -> PathBuf {
        self.root.path().join("infra/terraform")
    }
}

impl Default for TerraformCopy {
    fn default() -> Self {
        Self::new()
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy's folder");
    for entry in std::fs::read_dir(from).expect("read the folder to copy") {
        let path = entry.expect("folder entry").path();
        let target = to.join(path.file_name().expect("file name"));
        if path.is_dir() {
            // Terraform's own working folders are not part of the configuration.
            if path
                .file_name()
                .is_some_and(|n| n != ".terraform" && n != ".build")
            {
                copy_dir(&path, &target);
            }
        } else {
            std::fs::copy(&path, &target).expect("copy a file");
        }
    }
}

fn workspace_roles() -> &'static TerraformRoles {
    static ROLES: OnceLock<Result<TerraformRoles, String>> = OnceLock::new();
    match ROLES.get_or_init(|| read_roles(&terraform_dir()).map_err(|e| e.to_string())) {
        Ok(roles) => roles,
        Err(e) => panic!("reading the IAM roles of infra/terraform: {e}"),
    }
}

/// The S3 statements of Lambda `function`'s role in this workspace's Terraform (with
/// [`TERRAFORM_BUCKET`] for the recordings bucket). Panics naming the problem when the Terraform
/// cannot be read or has no such function.
pub fn lambda_grants(function: &str) -> Grants {
    let roles = workspace_roles();
    roles.lambdas.get(function).cloned().unwrap_or_else(|| {
        panic!(
            "no Lambda function {function} in infra/terraform (known: {:?})",
            roles.lambdas.keys().collect::<Vec<_>>()
        )
    })
}

/// The S3 statements of the worker task role in this workspace's Terraform.
pub fn worker_task_grants() -> Grants {
    workspace_roles().worker_task.clone()
}

/// An [`ObjectStore`] that enforces `grants` the way S3 does (see the module header).
#[derive(Clone)]
pub struct IamObjectStore {
    inner: Arc<dyn ObjectStore>,
    grants: Grants,
}

impl std::fmt::Debug for IamObjectStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IamObjectStore")
            .field("grants", &self.grants)
            .finish_non_exhaustive()
    }
}

impl IamObjectStore {
    /// Wraps `inner`; `grants` name [`TERRAFORM_BUCKET`] (as read from Terraform, or
    /// [`Grants::full`]), which is rebound to `bucket`, the bucket the test uses. Requests for
    /// any other bucket match no grant and are denied.
    pub fn new(inner: Arc<dyn ObjectStore>, bucket: &str, grants: Grants) -> Self {
        Self {
            inner,
            grants: grants.rebound(TERRAFORM_BUCKET, bucket),
        }
    }

    fn denied(action: &str, resource: &str) -> PortError {
        PortError::AccessDenied {
            service: SERVICE,
            source: format!("{action} on {resource} is not allowed by the caller's IAM statements")
                .into(),
        }
    }

    fn require(
        &self,
        action: &str,
        resource: &str,
        context: &[(&str, &str)],
    ) -> Result<(), PortError> {
        if self.grants.allows(action, resource, context) {
            Ok(())
        } else {
            Err(Self::denied(action, resource))
        }
    }

    fn require_get(&self, bucket: &str, key: &str) -> Result<(), PortError> {
        self.require("s3:GetObject", &object_arn(bucket, key), &[])
    }

    /// What S3 answers instead of "absent" to a caller that may not learn it.
    fn absent(&self, bucket: &str, key: &str) -> Option<PortError> {
        (!self.grants.reveals_absence(bucket)).then(|| {
            Self::denied(
                "s3:GetObject (absent key, no unconditional s3:ListBucket)",
                &object_arn(bucket, key),
            )
        })
    }

    fn map_read<T>(
        &self,
        bucket: &str,
        key: &str,
        result: Result<T, PortError>,
    ) -> Result<T, PortError> {
        match result {
            Err(PortError::NotFound { what }) => Err(self
                .absent(bucket, key)
                .unwrap_or(PortError::NotFound { what })),
            other => other,
        }
    }
}

#[async_trait]
impl ObjectStore for IamObjectStore {
    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectMeta>, PortError> {
        self.require_get(bucket, key)?;
        match self.inner.head(bucket, key).await? {
            Some(meta) => Ok(Some(meta)),
            None => self.absent(bucket, key).map_or(Ok(None), Err),
        }
    }

    async fn get_range(
        &self,
        bucket: &str,
        key: &str,
        start: u64,
        len: u64,
    ) -> Result<Bytes, PortError> {
        self.require_get(bucket, key)?;
        let result = self.inner.get_range(bucket, key, start, len).await;
        self.map_read(bucket, key, result)
    }

    async fn get_bytes(&self, bucket: &str, key: &str) -> Result<Bytes, PortError> {
        self.require_get(bucket, key)?;
        let result = self.inner.get_bytes(bucket, key).await;
        self.map_read(bucket, key, result)
    }

    async fn download_to(&self, bucket: &str, key: &str, path: &Path) -> Result<u64, PortError> {
        self.require_get(bucket, key)?;
        let result = self.inner.download_to(bucket, key, path).await;
        self.map_read(bucket, key, result)
    }

    async fn upload_from(
        &self,
        bucket: &str,
        key: &str,
        path: &Path,
        content_type: &str,
    ) -> Result<ObjectMeta, PortError> {
        self.require("s3:PutObject", &object_arn(bucket, key), &[])?;
        self.inner
            .upload_from(bucket, key, path, content_type)
            .await
    }

    async fn put_bytes(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        content_type: &str,
    ) -> Result<ObjectMeta, PortError> {
        self.require("s3:PutObject", &object_arn(bucket, key), &[])?;
        self.inner.put_bytes(bucket, key, body, content_type).await
    }

    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<ObjectMeta>, PortError> {
        self.require(
            "s3:ListBucket",
            &bucket_arn(bucket),
            &[("s3:prefix", prefix)],
        )?;
        self.inner.list(bucket, prefix).await
    }
}

#[cfg(test)]
mod tests;
