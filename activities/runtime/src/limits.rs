//! The Step Functions API limits a worker must respect when it reports a result, and truncation
//! that keeps a report inside them (a report the API rejects would leave the task hanging until its
//! timeout).

/// `SendTaskFailure.error`: "Length Constraints: Minimum length of 0. Maximum length of 256."
/// (Step Functions API Reference, SendTaskFailure / TaskFailedEventDetails).
pub const MAX_ERROR_CHARS: usize = 256;

/// `SendTaskFailure.cause`: "Length Constraints: Minimum length of 0. Maximum length of 32768."
/// (Step Functions API Reference, SendTaskFailure / TaskFailedEventDetails).
pub const MAX_CAUSE_CHARS: usize = 32_768;

/// `SendTaskSuccess.output`: "Maximum length of 262144"; the Step Functions quota for a task's
/// input or output is 256 KiB of data as a UTF-8 encoded string. Counted in bytes, the stricter
/// reading.
pub const MAX_OUTPUT_BYTES: usize = 262_144;

/// Marker appended to a truncated text.
const ELLIPSIS: char = '…';

/// Cuts `text` so that it is at most `max` characters long, on a character boundary, ending with
/// `…` when something was cut. Characters are counted as UTF-16 code units, the stricter of the
/// readings the API could apply (a character outside the BMP counts twice), so the result is
/// within the limit whichever way the service counts.
pub fn truncate_chars(text: &str, max: usize) -> String {
    if text.encode_utf16().count() <= max {
        return text.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let budget = max - ELLIPSIS.len_utf16();
    let mut used = 0;
    let mut end = 0;
    for (index, c) in text.char_indices() {
        if used + c.len_utf16() > budget {
            break;
        }
        used += c.len_utf16();
        end = index + c.len_utf8();
    }
    let mut cut = String::with_capacity(end + ELLIPSIS.len_utf8());
    cut.push_str(&text[..end]);
    cut.push(ELLIPSIS);
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_short_text_when_truncated_then_it_is_unchanged() {
        assert_eq!(truncate_chars("disk full", MAX_CAUSE_CHARS), "disk full");
    }

    #[test]
    fn given_a_text_over_the_limit_when_truncated_then_it_fits_and_ends_with_an_ellipsis() {
        let cut = truncate_chars(&"x".repeat(MAX_CAUSE_CHARS + 10), MAX_CAUSE_CHARS);
        assert_eq!(cut.encode_utf16().count(), MAX_CAUSE_CHARS);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn given_multibyte_text_when_truncated_then_the_cut_is_on_a_character_boundary() {
        // 'é' is 2 bytes, '😀' is 4 bytes and 2 UTF-16 units.
        let text = "é😀".repeat(100);
        let cut = truncate_chars(&text, 51);
        assert!(cut.encode_utf16().count() <= 51);
        assert!(cut.starts_with("é😀é😀"));
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn given_a_text_exactly_at_the_limit_when_truncated_then_it_is_unchanged() {
        let text = "a".repeat(MAX_ERROR_CHARS);
        assert_eq!(truncate_chars(&text, MAX_ERROR_CHARS), text);
    }
}
