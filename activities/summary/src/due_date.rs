//! Due dates: a due phrase as spoken ("by Friday", "within three days", "by the end of next
//! month") resolved to a calendar day against the day the meeting took place. Deterministic and
//! shared by every engine: a model is asked for the phrase, never for the date.
//!
//! Conventions (the evaluation set's ground truth follows them):
//! - a weekday is its next occurrence after the meeting day ("by Monday" said on a Monday is a
//!   week later); "this Friday" likewise;
//! - "today", "tonight", "end of the day" are the meeting day; "tomorrow (morning)" the next;
//! - "end of the week" is that week's Friday (the next Friday on a weekend); "end of next week"
//!   a week later; "end of the month/quarter/year" its last day, "end of next month" next
//!   month's;
//! - "in / within N days / weeks / months" counts from the meeting day;
//! - "June 15th", "the 15th of June", "2026-06-15": that day, in the meeting's year unless it has
//!   passed (then next year); "the 25th": that day of this month, or of the next when passed;
//! - spans and events have no date: "next week", "next Friday" (which Friday is ambiguous),
//!   "before the launch", "at the next board meeting".

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};

/// Weekday names, Monday first (also what the extractive engine reads as days).
pub(crate) const WEEKDAYS: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// Month names, January first (also what the extractive engine reads as dates).
pub(crate) const MONTHS: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

const NUMBERS: &[(&str, u32)] = &[
    ("a", 1),
    ("an", 1),
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
    ("eleven", 11),
    ("twelve", 12),
    ("fourteen", 14),
    ("fifteen", 15),
    ("twenty", 20),
    ("thirty", 30),
];

/// Leading words that do not change the day ("by", "before", "no later than", "on").
const LEADING: &[&str] = &[
    "by", "on", "until", "till", "til", "before", "due", "no", "later", "than", "at", "latest",
    "the", "of",
];

/// The day `due` names, said on `meeting_day`; `None` for spans, events and anything unclear.
pub fn resolve(due: &str, meeting_day: NaiveDate) -> Option<NaiveDate> {
    let words: Vec<String> = due
        .split(|c: char| c.is_whitespace() || c == ',')
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric() && c != '-')
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    // "before X" names the day X only when X is a day ("before Friday" is due Friday).
    let mut at = 0;
    while at < words.len() && LEADING.contains(&words[at]) && !is_day_word(&words[at..]) {
        at += 1;
    }
    let rest = &words[at..];
    // "in two weeks", "within three days" keep their preposition.
    if let Some(pos) = words.iter().position(|w| *w == "in" || *w == "within") {
        return relative(&words[pos + 1..], meeting_day);
    }
    day_of(rest, meeting_day)
}

/// Whether `words` start with something [`day_of`] reads: stops skipping leading words at "the
/// 25th", "the end of …".
fn is_day_word(words: &[&str]) -> bool {
    match words {
        ["the", next, ..] => *next == "end" || ordinal(next).is_some(),
        _ => false,
    }
}

fn day_of(words: &[&str], day: NaiveDate) -> Option<NaiveDate> {
    match words {
        [] => None,
        ["today" | "tonight" | "eod" | "cob", ..] => Some(day),
        ["tomorrow", rest @ ..] if rest.iter().all(|w| is_day_part(w)) => {
            day.checked_add_days(Days::new(1))
        }
        ["this", weekday] | [weekday] if weekday_of(weekday).is_some() => {
            next_weekday(day, weekday_of(weekday)?)
        }
        [weekday, part] if weekday_of(weekday).is_some() && is_day_part(part) => {
            next_weekday(day, weekday_of(weekday)?)
        }
        ["the", "end", "of", rest @ ..] | ["end", "of", rest @ ..] => end_of(rest, day),
        ["eow"] => end_of(&["the", "week"], day),
        [iso] if iso.len() == 10 => NaiveDate::parse_from_str(iso, "%Y-%m-%d").ok(),
        _ => calendar_day(words, day),
    }
}

fn is_day_part(word: &str) -> bool {
    matches!(
        word,
        "morning" | "afternoon" | "evening" | "night" | "noon" | "lunch" | "midday"
    )
}

fn weekday_of(word: &str) -> Option<Weekday> {
    let index = WEEKDAYS.iter().position(|w| *w == word)?;
    Weekday::try_from(u8::try_from(index).ok()?).ok()
}

/// `weekday` on `day` or the first one after it.
fn on_or_after(day: NaiveDate, weekday: Weekday) -> Option<NaiveDate> {
    let ahead = (weekday.num_days_from_monday() + 7 - day.weekday().num_days_from_monday()) % 7;
    day.checked_add_days(Days::new(u64::from(ahead)))
}

