//! The names Terraform hands to the code are exactly the names the code uses: environment
//! variables, table / rule / state machine / activity names, and the generated files (ASL
//! definition, substitutions, event patterns, activity list) that `infra/terraform` reads.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use meeting_domain::deployment::{DEFAULT_PREFIX, env, names};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn terraform(file: &str) -> String {
    std::fs::read_to_string(root().join("infra/terraform").join(file))
        .unwrap_or_else(|e| panic!("infra/terraform/{file}: {e}"))
}

/// The keys of `name = { KEY = ... }` in an HCL block (one `KEY = value` per line).
fn block_keys(hcl: &str, block: &str) -> BTreeSet<String> {
    let start = hcl
        .find(&format!("{block} = {{"))
        .unwrap_or_else(|| panic!("block {block} not found"));
    let mut keys = BTreeSet::new();
    for line in hcl[start..].lines().skip(1) {
        let line = line.trim();
        if line.starts_with('}') {
            break;
        }
        if let Some((key, _)) = line.split_once('=') {
            keys.insert(key.trim().to_owned());
        }
    }
    keys
}

/// Every `NAME` constant of `meeting_domain::deployment::env`, read from its source so a new
/// variable cannot be left out of this check.
fn code_env_names() -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../domain/src/deployment.rs");
    let source = std::fs::read_to_string(&path).expect("domain/src/deployment.rs");
    let module = source
        .split_once("pub mod env {")
        .map(|(_, rest)| rest)
        .expect("the env module");
    let names: BTreeSet<String> = module
        .lines()
        .map(str::trim)
        .take_while(|line| *line != "}")
        .filter_map(|line| line.strip_prefix("pub const "))
        .filter_map(|line| line.split_once(": &str = \""))
        .map(|(constant, value)| {
            let value = value.trim_end_matches("\";");
            assert_eq!(
                constant, value,
                "env constant {constant} names another variable"
            );
            value.to_owned()
        })
        .collect();
    assert!(
        names.contains(env::ACTIVITY_ARN_PREFIX) && names.contains(env::RECORDINGS_BUCKET),
        "the env module was not read: {names:?}"
    );
    names
}

#[test]
fn every_environment_variable_terraform_sets_is_one_the_code_names() {
    let locals = terraform("locals.tf");
    let ecs = terraform("ecs.tf");
    let mut set_by_terraform = block_keys(&locals, "lambda_environment");
    set_by_terraform.extend(block_keys(&locals, "sweeper_environment"));
    set_by_terraform.extend(block_keys(&locals, "worker_environment"));
    assert!(ecs.contains("name = \"TRANSCRIBE_OUTPUT_KMS_KEY\""));
    set_by_terraform.insert("TRANSCRIBE_OUTPUT_KMS_KEY".to_owned());
    let code = code_env_names();
    let unknown: Vec<_> = set_by_terraform.difference(&code).collect();
    assert!(
        unknown.is_empty(),
        "Terraform sets variables the code never reads: {unknown:?}"
    );
    // Optional variables have defaults or belong to engines a deployment may not use.
    let unset: Vec<_> = code
        .difference(&set_by_terraform)
        .filter(|n| !env::OPTIONAL.contains(&n.as_str()))
        .collect();
    assert!(
        unset.is_empty(),
        "the code reads variables Terraform never sets: {unset:?}"
    );
}

#[test]
fn resource_names_follow_the_same_prefix_rules() {
    let locals = terraform("locals.tf").replace("${var.name_prefix}", DEFAULT_PREFIX);
    for (local, expected) in [
        ("chunk_table_name", names::chunk_table(DEFAULT_PREFIX)),
        ("catalog_table_name", names::catalog_table(DEFAULT_PREFIX)),
        ("state_machine_name", names::state_machine(DEFAULT_PREFIX)),
        ("chunk_rule_name", names::chunk_rule(DEFAULT_PREFIX)),
        ("manifest_rule_name", names::manifest_rule(DEFAULT_PREFIX)),
        (
            "execution_status_rule_name",
            names::execution_status_rule(DEFAULT_PREFIX),
        ),
    ] {
        let line = locals
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{local} ")))
            .unwrap_or_else(|| panic!("local {local} missing"));
        assert!(
            line.contains(&format!("\"{expected}\"")),
            "{line} should name {expected}"
        );
    }
    let stepfunctions = terraform("stepfunctions.tf");
    assert!(stepfunctions.contains("name     = \"${var.name_prefix}-${each.value}\""));
    assert_eq!(
        names::activity(DEFAULT_PREFIX, "summarize"),
        format!("{DEFAULT_PREFIX}-summarize")
    );
}

