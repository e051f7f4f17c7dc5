//! The engine's DynamoDB service integration (`arn:aws:states:::dynamodb:getItem|putItem|
//! updateItem`) over the real aws-sdk-dynamodb client, so the workflow's RecordResults and
//! RecordFailure states write the catalog table in moto exactly as Step Functions writes it in
//! AWS. Requests and responses are DynamoDB API JSON (`{"S": "x"}` attribute values); service
//! errors become Step Functions' names (`DynamoDB.ConditionalCheckFailedException`, ...).
//!
//! Also converts DynamoDB Streams attribute values to the same JSON, for the stream pump.

use std::collections::HashMap;

use asl_engine::{StatesError, TableAdapter};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value, json};

/// Step Functions' name for a request the integration could not even express.
const DYNAMODB_EXCEPTION: &str = "DynamoDB.AmazonDynamoDBException";

/// The integration on a real DynamoDB endpoint (here: moto).
#[derive(Clone, Debug)]
pub struct SdkTableAdapter {
    client: aws_sdk_dynamodb::Client,
}

impl SdkTableAdapter {
    /// Writes through `client`.
    pub fn new(client: aws_sdk_dynamodb::Client) -> Self {
        Self { client }
    }
}

fn invalid(message: impl Into<String>) -> StatesError {
    StatesError::new(DYNAMODB_EXCEPTION, message)
}

/// A DynamoDB JSON attribute value (`{"S": "x"}`) as the SDK type.
pub fn to_attribute(value: &Value) -> Result<AttributeValue, StatesError> {
    let (kind, inner) = value
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.iter().next())
        .ok_or_else(|| invalid(format!("not an attribute value: {value}")))?;
    let string = || {
        inner
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| invalid(format!("{kind} must be a string: {value}")))
    };
    let strings = || -> Result<Vec<String>, StatesError> {
        inner
            .as_array()
            .ok_or_else(|| invalid(format!("{kind} must be a list: {value}")))?
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| invalid(format!("{kind} members must be strings: {value}")))
            })
            .collect()
    };
    let blob = |text: &str| {
        BASE64
            .decode(text)
            .map(Blob::new)
            .map_err(|e| invalid(format!("B is not base64: {e}")))
    };
    Ok(match kind.as_str() {
        "S" => AttributeValue::S(string()?),
        "N" => AttributeValue::N(string()?),
        "B" => AttributeValue::B(blob(&string()?)?),
        "BOOL" => AttributeValue::Bool(
            inner
                .as_bool()
                .ok_or_else(|| invalid(format!("BOOL must be a boolean: {value}")))?,
        ),
        "NULL" => AttributeValue::Null(true),
        "SS" => AttributeValue::Ss(strings()?),
        "NS" => AttributeValue::Ns(strings()?),
        "BS" => AttributeValue::Bs(
            strings()?
                .iter()
                .map(|s| blob(s))
                .collect::<Result<_, _>>()?,
        ),
        "L" => AttributeValue::L(
            inner
                .as_array()
                .ok_or_else(|| invalid(format!("L must be a list: {value}")))?
                .iter()
                .map(to_attribute)
                .collect::<Result<_, _>>()?,
        ),
        "M" => AttributeValue::M(to_item(inner)?),
        other => return Err(invalid(format!("unknown attribute type {other}"))),
    })
}

/// A DynamoDB JSON item (`{"name": {"S": "x"}}`) as SDK attribute values.
pub fn to_item(value: &Value) -> Result<HashMap<String, AttributeValue>, StatesError> {
    value
        .as_object()
        .ok_or_else(|| invalid(format!("not a map of attribute values: {value}")))?
        .iter()
        .map(|(k, v)| Ok((k.clone(), to_attribute(v)?)))
        .collect()
}

/// An SDK attribute value as DynamoDB JSON.
pub fn from_attribute(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(s) => json!({"S": s}),
        AttributeValue::N(n) => json!({"N": n}),
        AttributeValue::B(b) => json!({"B": BASE64.encode(b.as_ref())}),
        AttributeValue::Bool(b) => json!({"BOOL": b}),
        AttributeValue::Null(_) => json!({"NULL": true}),
        AttributeValue::Ss(ss) => json!({"SS": ss}),
        AttributeValue::Ns(ns) => json!({"NS": ns}),
        AttributeValue::Bs(bs) => {
            json!({"BS": bs.iter().map(|b| BASE64.encode(b.as_ref())).collect::<Vec<_>>()})
        }
        AttributeValue::L(list) => {
            json!({"L": list.iter().map(from_attribute).collect::<Vec<_>>()})
        }
        AttributeValue::M(map) => json!({"M": from_item(map)}),
        other => json!({"UNKNOWN": format!("{other:?}")}),
    }
}

/// SDK attribute values as a DynamoDB JSON item.
pub fn from_item(item: &HashMap<String, AttributeValue>) -> Value {
    Value::Object(
        item.iter()
            .map(|(k, v)| (k.clone(), from_attribute(v)))
            .collect::<Map<_, _>>(),
    )
}

