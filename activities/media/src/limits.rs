//! Resource limits of the `ffmpeg` and `ffprobe` children, so a hostile chunk costs a bounded
//! amount of the worker's memory and CPU whatever FFmpeg's parsers make of it:
//!
//! - **address space** (`RLIMIT_AS`, [`MemoryLimit`]): an allocation beyond it fails with `ENOMEM`
//!   inside FFmpeg (which reports "Cannot allocate memory" and exits) instead of growing until
//!   the kernel's OOM killer picks a process — possibly the worker. An 18 KB MP4 whose sample
//!   tables claim 2^26 samples makes Debian's ffprobe allocate 1.6 GB for its index; under the
//!   default limit the allocation is refused.
//! - **CPU time** (`RLIMIT_CPU`, [`cpu_budget`]): proportional to the audio a step processes, so a
//!   small chunk that makes a parser spin is killed after seconds of CPU, not after the join's
//!   50-minute wall-clock limit.
//!
//! Both are set in the child between `fork` and `exec` ([`apply`]), so they hold from FFmpeg's
//! first instruction, and soft = hard so the child cannot raise them again.

use std::time::Duration;

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

use crate::error::ConfigError;

/// The environment variable that sets [`MemoryLimit`] (read by [`crate::MediaConfig::from_env`]).
pub const MEMORY_LIMIT_VAR: &str = meeting_domain::deployment::env::MEDIA_TOOL_MEMORY_MIB;

/// Default address-space limit of one FFmpeg/ffprobe process, MiB. Debian's dynamically linked
/// FFmpeg maps ~300 MiB of shared libraries before `main` (it cannot start under 256 MiB); a
/// 4-hour join (24 ten-minute H.264 + AAC chunks) runs in 384 MiB and the join's own heap grows
/// to ~100 MiB (the MP4 index of `recording.mp4`). 1 GiB leaves more than twice that headroom.
pub const DEFAULT_MEMORY_MIB: u64 = 1024;

/// Smallest accepted limit, MiB: below this, Debian's FFmpeg fails to load its libraries or a
/// long join runs out (measured: 320 MiB fails a 4-hour join).
pub const MIN_MEMORY_MIB: u64 = 512;

/// Largest accepted limit, MiB (64 GiB): Fargate's largest task has 120 GiB for every process
/// of the task; a value above this is a typo, not a plan.
pub const MAX_MEMORY_MIB: u64 = 64 * 1024;

/// CPU seconds every child gets on top of its proportional share: process start (Debian's
/// FFmpeg spends ~65 ms loading 215 libraries) and the concat demuxer opening each chunk.
pub const CPU_BASE_SECONDS: u64 = 30;

/// CPU seconds per second of audio a step processes. The slowest step is the re-encode of a chunk
/// with another audio format (AAC encode at 48 kHz): 0.023 s per audio second measured; the join
/// (decode, resample, FLAC) needs ~0.001. A quarter second is ten times the slowest.
pub const CPU_SECONDS_PER_AUDIO_SECOND: f64 = 0.25;

/// The address-space limit of each FFmpeg/ffprobe process, range-checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryLimit {
    mib: u64,
}

impl Default for MemoryLimit {
    fn default() -> Self {
        Self {
            mib: DEFAULT_MEMORY_MIB,
        }
    }
}

impl MemoryLimit {
    /// A limit of `mib` MiB.
    ///
    /// # Errors
    /// [`ConfigError::InvalidVar`] naming [`MEMORY_LIMIT_VAR`] when `mib` is outside
    /// [`MIN_MEMORY_MIB`]`..=`[`MAX_MEMORY_MIB`].
    pub fn from_mib(mib: u64) -> Result<Self, ConfigError> {
        if (MIN_MEMORY_MIB..=MAX_MEMORY_MIB).contains(&mib) {
            Ok(Self { mib })
        } else {
            Err(out_of_range(mib.to_string()))
        }
    }

    /// Parses a value of [`MEMORY_LIMIT_VAR`] (whole MiB).
    ///
    /// # Errors
    /// [`ConfigError::InvalidVar`] when it is not a whole number in range.
    pub fn parse(value: &str) -> Result<Self, ConfigError> {
        let mib = value
            .trim()
            .parse::<u64>()
            .map_err(|_| out_of_range(value.to_owned()))?;
        Self::from_mib(mib)
    }

    /// The limit in MiB.
    pub fn mib(self) -> u64 {
        self.mib
    }

    /// The limit in bytes (at most 64 GiB, so it cannot overflow).
    pub fn bytes(self) -> u64 {
        self.mib * 1024 * 1024
    }
}

fn out_of_range(value: String) -> ConfigError {
    ConfigError::InvalidVar {
        var: MEMORY_LIMIT_VAR,
        value,
        reason: format!(
            "expected whole MiB from {MIN_MEMORY_MIB} to {MAX_MEMORY_MIB} (default \
             {DEFAULT_MEMORY_MIB}): Debian's FFmpeg needs ~300 MiB just to start"
        ),
    }
}

