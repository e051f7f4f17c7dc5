//! Fuzz target of the S3 key parser: any bytes, decoded or not, must never panic, and every key
//! the parser accepts must be exactly the canonical rendering of what it parsed (the key ↔ chunk
//! bijection), with ids inside the documented alphabet.

#![no_main]

use libfuzzer_sys::fuzz_target;
use meeting_domain::keys::{decode_event_key, parse_event_key, parse_key};

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(parsed) = parse_key(raw) {
        assert_eq!(parsed.to_string(), raw, "accepted key is not canonical");
        for id in [parsed.user().as_str(), parsed.recording().as_str()] {
            assert!(id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
        }
    }
    match (decode_event_key(raw), parse_event_key(raw)) {
        (Ok(decoded), Ok(parsed)) => assert_eq!(parsed.to_string(), decoded),
        (Err(_), Ok(_)) => panic!("parsed a key that does not decode"),
        _ => {}
    }
});