/// The first `weekday` after `day`.
fn next_weekday(day: NaiveDate, weekday: Weekday) -> Option<NaiveDate> {
    on_or_after(day.succ_opt()?, weekday)
}

/// "(the) week / month / quarter / year / day", optionally "next" or "this".
fn end_of(words: &[&str], day: NaiveDate) -> Option<NaiveDate> {
    let (next, unit) = match words {
        ["the" | "this", unit] | [unit] => (false, *unit),
        ["next", unit] => (true, *unit),
        _ => return None,
    };
    match unit {
        "day" if !next => Some(day),
        "week" => {
            let friday = on_or_after(day, Weekday::Fri)?;
            if next {
                friday.checked_add_days(Days::new(7))
            } else {
                Some(friday)
            }
        }
        "month" => {
            let first = day.with_day(1)?;
            let months = if next { 2 } else { 1 };
            first.checked_add_months(Months::new(months))?.pred_opt()
        }
        "quarter" => {
            let quarter_start_month = (day.month0() / 3) * 3 + 1;
            let first = NaiveDate::from_ymd_opt(day.year(), quarter_start_month, 1)?;
            let months = if next { 6 } else { 3 };
            first.checked_add_months(Months::new(months))?.pred_opt()
        }
        "year" => NaiveDate::from_ymd_opt(day.year() + i32::from(next), 12, 31),
        _ => None,
    }
}

/// "two weeks", "3 days", "a month".
fn relative(words: &[&str], day: NaiveDate) -> Option<NaiveDate> {
    let [count, unit] = words else {
        return None;
    };
    let count = NUMBERS
        .iter()
        .find(|(w, _)| w == count)
        .map(|(_, n)| *n)
        .or_else(|| count.parse::<u32>().ok().filter(|n| *n <= 366))?;
    match unit.trim_end_matches('s') {
        "day" => day.checked_add_days(Days::new(u64::from(count))),
        "week" => day.checked_add_days(Days::new(u64::from(count) * 7)),
        "month" => day.checked_add_months(Months::new(count)),
        _ => None,
    }
}

/// "15th", "1st", "22nd", "3rd", "15" → 15.
fn ordinal(word: &str) -> Option<u32> {
    let digits = word.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &word[digits.len()..];
    if !matches!(suffix, "" | "st" | "nd" | "rd" | "th") || digits.is_empty() || digits.len() > 2 {
        return None;
    }
    digits.parse().ok().filter(|d| (1..=31).contains(d))
}

fn month_of(word: &str) -> Option<u32> {
    MONTHS
        .iter()
        .position(|m| *m == word)
        .and_then(|i| u32::try_from(i + 1).ok())
}

