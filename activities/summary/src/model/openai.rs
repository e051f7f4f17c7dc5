//! Any OpenAI-compatible chat-completions server (vLLM, llama.cpp server, Ollama, LM Studio, a
//! hosted API) as a [`ToolChatModel`], for users who run their own model: one function tool with
//! the summary schema as its parameters, `tool_choice` forcing it, the transcript in the user
//! message. 429 and 5xx are retryable; other 4xx are configuration problems.
//!
//! The API key is a bearer secret: it is only sent over `https://`, or over plain `http://` to a
//! loopback address (a server on this machine). Redirects are not followed (a redirect could lead
//! the key to another host or downgrade the scheme), and the response is read up to
//! [`MAX_RESPONSE_BYTES`], so a misbehaving server cannot exhaust the worker's memory.

use std::net::IpAddr;
use std::time::Duration;

use async_trait::async_trait;
use meeting_domain::contracts::EngineInfo;
use serde_json::{Value, json};

use super::{Conversation, ModelReply, ToolChatModel};
use crate::error::SummarizeError;

/// Engine name recorded in summaries made through an OpenAI-compatible server.
pub const ENGINE_NAME: &str = "openai-compatible";
const SERVICE: &str = "openai-compatible server";

/// Largest chat-completions response read: 8 MiB. One summary tool call is a few KiB; the
/// request's `max_tokens` keeps a well-behaved server far below this.
pub const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// Configuration of an OpenAI-compatible server.
#[derive(Clone, Debug)]
pub struct OpenAiConfig {
    /// Base URL up to and including the API version (`http://127.0.0.1:8080/v1`).
    pub base_url: String,
    /// Model name the server expects.
    pub model: String,
    /// Bearer token, when the server wants one.
    pub api_key: Option<String>,
    /// Maximum output tokens per call.
    pub max_output_tokens: u32,
    /// Time limit of one call.
    pub timeout: Duration,
}

impl OpenAiConfig {
    /// A configuration with default limits.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            max_output_tokens: 4096,
            // Local CPU servers are slow; a call that takes longer is treated as unavailable.
            timeout: Duration::from_secs(300),
        }
    }
}

/// Chat completions on one server and model.
#[derive(Clone)]
pub struct OpenAiChatModel {
    http: reqwest::Client,
    config: OpenAiConfig,
    url: String,
}

impl std::fmt::Debug for OpenAiChatModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the API key.
        f.debug_struct("OpenAiChatModel")
            .field("url", &self.url)
            .field("model", &self.config.model)
            .finish_non_exhaustive()
    }
}

impl OpenAiChatModel {
    /// A model on the server at `config.base_url`.
    pub fn new(config: OpenAiConfig) -> Result<Self, SummarizeError> {
        let base = config.base_url.trim_end_matches('/');
        let parsed = reqwest::Url::parse(base).map_err(|e| {
            SummarizeError::Config(format!(
                "the OpenAI-compatible base URL {base:?} is not a URL: {e}"
            ))
        })?;
        let host = parsed.host_str().unwrap_or_default();
        match parsed.scheme() {
            "https" => {}
            "http" if config.api_key.is_none() || is_loopback(host) => {}
            "http" => {
                return Err(SummarizeError::Config(format!(
                    "refusing to send the API key over plain http:// to {host}: anyone on the \
                     path could read it; use https://, or a server on this machine \
                     (127.0.0.1, ::1 or localhost)"
                )));
            }
            _ => {
                return Err(SummarizeError::Config(
                    "the OpenAI-compatible base URL must start with http:// or https://".to_owned(),
                ));
            }
        }
        if config.model.trim().is_empty() {
            return Err(SummarizeError::Config("the model name is empty".to_owned()));
        }
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SummarizeError::Config(format!("cannot build the HTTP client: {e}")))?;
        let url = format!("{base}/chat/completions");
        Ok(Self { http, config, url })
    }

    /// The chat-completions request body of a conversation.
    pub fn request_body(&self, conversation: &Conversation) -> Value {
        let mut messages = vec![
            json!({"role": "system", "content": conversation.system}),
            json!({"role": "user", "content": conversation.user}),
        ];
        if let Some(repair) = &conversation.repair {
            let feedback = Conversation::repair_message(&repair.errors);
            match &repair.previous.tool_use {
                Some((id, input)) => {
                    messages.push(json!({
                        "role": "assistant",
                        "content": null,
                        "tool_calls": [{
                            "id": id,
                            "type": "function",
                            "function": {"name": conversation.tool.name, "arguments": input.to_string()}
                        }]
                    }));
                    messages.push(json!({"role": "tool", "tool_call_id": id, "content": feedback}));
                }
                None => {
                    messages.push(json!({"role": "assistant", "content": repair.previous.text}));
                    messages.push(json!({"role": "user", "content": feedback}));
                }
            }
        }
        json!({
            "model": self.config.model,
            "temperature": 0,
            "max_tokens": self.config.max_output_tokens,
            "messages": messages,
            "tools": [{
                "type": "function",
                "function": {
                    "name": conversation.tool.name,
                    "description": conversation.tool.description,
                    "parameters": conversation.tool.schema,
                }
            }],
            "tool_choice": {"type": "function", "function": {"name": conversation.tool.name}},
        })
    }
}

