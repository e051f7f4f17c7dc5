//! Non-secret identifiers for logs: the task id (a hash of the task token, which is a bearer
//! credential for the task and must never be logged) and the recording id found in a task input.

use sha2::{Digest, Sha256};

/// Hex characters of the token's SHA-256 kept as the task id: 64 bits, unique enough to follow one
/// task through the logs.
const TASK_ID_HEX_CHARS: usize = 16;

/// A short stable id of a task: the first 16 hex characters of the SHA-256 of its token.
pub fn task_id(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut id = hex::encode(digest);
    id.truncate(TASK_ID_HEX_CHARS);
    id
}

/// The `recordingId` field of a task input, when the input is a JSON object that has one.
pub fn recording_id(input: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(input).ok()?;
    value.get("recordingId")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_token_when_hashed_then_the_id_is_short_stable_and_does_not_contain_the_token() {
        let token = "AAAAKgAAAAIAAAAAAAAAAQ-secret-token";
        let id = task_id(token);
        assert_eq!(id.len(), TASK_ID_HEX_CHARS);
        assert_eq!(id, task_id(token));
        assert_ne!(id, task_id("another-token"));
        assert!(!token.contains(&id));
    }

    #[test]
    fn given_an_input_with_a_recording_id_when_read_then_it_is_found() {
        assert_eq!(
            recording_id(r#"{"userId":"u","recordingId":"r-1"}"#).as_deref(),
            Some("r-1")
        );
        assert_eq!(recording_id(r#"{"userId":"u"}"#), None);
        assert_eq!(recording_id("not json"), None);
    }
}
