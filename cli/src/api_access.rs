//! Who may use the Step Functions API that `recorder serve` exposes: the server's options from
//! the command line and environment, and the refusal to expose it beyond this machine without a
//! shared secret.
//!
//! On loopback (the default `127.0.0.1:8083`) the API is reachable only from this machine and
//! the server itself refuses web pages (foreign `Host` names, any `Origin`); a secret is
//! optional. On any other address, other machines can reach it, so `serve` refuses to start
//! without `RECORDER_API_SECRET` unless told explicitly (`--api-insecure-no-secret`).

use std::convert::Infallible;
use std::str::FromStr;

use asl_engine::ServerOptions;

use crate::args::ServeArgs;
use crate::error::CliError;

/// The API's shared secret, as given; never printed (`Debug` shows it redacted).
#[derive(Clone, PartialEq, Eq)]
pub struct ApiSecret(String);

impl FromStr for ApiSecret {
    type Err = Infallible;

    fn from_str(secret: &str) -> Result<Self, Infallible> {
        Ok(Self(secret.to_owned()))
    }
}

impl ApiSecret {
    /// The secret itself, for the client that sends it.
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl std::fmt::Debug for ApiSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiSecret(<redacted>)")
    }
}

/// The API server's options for `args`.
///
/// # Errors
/// [`CliError::Usage`] for a non-loopback `--listen` without a secret and without
/// `--api-insecure-no-secret`.
pub fn server_options(args: &ServeArgs) -> Result<ServerOptions, CliError> {
    // An empty variable (`RECORDER_API_SECRET=`) is no secret, not an empty one.
    let shared_secret = args
        .api_secret
        .as_ref()
        .map(|ApiSecret(secret)| secret.clone())
        .filter(|s| !s.is_empty());
    let loopback = args.listen.ip().to_canonical().is_loopback();
    if !loopback && shared_secret.is_none() && !args.api_insecure_no_secret {
        return Err(CliError::Usage(format!(
            "--listen {} is reachable from other machines: set RECORDER_API_SECRET (clients then \
             send it in the {} header), or pass --api-insecure-no-secret to serve without one",
            args.listen,
            asl_engine::api::SECRET_HEADER
        )));
    }
    Ok(ServerOptions {
        shared_secret,
        extra_hosts: args.api_hosts.clone(),
        ..ServerOptions::default()
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::args::{Cli, Command};

    fn serve_args(args: &[&str]) -> ServeArgs {
        let cli = Cli::try_parse_from(["recorder", "serve"].iter().chain(args))
            .expect("the command line parses");
        match cli.command {
            Command::Serve(args) => args,
            other => panic!("not serve: {other:?}"),
        }
    }

    #[test]
    fn on_loopback_no_secret_is_needed() {
        let options = server_options(&serve_args(&[])).expect("options");
        assert_eq!(options.shared_secret, None);
    }

    #[test]
    fn on_another_address_a_missing_secret_stops_serve() {
        let refused = server_options(&serve_args(&["--listen", "0.0.0.0:8083"]));
        let Err(CliError::Usage(message)) = refused else {
            panic!("not refused: {refused:?}");
        };
        assert!(message.contains("RECORDER_API_SECRET"), "{message}");
    }

    #[test]
    fn on_another_address_an_empty_secret_is_no_secret() {
        let refused = server_options(&serve_args(&[
            "--listen",
            "192.168.1.5:8083",
            "--api-secret",
            "",
        ]));
        assert!(matches!(refused, Err(CliError::Usage(_))), "{refused:?}");
    }

    #[test]
    fn on_another_address_a_secret_or_the_explicit_opt_out_lets_serve_start() {
        let with_secret = server_options(&serve_args(&[
            "--listen",
            "[::]:8083",
            "--api-secret",
            "s3cret",
        ]))
        .expect("options");
        assert_eq!(with_secret.shared_secret.as_deref(), Some("s3cret"));
        let opted_out = server_options(&serve_args(&[
            "--listen",
            "0.0.0.0:8083",
            "--api-insecure-no-secret",
        ]))
        .expect("options");
        assert_eq!(opted_out.shared_secret, None);
    }

    #[test]
    fn the_parsed_arguments_do_not_print_the_secret() {
        let args = serve_args(&["--api-secret", "s3cret"]);
        let printed = format!("{args:?}");
        assert!(!printed.contains("s3cret"), "{printed}");
    }

    #[test]
    fn extra_host_names_are_passed_to_the_server() {
        let options = server_options(&serve_args(&[
            "--api-host",
            "box.lan",
            "--api-host",
            "recorder.internal",
        ]))
        .expect("options");
        assert_eq!(options.extra_hosts, ["box.lan", "recorder.internal"]);
    }
}