/// A DynamoDB Streams attribute value as DynamoDB JSON.
pub fn from_stream_attribute(value: &aws_sdk_dynamodbstreams::types::AttributeValue) -> Value {
    use aws_sdk_dynamodbstreams::types::AttributeValue as A;
    match value {
        A::S(s) => json!({"S": s}),
        A::N(n) => json!({"N": n}),
        A::B(b) => json!({"B": BASE64.encode(b.as_ref())}),
        A::Bool(b) => json!({"BOOL": b}),
        A::Null(_) => json!({"NULL": true}),
        A::Ss(ss) => json!({"SS": ss}),
        A::Ns(ns) => json!({"NS": ns}),
        A::Bs(bs) => {
            json!({"BS": bs.iter().map(|b| BASE64.encode(b.as_ref())).collect::<Vec<_>>()})
        }
        A::L(list) => json!({"L": list.iter().map(from_stream_attribute).collect::<Vec<_>>()}),
        A::M(map) => json!({"M": from_stream_item(map)}),
        other => json!({"UNKNOWN": format!("{other:?}")}),
    }
}

/// A DynamoDB Streams image as a DynamoDB JSON item.
pub fn from_stream_item(
    item: &HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>,
) -> Value {
    Value::Object(
        item.iter()
            .map(|(k, v)| (k.clone(), from_stream_attribute(v)))
            .collect::<Map<_, _>>(),
    )
}

/// The Step Functions error of a failed DynamoDB call: `DynamoDB.{service error code}`; a call
/// that never got a service answer (connection refused, timeout) is `States.TaskFailed`, as
/// Step Functions reports an integration it could not reach.
fn states_error<E, R>(error: SdkError<E, R>) -> StatesError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let cause = DisplayErrorContext(&error).to_string();
    match error
        .as_service_error()
        .and_then(ProvideErrorMetadata::code)
    {
        Some(code) => StatesError::new(format!("DynamoDB.{code}"), cause),
        None => StatesError::new("States.TaskFailed", cause),
    }
}

fn field<'a>(request: &'a Value, name: &str) -> Option<&'a Value> {
    request.get(name).filter(|v| !v.is_null())
}

fn string_field(request: &Value, name: &str) -> Result<Option<String>, StatesError> {
    match field(request, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(invalid(format!("{name} must be a string, not {other}"))),
    }
}

fn names(request: &Value) -> Result<Option<HashMap<String, String>>, StatesError> {
    let Some(map) = field(request, "ExpressionAttributeNames") else {
        return Ok(None);
    };
    map.as_object()
        .ok_or_else(|| invalid("ExpressionAttributeNames must be a map"))?
        .iter()
        .map(|(k, v)| {
            v.as_str()
                .map(|v| (k.clone(), v.to_owned()))
                .ok_or_else(|| invalid("ExpressionAttributeNames values must be strings"))
        })
        .collect::<Result<_, _>>()
        .map(Some)
}

fn values(request: &Value) -> Result<Option<HashMap<String, AttributeValue>>, StatesError> {
    field(request, "ExpressionAttributeValues")
        .map(to_item)
        .transpose()
}

fn table(request: &Value) -> Result<String, StatesError> {
    string_field(request, "TableName")?.ok_or_else(|| invalid("TableName is required"))
}

fn return_values(request: &Value) -> Result<Option<ReturnValue>, StatesError> {
    Ok(string_field(request, "ReturnValues")?.map(|v| ReturnValue::from(v.as_str())))
}

fn attributes(attributes: Option<&HashMap<String, AttributeValue>>) -> Value {
    match attributes {
        Some(item) if !item.is_empty() => json!({"Attributes": from_item(item)}),
        _ => json!({}),
    }
}

#[async_trait]
impl TableAdapter for SdkTableAdapter {
    async fn get_item(&self, request: &Value) -> Result<Value, StatesError> {
        let key = to_item(field(request, "Key").ok_or_else(|| invalid("Key is required"))?)?;
        let output = self
            .client
            .get_item()
            .table_name(table(request)?)
            .set_key(Some(key))
            .set_consistent_read(field(request, "ConsistentRead").and_then(Value::as_bool))
            .set_projection_expression(string_field(request, "ProjectionExpression")?)
            .set_expression_attribute_names(names(request)?)
            .send()
            .await
            .map_err(states_error)?;
        Ok(match output.item() {
            Some(item) => json!({"Item": from_item(item)}),
            None => json!({}),
        })
    }

    async fn put_item(&self, request: &Value) -> Result<Value, StatesError> {
        let item = to_item(field(request, "Item").ok_or_else(|| invalid("Item is required"))?)?;
        let output = self
            .client
            .put_item()
            .table_name(table(request)?)
            .set_item(Some(item))
            .set_condition_expression(string_field(request, "ConditionExpression")?)
            .set_expression_attribute_names(names(request)?)
            .set_expression_attribute_values(values(request)?)
            .set_return_values(return_values(request)?)
            .send()
            .await
            .map_err(states_error)?;
        Ok(attributes(output.attributes()))
    }

    async fn update_item(&self, request: &Value) -> Result<Value, StatesError> {
        let key = to_item(field(request, "Key").ok_or_else(|| invalid("Key is required"))?)?;
        let output = self
            .client
            .update_item()
            .table_name(table(request)?)
            .set_key(Some(key))
            .set_update_expression(string_field(request, "UpdateExpression")?)
            .set_condition_expression(string_field(request, "ConditionExpression")?)
            .set_expression_attribute_names(names(request)?)
            .set_expression_attribute_values(values(request)?)
            .set_return_values(return_values(request)?)
            .send()
            .await
            .map_err(states_error)?;
        Ok(attributes(output.attributes()))
    }
}
