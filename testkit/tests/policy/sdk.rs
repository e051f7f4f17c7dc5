//! The workspace as `cargo metadata` describes it, the operations of every AWS SDK crate (the
//! folders under `aws-sdk-<service>/src/operation/`), and the IAM action each operation is
//! authorized as.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// One package of the workspace.
#[derive(Clone, Debug)]
pub struct Package {
    /// Its name (`recorder-lambdas`).
    pub name: String,
    /// Its library's crate name (`recorder_lambdas`).
    pub lib: String,
    /// The folder holding `Cargo.toml`.
    pub dir: PathBuf,
    /// Its binaries: name → source file.
    pub bins: BTreeMap<String, PathBuf>,
    /// The workspace packages it depends on (normal dependencies, optional ones included).
    pub workspace_deps: Vec<String>,
}

/// The host's target triple, from `rustc -vV`.
fn host_triple() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let output = Command::new(rustc)
        .arg("-vV")
        .output()
        .expect("run rustc -vV");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .trim()
        .to_owned()
}

/// What `cargo metadata` says about the workspace and the SDK crates.
#[derive(Debug)]
pub struct Metadata {
    /// Workspace packages by name.
    pub packages: BTreeMap<String, Package>,
    /// SDK operations by service crate suffix (`dynamodb` for `aws-sdk-dynamodb`).
    pub operations: BTreeMap<String, BTreeSet<String>>,
}

impl Metadata {
    /// Runs `cargo metadata` offline for the host platform: the lock file pins every crate and
    /// the workspace's build has already fetched those the host needs. (Without the platform
    /// filter cargo wants every platform's crates, e.g. `android_system_properties`, which a
    /// fresh machine that only built for Linux does not have.)
    pub fn read() -> Self {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let output = Command::new(cargo)
            .args(["metadata", "--format-version", "1", "--locked", "--offline"])
            .args(["--filter-platform", &host_triple()])
            .current_dir(&workspace)
            .output()
            .expect("run cargo metadata");
        assert!(
            output.status.success(),
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let metadata: Value = serde_json::from_slice(&output.stdout).expect("metadata is JSON");
        let members: BTreeSet<&str> = metadata["workspace_members"]
            .as_array()
            .expect("workspace_members")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let all = metadata["packages"].as_array().expect("packages");
        let workspace_names: BTreeSet<&str> = all
            .iter()
            .filter(|p| p["id"].as_str().is_some_and(|id| members.contains(id)))
            .filter_map(|p| p["name"].as_str())
            .collect();
        let mut packages = BTreeMap::new();
        let mut operations = BTreeMap::new();
        for package in all {
            let name = package["name"].as_str().expect("package name").to_owned();
            let manifest = PathBuf::from(package["manifest_path"].as_str().expect("manifest"));
            let dir = manifest.parent().expect("package folder").to_owned();
            if let Some(service) = name.strip_prefix("aws-sdk-") {
                operations.insert(service.replace('-', ""), sdk_operations(&dir));
                continue;
            }
            if !workspace_names.contains(name.as_str()) {
                continue;
            }
            let targets = package["targets"].as_array().expect("targets");
            let kinds = |t: &Value, kind: &str| {
                t["kind"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|x| x == kind))
            };
            let lib = targets
                .iter()
                .find(|t| kinds(t, "lib"))
                .and_then(|t| t["name"].as_str())
                .map_or_else(|| name.replace('-', "_"), |n| n.replace('-', "_"));
            let bins = targets
                .iter()
                .filter(|t| kinds(t, "bin"))
                .map(|t| {
                    (
                        t["name"].as_str().expect("bin name").to_owned(),
                        PathBuf::from(t["src_path"].as_str().expect("bin source")),
                    )
                })
                .collect();
            let workspace_deps = package["dependencies"]
                .as_array()
                .expect("dependencies")
                .iter()
                .filter(|d| d["kind"].is_null())
                .filter_map(|d| d["name"].as_str())
                .filter(|d| workspace_names.contains(d))
                .map(str::to_owned)
                .collect();
            packages.insert(
                name.clone(),
                Package {
                    name,
                    lib,
                    dir,
                    bins,
                    workspace_deps,
                },
            );
        }
        Self {
            packages,
            operations,
        }
    }

