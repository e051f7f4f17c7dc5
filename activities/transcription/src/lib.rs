//! Transcriber port with Amazon Transcribe and offline Whisper (whisper.cpp) adapters, speaker
//! labels, and transcript exports; the StartTranscription and CheckTranscription activities.
//!
//! - [`service::TranscriptionService`]: the job port the activities drive, with the adapters
//!   [`aws::AwsTranscribeService`] and [`service::OfflineService`];
//! - [`recognizer::Transcriber`]: speech to timed words, adapter [`recognizer::WhisperTranscriber`];
//! - [`vad`], [`speakers`], [`voice_speakers`], [`voice_encoder`], [`offline`]: the offline
//!   pipeline (voice activity, speaker labels from a neural voice encoder or from MFCCs,
//!   assembly);
//! - [`model`]: the model cache and our CTranslate2 → ggml converter;
//! - [`exports`]: SRT, WebVTT, Markdown and text;
//! - [`vocabulary`]: the user's word list, as Whisper prompt and Transcribe custom vocabulary;
//! - [`activities`]: the two activities.

pub mod activities;
pub mod audio;
pub mod aws;
pub mod error;
pub mod exports;
pub mod model;
pub mod offline;
pub mod recognizer;
pub mod service;
pub mod speakers;
pub mod turns;
pub mod vad;
pub mod vocabulary;
pub mod voice_encoder;
pub mod voice_speakers;