#[test]
fn terraform_reads_exactly_the_generated_files() {
    let locals = terraform("locals.tf");
    for file in [
        "processing.asl.json",
        "substitutions.json",
        "error-names.json",
        "event-patterns/chunk-object-created.json",
        "event-patterns/manifest-object-created.json",
        "event-patterns/execution-status-change.json",
    ] {
        assert!(
            locals.contains(&format!("{{local.asl_dir}}/{file}")),
            "locals.tf does not read asl/{file}"
        );
        assert!(
            root().join("asl").join(file).exists(),
            "asl/{file} is not generated"
        );
    }
    let generated = statemachine::generate::generate().expect("generates");
    for file in [
        "processing.asl.json",
        "substitutions.json",
        "error-names.json",
        "event-patterns/execution-status-change.json",
    ] {
        assert!(
            generated.contains_key(Path::new(file)),
            "{file} is not produced by the generator"
        );
    }
}

#[test]
fn the_activities_terraform_creates_are_the_ones_the_workflow_uses() {
    let contracts: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("asl/error-names.json")).unwrap(),
    )
    .unwrap();
    let definition = std::fs::read_to_string(root().join("asl/processing.asl.json")).unwrap();
    let deployment = statemachine::workflow::Deployment::default();
    let mut from_contracts: Vec<String> = contracts
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["activity"].as_str().unwrap().to_owned())
        .collect();
    from_contracts.sort();
    let mut in_definition: Vec<String> = definition
        .match_indices(&deployment.activity_arn_prefix())
        .map(|(i, prefix)| {
            definition[i + prefix.len()..]
                .split('"')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    in_definition.sort();
    in_definition.dedup();
    assert_eq!(from_contracts, in_definition);
}

#[test]
fn the_substituted_strings_are_what_terraform_replaces() {
    let locals = terraform("locals.tf");
    assert!(locals.contains("local.asl_substitutions.activityArnPrefix"));
    assert!(locals.contains("jsonencode(local.asl_substitutions.catalogTable)"));
    let subs: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("asl/substitutions.json")).unwrap(),
    )
    .unwrap();
    let keys: BTreeSet<&str> = subs
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, BTreeSet::from(["activityArnPrefix", "catalogTable"]));
}

#[test]
fn the_worker_prefix_plus_activity_names_gives_the_arns_of_the_definition() {
    let locals = terraform("locals.tf");
    assert!(
        locals.contains("ACTIVITY_ARN_PREFIX  = local.activity_arn_base"),
        "the worker must get the ARN base without the trailing dash"
    );
    assert!(locals.contains("activity_arn_prefix = \"${local.activity_arn_base}-\""));
    let deployment = statemachine::workflow::Deployment::default();
    let base = deployment
        .activity_arn_prefix()
        .strip_suffix('-')
        .expect("the definition's prefix ends with a dash")
        .to_owned();
    let definition = std::fs::read_to_string(root().join("asl/processing.asl.json")).unwrap();
    for activity in [
        "prepare-media",
        "start-transcription",
        "check-transcription",
        "summarize",
    ] {
        let arn = names::activity(&base, activity);
        assert!(
            definition.contains(&format!("\"{arn}\"")),
            "{arn} not in the definition"
        );
    }
}

/// The names of the `NAME = {` entries directly inside `block = {` (a map of objects).
fn entry_names(hcl: &str, block: &str) -> BTreeSet<String> {
    let start = hcl
        .find(&format!("{block} = {{"))
        .unwrap_or_else(|| panic!("block {block} not found"));
    let mut names = BTreeSet::new();
    let mut depth = 0_usize;
    for line in hcl[start..].lines().skip(1) {
        let line = line.trim();
        if depth == 0 {
            if line.starts_with('}') {
                break;
            }
            if let Some(name) = line.strip_suffix("= {") {
                names.insert(name.trim().to_owned());
            }
        }
        depth += line.matches('{').count();
        depth = depth.saturating_sub(line.matches('}').count());
    }
    assert!(!names.is_empty(), "no entries in {block}");
    names
}

