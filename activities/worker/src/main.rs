//! The activity worker: reads its configuration, logs JSON, builds its AWS clients once and serves
//! activity tasks until SIGTERM/SIGINT, then drains (see the README for Fargate).

use activity_worker::{Engines, WorkerSettings, init_json_logs, run, shutdown_signal};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_json_logs();
    let settings = WorkerSettings::from_env()?;
    let engines = Engines::from_env()?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let summary = run(&settings, &engines, &aws, shutdown_signal()).await?;
    tracing::info!(?summary, "activity worker exited");
    Ok(())
}