/// Whether `host` (as a URL spells it: brackets around IPv6) names this machine.
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Reads the body of `response`, refusing it once it passes [`MAX_RESPONSE_BYTES`] (declared or
/// actual) without reading the rest.
async fn bounded_body(mut response: reqwest::Response) -> Result<Vec<u8>, SummarizeError> {
    let too_large = || SummarizeError::ServiceRejected {
        service: SERVICE,
        source: format!("the response is larger than {MAX_RESPONSE_BYTES} bytes").into(),
    };
    if response
        .content_length()
        .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) =
        response
            .chunk()
            .await
            .map_err(|e| SummarizeError::ServiceUnavailable {
                service: SERVICE,
                source: Box::new(e),
            })?
    {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Reads the answer out of a chat-completions response.
fn reply_of(response: &Value, tool_name: &str) -> ModelReply {
    let choice = &response["choices"][0];
    let message = &choice["message"];
    let tool_use = message["tool_calls"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|call| call["function"]["name"] == tool_name)
        .map(|call| {
            let id = call["id"].as_str().unwrap_or("call_0").to_owned();
            // Arguments are a JSON string; a string that is not JSON is passed on as a string,
            // which the schema check rejects and the repair turn reports.
            let arguments = &call["function"]["arguments"];
            let input = match arguments.as_str() {
                Some(text) => serde_json::from_str(text).unwrap_or(Value::String(text.to_owned())),
                None => arguments.clone(),
            };
            (id, input)
        });
    ModelReply {
        tool_use,
        text: message["content"].as_str().unwrap_or_default().to_owned(),
        truncated: choice["finish_reason"] == "length",
    }
}

#[async_trait]
impl ToolChatModel for OpenAiChatModel {
    fn engine(&self) -> EngineInfo {
        EngineInfo {
            name: ENGINE_NAME.to_owned(),
            model: Some(self.config.model.clone()),
        }
    }

    async fn call(&self, conversation: &Conversation) -> Result<ModelReply, SummarizeError> {
        let body = serde_json::to_vec(&self.request_body(conversation))
            .map_err(|e| SummarizeError::Config(format!("cannot encode the request: {e}")))?;
        let mut request = self
            .http
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(key) = &self.config.api_key {
            request = request.bearer_auth(key);
        }
        let unavailable = |e: reqwest::Error| SummarizeError::ServiceUnavailable {
            service: SERVICE,
            source: Box::new(e),
        };
        let response = request.send().await.map_err(unavailable)?;
        let status = response.status();
        if status.as_u16() == 429 || status.is_server_error() {
            return Err(SummarizeError::ServiceUnavailable {
                service: SERVICE,
                source: format!("HTTP {status}").into(),
            });
        }
        if status.is_redirection() {
            let to = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("elsewhere");
            return Err(SummarizeError::ServiceRejected {
                service: SERVICE,
                source: format!(
                    "HTTP {status}: the server redirects to {to}; set the base URL to the final \
                     address (redirects are not followed, so the API key stays where it was sent)"
                )
                .into(),
            });
        }
        if !status.is_success() {
            return Err(SummarizeError::ServiceRejected {
                service: SERVICE,
                source: format!("HTTP {status}").into(),
            });
        }
        let bytes = bounded_body(response).await?;
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(reply_of(&value, conversation.tool.name))
    }
}

/// The summarizer over an OpenAI-compatible server.
pub type OpenAiSummarizer = super::ModelSummarizer<OpenAiChatModel>;
