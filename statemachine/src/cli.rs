//! The command-line entry points behind `main.rs`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::generate;

/// Writes `asl/` (or checks it with `check`).
pub fn generate(out: Option<PathBuf>, check: bool) -> ExitCode {
    let dir = out.unwrap_or_else(generate::default_dir);
    let files = match generate::generate() {
        Ok(files) => files,
        Err(e) => return fail(&format!("error: {e}")),
    };
    if check {
        return match generate::stale(&dir, &files) {
            Ok(stale) if stale.is_empty() => {
                say(&format!("asl/ is up to date ({} files)", files.len()));
                ExitCode::SUCCESS
            }
            Ok(stale) => {
                for path in &stale {
                    say(&format!("stale: {}", dir.join(path).display()));
                }
                fail(
                    "asl/ differs from the code: run `cargo run -p statemachine` and commit the result",
                )
            }
            Err(e) => fail(&format!("error: {e}")),
        };
    }
    match generate::write(&dir, &files) {
        Ok(()) => {
            say(&format!("wrote {} files to {}", files.len(), dir.display()));
            ExitCode::SUCCESS
        }
        Err(e) => fail(&format!("error: {e}")),
    }
}

/// Validates one definition file: exit 0 valid, 1 invalid, 2 unreadable.
pub fn validate(file: &Path) -> ExitCode {
    match asl::validate::validate_file(file) {
        Ok(diagnostics) if diagnostics.is_empty() => {
            say(&format!("{}: valid", file.display()));
            ExitCode::SUCCESS
        }
        Ok(diagnostics) => {
            for d in &diagnostics {
                say(&d.to_string());
            }
            ExitCode::from(1)
        }
        Err(e) => fail(&format!("{}: {e}", file.display())),
    }
}

/// `statemachine run --mocks FILE --test-case NAME [--state-machine NAME]`.
#[derive(Clone, Debug)]
pub struct MockArgs {
    /// The mock configuration file (AWS Step Functions Local format).
    pub file: PathBuf,
    /// The test case to run.
    pub test_case: String,
    /// The state machine of the file (default: its only one).
    pub state_machine: Option<String>,
}

fn load_mocks(args: &MockArgs) -> Result<asl_engine::TestCaseMocks, String> {
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
    asl_engine::MockConfig::parse(&text)
        .and_then(|config| config.test_case(args.state_machine.as_deref(), &args.test_case))
        .map_err(|e| format!("{}: {e}", args.file.display()))
}

/// Runs a definition on the local engine (with the mocked task results of `mocks`, if any);
/// prints one JSON object with the outcome.
pub fn run(
    definition: &Path,
    input: &Path,
    virtual_time: bool,
    mocks: Option<&MockArgs>,
    objects: Option<&Path>,
) -> ExitCode {
    let invalid = |error: &str, cause: String| {
        say(&serde_json::json!({"status": "INVALID", "output": null, "error": error, "cause": cause}).to_string());
        ExitCode::from(2)
    };
    let definition_text = match std::fs::read_to_string(definition) {
        Ok(text) => text,
        Err(e) => {
            return invalid(
                "InvalidDefinition",
                format!("cannot read {}: {e}", definition.display()),
            );
        }
    };
    let input_value: serde_json::Value = match std::fs::read_to_string(input)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
    {
        Ok(value) => value,
        Err(e) => return invalid("InvalidInput", format!("{}: {e}", input.display())),
    };
    let mocks = match mocks.map(load_mocks).transpose() {
        Ok(mocks) => mocks,
        Err(e) => return invalid("InvalidMockConfiguration", e),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return invalid("Runtime", e.to_string()),
    };
    let mut options = asl_engine::RunOptions {
        virtual_time,
        mocks,
        ..asl_engine::RunOptions::default()
    };
    if let Some(folder) = objects {
        if !folder.is_dir() {
            return invalid(
                "InvalidObjects",
                format!(
                    "{} is not a folder of {{bucket}}/{{key}} objects",
                    folder.display()
                ),
            );
        }
        options.resources.objects = Some(std::sync::Arc::new(asl_engine::DirectoryObjects::new(
            folder,
        )));
    }
    match runtime.block_on(asl_engine::run_to_completion(
        &definition_text,
        input_value,
        options,
    )) {
        Ok(outcome) => {
            say(&serde_json::json!({
                "status": outcome.status.as_str(),
                "output": outcome.output,
                "error": outcome.error,
                "cause": outcome.cause,
            })
            .to_string());
            if outcome.status == asl_engine::ExecutionStatus::Succeeded {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(asl_engine::RunError::Input(message)) => invalid("InvalidInput", message),
        Err(e) => invalid("InvalidDefinition", e.to_string()),
    }
}

fn say(line: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

fn fail(line: &str) -> ExitCode {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
    ExitCode::from(2)
}
