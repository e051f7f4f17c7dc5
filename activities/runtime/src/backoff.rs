//! Capped exponential backoff with jitter, for poll errors and result reports that failed
//! transiently. Jitter keeps many workers that failed together from retrying together.

use std::time::Duration;

use rand::Rng;

/// Backoff settings: the first delay and the cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Delay before the first retry (before jitter).
    pub initial: Duration,
    /// Largest delay (before jitter).
    pub max: Duration,
}

impl Backoff {
    /// Starts a sequence of delays.
    pub fn start(self) -> BackoffState {
        BackoffState {
            settings: self,
            attempt: 0,
        }
    }
}

/// A sequence of growing delays.
#[derive(Debug)]
pub struct BackoffState {
    settings: Backoff,
    attempt: u32,
}

impl BackoffState {
    /// The next delay: `initial · 2^attempt`, capped at `max`, then "equal jitter": half of it
    /// fixed and half random, so a delay is never shorter than half the nominal one (no spinning).
    pub fn next_delay(&mut self) -> Duration {
        let factor = 2u32.saturating_pow(self.attempt.min(30));
        let nominal = self
            .settings
            .initial
            .saturating_mul(factor)
            .min(self.settings.max);
        self.attempt = self.attempt.saturating_add(1);
        let half = nominal / 2;
        let half_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        let jitter = Duration::from_millis(rand::rng().random_range(0..=half_ms));
        half + jitter
    }

    /// Starts again from the first delay (after a success).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// How many delays were handed out since the last reset.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_repeated_failures_when_backing_off_then_delays_grow_to_the_cap_and_never_vanish() {
        let settings = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(5),
        };
        let mut state = settings.start();
        let delays: Vec<Duration> = (0..20).map(|_| state.next_delay()).collect();
        for (attempt, delay) in delays.iter().enumerate() {
            let nominal = Duration::from_millis(100)
                .saturating_mul(2u32.saturating_pow(u32::try_from(attempt).unwrap_or(30)))
                .min(Duration::from_secs(5));
            assert!(
                *delay >= nominal / 2,
                "attempt {attempt}: {delay:?} below half of {nominal:?}"
            );
            assert!(
                *delay <= nominal,
                "attempt {attempt}: {delay:?} above {nominal:?}"
            );
        }
        assert!(delays[19] >= Duration::from_millis(2500));
    }

    #[test]
    fn given_a_success_when_reset_then_the_next_delay_starts_small_again() {
        let mut state = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(60),
        }
        .start();
        for _ in 0..10 {
            state.next_delay();
        }
        state.reset();
        assert!(state.next_delay() <= Duration::from_millis(100));
    }
}
