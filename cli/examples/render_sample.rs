//! Renders the bundled sample meeting: the two-voice script of `recorder_testkit::media`
//! (espeak-ng, byte-identical run to run) encoded as one AAC file stamped with the time it was
//! "recorded" (Tuesday 10 March 2026, 10:00 UTC, as a recording app writes `creation_time`), as a
//! user would hand it to `recorder process`: its "by Friday" becomes a due date.
//!
//!     cargo run -p recorder-cli --example render_sample -- .cache/sample/meeting-2026-03-10.m4a

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};
use recorder_testkit::media::{MEETING_SCRIPT, render_script};

fn main() -> anyhow::Result<()> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| ".cache/sample/meeting-2026-03-10.m4a".to_owned()),
    );
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let work = tempfile::tempdir()?;
    let wav = render_script(work.path(), MEETING_SCRIPT);
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-i"])
        .arg(&wav)
        .args([
            "-c:a",
            "aac",
            "-b:a",
            "64k",
            "-fflags",
            "+bitexact",
            "-flags:a",
            "+bitexact",
            "-metadata",
            "creation_time=2026-03-10T10:00:00Z",
        ])
        .arg(&out)
        .status()
        .context("running ffmpeg (install it with `scripts/setup.sh apt`)")?;
    if !status.success() {
        bail!("ffmpeg could not encode {}", out.display());
    }
    println!("{}", out.display());
    Ok(())
}
