//! The timestamp shape Step Functions accepts at run time (Wait `TimestampPath`, Choice
//! timestamp comparisons): an ISO-8601 extended offset date-time, which the service parses
//! with Java's `OffsetDateTime` rules. A date and time joined by `T` (`t` too: the Java parser
//! is case-insensitive), optional seconds and fraction, and `Z` or a `±hh:mm` offset.
//!
//! AWS rejects `2016-12-05 21:29:29Z` (no `T`) and `2016-12-05T21:29:29` (no offset) with
//! "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time
//! format string: $.TimestampValue == 2016-12-05 21:29:29Z" (LocalStack parity snapshot
//! `test_wait_timestamp_path`, recorded against AWS). Calendar validity (month 13, hour 25)
//! is left to the caller's date library.

use std::sync::LazyLock;

use regex::Regex;

/// AWS limit: a Wait state fails with "Wait state delay is too long." when the delay is
/// 2^31 seconds or more (24856 days from now fails, 24855 days succeeds; LocalStack parity
/// snapshot `test_timestamp_too_far_in_future_boundary`, recorded against AWS).
pub const MAX_WAIT_DELAY_SECONDS: i64 = 2_147_483_647;

static OFFSET_DATE_TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:\d{2})$")
        .unwrap_or_else(|e| panic!("static regex: {e}"))
});

/// `true` when `text` has the shape of an ISO-8601 extended offset date-time.
#[must_use]
pub fn is_offset_date_time(text: &str) -> bool {
    OFFSET_DATE_TIME.is_match(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_the_timestamps_aws_accepted_when_checked_then_they_have_the_shape() {
        for text in [
            "2016-03-14T01:59:00Z",
            "2016-03-05T21:29:29.243167252Z",
            "2016-03-05T21:29:29.00Z",
            "2016-03-05T21:29:29+01:00",
        ] {
            assert!(is_offset_date_time(text), "{text}");
        }
    }

    #[test]
    fn given_the_timestamps_aws_refused_when_checked_then_they_do_not_have_the_shape() {
        for text in [
            "2016-12-05 21:29:29Z",
            "2016-12-05T21:29:29",
            "2016-12-05T21:29:29.000000",
            "05-12-2016T21:29:29Z",
            "",
        ] {
            assert!(!is_offset_date_time(text), "{text}");
        }
    }
}
