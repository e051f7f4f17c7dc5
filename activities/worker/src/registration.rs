//! The one place that lists the activities this binary can serve.

use activity_runtime::Registry;
use aws_config::SdkConfig;

use crate::error::StartupError;

/// Registers every activity this binary can serve. Activities not selected by
/// `WORKER_ACTIVITIES` are skipped by the registry.
///
/// None is registered yet: the media, transcription and summary activities are wired here by the
/// lead once they build, each constructed with its adapters from `aws` (for example
/// `registry.register(PrepareMediaActivity::new(S3ObjectStore::new(aws_sdk_s3::Client::new(aws))))?;`).
/// Until then the worker refuses to start with "no activity is registered".
///
/// # Errors
/// [`StartupError::Runtime`] when an activity is registered twice or its output schema does not
/// compile.
pub fn register_activities(registry: &mut Registry, aws: &SdkConfig) -> Result<(), StartupError> {
    let _ = (registry, aws);
    Ok(())
}