/// The limits of one child process; `None` leaves that resource as the worker has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResourceLimits {
    /// Address space.
    pub memory: Option<MemoryLimit>,
    /// CPU time, whole seconds; the kernel sends SIGKILL when it is used up.
    pub cpu_seconds: Option<u64>,
}

/// CPU seconds for a step that processes `audio_seconds` of audio under the wall-clock limit
/// `wall`: [`CPU_BASE_SECONDS`] plus [`CPU_SECONDS_PER_AUDIO_SECOND`] per audio second, at most
/// `wall` (a single-threaded child cannot use more anyway) and at least one second. Values that
/// are not finite or negative count as no audio.
pub fn cpu_budget(audio_seconds: f64, wall: Duration) -> u64 {
    let wall = wall.as_secs().max(1);
    let audio = if audio_seconds.is_finite() && audio_seconds > 0.0 {
        audio_seconds
    } else {
        0.0
    };
    let proportional = (audio * CPU_SECONDS_PER_AUDIO_SECOND).ceil();
    // Compared as f64 first: the float-to-int cast saturates, but only a value below `wall`
    // (a u64 that fits) is ever converted.
    let proportional = if proportional < wall as f64 {
        proportional as u64
    } else {
        wall
    };
    CPU_BASE_SECONDS
        .saturating_add(proportional)
        .min(wall)
        .max(1)
}

/// Makes `command`'s child set `limits` on itself before it executes the program. A limit above
/// the worker's own hard limit is lowered to it (raising a hard limit needs privileges the
/// worker does not have).
#[allow(unsafe_code)]
pub(crate) fn apply(command: &mut tokio::process::Command, limits: ResourceLimits) {
    let within_hard = |resource: Resource, wanted: u64| match getrlimit(resource).maximum {
        Some(hard) => wanted.min(hard),
        None => wanted,
    };
    let memory = limits.memory.map(|m| within_hard(Resource::As, m.bytes()));
    let cpu = limits.cpu_seconds.map(|s| within_hard(Resource::Cpu, s));
    if memory.is_none() && cpu.is_none() {
        return;
    }
    let both = |value: u64| Rlimit {
        current: Some(value),
        maximum: Some(value),
    };
    // SAFETY: the closure runs in the forked child between `fork` and `exec`, where only
    // async-signal-safe work is sound (another thread of the worker may have held a lock at the
    // fork). It reads two captured integers and calls `rustix::process::setrlimit`, which is one
    // `prlimit64` system call issued directly (no allocation, no lock, no libc state); its error
    // becomes an `io::Error` from the raw errno, which does not allocate either.
    unsafe {
        command.pre_exec(move || {
            if let Some(bytes) = memory {
                setrlimit(Resource::As, both(bytes))?;
            }
            if let Some(seconds) = cpu {
                setrlimit(Resource::Cpu, both(seconds))?;
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_memory_limit_is_one_gibibyte() {
        assert_eq!(MemoryLimit::default().mib(), 1024);
        assert_eq!(MemoryLimit::default().bytes(), 1 << 30);
    }

    #[test]
    fn a_memory_limit_in_range_is_accepted_and_the_bounds_are_inclusive() {
        assert_eq!(MemoryLimit::parse(" 2048 ").expect("valid").mib(), 2048);
        assert_eq!(MemoryLimit::parse("512").expect("min").mib(), 512);
        assert_eq!(MemoryLimit::parse("65536").expect("max").mib(), 65_536);
    }

    #[test]
    fn a_memory_limit_out_of_range_or_not_a_number_names_the_variable_and_the_range() {
        for value in [
            "511",
            "0",
            "65537",
            "1.5",
            "1GiB",
            "-1",
            "99999999999999999999",
        ] {
            let error = MemoryLimit::parse(value).expect_err(value);
            let message = error.to_string();
            assert!(
                message.starts_with(&format!("MEDIA_TOOL_MEMORY_MIB={value:?} is invalid")),
                "{message}"
            );
            assert!(message.contains("from 512 to 65536"), "{message}");
        }
    }

    #[test]
    fn the_cpu_budget_grows_with_the_audio_and_never_exceeds_the_wall_clock_limit() {
        let hour = Duration::from_secs(3000);
        // 30 s base + a quarter of a second per audio second.
        assert_eq!(cpu_budget(0.0, hour), 30);
        assert_eq!(cpu_budget(60.0, hour), 45);
        assert_eq!(cpu_budget(4.0 * 3600.0, hour), 3000);
        // Absurd or missing durations never overflow and never go above the wall clock.
        assert_eq!(cpu_budget(f64::MAX, hour), 3000);
        assert_eq!(cpu_budget(f64::INFINITY, hour), 30);
        assert_eq!(cpu_budget(f64::NAN, hour), 30);
        assert_eq!(cpu_budget(-5.0, hour), 30);
        assert_eq!(cpu_budget(10.0, Duration::from_secs(20)), 20);
        assert_eq!(cpu_budget(10.0, Duration::ZERO), 1);
    }
}
