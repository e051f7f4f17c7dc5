//! The activity worker binary's library: typed configuration from the environment, JSON logs,
//! signal handling, the registration of every activity, and [`run`], which ties them to the
//! Step Functions task source. `main.rs` only calls these.

pub mod config;
pub mod engines;
pub mod error;
pub mod logging;
pub mod registration;

use std::future::Future;
use std::sync::Arc;

use activity_runtime::sfn::SfnTaskSource;
use activity_runtime::{FsResultSpool, Worker, WorkerSummary};
use aws_config::SdkConfig;

pub use activity_runtime::signals::shutdown_signal;
pub use config::WorkerSettings;
pub use engines::Engines;
pub use error::StartupError;
pub use logging::init_json_logs;
pub use registration::register_activities;

/// Registers the activities, builds the Step Functions client once from `aws` (which honours
/// `AWS_ENDPOINT_URL`, so the local engine can stand in for Step Functions), opens the result
/// spool when `WORKER_SPOOL_DIR` is set (reporting what an earlier run left there first) and
/// serves until `shutdown`, then drains.
///
/// # Errors
/// [`StartupError`] when no activity is registered, the selection names an unknown one or the
/// spool directory cannot be created.
pub async fn run(
    settings: &WorkerSettings,
    engines: &Engines,
    aws: &SdkConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<WorkerSummary, StartupError> {
    let mut registry = settings.registry();
    register_activities(&mut registry, aws, engines, |name| settings.serves(name))?;
    let source = Arc::new(SfnTaskSource::new(aws_sdk_sfn::Client::new(aws)));
    let mut worker = Worker::new(source, registry, settings.worker_config())?;
    if let Some(dir) = &settings.spool_dir {
        worker = worker.with_spool(Arc::new(FsResultSpool::open(dir)?));
    }
    Ok(worker.run_until(shutdown).await)
}
