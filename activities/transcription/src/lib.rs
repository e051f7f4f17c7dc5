//! Transcriber port with Amazon Transcribe and offline Whisper (whisper.cpp) adapters, speaker labels, and transcript exports; the StartTranscription and CheckTranscription activities.
