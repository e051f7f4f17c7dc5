//! Amazon Bedrock Converse as a [`ToolChatModel`]: the instructions go in `system`, the
//! transcript in the user message, and `toolConfig` holds exactly one tool (the summary schema)
//! with `toolChoice` forcing it. Throttling and server-side failures are retryable
//! `Summary.ServiceUnavailable`; access and validation errors are configuration problems.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::error::SdkError;
use aws_sdk_bedrockruntime::operation::converse::ConverseError;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, ConverseOutput, InferenceConfiguration, Message,
    SpecificToolChoice, StopReason, SystemContentBlock, Tool, ToolChoice, ToolConfiguration,
    ToolInputSchema, ToolResultBlock, ToolResultContentBlock, ToolResultStatus, ToolSpecification,
    ToolUseBlock,
};
use aws_smithy_types::error::operation::BuildError;
use aws_smithy_types::{Document, Number};
use meeting_domain::contracts::EngineInfo;
use serde_json::Value;

use super::{Conversation, ModelReply, ToolChatModel};
use crate::error::SummarizeError;

/// Engine name recorded in summaries made through Bedrock.
pub const ENGINE_NAME: &str = "bedrock";
const SERVICE: &str = "bedrock";

/// Configuration of the Bedrock model.
#[derive(Clone, Debug)]
pub struct BedrockConfig {
    /// Model or inference-profile id (`anthropic.claude-3-5-haiku-20241022-v1:0`,
    /// `us.amazon.nova-lite-v1:0`, …).
    pub model_id: String,
    /// Maximum output tokens per call.
    pub max_output_tokens: i32,
}

impl BedrockConfig {
    /// A configuration with the default output limit.
    pub fn new(model_id: impl Into<String>) -> Self {
        Self {
            model_id: model_id.into(),
            // Enough for a summary and a few dozen items; every Converse model accepts 4096.
            max_output_tokens: 4096,
        }
    }
}

/// Converse on one configured model.
#[derive(Clone, Debug)]
pub struct BedrockChatModel {
    client: Client,
    config: BedrockConfig,
}

impl BedrockChatModel {
    /// A model over a client built once at start-up.
    pub fn new(client: Client, config: BedrockConfig) -> Result<Self, SummarizeError> {
        if config.model_id.trim().is_empty() {
            return Err(SummarizeError::Config(
                "the Bedrock model id is empty".to_owned(),
            ));
        }
        if config.max_output_tokens < 1 {
            return Err(SummarizeError::Config(
                "the maximum output tokens must be positive".to_owned(),
            ));
        }
        Ok(Self { client, config })
    }
}

/// JSON → Smithy document.
pub fn json_to_document(value: &Value) -> Document {
    match value {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(*b),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Document::Number(Number::PosInt(u))
            } else if let Some(i) = n.as_i64() {
                Document::Number(Number::NegInt(i))
            } else {
                Document::Number(Number::Float(n.as_f64().unwrap_or(0.0)))
            }
        }
        Value::String(s) => Document::String(s.clone()),
        Value::Array(items) => Document::Array(items.iter().map(json_to_document).collect()),
        Value::Object(map) => Document::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), json_to_document(v)))
                .collect::<HashMap<_, _>>(),
        ),
    }
}

/// Smithy document → JSON (a non-finite float becomes `null`, which the schema then rejects).
pub fn document_to_json(document: &Document) -> Value {
    match document {
        Document::Null => Value::Null,
        Document::Bool(b) => Value::Bool(*b),
        Document::Number(Number::PosInt(u)) => Value::from(*u),
        Document::Number(Number::NegInt(i)) => Value::from(*i),
        Document::Number(Number::Float(f)) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        Document::String(s) => Value::String(s.clone()),
        Document::Array(items) => Value::Array(items.iter().map(document_to_json).collect()),
        Document::Object(map) => {
            // HashMap order is random; sort keys so errors and logs are stable.
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), document_to_json(&map[k])))
                    .collect(),
            )
        }
    }
}

fn config_error(error: &BuildError) -> SummarizeError {
    SummarizeError::Config(format!("invalid Converse request: {error}"))
}

