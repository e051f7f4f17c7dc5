//! Summarizer port with Bedrock, offline extractive and OpenAI-compatible adapters; the Summarize activity.
