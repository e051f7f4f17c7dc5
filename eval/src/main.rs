//! `eval-notes`: scores the offline pipeline on the evaluation set (see `meeting_eval::cli`).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = meeting_eval::cli::Args::parse();
    match meeting_eval::cli::run(&args) {
        Ok(output) => {
            print!("{output}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
