//! Tests of the IAM double and of the Terraform reader, against this workspace's Terraform.

use std::sync::Arc;

use bytes::Bytes;
use meeting_domain::PortError;
use meeting_domain::deployment::names::LAMBDA_FUNCTIONS;
use meeting_domain::ports::ObjectStore;

use super::*;
use crate::memory::object_store::MemoryObjectStore;

const BUCKET: &str = "test-recordings";
const CHUNK: &str = "users/u1/chunks/r1/chunk_000.mp4";
const ABSENT_CHUNK: &str = "users/u1/chunks/r1/chunk_001.mp4";
const MANIFEST: &str = "users/u1/chunks/r1/manifest.json";

/// The Lambdas whose roles read chunk objects.
const CHUNK_READERS: [&str; 3] = ["chunk-upload-handler", "catalog-stream-handler", "sweeper"];

fn is_access_denied<T: std::fmt::Debug>(result: &Result<T, PortError>) -> bool {
    matches!(result, Err(PortError::AccessDenied { .. }))
}

/// A memory store holding one chunk, seen through `grants`.
async fn store_with_one_chunk(grants: Grants) -> IamObjectStore {
    let inner = MemoryObjectStore::new();
    inner
        .put_bytes(BUCKET, CHUNK, Bytes::from_static(b"mp4 bytes"), "video/mp4")
        .await
        .expect("seed the chunk");
    IamObjectStore::new(Arc::new(inner), BUCKET, grants)
}

#[tokio::test]
async fn with_full_grants_the_double_passes_the_object_store_contract() {
    let store = IamObjectStore::new(
        Arc::new(MemoryObjectStore::new()),
        "contract-bucket",
        Grants::full(),
    );
    crate::contract::object_store::run_all(&store, "contract-bucket").await;
}

#[test]
fn terraform_deploys_exactly_the_known_lambda_functions() {
    let roles = read_roles(&terraform_dir()).expect("infra/terraform reads");
    let functions: Vec<&str> = roles.lambdas.keys().map(String::as_str).collect();
    let mut expected = LAMBDA_FUNCTIONS.to_vec();
    expected.sort_unstable();
    assert_eq!(functions, expected);
}

#[test]
fn no_lambda_role_holds_list_bucket_and_the_status_handler_holds_no_s3_right() {
    for function in LAMBDA_FUNCTIONS {
        let grants = lambda_grants(function);
        assert!(
            !grants.reveals_absence(TERRAFORM_BUCKET),
            "{function} may list the bucket: {grants:?}"
        );
        assert!(
            grants
                .statements()
                .iter()
                .flat_map(|s| &s.actions)
                .all(|a| a != "s3:ListBucket" && a != "s3:*"),
            "{function}: {grants:?}"
        );
    }
    assert!(
        lambda_grants("execution-status-handler")
            .statements()
            .is_empty()
    );
    for function in CHUNK_READERS {
        let grants = lambda_grants(function);
        assert_eq!(
            grants.statements(),
            [S3Statement {
                sid: Some("ReadChunkObjects".into()),
                actions: vec!["s3:GetObject".into()],
                resources: vec![format!("arn:aws:s3:::{TERRAFORM_BUCKET}/users/*/chunks/*")],
                conditions: Vec::new(),
            }],
            "{function}"
        );
    }
}

#[tokio::test]
async fn with_a_lambda_role_an_absent_manifest_or_chunk_is_access_denied_not_not_found() {
    for function in CHUNK_READERS {
        // GIVEN the bucket holds chunk 0 only, seen with the Lambda's Terraform grants
        let store = store_with_one_chunk(lambda_grants(function)).await;
        // WHEN it reads the absent manifest and heads the absent chunk
        let manifest = store.get_bytes(BUCKET, MANIFEST).await;
        let head = store.head(BUCKET, ABSENT_CHUNK).await;
        let range = store.get_range(BUCKET, ABSENT_CHUNK, 0, 10).await;
        // THEN S3 answers 403 (no s3:ListBucket), never NotFound or Ok(None)
        assert!(is_access_denied(&manifest), "{function}: {manifest:?}");
        assert!(is_access_denied(&head), "{function}: {head:?}");
        assert!(is_access_denied(&range), "{function}: {range:?}");
    }
}

