//! The specification corpus: every definition under `tests/definitions/valid` must parse and
//! validate clean; every one under `tests/definitions/invalid` must be rejected for the rule
//! named in `tests/definitions/expected.json` (`{"file.json": {"code", "pointer"}}`).
//!
//! A rejection by the model's parser (unknown field, wrong JSON type…) counts as the expected
//! verdict **only** when the expected code is structural ([`DiagnosticCode::is_structural`]);
//! for every other rule the model must parse the document and the validator must report the
//! expected code at the expected JSON pointer.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use asl::StateMachine;
use asl::validate::{DiagnosticCode, validate_file, validate_text};
use serde::Deserialize;

/// The minimum size of the corpus the issue asks for (at least 100 definitions).
const MIN_DEFINITIONS: usize = 100;

#[derive(Debug, Deserialize)]
struct Expected {
    code: String,
    pointer: String,
}

fn corpus_dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/definitions")
        .join(kind)
}

fn json_files(kind: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(corpus_dir(kind))
        .unwrap_or_else(|e| panic!("corpus folder {kind}: {e}"))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .expect("file name")
        .to_string_lossy()
        .into_owned()
}

fn expectations() -> BTreeMap<String, Expected> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/definitions/expected.json");
    let text = fs::read_to_string(&path).expect("expected.json is readable");
    serde_json::from_str(&text).expect("expected.json maps file names to {code, pointer}")
}

#[test]
fn given_the_corpus_when_counted_then_it_has_enough_valid_and_invalid_definitions() {
    let valid = json_files("valid").len();
    let invalid = json_files("invalid").len();
    assert!(
        valid + invalid >= MIN_DEFINITIONS,
        "{valid} valid + {invalid} invalid < {MIN_DEFINITIONS}"
    );
    assert!(
        valid >= 40 && invalid >= 40,
        "{valid} valid, {invalid} invalid"
    );
}

#[test]
fn given_every_valid_definition_when_validated_then_no_diagnostic_is_reported() {
    let mut failures = Vec::new();
    for path in json_files("valid") {
        match validate_file(&path) {
            Ok(diagnostics) if diagnostics.is_empty() => {}
            Ok(diagnostics) => {
                for d in diagnostics {
                    failures.push(format!("{}: {d}", file_name(&path)));
                }
            }
            Err(e) => failures.push(format!("{}: {e}", file_name(&path))),
        }
    }
    assert!(
        failures.is_empty(),
        "valid definitions were rejected:\n{}",
        failures.join("\n")
    );
}

#[test]
fn given_every_valid_definition_when_parsed_and_emitted_then_the_json_is_unchanged() {
    let mut failures = Vec::new();
    for path in json_files("valid") {
        let text = fs::read_to_string(&path).expect("readable");
        let original: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        match StateMachine::from_json(&text) {
            Ok(machine) if machine.to_value() == original => {}
            Ok(machine) => failures.push(format!(
                "{}: re-emitted differently:\n{}",
                file_name(&path),
                machine.to_json_pretty()
            )),
            Err(e) => failures.push(format!("{}: {e}", file_name(&path))),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn given_every_invalid_definition_when_validated_then_the_expected_rule_is_reported() {
    let expected = expectations();
    let mut failures = Vec::new();
    for path in json_files("invalid") {
        let name = file_name(&path);
        let Some(want) = expected.get(&name) else {
            failures.push(format!("{name}: no entry in expected.json"));
            continue;
        };
        let Some(code) = DiagnosticCode::from_name(&want.code) else {
            failures.push(format!("{name}: unknown code {}", want.code));
            continue;
        };
        let text = fs::read_to_string(&path).expect("readable");
        match StateMachine::from_json(&text) {
            // A structural rule may be enforced by the parser itself.
            Err(_) if code.is_structural() => {}
            Err(e) => failures.push(format!(
                "{name}: the model rejected the document ({e}) but `{code}` is not a structural rule; the validator must report it"
            )),
            Ok(_) => {
                let diagnostics = validate_text(&text, &name).expect("JSON");
                let found = diagnostics
                    .iter()
                    .any(|d| d.code == code && d.pointer == want.pointer);
                if !found {
                    let got: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
                    failures.push(format!(
                        "{name}: expected `{code}` at `{}`, got [{}]",
                        want.pointer,
                        got.join("; ")
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn given_expected_json_when_compared_with_the_folder_then_every_entry_has_a_file() {
    let files: Vec<String> = json_files("invalid").iter().map(|p| file_name(p)).collect();
    let stale: Vec<String> = expectations()
        .into_keys()
        .filter(|name| !files.contains(name))
        .collect();
    assert!(
        stale.is_empty(),
        "expected.json names missing files: {stale:?}"
    );
}

#[test]
fn given_the_corpus_when_its_expected_codes_are_collected_then_every_rule_is_exercised() {
    let used: Vec<String> = expectations().into_values().map(|e| e.code).collect();
    let missing: Vec<&str> = DiagnosticCode::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !used.iter().any(|u| u == c))
        .collect();
    assert!(
        missing.is_empty(),
        "no invalid definition exercises {missing:?}"
    );
}
