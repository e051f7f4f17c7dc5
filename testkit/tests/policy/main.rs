//! Least privilege, checked both ways: every AWS call the code makes is allowed to the role that
//! makes it, on the resource the deployment names, and every action a role holds is one its code
//! calls or one AWS requires of it for a service acting on its behalf (`check::PLATFORM`, each
//! with its reason).
//!
//! Nothing here is a hand-kept list of calls: the calls are read from the sources (`code`), the
//! SDK operations from the SDK crates and the roles from `infra/terraform` (`testkit::iam`).
//! Run: `cargo test -p recorder-testkit --test policy`.

mod check;
mod code;
mod sdk;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use check::{CodeNeeds, Gate, Need, Problem, Report, Spec};
use code::{Code, IndexArg, Reached, WORKER_PACKAGE};
use meeting_domain::deployment::env;
use recorder_testkit::iam::{
    TerraformCopy, TerraformRoles, read_roles, read_roles_with, terraform_dir,
};
use sdk::Metadata;

fn metadata() -> &'static Metadata {
    static METADATA: OnceLock<Metadata> = OnceLock::new();
    METADATA.get_or_init(Metadata::read)
}

/// The code's needs, derived once per test process (or the reasons they cannot be).
fn code_needs() -> &'static CodeNeeds {
    static NEEDS: OnceLock<Result<CodeNeeds, Vec<String>>> = OnceLock::new();
    match NEEDS.get_or_init(derive_needs) {
        Ok(needs) => needs,
        Err(problems) => panic!(
            "the code's AWS calls cannot be derived:\n{}",
            problems.join("\n")
        ),
    }
}

