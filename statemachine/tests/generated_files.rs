//! The committed `asl/` folder is exactly what the code generates, and the generated definition
//! passes our validator and both external validators (asl-validator, statelint).

use std::path::{Path, PathBuf};
use std::process::Command;

use statemachine::generate;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn committed_asl_folder_matches_the_code() {
    let files = generate::generate().expect("workflow builds");
    let stale = generate::stale(&generate::default_dir(), &files).expect("asl/ readable");
    assert!(
        stale.is_empty(),
        "stale generated files {stale:?}: run `cargo run -p statemachine` and commit asl/"
    );
}

#[test]
fn emitted_definition_passes_our_validator() {
    let path = workspace_root().join("asl/processing.asl.json");
    let diagnostics = asl::validate::validate_file(&path).expect("readable");
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
}

#[test]
fn emitted_definition_passes_asl_validator() {
    let root = workspace_root();
    let output = Command::new("node")
        .arg(root.join("scripts/asl-validator.mjs"))
        .arg(root.join("asl/processing.asl.json"))
        .output()
        .expect("node runs (install it with scripts/setup.sh apt)");
    assert!(
        output.status.success(),
        "asl-validator findings (or tool missing: run scripts/setup.sh node):\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn emitted_definition_passes_statelint() {
    let root = workspace_root();
    let statelint = root.join(".tools/py-checks/bin/statelint");
    assert!(
        statelint.exists(),
        "{} is missing: run scripts/setup.sh python",
        statelint.display()
    );
    let output = Command::new(&statelint)
        .arg("--ignore=FLOAT")
        .arg(root.join("asl/processing.asl.json"))
        .output()
        .expect("statelint runs");
    assert!(
        output.status.success(),
        "statelint findings:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn substitutions_name_strings_that_occur_in_the_definition() {
    let root = workspace_root();
    let definition = std::fs::read_to_string(root.join("asl/processing.asl.json")).unwrap();
    let substitutions: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("asl/substitutions.json")).unwrap(),
    )
    .unwrap();
    for (role, value) in substitutions.as_object().unwrap() {
        let value = value.as_str().unwrap();
        assert!(
            definition.contains(value),
            "substitution {role} = {value:?} does not occur in the definition"
        );
    }
}
