//! The chaos harness against the in-memory fakes, large: hundreds of recordings, every event
//! delivered 1–3 times, shuffled, from concurrent tasks. Reproduce a failure with the printed
//! `CHAOS_SEED=… CHAOS_RECORDINGS=…`.

mod common;

use std::sync::Arc;

use common::{FakeSystem, World};
use recorder_testkit::chaos::{self, ChaosConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn chaos_every_complete_recording_starts_once_and_no_incomplete_one_starts() {
    let config = ChaosConfig::from_env(400);
    let system = Arc::new(FakeSystem {
        world: World::new(),
        start_everything_on_sweep: false,
    });
    let ports = system.chaos_ports();
    let report = chaos::run(&config, &ports, system.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{report:?}");
    // The run exercised both outcomes (so the invariants were not vacuous).
    assert!(
        report.complete > 0 && report.incomplete > 0,
        "{report:?} ({})",
        config.reproduce()
    );
    assert_eq!(
        system.world.workflows.started().len(),
        report.complete + report.left_to_media
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_detects_a_system_that_starts_incomplete_recordings() {
    // GIVEN a system that wrongly starts every recording still awaiting completion
    let mut config = ChaosConfig::from_env(60);
    config.missing_percent = 50;
    let system = Arc::new(FakeSystem {
        world: World::new(),
        start_everything_on_sweep: true,
    });
    let ports = system.chaos_ports();
    // WHEN the harness runs
    let result = chaos::run(&config, &ports, system.clone()).await;
    // THEN it reports the violated invariant
    let error = result.expect_err("the sabotaged system must fail the invariants");
    assert!(error.contains("was started"), "{error}");
}
