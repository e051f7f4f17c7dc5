//! The engine's clock. Every timer (Wait, retry backoff, task timeouts, heartbeats, long polls)
//! is a tokio timer, and wall-clock timestamps are derived from tokio's monotonic clock. Under a
//! paused tokio runtime (`start_paused`), tokio jumps straight to the next timer whenever every
//! task is idle, so Waits and backoffs run instantly and timestamps still advance consistently:
//! that is the engine's "virtual time".

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

/// Wall-clock time anchored to tokio's monotonic clock.
#[derive(Clone, Copy, Debug)]
pub struct EngineClock {
    wall_at_anchor: DateTime<Utc>,
    anchor: Instant,
}

impl EngineClock {
    /// A clock reading the system wall clock now (must run inside a tokio runtime).
    pub fn new() -> Self {
        Self::starting_at(Utc::now())
    }

    /// A clock that reads `wall` now and advances with tokio time.
    pub fn starting_at(wall: DateTime<Utc>) -> Self {
        Self {
            wall_at_anchor: wall,
            anchor: Instant::now(),
        }
    }

    /// Now, in UTC.
    pub fn now(&self) -> DateTime<Utc> {
        let elapsed = Instant::now().saturating_duration_since(self.anchor);
        self.wall_at_anchor
            + chrono::Duration::from_std(elapsed).unwrap_or(chrono::Duration::zero())
    }

    /// The tokio instant at which the wall clock reads `when` (now if it is in the past).
    pub fn instant_at(&self, when: DateTime<Utc>) -> Instant {
        let delta = (when - self.now()).to_std().unwrap_or(Duration::ZERO);
        Instant::now() + delta
    }
}

impl Default for EngineClock {
    fn default() -> Self {
        Self::new()
    }
}

impl meeting_domain::ports::Clock for EngineClock {
    fn now(&self) -> DateTime<Utc> {
        EngineClock::now(self)
    }
}

/// Epoch seconds with millisecond precision, the timestamp format of AWS JSON 1.0.
pub fn epoch_seconds(t: DateTime<Utc>) -> serde_json::Value {
    let millis = t.timestamp_millis();
    serde_json::json!(millis as f64 / 1000.0)
}
