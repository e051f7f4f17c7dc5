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

fn say(line: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

fn fail(line: &str) -> ExitCode {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
    ExitCode::from(2)
}
