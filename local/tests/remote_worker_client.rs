//! The client a separate `recorder worker` uses against `recorder serve`'s API: it carries the
//! API's shared secret when one is configured, so a worker can poll a server that requires it.

use asl_engine::{Engine, EngineConfig, ServerOptions, start_server_with};
use recorder_local::runtime::{sfn_client, worker_spool_dir};

async fn server_with_secret(secret: &str) -> (String, asl_engine::ServerHandle) {
    let options = ServerOptions {
        shared_secret: Some(secret.to_owned()),
        ..ServerOptions::default()
    };
    let (addr, handle) = start_server_with(
        Engine::new(EngineConfig::default()),
        "127.0.0.1:0".parse().expect("addr"),
        options,
    )
    .await
    .expect("server starts");
    (format!("http://{addr}"), handle)
}

#[tokio::test]
async fn given_a_server_with_a_secret_when_the_worker_client_has_it_then_its_calls_are_served() {
    let (endpoint, server) = server_with_secret("s3cret-value").await;
    let listed = sfn_client(&endpoint, Some("s3cret-value"))
        .list_activities()
        .send()
        .await;
    assert!(listed.is_ok(), "{listed:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn given_a_server_with_a_secret_when_the_worker_client_lacks_or_mistypes_it_then_it_is_refused()
 {
    let (endpoint, server) = server_with_secret("s3cret-value").await;
    for secret in [None, Some(""), Some("guess")] {
        let error = sfn_client(&endpoint, secret)
            .list_activities()
            .send()
            .await
            .expect_err("refused");
        let code = error
            .as_service_error()
            .and_then(aws_sdk_sfn::error::ProvideErrorMetadata::code)
            .map(str::to_owned);
        assert_eq!(
            code.as_deref(),
            Some("AccessDeniedException"),
            "{secret:?}: {error:?}"
        );
    }
    server.shutdown().await;
}

#[test]
fn each_worker_name_spools_into_its_own_folder_of_the_data_directory() {
    let data = std::path::Path::new("/data");
    assert_eq!(
        worker_spool_dir(data, "gpu-1"),
        data.join("worker-spool").join("gpu-1")
    );
    // A name is never a path: separators and dots cannot leave the spool folder.
    assert_eq!(
        worker_spool_dir(data, "../x/y"),
        data.join("worker-spool").join("___x_y")
    );
}
