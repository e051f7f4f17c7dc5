//! S3 event sequencers: hex strings that order the events of ONE key. S3 documents that
//! sequencers of different lengths compare after right-padding the shorter with zeros.

use std::cmp::Ordering;

/// Compares two sequencers of the same key (hex digits compare case-insensitively).
pub fn compare_sequencers(a: &str, b: &str) -> Ordering {
    let len = a.len().max(b.len());
    let pad = |s: &str| format!("{:0<len$}", s.to_ascii_uppercase());
    pad(a).cmp(&pad(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorter_sequencers_are_right_padded_before_comparing() {
        assert_eq!(compare_sequencers("0A", "0A00"), Ordering::Equal);
        assert_eq!(compare_sequencers("0B", "0A99"), Ordering::Greater);
        assert_eq!(compare_sequencers("0A", "0A01"), Ordering::Less);
    }

    #[test]
    fn hex_digits_compare_without_regard_to_case() {
        assert_eq!(compare_sequencers("0a1", "0A0"), Ordering::Greater);
        assert_eq!(compare_sequencers("0a", "0B"), Ordering::Less);
    }
}
