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

/// Runs a definition on the local engine; prints one JSON object with the outcome.
pub fn run(definition: &Path, input: &Path, virtual_time: bool) -> ExitCode {
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
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return invalid("Runtime", e.to_string()),
    };
    let options = asl_engine::RunOptions {
        virtual_time,
        ..asl_engine::RunOptions::default()
    };
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
