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
        chrono::Duration::from_std(elapsed)
            .ok()
            .and_then(|elapsed| self.wall_at_anchor.checked_add_signed(elapsed))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// The tokio instant at which the wall clock reads `when` (now if it is in the past).
    pub fn instant_at(&self, when: DateTime<Utc>) -> Instant {
        let delta = (when - self.now()).to_std().unwrap_or(Duration::ZERO);
        deadline_after(delta)
    }
}

/// How far away "never" is: the far future tokio itself uses for a sleep too long to represent.
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// The instant `after` from now, capped at [`FAR_FUTURE`]: durations come from definitions and
/// execution inputs (`"SecondsPath"` may read 18446744073709551615), and `Instant + Duration`
/// panics when the sum overflows.
pub fn deadline_after(after: Duration) -> Instant {
    Instant::now() + after.min(FAR_FUTURE)
}

/// `seconds` as a duration: 0 when negative or NaN, [`Duration::MAX`] when too large or
/// infinite (a retry backoff of `IntervalSeconds × BackoffRate^attempt` can overflow), where
/// `Duration::from_secs_f64` would panic.
pub fn saturating_secs_f64(seconds: f64) -> Duration {
    if seconds.is_nan() || seconds <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX)
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
