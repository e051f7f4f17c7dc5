//! Renders the bundled sample meeting: the two-voice script of `recorder_testkit::media`
//! (espeak-ng, byte-identical run to run) encoded as one AAC file, as a user would hand it to
//! `recorder process`.
//!
//!     cargo run -p recorder-cli --example render_sample -- .cache/sample/meeting.m4a

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};
use recorder_testkit::media::{MEETING_SCRIPT, render_script};

fn main() -> anyhow::Result<()> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| ".cache/sample/meeting.m4a".to_owned()),
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
