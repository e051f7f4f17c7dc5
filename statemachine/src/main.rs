//! `cargo run -p statemachine [-- --check | validate FILE]`: writes or checks `asl/`, or
//! validates any ASL file.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    about = "Generate, check and validate the Amazon States Language of the meeting recorder"
)]
struct Cli {
    /// Do not write: exit 1 if the committed files under asl/ differ from what the code generates.
    #[arg(long)]
    check: bool,
    /// Output folder (default: the workspace's asl/).
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Validate an ASL definition: one diagnostic per line; exit 0 valid, 1 invalid, 2 unreadable.
    Validate {
        /// The definition file.
        file: std::path::PathBuf,
    },
    /// Run a definition on the local engine and print exactly one JSON object
    /// `{"status", "output", "error", "cause"}`; exit 0 when it succeeded, 1 when it did not,
    /// 2 when the definition or input cannot be used.
    Run {
        /// The definition file.
        #[arg(long)]
        definition: std::path::PathBuf,
        /// The execution input (JSON file).
        #[arg(long)]
        input: std::path::PathBuf,
        /// Run on virtual time: Waits, retry intervals and timeouts take no real time.
        #[arg(long)]
        virtual_time: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Validate { file }) => statemachine::cli::validate(&file),
        Some(Command::Run {
            definition,
            input,
            virtual_time,
        }) => statemachine::cli::run(&definition, &input, virtual_time),
        None => statemachine::cli::generate(cli.out, cli.check),
    }
}