#[tokio::test]
async fn with_a_lambda_role_a_present_chunk_is_readable() {
    for function in CHUNK_READERS {
        let store = store_with_one_chunk(lambda_grants(function)).await;
        let head = store.head(BUCKET, CHUNK).await.expect("head is allowed");
        assert_eq!(head.map(|m| m.size), Some(9), "{function}");
        let bytes = store
            .get_bytes(BUCKET, CHUNK)
            .await
            .expect("get is allowed");
        assert_eq!(bytes.as_ref(), b"mp4 bytes", "{function}");
    }
}

#[tokio::test]
async fn a_lambda_may_not_write_or_list_or_read_outside_the_chunks() {
    for function in LAMBDA_FUNCTIONS {
        let store = store_with_one_chunk(lambda_grants(function)).await;
        let put = store
            .put_bytes(
                BUCKET,
                MANIFEST,
                Bytes::from_static(b"{}"),
                "application/json",
            )
            .await;
        assert!(is_access_denied(&put), "{function}: {put:?}");
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").expect("write");
        let upload = store.upload_from(BUCKET, CHUNK, &file, "video/mp4").await;
        assert!(is_access_denied(&upload), "{function}: {upload:?}");
        let list = store.list(BUCKET, "users/u1/chunks/r1/").await;
        assert!(is_access_denied(&list), "{function}: {list:?}");
        let output = store
            .get_bytes(BUCKET, "users/u1/processed/r1/transcript.json")
            .await;
        assert!(is_access_denied(&output), "{function}: {output:?}");
    }
}

#[tokio::test]
async fn the_status_handler_role_reads_nothing() {
    let store = store_with_one_chunk(lambda_grants("execution-status-handler")).await;
    let head = store.head(BUCKET, CHUNK).await;
    assert!(is_access_denied(&head), "{head:?}");
}

#[tokio::test]
async fn another_bucket_matches_no_grant() {
    let store = store_with_one_chunk(lambda_grants("sweeper")).await;
    let head = store.head("someone-elses-bucket", CHUNK).await;
    assert!(is_access_denied(&head), "{head:?}");
}

#[tokio::test]
async fn the_worker_reads_chunks_and_outputs_writes_outputs_and_lists_nothing() {
    // GIVEN the worker task role: GetObject on chunks and outputs, PutObject on outputs, no
    // s3:ListBucket (no activity lists a prefix)
    let grants = worker_task_grants();
    assert!(
        grants
            .statements()
            .iter()
            .flat_map(|s| &s.actions)
            .all(|a| a != "s3:ListBucket" && a != "s3:*"),
        "{grants:?}"
    );
    let store = store_with_one_chunk(grants).await;
    // WHEN it reads a chunk, lists a recording's chunks and reads an absent output
    let chunk = store.get_bytes(BUCKET, CHUNK).await;
    let listed = store.list(BUCKET, "users/u1/chunks/r1/").await;
    let absent = store
        .get_bytes(BUCKET, "users/u1/processed/r1/transcript.json")
        .await;
    // THEN the read works, the listing is denied and the absent key is a 403
    assert_eq!(chunk.expect("get is allowed").as_ref(), b"mp4 bytes");
    assert!(is_access_denied(&listed), "{listed:?}");
    assert!(is_access_denied(&absent), "{absent:?}");
    // AND it may write outputs but not chunks
    let output = store
        .put_bytes(
            BUCKET,
            "users/u1/processed/r1/summary.json",
            Bytes::from_static(b"{}"),
            "application/json",
        )
        .await;
    assert!(output.is_ok(), "{output:?}");
    let chunk = store
        .put_bytes(BUCKET, CHUNK, Bytes::from_static(b"x"), "video/mp4")
        .await;
    assert!(is_access_denied(&chunk), "{chunk:?}");
}

