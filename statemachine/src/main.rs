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
        /// A mock configuration file in the format of AWS Step Functions Local
        /// (`StateMachines` → `TestCases`, `MockedResponses`): the states of the test case
        /// return or throw their mocked responses instead of running (activities too).
        #[arg(long, requires = "test_case")]
        mocks: Option<std::path::PathBuf>,
        /// The test case of the mock configuration to run.
        #[arg(long, requires = "mocks")]
        test_case: Option<String>,
        /// The state machine of the mock configuration whose test case is run (default: the
        /// only one the file defines).
        #[arg(long, requires = "mocks")]
        state_machine: Option<String>,
        /// A folder of objects as `DIR/{bucket}/{key}`, read by Map ItemReaders
        /// (`s3:getObject`, `s3:listObjectsV2`).
        #[arg(long)]
        objects: Option<std::path::PathBuf>,
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
            mocks,
            test_case,
            state_machine,
            objects,
        }) => {
            let mocks = mocks
                .zip(test_case)
                .map(|(file, test_case)| statemachine::cli::MockArgs {
                    file,
                    test_case,
                    state_machine,
                });
            statemachine::cli::run(
                &definition,
                &input,
                virtual_time,
                mocks.as_ref(),
                objects.as_deref(),
            )
        }
        None => statemachine::cli::generate(cli.out, cli.check),
    }
}