fn derive_needs() -> Result<CodeNeeds, Vec<String>> {
    let metadata = metadata();
    let mut problems = Vec::new();
    let functions: Vec<String> = read_roles(&terraform_dir())
        .map_err(|e| vec![e.to_string()])?
        .lambda_functions
        .into_keys()
        .collect();
    // The Lambda package: the one whose binaries are the functions Terraform deploys.
    let lambda_package = metadata
        .packages
        .values()
        .find(|p| functions.iter().all(|f| p.bins.contains_key(f)))
        .ok_or_else(|| vec![format!("no package has the binaries {functions:?}")])?;
    let mut packages = metadata.closure(&lambda_package.name);
    packages.extend(metadata.closure(WORKER_PACKAGE));
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    packages.dedup_by(|a, b| a.name == b.name);
    let code = Code::parse(&packages);
    problems.extend(code.suspicious());

    // --- The Lambdas: the port methods each binary reaches, on the adapters the wiring builds.
    let lambda_crate = &lambda_package.lib;
    let wiring: Vec<_> = code
        .constructions(lambda_crate)
        .into_iter()
        .filter(|(_, c)| c.field.is_some() && code.calls_sdk(&c.ty))
        .collect();
    let bundle = wiring
        .first()
        .and_then(|(_, c)| c.field.as_ref())
        .map(|(ty, _)| ty.clone())
        .ok_or_else(|| {
            vec![format!(
                "{lambda_crate} builds no SDK adapter into a port bundle"
            )]
        })?;
    let mut adapters = BTreeMap::new();
    for (at, construction) in &wiring {
        let (_, field) = construction.field.clone().expect("filtered");
        let variables: Vec<String> = construction
            .args
            .iter()
            .filter_map(|arg| code.env_binding(at, arg))
            .filter_map(|constant| code.constant(&constant).map(str::to_owned))
            .collect();
        adapters.insert(field, (construction.ty.clone(), variables));
    }
    let mut lambdas = BTreeMap::new();
    for function in &functions {
        let bin = &lambda_package.bins[function];
        let entries = code.entries_of_binary(lambda_crate, bin);
        if entries.is_empty() {
            problems.push(format!(
                "{}: calls nothing of {lambda_crate}",
                bin.display()
            ));
        }
        let mut needs = Vec::new();
        for ((field, method), path) in code.reachable_field_calls(&entries, &bundle) {
            let Some((adapter, variables)) = adapters.get(&field) else {
                continue; // clock, metrics, config: no AWS call
            };
            let Some(implementation) = code
                .trait_methods(adapter)
                .into_iter()
                .find(|m| m.name == method)
            else {
                problems.push(format!("{adapter} implements no port method {method}"));
                continue;
            };
            let via = format!("{} → {bundle}.{field}.{method}", path.join(" → "));
            for reached in code.reachable_sdk_calls(&implementation) {
                match need_of(&code, &reached, variables, None, &via) {
                    Ok(found) => needs.extend(found),
                    Err(problem) => problems.push(problem),
                }
            }
        }
        if needs.is_empty() {
            problems.push(format!("Lambda {function} reaches no AWS call"));
        }
        lambdas.insert(function.clone(), needs);
    }

    // --- The worker: every adapter it builds, under the engine choice that builds it.
    let worker_crate = &metadata.packages[WORKER_PACKAGE].lib;
    let mut worker = Vec::new();
    let built: Vec<_> = code
        .constructions(worker_crate)
        .into_iter()
        .filter(|(_, c)| code.calls_sdk(&c.ty))
        .collect();
    if built.is_empty() {
        problems.push(format!("{worker_crate} builds no SDK adapter"));
    }
    for (_, construction) in built {
        let gate = match &construction.arm {
            None => None,
            Some(variant) => match code.choice_of(variant) {
                Some((constant, values)) => Some(Gate {
                    env: code
                        .constant(&constant)
                        .map_or(constant.clone(), str::to_owned),
                    values,
                }),
                None => {
                    problems.push(format!(
                        "{} is built under {}::{}, which no environment variable selects",
                        construction.ty, variant.0, variant.1
                    ));
                    None
                }
            },
        };
        let called = code.methods_called_outside(&construction.ty);
        for method in code
            .trait_methods(&construction.ty)
            .into_iter()
            .filter(|m| called.contains(&m.name))
        {
            let via = "worker".to_owned();
            for reached in code.reachable_sdk_calls(&method) {
                match need_of(&code, &reached, &[], gate.clone(), &via) {
                    Ok(found) => worker.extend(found),
                    Err(problem) => problems.push(problem),
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(CodeNeeds { lambdas, worker })
    } else {
        Err(problems)
    }
}

/// The IAM needs of one reached SDK call.
fn need_of(
    code: &Code,
    reached: &Reached,
    variables: &[String],
    gate: Option<Gate>,
    via: &str,
) -> Result<Vec<Need>, String> {
    let call = &reached.call;
    let action = sdk::iam_action(&call.service, &call.operation)?;
    let via = format!(
        "{via} → {} → {}::{} ({})",
        reached.path.join(" → "),
        call.service,
        call.operation,
        call.at
    );
    let need = |spec: Spec| Need {
        action: action.clone(),
        spec,
        gate: gate.clone(),
        via: via.clone(),
    };
    let variable = |default: &str| {
        variables
            .first()
            .cloned()
            .unwrap_or_else(|| default.to_owned())
    };
    let unmodelled = || format!("no resource model for {action} ({via})");
    let suffix = action.split_once(':').map_or("", |(_, a)| a);
    Ok(match call.service.as_str() {
        "dynamodb" => {
            let [table] = variables else {
                return Err(format!(
                    "{action}: the adapter's table is not named by one environment variable ({via})"
                ));
            };
            match (&call.index, &reached.index_consts) {
                (None, _) => vec![need(Spec::Table {
                    env: table.clone(),
                    index: None,
                })],
                (Some(IndexArg::Const(_) | IndexArg::FromCaller), Some(constants)) => constants
                    .iter()
                    .map(|constant| {
                        code.constant(constant)
                            .map(|index| {
                                need(Spec::Table {
                                    env: table.clone(),
                                    index: Some(index.to_owned()),
                                })
                            })
                            .ok_or_else(|| {
                                format!("no value for index constant {constant} ({via})")
                            })
                    })
                    .collect::<Result<_, _>>()?,
                (Some(_), None) => {
                    return Err(format!("{action} of an index no caller names ({via})"));
                }
            }
        }
        "s3" if action == "s3:ListBucket" => vec![need(Spec::Bucket)],
        "s3" => vec![need(Spec::Objects)],
        "sfn" => vec![need(match suffix {
            "StartExecution" | "ListExecutions" => Spec::StateMachine {
                env: variable(env::STATE_MACHINE_ARN),
            },
            "DescribeExecution" => Spec::Executions {
                env: variable(env::STATE_MACHINE_ARN),
            },
            "GetActivityTask" => Spec::Activities,
            "SendTaskSuccess" | "SendTaskFailure" | "SendTaskHeartbeat" => Spec::Anything,
            _ => return Err(unmodelled()),
        })],
        "transcribe" => vec![need(match suffix {
            "CreateVocabulary" | "GetVocabulary" => Spec::Vocabularies,
            _ => Spec::TranscriptionJobs,
        })],
        "bedrockruntime" => vec![need(Spec::Model)],
        _ => return Err(unmodelled()),
    })
}

fn check_with(terraform: &TerraformRoles) -> Report {
    check::check(code_needs(), terraform)
}

fn workspace_report() -> Report {
    check_with(&read_roles(&terraform_dir()).expect("infra/terraform reads"))
}

// ---------------------------------------------------------------------------------------------
// The deployment
// ---------------------------------------------------------------------------------------------

#[test]
fn every_role_holds_exactly_what_its_code_calls_and_the_platform_requires() {
    let report = workspace_report();
    assert!(
        report.findings.is_empty(),
        "the roles of infra/terraform do not match the code's AWS calls:\n{report}"
    );
    let unused_platform: Vec<&str> = check::PLATFORM
        .iter()
        .enumerate()
        .filter(|(i, _)| !report.platform_used.contains(i))
        .map(|(_, p)| p.reason)
        .collect();
    assert!(
        unused_platform.is_empty(),
        "platform permissions no role holds any more (remove them from check::PLATFORM): {unused_platform:#?}"
    );
}

/// The deployments the variables allow, beyond the defaults: each holds exactly what its code
/// calls (a statement left over from an engine not in use is as wrong as a missing one).
const CONFIGURATIONS: [&[(&str, &str)]; 5] = [
    &[(
        "bedrock_model_id",
        "us.anthropic.claude-3-5-haiku-20241022-v1:0",
    )],
    &[("bedrock_model_id", "eu.amazon.nova-lite-v1:0")],
    &[(
        "bedrock_model_id",
        "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
    )],
    &[("summarizer", "extractive"), ("transcriber", "whisper")],
    &[("summarizer", "openai")],
];

#[test]
fn every_engine_and_model_configuration_holds_exactly_what_its_code_calls() {
    for variables in CONFIGURATIONS {
        let roles = read_roles_with(&terraform_dir(), variables).expect("infra/terraform reads");
        let report = check_with(&roles);
        assert!(
            report.findings.is_empty(),
            "with {variables:?}, the roles do not match the code's AWS calls:\n{report}"
        );
    }
}

#[test]
fn the_check_sees_the_calls_of_every_role() {
    // The derivation finds the calls this deployment is known to make (a renamed client field or
    // a new call shape that hid them would make the check vacuous).
    let needs = code_needs();
    let actions = |calls: &[Need]| -> Vec<String> {
        let mut a: Vec<String> = calls.iter().map(|n| n.action.clone()).collect();
        a.sort();
        a.dedup();
        a
    };
    for (function, calls) in &needs.lambdas {
        assert!(
            actions(calls).contains(&"dynamodb:GetItem".to_owned()),
            "{function}: {:?}",
            actions(calls)
        );
    }
    let sweeper = actions(&needs.lambdas["sweeper"]);
    for action in [
        "dynamodb:Query",
        "dynamodb:UpdateItem",
        "states:StartExecution",
        "states:DescribeExecution",
        "s3:GetObject",
    ] {
        assert!(sweeper.contains(&action.to_owned()), "sweeper: {sweeper:?}");
    }
    assert!(
        needs.lambdas["sweeper"]
            .iter()
            .any(|n| matches!(&n.spec, Spec::Table { index: Some(i), .. } if i == "sweep-due")),
        "the sweeper queries the sweep-due index"
    );
    let worker = actions(&needs.worker);
    for action in [
        "bedrock:InvokeModel",
        "s3:GetObject",
        "s3:PutObject",
        "states:GetActivityTask",
        "states:SendTaskSuccess",
        "states:ListExecutions",
        "transcribe:StartTranscriptionJob",
    ] {
        assert!(worker.contains(&action.to_owned()), "worker: {worker:?}");
    }
    // Engines are gated by the variable that selects them.
    let bedrock = needs
        .worker
        .iter()
        .find(|n| n.action == "bedrock:InvokeModel")
        .expect("a Bedrock call");
    assert_eq!(
        bedrock.gate,
        Some(Gate {
            env: env::SUMMARIZER.to_owned(),
            values: vec!["bedrock".to_owned()]
        })
    );
    let report = workspace_report();
    println!("{}", table(&report.needed));
}

fn table(rows: &[(String, String, String)]) -> String {
    rows.iter()
        .map(|(role, action, resource)| format!("{role} | {action} | {resource}"))
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------------------------------------
// The check can fail
// ---------------------------------------------------------------------------------------------

fn report_of(copy: &TerraformCopy) -> Report {
    check_with(&read_roles(&copy.terraform_dir()).expect("the edited copy reads"))
}

#[test]
fn a_lambda_role_without_a_query_its_code_makes_is_reported() {
    // GIVEN the chunk upload handler's role without Query on the chunk table
    let copy = TerraformCopy::edited("iam.tf", |text| {
        let start = text
            .find("chunk-upload-handler = {")
            .expect("the function's permissions");
        let (head, tail) = text.split_at(start);
        format!("{head}{}", tail.replacen(", \"dynamodb:Query\"]", "]", 1))
    });
    // THEN the check reports the missing permission with the code path that needs it
    let report = report_of(&copy);
    assert!(
        report.has(
            &Problem::Missing,
            "chunk-upload-handler",
            "dynamodb:Query",
            "table/meeting-recorder-chunks"
        ),
        "{report}"
    );
}

#[test]
fn an_action_no_code_calls_is_reported() {
    // GIVEN DeleteItem on the catalog for the execution status handler
    let copy = TerraformCopy::edited("iam.tf", |text| {
        let start = text
            .find("execution-status-handler = {")
            .expect("the function's permissions");
        let (head, tail) = text.split_at(start);
        format!(
            "{head}{}",
            tail.replacen(
                "catalog_actions    = [\"dynamodb:GetItem\", \"dynamodb:UpdateItem\"]",
                "catalog_actions    = [\"dynamodb:GetItem\", \"dynamodb:UpdateItem\", \"dynamodb:DeleteItem\"]",
                1
            )
        )
    });
    let report = report_of(&copy);
    assert!(
        report.has(
            &Problem::Unused,
            "execution-status-handler",
            "dynamodb:DeleteItem",
            "table/meeting-recorder-catalog"
        ),
        "{report}"
    );
}

#[test]
fn a_grant_on_the_wrong_resource_is_both_missing_and_unused() {
    // GIVEN the state machine role updating the chunk table instead of the catalog
    let copy = TerraformCopy::edited("iam.tf", |text| {
        text.replacen(
            "    sid       = \"RecordResultsInCatalog\"\n    actions   = [\"dynamodb:UpdateItem\"]\n    resources = [aws_dynamodb_table.catalog.arn]",
            "    sid       = \"RecordResultsInCatalog\"\n    actions   = [\"dynamodb:UpdateItem\"]\n    resources = [aws_dynamodb_table.chunks.arn]",
            1,
        )
    });
    let report = report_of(&copy);
    assert!(
        report.has(
            &Problem::Missing,
            "state_machine",
            "dynamodb:UpdateItem",
            "table/meeting-recorder-catalog"
        ),
        "{report}"
    );
    assert!(
        report.has(
            &Problem::Unused,
            "state_machine",
            "dynamodb:UpdateItem",
            "table/meeting-recorder-chunks"
        ),
        "{report}"
    );
}

#[test]
fn a_profile_without_its_destination_regions_is_reported() {
    // GIVEN a cross-Region profile, and the Terraform without the destination-model statement
    let copy = TerraformCopy::edited("iam.tf", |text| {
        let start = text
            .find("  dynamic \"statement\" {\n    for_each = data.aws_bedrock_inference_profile.summary\n    content {\n      sid       = \"SummarizeInProfileRegions\"")
            .expect("the destination-model statement");
        let end = start + text[start..].find("\n  }\n").expect("its end") + "\n  }\n".len();
        format!("{}{}", &text[..start], &text[end..])
    });
    let roles = read_roles_with(
        &copy.terraform_dir(),
        &[(
            "bedrock_model_id",
            "us.anthropic.claude-3-5-haiku-20241022-v1:0",
        )],
    )
    .expect("the edited copy reads");
    // THEN the check reports the model in the other region as missing
    let report = check_with(&roles);
    assert!(
        report.has(
            &Problem::Missing,
            "worker_task",
            "bedrock:InvokeModel",
            "arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0"
        ),
        "{report}"
    );
}

#[test]
fn an_engine_statement_kept_when_the_engine_is_off_is_reported() {
    // GIVEN the Transcribe statement made unconditional, and the Whisper engine
    let copy = TerraformCopy::edited("iam.tf", |text| {
        text.replacen(
            "for_each = var.transcriber == \"aws\" ? [1] : []",
            "for_each = [1]",
            1,
        )
    });
    let roles = read_roles_with(&copy.terraform_dir(), &[("transcriber", "whisper")])
        .expect("the edited copy reads");
    // THEN the check reports the Transcribe actions nothing calls
    let report = check_with(&roles);
    assert!(
        report.has(
            &Problem::Unused,
            "worker_task",
            "transcribe:StartTranscriptionJob",
            "transcription-job/*"
        ),
        "{report}"
    );
}

#[test]
fn the_sdk_operations_map_to_their_documented_actions() {
    assert_eq!(
        sdk::iam_action("dynamodb", "update_item").unwrap(),
        "dynamodb:UpdateItem"
    );
    assert_eq!(
        sdk::iam_action("sfn", "get_activity_task").unwrap(),
        "states:GetActivityTask"
    );
    assert_eq!(
        sdk::iam_action("s3", "head_object").unwrap(),
        "s3:GetObject"
    );
    assert_eq!(
        sdk::iam_action("s3", "list_objects_v2").unwrap(),
        "s3:ListBucket"
    );
    assert_eq!(
        sdk::iam_action("s3", "upload_part").unwrap(),
        "s3:PutObject"
    );
    assert_eq!(
        sdk::iam_action("bedrockruntime", "converse").unwrap(),
        "bedrock:InvokeModel"
    );
    assert!(
        sdk::iam_action("s3", "put_bucket_policy").is_err(),
        "an unknown S3 operation is refused"
    );
    assert!(
        sdk::iam_action("kinesis", "put_record").is_err(),
        "an unknown service is refused"
    );
    // Every operation of the services the roles use exists in the SDK crates read.
    let operations = &metadata().operations;
    for (service, operation) in [
        ("dynamodb", "query"),
        ("s3", "head_object"),
        ("sfn", "send_task_heartbeat"),
        ("bedrockruntime", "converse"),
    ] {
        assert!(
            operations[service].contains(operation),
            "{service}::{operation}"
        );
    }
}
