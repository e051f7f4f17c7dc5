//! When a recording started, as its media file says: the metadata tags a recorder writes, read
//! the same way by `recorder process` (cutting a file) and the media stage (the first chunk).
//!
//! MP4's `creation_time` is UTC only, so the local day would be lost for a meeting near
//! midnight; the tags that keep the offset are preferred: QuickTime's
//! `com.apple.quicktime.creationdate` (`2026-03-10T10:00:00+0100`, what phones and Macs write)
//! and `date` (`©day`, which `recorder process` writes next to `creation_time`).

use chrono::{DateTime, Datelike, FixedOffset};

/// The tags, most informative first.
pub const TAGS: [&str; 3] = ["com.apple.quicktime.creationdate", "date", "creation_time"];

/// Years believed: a file-supplied time outside them is a zeroed (1904, 1970) or hostile header.
pub const PLAUSIBLE_YEARS: std::ops::RangeInclusive<i32> = 1990..=2200;

/// The `-show_entries` section that makes ffprobe print [`TAGS`].
pub fn ffprobe_entries() -> String {
    format!("format_tags={}", TAGS.join(","))
}

/// The first of [`TAGS`] that `tag` returns and that parses as a plausible time.
pub fn from_tags<'a>(tag: impl Fn(&str) -> Option<&'a str>) -> Option<DateTime<FixedOffset>> {
    TAGS.iter().find_map(|name| tag(name).and_then(parse))
}

/// An RFC 3339 time, or one with a `+hhmm` offset (QuickTime), within [`PLAUSIBLE_YEARS`].
pub fn parse(text: &str) -> Option<DateTime<FixedOffset>> {
    parse_any_year(text).filter(is_plausible)
}

/// [`parse`] without the year check.
pub fn parse_any_year(text: &str) -> Option<DateTime<FixedOffset>> {
    let text = text.trim();
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%z"))
        .ok()
}

/// Whether `time` lies in [`PLAUSIBLE_YEARS`].
pub fn is_plausible(time: &DateTime<FixedOffset>) -> bool {
    PLAUSIBLE_YEARS.contains(&time.year())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_with_an_offset_wins_over_utc() {
        let tags = [
            ("creation_time", "2026-03-09T23:30:00.000000Z"),
            ("date", "2026-03-10T00:30:00+01:00"),
        ];
        let found = from_tags(|name| tags.iter().find(|(n, _)| *n == name).map(|(_, v)| *v));
        assert_eq!(
            found.map(|t| t.to_rfc3339()),
            Some("2026-03-10T00:30:00+01:00".to_owned())
        );
    }

    #[test]
    fn quicktime_offsets_without_a_colon_parse() {
        assert_eq!(
            parse("2026-03-10T10:00:00+0100").map(|t| t.to_rfc3339()),
            Some("2026-03-10T10:00:00+01:00".to_owned())
        );
    }

    #[test]
    fn zeroed_hostile_or_unreadable_times_are_unknown() {
        for text in [
            "1904-01-01T00:00:00.000000Z",
            "1970-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "yesterday",
            "",
        ] {
            assert_eq!(parse(text), None, "{text:?}");
        }
        // An unreadable offset tag falls back to the next one.
        let tags = [("date", "2026"), ("creation_time", "2026-03-10T09:00:00Z")];
        let found = from_tags(|name| tags.iter().find(|(n, _)| *n == name).map(|(_, v)| *v));
        assert_eq!(
            found.map(|t| t.to_rfc3339()),
            Some("2026-03-10T09:00:00+00:00".to_owned())
        );
    }
}
