//! The one place that lists the activities this binary serves and builds their adapters.

use std::sync::Arc;

use activity_runtime::Registry;
use aws_config::SdkConfig;
use media_activity::{ConfigError, MediaConfig, PrepareMediaActivity};
use meeting_domain::ports::ObjectStore;
use recorder_aws::{S3ObjectStore, s3_client};
use summary::activity::SummarizeActivity;
use summary::model::bedrock::{BedrockChatModel, BedrockConfig};
use summary::model::openai::{OpenAiChatModel, OpenAiConfig};
use summary::model::{ModelSummarizer, ModelSummaryConfig};
use summary::{ExtractiveSummarizer, Summarizer};
use transcription::activities::{CheckTranscriptionActivity, StartTranscriptionActivity};
use transcription::aws::{AwsTranscribeService, TranscribeConfig};
use transcription::recognizer::WhisperTranscriber;
use transcription::service::{OfflineService, TranscriptionService};

use crate::engines::{Engines, SummarizerChoice, TranscriberChoice};
use crate::error::StartupError;

/// Registers every activity this binary can serve, with adapters built once from `aws` (which
/// honours `AWS_ENDPOINT_URL`). Activities not selected by `WORKER_ACTIVITIES` are skipped by the
/// registry; `wants(name)` tells whether one is selected, so a worker that does not transcribe
/// never loads the Whisper model.
///
/// # Errors
/// [`StartupError`] when an engine cannot be built (missing model, bad settings), the media
/// activity's settings are out of range (`MEDIA_TOOL_MEMORY_MIB`) or an activity cannot be
/// registered.
pub fn register_activities(
    registry: &mut Registry,
    aws: &SdkConfig,
    engines: &Engines,
    wants: impl Fn(&str) -> bool,
) -> Result<(), StartupError> {
    let store: Arc<dyn ObjectStore> = Arc::new(S3ObjectStore::new(s3_client(aws)));
    let media = MediaConfig::from_env().map_err(|error| match error {
        ConfigError::InvalidVar { var, value, reason } => {
            StartupError::InvalidVar { var, value, reason }
        }
    })?;
    registry.register(PrepareMediaActivity::new(Arc::clone(&store), media))?;

    if wants("start-transcription") || wants("check-transcription") {
        let service: Arc<dyn TranscriptionService> = match &engines.transcriber {
            TranscriberChoice::Aws {
                max_speakers,
                output_kms_key,
            } => Arc::new(AwsTranscribeService::new(
                aws_sdk_transcribe::Client::new(aws),
                Arc::clone(&store),
                TranscribeConfig {
                    default_max_speakers: *max_speakers,
                    output_kms_key: output_kms_key.clone(),
                    vocabulary: engines.vocabulary.clone(),
                    ..TranscribeConfig::default()
                },
            )),
            TranscriberChoice::Whisper {
                threads,
                max_speakers,
            } => {
                let model = transcription::model::locate_model_from_env().map_err(engine_error)?;
                let whisper = WhisperTranscriber::load(&model, *threads).map_err(engine_error)?;
                Arc::new(
                    OfflineService::new(Arc::clone(&store), Arc::new(whisper))
                        .with_speaker_labeller(
                            transcription::voice_speakers::default_speaker_labeller(),
                        )
                        .with_vocabulary(engines.vocabulary.clone())
                        .with_max_speakers(max_speakers.map(usize::from)),
                )
            }
        };
        registry.register(StartTranscriptionActivity::new(
            Arc::clone(&service),
            Arc::clone(&store),
        ))?;
        registry.register(CheckTranscriptionActivity::new(service, Arc::clone(&store)))?;
    }

    let summarizer: Arc<dyn Summarizer> = match &engines.summarizer {
        SummarizerChoice::Extractive => Arc::new(ExtractiveSummarizer::new()),
        SummarizerChoice::Bedrock { model_id } => {
            let model = BedrockChatModel::new(
                aws_sdk_bedrockruntime::Client::new(aws),
                BedrockConfig::new(model_id.clone()),
            )
            .map_err(engine_error)?;
            Arc::new(
                ModelSummarizer::new(model, ModelSummaryConfig::default()).map_err(engine_error)?,
            )
        }
        SummarizerChoice::OpenAi {
            base_url,
            model,
            api_key,
        } => {
            let mut config = OpenAiConfig::new(base_url.clone(), model.clone());
            config.api_key.clone_from(api_key);
            let model = OpenAiChatModel::new(config).map_err(engine_error)?;
            Arc::new(
                ModelSummarizer::new(model, ModelSummaryConfig::default()).map_err(engine_error)?,
            )
        }
    };
    registry.register(SummarizeActivity::new(store, summarizer))?;
    Ok(())
}

fn engine_error(error: impl std::fmt::Display) -> StartupError {
    StartupError::Engine(error.to_string())
}