#[tokio::test]
async fn a_prefix_limited_list_right_lists_its_prefixes_but_still_hides_absence() {
    // GIVEN the worker's grants plus ListBucket limited by s3:prefix
    let mut statements = worker_task_grants().statements().to_vec();
    statements.push(S3Statement {
        sid: Some("ListRecordingPrefixes".into()),
        actions: vec!["s3:ListBucket".into()],
        resources: vec![format!("arn:aws:s3:::{TERRAFORM_BUCKET}")],
        conditions: vec![Condition {
            test: "StringLike".into(),
            variable: "s3:prefix".into(),
            values: vec!["users/*/chunks/*".into(), "users/*/processed/*".into()],
        }],
    });
    let store = store_with_one_chunk(Grants::new(statements)).await;
    // WHEN it lists a recording's chunks, lists elsewhere, and reads an absent output
    let listed = store.list(BUCKET, "users/u1/chunks/r1/").await;
    let elsewhere = store.list(BUCKET, "").await;
    let absent = store
        .get_bytes(BUCKET, "users/u1/processed/r1/transcript.json")
        .await;
    // THEN the listing works, the bucket root is denied, and the absent key is a 403: a GET
    // carries no s3:prefix, so the conditional ListBucket does not apply to it
    assert_eq!(listed.expect("list is allowed").len(), 1);
    assert!(is_access_denied(&elsewhere), "{elsewhere:?}");
    assert!(is_access_denied(&absent), "{absent:?}");
}