/// Maps a Converse failure onto retryable / configuration errors by the service's error codes.
fn map_error(
    error: SdkError<ConverseError, aws_sdk_bedrockruntime::config::http::HttpResponse>,
) -> SummarizeError {
    let retryable = match &error {
        SdkError::ServiceError(context) => {
            matches!(
                context.err(),
                ConverseError::ThrottlingException(_)
                    | ConverseError::ServiceUnavailableException(_)
                    | ConverseError::ModelNotReadyException(_)
                    | ConverseError::InternalServerException(_)
                    | ConverseError::ModelTimeoutException(_)
                    | ConverseError::ModelErrorException(_)
            ) || context.raw().status().is_server_error()
                || context.raw().status().as_u16() == 429
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        _ => false,
    };
    if retryable {
        SummarizeError::ServiceUnavailable {
            service: SERVICE,
            source: Box::new(error),
        }
    } else {
        SummarizeError::ServiceRejected {
            service: SERVICE,
            source: Box::new(error),
        }
    }
}

fn user_text(text: String) -> Result<Message, SummarizeError> {
    Message::builder()
        .role(ConversationRole::User)
        .content(ContentBlock::Text(text))
        .build()
        .map_err(|e| config_error(&e))
}

/// The messages of a conversation: the data message, and on repair the rejected answer and
/// the validation errors (as the tool result of the rejected call when there was one).
fn messages(conversation: &Conversation) -> Result<Vec<Message>, SummarizeError> {
    let mut messages = vec![user_text(conversation.user.clone())?];
    let Some(repair) = &conversation.repair else {
        return Ok(messages);
    };
    let feedback = Conversation::repair_message(&repair.errors);
    match &repair.previous.tool_use {
        Some((id, input)) => {
            let tool_use = ToolUseBlock::builder()
                .tool_use_id(id)
                .name(conversation.tool.name)
                .input(json_to_document(input))
                .build()
                .map_err(|e| config_error(&e))?;
            messages.push(
                Message::builder()
                    .role(ConversationRole::Assistant)
                    .content(ContentBlock::ToolUse(tool_use))
                    .build()
                    .map_err(|e| config_error(&e))?,
            );
            let result = ToolResultBlock::builder()
                .tool_use_id(id)
                .content(ToolResultContentBlock::Text(feedback))
                .status(ToolResultStatus::Error)
                .build()
                .map_err(|e| config_error(&e))?;
            messages.push(
                Message::builder()
                    .role(ConversationRole::User)
                    .content(ContentBlock::ToolResult(result))
                    .build()
                    .map_err(|e| config_error(&e))?,
            );
        }
        None => {
            let previous = if repair.previous.text.trim().is_empty() {
                "(no tool call)".to_owned()
            } else {
                repair.previous.text.clone()
            };
            messages.push(
                Message::builder()
                    .role(ConversationRole::Assistant)
                    .content(ContentBlock::Text(previous))
                    .build()
                    .map_err(|e| config_error(&e))?,
            );
            messages.push(user_text(feedback)?);
        }
    }
    Ok(messages)
}

#[async_trait]
impl ToolChatModel for BedrockChatModel {
    fn engine(&self) -> EngineInfo {
        EngineInfo {
            name: ENGINE_NAME.to_owned(),
            model: Some(self.config.model_id.clone()),
        }
    }

    async fn call(&self, conversation: &Conversation) -> Result<ModelReply, SummarizeError> {
        let tool = ToolSpecification::builder()
            .name(conversation.tool.name)
            .description(conversation.tool.description)
            .input_schema(ToolInputSchema::Json(json_to_document(
                conversation.tool.schema,
            )))
            .build()
            .map_err(|e| config_error(&e))?;
        let tool_config = ToolConfiguration::builder()
            .tools(Tool::ToolSpec(tool))
            .tool_choice(ToolChoice::Tool(
                SpecificToolChoice::builder()
                    .name(conversation.tool.name)
                    .build()
                    .map_err(|e| config_error(&e))?,
            ))
            .build()
            .map_err(|e| config_error(&e))?;
        let output = self
            .client
            .converse()
            .model_id(&self.config.model_id)
            .system(SystemContentBlock::Text(conversation.system.clone()))
            .set_messages(Some(messages(conversation)?))
            .tool_config(tool_config)
            .inference_config(
                InferenceConfiguration::builder()
                    .max_tokens(self.config.max_output_tokens)
                    .temperature(0.0)
                    .build(),
            )
            .send()
            .await
            .map_err(map_error)?;

        let mut reply = ModelReply {
            tool_use: None,
            text: String::new(),
            truncated: matches!(output.stop_reason(), StopReason::MaxTokens),
        };
        if let Some(ConverseOutput::Message(message)) = output.output() {
            for block in message.content() {
                match block {
                    ContentBlock::ToolUse(tool_use)
                        if tool_use.name() == conversation.tool.name
                            && reply.tool_use.is_none() =>
                    {
                        reply.tool_use = Some((
                            tool_use.tool_use_id().to_owned(),
                            document_to_json(tool_use.input()),
                        ));
                    }
                    ContentBlock::Text(text) => reply.text.push_str(text),
                    _ => {}
                }
            }
        }
        Ok(reply)
    }
}

/// The Bedrock summarizer.
pub type BedrockSummarizer = super::ModelSummarizer<BedrockChatModel>;