/// The `default` of `variable "NAME"` in variables.tf.
fn variable_default(variables: &str, name: &str) -> u64 {
    let start = variables
        .find(&format!("variable \"{name}\" {{"))
        .unwrap_or_else(|| panic!("variable {name} not declared"));
    let block = &variables[start..];
    let end = block.find("\n}").unwrap_or(block.len());
    block[..end]
        .lines()
        .map(str::trim)
        .find_map(|line| line.strip_prefix("default"))
        .and_then(|rest| rest.trim().strip_prefix('='))
        .map(|value| {
            value
                .trim()
                .parse()
                .unwrap_or_else(|e| panic!("{name}: {e}"))
        })
        .unwrap_or_else(|| panic!("variable {name} has no default"))
}

#[test]
fn the_sweeper_settings_default_to_the_documented_constants() {
    let variables = terraform("variables.tf");
    let locals = terraform("locals.tf");
    for (variable, env_name, default) in [
        (
            "give_up_after_seconds",
            env::GIVE_UP_AFTER_SECONDS,
            env::DEFAULT_GIVE_UP_AFTER_SECONDS,
        ),
        ("sweep_limit", env::SWEEP_LIMIT, env::DEFAULT_SWEEP_LIMIT),
        (
            "processing_stale_seconds",
            env::PROCESSING_STALE_SECONDS,
            env::DEFAULT_PROCESSING_STALE_SECONDS,
        ),
    ] {
        assert_eq!(
            variable_default(&variables, variable),
            default,
            "var.{variable} and env::{env_name}'s default differ"
        );
        assert!(
            locals.lines().any(|l| {
                let (key, value) = l.split_once('=').unwrap_or_default();
                key.trim() == env_name && value.trim() == format!("tostring(var.{variable})")
            }),
            "locals.tf does not set {env_name} from var.{variable}"
        );
    }
}

#[test]
fn the_lambda_functions_terraform_deploys_are_the_ones_the_build_script_builds() {
    let locals = terraform("locals.tf");
    let deployed = entry_names(&locals, "lambda_functions");
    let lambda_functions: BTreeSet<String> = names::LAMBDA_FUNCTIONS
        .iter()
        .map(|f| (*f).to_owned())
        .collect();
    assert_eq!(deployed, lambda_functions);
    let script = std::fs::read_to_string(root().join("scripts/build-lambdas.sh"))
        .expect("scripts/build-lambdas.sh");
    let built: BTreeSet<String> = script
        .lines()
        .find_map(|l| l.strip_prefix("ALL_FUNCTIONS=("))
        .and_then(|l| l.strip_suffix(')'))
        .expect("ALL_FUNCTIONS=(...) in the build script")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert_eq!(built, lambda_functions);
}

#[test]
fn the_execution_status_rule_selects_our_state_machine_and_invokes_its_handler() {
    let eventbridge = terraform("eventbridge.tf");
    let rule = eventbridge
        .split_once("resource \"aws_cloudwatch_event_rule\" \"execution_status\"")
        .map(|(_, rest)| rest)
        .expect("the execution status rule");
    let rule = &rule[..rule.find("\n}").expect("end of the rule")];
    assert!(rule.contains("local.execution_status_pattern"), "{rule}");
    assert!(
        rule.contains("stateMachineArn = [aws_sfn_state_machine.processing.arn]"),
        "the rule must be narrowed to the processing state machine: {rule}"
    );
    assert!(
        eventbridge.contains("arn  = aws_lambda_function.fn[\"execution-status-handler\"].arn")
    );
    let pattern: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("asl/event-patterns/execution-status-change.json"))
            .expect("the generated pattern"),
    )
    .expect("JSON");
    assert_eq!(pattern["source"], serde_json::json!(["aws.states"]));
    assert_eq!(
        pattern["detail-type"],
        serde_json::json!(["Step Functions Execution Status Change"])
    );
    assert_eq!(
        pattern["detail"]["status"],
        serde_json::json!(["FAILED", "TIMED_OUT", "ABORTED"])
    );
}