#[tokio::test]
async fn an_unconditional_list_bucket_grant_turns_absence_into_not_found() {
    // GIVEN the sweeper's grants plus ListBucket on the bucket, as S3 documents
    let mut statements = lambda_grants("sweeper").statements().to_vec();
    statements.push(S3Statement {
        sid: None,
        actions: vec!["s3:ListBucket".into()],
        resources: vec![format!("arn:aws:s3:::{TERRAFORM_BUCKET}")],
        conditions: Vec::new(),
    });
    let store = store_with_one_chunk(Grants::new(statements)).await;
    // THEN an absent key is reported as absent
    assert!(matches!(store.head(BUCKET, ABSENT_CHUNK).await, Ok(None)));
    assert!(matches!(
        store.get_bytes(BUCKET, MANIFEST).await,
        Err(PortError::NotFound { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// The reader reads the real values, and fails loudly on shapes it does not model
// ---------------------------------------------------------------------------------------------

#[test]
fn a_changed_resource_list_in_terraform_changes_the_grants() {
    let copy = TerraformCopy::edited("iam.tf", |text| {
        text.replacen(
            "s3_read            = [local.chunk_objects]",
            "s3_read            = [local.chunk_objects, local.processed_objects]",
            1,
        )
    });
    let roles = read_roles(&copy.terraform_dir()).expect("reads");
    let resources = &roles.lambdas["chunk-upload-handler"].statements()[0].resources;
    assert_eq!(
        resources,
        &[
            format!("arn:aws:s3:::{TERRAFORM_BUCKET}/users/*/chunks/*"),
            format!("arn:aws:s3:::{TERRAFORM_BUCKET}/users/*/processed/*"),
        ]
    );
}

/// An edit of one Terraform file's text.
type TextEdit = Box<dyn Fn(&str) -> String>;

#[test]
fn shapes_the_reader_does_not_model_are_errors_not_empty_grants() {
    let cases: [(&str, &str, TextEdit); 7] = [
        (
            "an unknown reference in an S3 statement",
            "iam.tf",
            Box::new(|t: &str| t.replacen("[local.chunk_objects]", "[local.no_such_local]", 1)),
        ),
        (
            "not_actions",
            "iam.tf",
            Box::new(|t: &str| {
                t.replacen(
                    "actions   = [\"s3:GetObject\"]",
                    "not_actions = [\"s3:DeleteObject\"]",
                    1,
                )
            }),
        ),
        (
            "a managed policy with S3 rights",
            "iam.tf",
            Box::new(|t: &str| t.replacen("AWSXRayDaemonWriteAccess", "AmazonS3ReadOnlyAccess", 1)),
        ),
        (
            "an unsupported condition operator",
            "iam.tf",
            Box::new(|t: &str| {
                t.replacen(
                    "sid       = \"RecordResultsInCatalog\"",
                    "sid       = \"RecordResultsInCatalog\"\n    condition {\n      test     = \"NumericLessThan\"\n      variable = \"aws:MultiFactorAuthAge\"\n      values   = [\"3600\"]\n    }",
                    1,
                )
            }),
        ),
        (
            "a Deny statement in a role policy",
            "iam.tf",
            Box::new(|t: &str| {
                t.replacen(
                    "sid       = \"RecordResultsInCatalog\"",
                    "sid       = \"RecordResultsInCatalog\"\n    effect    = \"Deny\"",
                    1,
                )
            }),
        ),
        (
            "a customer-managed policy attached to a role",
            "iam.tf",
            Box::new(|t: &str| {
                t.replacen(
                    "arn:${local.partition}:iam::aws:policy/AWSXRayDaemonWriteAccess",
                    "arn:${local.partition}:iam::${local.account_id}:policy/everything",
                    1,
                )
            }),
        ),
        (
            "a bucket policy that allows a role",
            "s3.tf",
            Box::new(|t: &str| t.replacen("effect  = \"Deny\"", "effect  = \"Allow\"", 1)),
        ),
    ];
    for (case, file, edit) in cases {
        let copy = TerraformCopy::edited(file, edit);
        let result = read_roles(&copy.terraform_dir());
        assert!(
            matches!(result, Err(IamError::Unmodelled(_) | IamError::Eval { .. })),
            "{case}: {result:?}"
        );
    }
    let empty = tempfile::tempdir().expect("temp dir");
    assert!(read_roles(empty.path()).is_err(), "an empty folder");
}

#[test]
fn wildcards_and_conditions_follow_iam_rules() {
    assert!(wildcard_match("users/*/chunks/*", "users/u/chunks/r/x.mp4"));
    assert!(wildcard_match("chunk_?.mp4", "chunk_1.mp4"));
    assert!(!wildcard_match("chunk_?.mp4", "chunk_12.mp4"));
    assert!(!wildcard_match("users/*/chunks/*", "users/u/processed/r"));
    let like = Condition {
        test: "StringLike".into(),
        variable: "s3:prefix".into(),
        values: vec!["users/*/chunks/*".into()],
    };
    assert!(holds(&like, &[("s3:prefix", "users/u/chunks/r/")]));
    assert!(!holds(&like, &[("s3:prefix", "users/")]));
    assert!(!holds(&like, &[]), "an absent key fails a plain operator");
    let if_exists = Condition {
        test: "StringLikeIfExists".into(),
        ..like.clone()
    };
    assert!(holds(&if_exists, &[]), "an absent key passes IfExists");
    let negated = Condition {
        test: "StringNotEquals".into(),
        ..like
    };
    assert!(
        holds(&negated, &[]),
        "an absent key passes a negated operator"
    );
    let grants = Grants::new(vec![S3Statement {
        sid: None,
        actions: vec!["s3:Get*".into()],
        resources: vec!["arn:aws:s3:::b/*".into()],
        conditions: Vec::new(),
    }]);
    assert!(
        grants.allows("s3:getobject", "arn:aws:s3:::b/k", &[]),
        "actions ignore case"
    );
    assert!(
        !grants.allows("s3:GetObject", "arn:aws:s3:::B/k", &[]),
        "resources do not"
    );
}

// ---------------------------------------------------------------------------------------------
// Every statement of every role, with the deployment's names
// ---------------------------------------------------------------------------------------------

const CATALOG_ARN: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/meeting-recorder-catalog";

fn workspace() -> TerraformRoles {
    read_roles(&terraform_dir()).expect("infra/terraform reads")
}

#[test]
fn every_lambda_role_holds_logs_dead_letters_and_tracing_for_its_own_function_only() {
    let roles = workspace();
    assert_eq!(roles.lambda_functions.len(), LAMBDA_FUNCTIONS.len());
    for function in LAMBDA_FUNCTIONS {
        let lambda = &roles.lambda_functions[function];
        let stream_of = |f: &str| {
            format!(
                "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/meeting-recorder-{f}:log-stream:2026/01/01/x"
            )
        };
        assert!(
            lambda
                .role
                .allows("logs:PutLogEvents", &stream_of(function), &[]),
            "{function}: {:#?}",
            lambda.role
        );
        let other = LAMBDA_FUNCTIONS
            .iter()
            .copied()
            .find(|f| *f != function)
            .expect("another function");
        assert!(
            !lambda
                .role
                .allows("logs:PutLogEvents", &stream_of(other), &[]),
            "{function} writes the logs of {other}"
        );
        assert!(lambda.role.allows(
            "sqs:SendMessage",
            "arn:aws:sqs:us-east-1:123456789012:meeting-recorder-lambda-dlq",
            &[]
        ));
        assert!(
            lambda.role.statements.iter().any(|s| s.origin
                == StatementOrigin::Managed {
                    policy: "AWSXRayDaemonWriteAccess"
                }
                && s.allows("xray:PutTraceSegments", "*", &[])),
            "{function}"
        );
        assert_eq!(
            lambda.environment.get("CATALOG_TABLE").map(String::as_str),
            Some("meeting-recorder-catalog"),
            "{function}"
        );
        assert_eq!(
            lambda.environment.contains_key("SWEEP_LIMIT"),
            function == "sweeper",
            "only the sweeper reads the sweep settings"
        );
    }
}

#[test]
fn the_state_machine_role_updates_the_catalog_its_deployed_definition_names() {
    let roles = workspace();
    let machine = &roles.state_machine;
    assert_eq!(machine.role.role, "aws_iam_role.state_machine");
    assert!(machine.role.allows("dynamodb:UpdateItem", CATALOG_ARN, &[]));
    assert!(!machine.role.allows("dynamodb:PutItem", CATALOG_ARN, &[]));
    let definition: serde_json::Value =
        serde_json::from_str(&machine.definition).expect("the definition is JSON");
    let text = definition.to_string();
    assert!(
        text.contains(r#""TableName":"meeting-recorder-catalog""#),
        "{text}"
    );
    assert!(
        text.contains("arn:aws:states:us-east-1:123456789012:activity:meeting-recorder-summarize")
    );
}

#[test]
fn a_variable_set_like_terraform_plan_var_renames_every_resource() {
    // GIVEN another name prefix, as `terraform plan -var name_prefix=acme-rec` would get
    let roles = read_roles_with(&terraform_dir(), &[("name_prefix", "acme-rec")]).expect("reads");
    // THEN the roles, the environments and the definition name the renamed resources
    let renamed = "arn:aws:dynamodb:us-east-1:123456789012:table/acme-rec-catalog";
    assert!(
        roles
            .state_machine
            .role
            .allows("dynamodb:UpdateItem", renamed, &[])
    );
    assert!(
        !roles
            .state_machine
            .role
            .allows("dynamodb:UpdateItem", CATALOG_ARN, &[])
    );
    assert!(
        roles
            .state_machine
            .definition
            .contains("\"acme-rec-catalog\"")
    );
    assert_eq!(
        roles.lambda_functions["sweeper"].environment["CATALOG_TABLE"],
        "acme-rec-catalog"
    );
    assert!(
        roles.lambda_functions["sweeper"]
            .role
            .allows("dynamodb:GetItem", renamed, &[])
    );
}

#[test]
fn a_variable_the_module_does_not_declare_cannot_be_set() {
    let result = read_roles_with(&terraform_dir(), &[("no_such_variable", "x")]);
    assert!(matches!(result, Err(IamError::Unmodelled(_))), "{result:?}");
}

#[test]
fn the_worker_runs_with_its_task_role_and_its_container_environment() {
    let roles = workspace();
    let worker = &roles.worker;
    assert_eq!(worker.task_role.role, "aws_iam_role.worker_task");
    assert_eq!(worker.execution_role.role, "aws_iam_role.worker_execution");
    assert_eq!(
        worker
            .environment
            .get("RECORDINGS_BUCKET")
            .map(String::as_str),
        Some(TERRAFORM_BUCKET)
    );
    let prefix = &worker.environment["ACTIVITY_ARN_PREFIX"];
    assert_eq!(
        prefix,
        "arn:aws:states:us-east-1:123456789012:activity:meeting-recorder"
    );
    for activity in [
        "prepare-media",
        "start-transcription",
        "check-transcription",
        "summarize",
    ] {
        let arn = format!("{prefix}-{activity}");
        assert!(
            worker.task_role.allows("states:GetActivityTask", &arn, &[]),
            "{arn}"
        );
    }
    // The execution role pulls the image and ships logs, and holds nothing of the work.
    assert!(worker.execution_role.allows("ecr:BatchGetImage", "*", &[]));
    assert!(!worker.execution_role.allows(
        "states:GetActivityTask",
        &format!("{prefix}-summarize"),
        &[]
    ));
}

#[test]
fn only_the_stream_handler_is_fed_by_an_event_source_mapping() {
    let roles = workspace();
    for (function, lambda) in &roles.lambda_functions {
        let expected: Vec<String> = if function == "catalog-stream-handler" {
            vec![format!("{CATALOG_ARN}/stream/1970-01-01T00:00:00.000")]
        } else {
            Vec::new()
        };
        assert_eq!(lambda.event_sources, expected, "{function}");
    }
}

// ---------------------------------------------------------------------------------------------
// Bedrock and Transcribe: only the engine in use, and a cross-Region profile with its regions
// ---------------------------------------------------------------------------------------------

const HAIKU: &str = "anthropic.claude-3-5-haiku-20241022-v1:0";

fn statements_of<'a>(roles: &'a TerraformRoles, service: &str) -> Vec<&'a Statement> {
    roles
        .worker
        .task_role
        .statements
        .iter()
        .filter(|s| s.actions.iter().any(|a| a.starts_with(service)))
        .collect()
}

#[test]
fn a_cross_region_profile_grants_the_profile_and_its_destination_models_only_through_it() {
    // GIVEN a system-defined US inference profile as the summary model
    let id = format!("us.{HAIKU}");
    let roles = read_roles_with(&terraform_dir(), &[("bedrock_model_id", id.as_str())])
        .expect("infra/terraform reads");
    let profile = format!("arn:aws:bedrock:us-east-1:123456789012:inference-profile/{id}");
    let destinations: Vec<String> = terraform::INFERENCE_PROFILE_REGIONS
        .iter()
        .map(|region| format!("arn:aws:bedrock:{region}::foundation-model/{HAIKU}"))
        .collect();
    // THEN the worker may invoke the profile, and the model in each of its regions only through
    // the profile
    let statements = statements_of(&roles, "bedrock:");
    assert_eq!(statements.len(), 2, "{statements:#?}");
    assert!(
        statements
            .iter()
            .any(|s| s.actions == ["bedrock:InvokeModel"]
                && s.resources == [profile.clone()]
                && s.conditions.is_empty()),
        "{statements:#?}"
    );
    let models = statements
        .iter()
        .find(|s| s.resources.iter().any(|r| r.contains(":foundation-model/")))
        .expect("a statement on the destination models");
    assert_eq!(models.actions, ["bedrock:InvokeModel"]);
    assert_eq!(models.resources, destinations);
    assert_eq!(
        models.conditions,
        [Condition {
            test: "StringEquals".into(),
            variable: "bedrock:InferenceProfileArn".into(),
            values: vec![profile.clone()],
        }]
    );
    let role = &roles.worker.task_role;
    let west = &destinations[1];
    assert!(role.allows(
        "bedrock:InvokeModel",
        west,
        &[("bedrock:InferenceProfileArn", profile.as_str())]
    ));
    assert!(
        !role.allows("bedrock:InvokeModel", west, &[]),
        "the destination model is not invocable directly"
    );
}

#[test]
fn a_foundation_model_id_grants_that_model_in_the_home_region_only() {
    let roles = workspace();
    let statements = statements_of(&roles, "bedrock:");
    assert_eq!(statements.len(), 1, "{statements:#?}");
    assert_eq!(statements[0].actions, ["bedrock:InvokeModel"]);
    assert_eq!(
        statements[0].resources,
        [format!(
            "arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}"
        )]
    );
    assert!(statements[0].conditions.is_empty());
}

#[test]
fn the_worker_holds_no_bedrock_or_transcribe_right_when_it_does_not_use_them() {
    let roles = read_roles_with(
        &terraform_dir(),
        &[("summarizer", "extractive"), ("transcriber", "whisper")],
    )
    .expect("infra/terraform reads");
    assert!(statements_of(&roles, "bedrock:").is_empty());
    assert!(statements_of(&roles, "transcribe:").is_empty());
    let openai = read_roles_with(&terraform_dir(), &[("summarizer", "openai")]).expect("reads");
    assert!(statements_of(&openai, "bedrock:").is_empty());
    // Amazon Transcribe (the default engine): its jobs, and the custom vocabulary.
    let sids: Vec<Option<&str>> = statements_of(&openai, "transcribe:")
        .iter()
        .map(|s| s.sid.as_deref())
        .collect();
    assert_eq!(sids, vec![Some("Transcribe"), Some("TranscribeVocabulary")]);
}
