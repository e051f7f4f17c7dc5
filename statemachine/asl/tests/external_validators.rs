//! Cross-checks the valid corpus with the two external ASL validators, npm `asl-validator`
//! (through `scripts/asl-validator.mjs`, its JS API) and PyPI `statelint --ignore=FLOAT`.
//! Both must report nothing, except the findings listed below: each is a known false
//! positive of that tool (see `shared/notes/asl-tools.md` and the reasons given), listed per
//! file. A listed file that stops producing findings fails the test too, so the lists stay
//! exact. The tools are installed by `scripts/setup.sh node python`; when they are missing the
//! test fails and says so.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Files on which `asl-validator` 4.0.0 reports findings AWS would not, and why.
const ASL_VALIDATOR_FALSE_POSITIVES: &[(&str, &str)] = &[
    (
        "assign-with-nulls.json",
        "rejects `null` inside arrays of Assign / payload templates (known, see notes)",
    ),
    (
        "task-jsonpath-full.json",
        "rejects `null` inside an array of a Parameters payload template (same bug)",
    ),
    (
        "bracket-and-hyphen-paths.json",
        "its path grammar rejects `$.abc.['def ghi']`, the form AWS's own JSONPath page shows",
    ),
    (
        "intrinsics-escapes.json",
        "its grammar cannot read the escaped backslash `\\\\` that AWS documents for intrinsic strings",
    ),
    (
        "jsonpath-filters-and-slices.json",
        "its filter grammar has no `&&` (Jayway JsonPath, which AWS runs, has)",
    ),
    (
        "map-distributed-s3.json",
        "wants an integer ToleratedFailurePercentage; AWS takes a number (UpdateMapRun's is a float)",
    ),
];

/// Files on which `statelint` 3.1.0 reports findings AWS would not, and why.
const STATELINT_FALSE_POSITIVES: &[(&str, &str)] = &[
    (
        "assign-with-nulls.json",
        "rejects Assign in JSONPath states and variable paths in `.$` fields (known, see notes)",
    ),
    (
        "bracket-and-hyphen-paths.json",
        "its reference-path regex rejects bracket names with spaces and `.['x']` forms",
    ),
    (
        "choice-path-operators.json",
        "rejects a context path (`$$.Execution.Input.limit`) as a *Path operand",
    ),
    (
        "choice-variable-reference.json",
        "rejects Assign in JSONPath states and variables as *Path operands",
    ),
    (
        "choice-with-assign-on-rule.json",
        "rejects Assign in JSONPath states and Choice rules",
    ),
    (
        "jsonata-map-items.json",
        "rejects a JSONata expression for MaxConcurrency",
    ),
    (
        "jsonata-top-level-task.json",
        "rejects a JSONata expression for TimeoutSeconds",
    ),
    (
        "jsonata-wait-expressions.json",
        "rejects JSONata expressions for Wait Seconds and Timestamp",
    ),
    (
        "jsonpath-filters-and-slices.json",
        "its path regex has no filter expressions",
    ),
    (
        "map-distributed-csv.json",
        "does not know ReaderConfig InputType / CSVHeaderLocation",
    ),
    (
        "map-legacy-iterator-processor-config.json",
        "rejects ProcessorConfig in a legacy Iterator, which AWS runs inline and distributed (LocalStack's AWS-recorded test_map_state_legacy_config_* snapshots)",
    ),
    (
        "map-distributed-s3.json",
        "does not know Map Label and wants an integer ToleratedFailurePercentage",
    ),
    (
        "retry-backoff-integer-one.json",
        "treats the documented maximum 99999999 of MaxAttempts as exclusive",
    ),
    (
        "variables-in-items-path.json",
        "rejects Assign in JSONPath states and variables in ItemsPath (known, see notes)",
    ),
];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn valid_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/definitions/valid");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("valid corpus folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn name(path: &Path) -> String {
    path.file_name()
        .expect("file name")
        .to_string_lossy()
        .into_owned()
}

fn require_tool(path: &Path, what: &str) {
    assert!(
        path.exists(),
        "{what} is missing ({}); install it with `scripts/setup.sh node python`",
        path.display()
    );
}

/// Compares the files a tool flagged with its list of known false positives.
fn compare(tool: &str, flagged: &[(String, String)], known: &[(&str, &str)]) {
    let mut problems = Vec::new();
    for (file, output) in flagged {
        if !known.iter().any(|(k, _)| k == file) {
            problems.push(format!(
                "{tool} rejects {file}, not a known false positive:\n{output}"
            ));
        }
    }
    for (file, reason) in known {
        if !flagged.iter().any(|(f, _)| f == file) {
            problems.push(format!(
                "{tool} no longer rejects {file}; remove it from the known false positives ({reason})"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn given_the_valid_corpus_when_checked_by_asl_validator_then_only_known_false_positives_remain() {
    let root = repo_root();
    require_tool(
        &root.join(".tools/node/node_modules/asl-validator/package.json"),
        "npm asl-validator",
    );
    let files = valid_files();
    let output = Command::new("node")
        .arg(root.join("scripts/asl-validator.mjs"))
        .args(&files)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run node ({e}); install it with `scripts/setup.sh node python`")
        });
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_ne!(
        output.status.code(),
        Some(2),
        "asl-validator could not run: {}; install it with `scripts/setup.sh node python`",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut flagged: Vec<(String, String)> = Vec::new();
    for file in &files {
        let prefix = format!("{}: ", file.display());
        let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with(&prefix)).collect();
        if !lines.is_empty() {
            flagged.push((name(file), lines.join("\n")));
        }
    }
    assert_eq!(
        output.status.success(),
        flagged.is_empty(),
        "exit status and findings disagree:\n{stdout}"
    );
    compare("asl-validator", &flagged, ASL_VALIDATOR_FALSE_POSITIVES);
}

#[test]
fn given_the_valid_corpus_when_checked_by_statelint_then_only_known_false_positives_remain() {
    let statelint = repo_root().join(".tools/py-checks/bin/statelint");
    require_tool(&statelint, "PyPI statelint");
    let files = valid_files();
    let output = Command::new(&statelint)
        .arg("--ignore=FLOAT")
        .args(&files)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run statelint ({e}); install it with `scripts/setup.sh node python`")
        });
    let stdout = String::from_utf8_lossy(&output.stdout);
    // With several files statelint prints, for each file with problems, the path as given,
    // a count line, then one problem per line indented by a space.
    let mut flagged: Vec<(String, String)> = Vec::new();
    for line in stdout.lines() {
        if let Some(file) = files.iter().find(|f| f.display().to_string() == line) {
            flagged.push((name(file), String::new()));
        } else if let Some((_, text)) = flagged.last_mut() {
            text.push_str(line);
            text.push('\n');
        } else {
            panic!("unexpected statelint output before any file name: {line}\n{stdout}");
        }
    }
    assert_eq!(
        output.status.success(),
        flagged.is_empty(),
        "statelint exit status and findings disagree:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    compare("statelint", &flagged, STATELINT_FALSE_POSITIVES);
}
