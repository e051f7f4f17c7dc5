//! The `recorder` binary: parses the command line, sets up logging and runs the command.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = recorder_cli::args::Cli::parse();
    recorder_cli::init_logging(cli.verbose);
    match recorder_cli::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