/// "June 15th", "15th of June", "15 June", "the 25th".
fn calendar_day(words: &[&str], day: NaiveDate) -> Option<NaiveDate> {
    let words = match words {
        ["the", rest @ ..] if rest.len() > 1 => rest,
        _ => words,
    };
    let (month, dom) = match words {
        [month, dom] if month_of(month).is_some() => (month_of(month), ordinal(dom)?),
        [dom, "of", month] | [dom, month] if month_of(month).is_some() => {
            (month_of(month), ordinal(dom)?)
        }
        ["the", dom] | [dom] => (None, ordinal(dom)?),
        _ => return None,
    };
    match month {
        Some(month) => {
            let this_year = NaiveDate::from_ymd_opt(day.year(), month, dom)?;
            if this_year >= day {
                Some(this_year)
            } else {
                NaiveDate::from_ymd_opt(day.year() + 1, month, dom)
            }
        }
        None => {
            let this_month = day.with_day(dom);
            match this_month {
                Some(date) if date >= day => Some(date),
                _ => {
                    let next = day.with_day(1)?.checked_add_months(Months::new(1))?;
                    next.with_day(dom)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().expect("a date")
    }

    fn resolved(due: &str, meeting: &str) -> Option<String> {
        resolve(due, day(meeting)).map(|d| d.to_string())
    }

    #[test]
    fn weekdays_are_their_next_occurrence_after_the_meeting_day() {
        // 2026-03-10 is a Tuesday.
        assert_eq!(
            resolved("by Friday", "2026-03-10").as_deref(),
            Some("2026-03-13")
        );
        assert_eq!(
            resolved("Friday", "2026-03-10").as_deref(),
            Some("2026-03-13")
        );
        assert_eq!(
            resolved("on Wednesday", "2026-03-10").as_deref(),
            Some("2026-03-11")
        );
        assert_eq!(
            resolved("by Tuesday", "2026-03-10").as_deref(),
            Some("2026-03-17")
        );
        assert_eq!(
            resolved("this Monday", "2026-03-10").as_deref(),
            Some("2026-03-16")
        );
        assert_eq!(
            resolved("no later than Thursday", "2026-03-10").as_deref(),
            Some("2026-03-12")
        );
        assert_eq!(
            resolved("before Friday", "2026-03-10").as_deref(),
            Some("2026-03-13")
        );
        assert_eq!(
            resolved("Friday afternoon", "2026-03-10").as_deref(),
            Some("2026-03-13")
        );
    }

    #[test]
    fn days_relative_to_the_meeting() {
        assert_eq!(
            resolved("today", "2026-09-15").as_deref(),
            Some("2026-09-15")
        );
        assert_eq!(
            resolved("tonight", "2026-09-15").as_deref(),
            Some("2026-09-15")
        );
        assert_eq!(
            resolved("tomorrow", "2026-12-31").as_deref(),
            Some("2027-01-01")
        );
        assert_eq!(
            resolved("tomorrow morning", "2026-07-08").as_deref(),
            Some("2026-07-09")
        );
        assert_eq!(
            resolved("within three days", "2026-05-14").as_deref(),
            Some("2026-05-17")
        );
        assert_eq!(
            resolved("in two weeks", "2026-11-03").as_deref(),
            Some("2026-11-17")
        );
        assert_eq!(
            resolved("in ten days", "2026-08-27").as_deref(),
            Some("2026-09-06")
        );
        assert_eq!(
            resolved("within 5 days", "2026-08-27").as_deref(),
            Some("2026-09-01")
        );
        assert_eq!(
            resolved("in a month", "2026-01-31").as_deref(),
            Some("2026-02-28")
        );
    }

    #[test]
    fn ends_of_periods() {
        // 2026-03-12 is a Thursday; 2026-03-14 a Saturday.
        assert_eq!(
            resolved("by the end of the week", "2026-03-12").as_deref(),
            Some("2026-03-13")
        );
        assert_eq!(
            resolved("end of the week", "2026-03-14").as_deref(),
            Some("2026-03-20")
        );
        assert_eq!(
            resolved("by the end of next week", "2026-03-12").as_deref(),
            Some("2026-03-20")
        );
        assert_eq!(
            resolved("by the end of the day", "2026-12-02").as_deref(),
            Some("2026-12-02")
        );
        assert_eq!(
            resolved("by the end of the month", "2026-04-07").as_deref(),
            Some("2026-04-30")
        );
        assert_eq!(
            resolved("by the end of next month", "2026-08-27").as_deref(),
            Some("2026-09-30")
        );
        assert_eq!(
            resolved("end of the month", "2026-12-05").as_deref(),
            Some("2026-12-31")
        );
        assert_eq!(
            resolved("by the end of the quarter", "2026-05-14").as_deref(),
            Some("2026-06-30")
        );
        assert_eq!(
            resolved("end of the year", "2026-05-14").as_deref(),
            Some("2026-12-31")
        );
    }

    #[test]
    fn calendar_days_in_this_year_or_the_next() {
        assert_eq!(
            resolved("by June 15th", "2026-06-01").as_deref(),
            Some("2026-06-15")
        );
        assert_eq!(
            resolved("by the 15th of June", "2026-06-01").as_deref(),
            Some("2026-06-15")
        );
        assert_eq!(
            resolved("by February 13th", "2026-02-02").as_deref(),
            Some("2026-02-13")
        );
        assert_eq!(
            resolved("January 5th", "2026-12-02").as_deref(),
            Some("2027-01-05")
        );
        assert_eq!(
            resolved("by the 25th", "2026-09-15").as_deref(),
            Some("2026-09-25")
        );
        assert_eq!(
            resolved("by the 3rd", "2026-09-15").as_deref(),
            Some("2026-10-03")
        );
        assert_eq!(
            resolved("2026-12-01", "2026-11-03").as_deref(),
            Some("2026-12-01")
        );
    }

    #[test]
    fn spans_events_and_nonsense_have_no_date() {
        for due in [
            "next week",
            "next Friday",
            "before the next sprint",
            "before the launch",
            "at the next board meeting",
            "before her first day",
            "soon",
            "",
            "by February 30th",
            "by the 32nd",
            "in 100000 days",
            "within two fortnights",
        ] {
            assert_eq!(resolved(due, "2026-02-02"), None, "{due:?}");
        }
    }
}
