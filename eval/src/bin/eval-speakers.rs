//! `eval-speakers`: the offline speaker labels alone on the evaluation set, without speech
//! recognition: for each meeting, the speaker error (DER with a 0.25 s collar) of the labelled
//! speech against the script's turns, whether the number of speakers was found, and the time the
//! labelling took (its real-time factor). `--labeller spectral` scores the model-free method,
//! `--sweep` the choice of the same-voice similarity.
//!
//! `cargo run --release -p meeting-eval --bin eval-speakers` (renders into `target/eval/audio`,
//! shared with `eval-notes`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use meeting_eval::cli::{target_dir, workspace_root};
use meeting_eval::meeting::load_all;
use meeting_eval::metrics::der::{SpeakerErrors, Turn, speaker_errors};
use meeting_eval::render::render;
use transcription::speakers::{LabelledWindow, label_speakers};
use transcription::vad::detect_speech;
use transcription::voice_encoder::load_default_voice_encoder;
use transcription::voice_speakers::{
    ClusterParams, cluster_voices, cluster_voices_into, embed_speech,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Labeller {
    /// The speaker encoder and clustering (the default labeller).
    Voice,
    /// MFCC and pitch k-means (the fallback without the model).
    Spectral,
}

#[derive(Debug, Parser)]
#[command(name = "eval-speakers")]
struct Args {
    /// The meeting files (a glob); default: every meeting of the set.
    #[arg(long)]
    meetings: Option<String>,
    /// Where rendered audio goes; default: target/eval.
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Labeller::Voice)]
    labeller: Labeller,
    /// Also score same-voice similarities from 0.50 to 0.90 (voice labeller).
    #[arg(long)]
    sweep: bool,
    /// Similarity taken off per semitone of pitch difference (voice labeller).
    #[arg(long)]
    pitch_penalty: Option<f32>,
    /// Give each meeting's true number of speakers as the maximum (as `--speakers N`).
    #[arg(long)]
    hint: bool,
    /// Cut at each meeting's true number of speakers (how well the embeddings separate the
    /// voices when the count is right; not what the product does).
    #[arg(long)]
    oracle: bool,
}

fn turns(windows: &[LabelledWindow]) -> Vec<Turn> {
    windows
        .iter()
        .map(|w| Turn::new(&format!("S{}", w.speaker), w.start, w.end))
        .collect()
}

fn speakers(windows: &[LabelledWindow]) -> usize {
    windows.iter().map(|w| w.speaker + 1).max().unwrap_or(0)
}

struct Totals {
    errors: SpeakerErrors,
    counts_right: usize,
    meetings: usize,
}

impl Totals {
    fn new() -> Self {
        Self {
            errors: SpeakerErrors::default(),
            counts_right: 0,
            meetings: 0,
        }
    }

    fn add(&mut self, errors: SpeakerErrors, right: bool) {
        self.errors.add(errors);
        self.counts_right += usize::from(right);
        self.meetings += 1;
    }

    fn line(&self) -> String {
        format!(
            "DER {:.1} % (missed {:.1} s, false alarm {:.1} s, confusion {:.1} s of {:.1} s), speaker count right in {}/{}",
            100.0 * self.errors.der(),
            self.errors.missed,
            self.errors.false_alarm,
            self.errors.confusion,
            self.errors.scored_speech,
            self.counts_right,
            self.meetings
        )
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    let root = workspace_root();
    let pattern = args.meetings.clone().unwrap_or_else(|| {
        root.join("eval/meetings/*.json")
            .to_string_lossy()
            .into_owned()
    });
    let cache = args
        .cache_dir
        .clone()
        .unwrap_or_else(|| target_dir(&root).join("eval"))
        .join("audio");
    let encoder = match args.labeller {
        Labeller::Voice => Some(load_default_voice_encoder()?),
        Labeller::Spectral => None,
    };
    let defaults = ClusterParams::default();
    let sweep: Vec<f32> = if args.sweep {
        // 0.50 to 0.90 in steps of 0.025.
        (20..=36).map(|i| i as f32 * 0.025).collect()
    } else {
        vec![defaults.same_voice]
    };
    let pitch_penalty = args.pitch_penalty.unwrap_or(defaults.pitch_penalty);
    let show = std::env::var("EVAL_SHOW")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(defaults.same_voice);
    let mut totals: Vec<Totals> = sweep.iter().map(|_| Totals::new()).collect();
    let (mut audio_seconds, mut label_seconds) = (0.0, 0.0);
    for (_, meeting) in load_all(&pattern)? {
        let rendered = render(&meeting, &cache)?;
        let pcm = transcription::audio::decode_to_pcm(&rendered.audio).await?;
        let voices = meeting.voices.len();
        let hint = args.hint.then_some(voices);
        let started = Instant::now();
        let regions = detect_speech(&pcm);
        let labelled: Vec<Vec<LabelledWindow>> = match &encoder {
            Some(encoder) => {
                let speech = embed_speech(encoder, &pcm, &regions);
                let samples = speech.samples();
                sweep
                    .iter()
                    .map(|same| {
                        let params = ClusterParams {
                            same_voice: *same,
                            pitch_penalty,
                        };
                        speech.labelled(&if args.oracle {
                            cluster_voices_into(&samples, voices, params)
                        } else {
                            cluster_voices(&samples, hint, params)
                        })
                    })
                    .collect()
            }
            None => vec![label_speakers(&pcm, &regions, hint)],
        };
        let took = started.elapsed().as_secs_f64();
        audio_seconds += rendered.duration_seconds;
        label_seconds += took;
        for ((windows, total), same) in labelled.iter().zip(&mut totals).zip(&sweep) {
            let errors = speaker_errors(&rendered.turns, &turns(windows));
            let found = speakers(windows);
            total.add(errors, found == voices);
            if sweep.len() == 1 || (*same - show).abs() < 1e-6 {
                println!(
                    "{:<24} voices {voices} found {found}  DER {:5.1} %  ({:.1} s labelled in {took:.2} s)",
                    meeting.id,
                    100.0 * errors.der(),
                    rendered.duration_seconds
                );
            }
        }
    }
    for (total, same) in totals.iter().zip(&sweep) {
        if args.sweep {
            print!("same-voice similarity {same:.3}: ");
        }
        println!("{}", total.line());
    }
    println!(
        "labelling: {label_seconds:.1} s for {audio_seconds:.1} s of audio, real-time factor {:.4}",
        label_seconds / audio_seconds.max(1e-9)
    );
    Ok(ExitCode::SUCCESS)
}