    /// `root` and every workspace package it depends on, transitively.
    pub fn closure(&self, root: &str) -> Vec<&Package> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![root.to_owned()];
        while let Some(name) = stack.pop() {
            if seen.insert(name.clone()) {
                let package = &self.packages[&name];
                stack.extend(package.workspace_deps.iter().cloned());
            }
        }
        seen.iter().map(|n| &self.packages[n]).collect()
    }
}

/// The snake-case operation names of one SDK crate.
fn sdk_operations(dir: &Path) -> BTreeSet<String> {
    let folder = dir.join("src/operation");
    let operations: BTreeSet<String> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("reading {}: {e}", folder.display()))
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    assert!(
        !operations.is_empty(),
        "no operation in {}",
        folder.display()
    );
    operations
}

/// The IAM service prefix of an SDK crate.
pub fn iam_prefix(service: &str) -> Option<&'static str> {
    Some(match service {
        "dynamodb" => "dynamodb",
        "s3" => "s3",
        "sfn" => "states",
        "transcribe" => "transcribe",
        "bedrockruntime" => "bedrock",
        "sqs" => "sqs",
        "eventbridge" => "events",
        _ => return None,
    })
}

/// S3 operations whose action is not their own name (Amazon S3 API Reference, each operation's
/// "Permissions"), and the S3 operations authorized under their own name. Any other S3 operation
/// is refused: look up its permissions and add it.
const S3_ACTIONS: [(&str, &str); 11] = [
    ("get_object", "s3:GetObject"),
    ("head_object", "s3:GetObject"),
    ("put_object", "s3:PutObject"),
    ("create_multipart_upload", "s3:PutObject"),
    ("upload_part", "s3:PutObject"),
    ("complete_multipart_upload", "s3:PutObject"),
    ("abort_multipart_upload", "s3:AbortMultipartUpload"),
    ("list_objects_v2", "s3:ListBucket"),
    ("list_objects", "s3:ListBucket"),
    ("head_bucket", "s3:ListBucket"),
    ("delete_object", "s3:DeleteObject"),
];

/// Bedrock Runtime operations authorized as another action (Bedrock API Reference: "Converse —
/// This operation requires permission for the bedrock:InvokeModel action", ConverseStream likewise
/// bedrock:InvokeModelWithResponseStream).
const BEDROCK_ACTIONS: [(&str, &str); 4] = [
    ("converse", "bedrock:InvokeModel"),
    ("converse_stream", "bedrock:InvokeModelWithResponseStream"),
    ("invoke_model", "bedrock:InvokeModel"),
    (
        "invoke_model_with_response_stream",
        "bedrock:InvokeModelWithResponseStream",
    ),
];

/// The IAM action of SDK operation `operation` of `service`, or why it cannot be mapped.
pub fn iam_action(service: &str, operation: &str) -> Result<String, String> {
    let table: &[(&str, &str)] = match service {
        "s3" => &S3_ACTIONS,
        "bedrockruntime" => &BEDROCK_ACTIONS,
        _ => {
            let prefix = iam_prefix(service).ok_or_else(|| {
                format!("no IAM prefix known for aws-sdk-{service} (operation {operation})")
            })?;
            return Ok(format!("{prefix}:{}", pascal_case(operation)));
        }
    };
    table
        .iter()
        .find(|(op, _)| *op == operation)
        .map(|(_, action)| (*action).to_owned())
        .ok_or_else(|| {
            format!("aws-sdk-{service} operation {operation} has no known IAM action: add it")
        })
}

/// `start_execution` → `StartExecution`.
pub fn pascal_case(snake: &str) -> String {
    snake
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// `updateItem` (an ASL service integration) → `UpdateItem`.
pub fn upper_first(camel: &str) -> String {
    let mut chars = camel.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_ascii_uppercase().to_string() + chars.as_str()
    })
}
