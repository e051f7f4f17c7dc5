//! Text normalisation shared by every metric, so that only what a reader would call a
//! difference counts: case, punctuation, hyphens and apostrophes are dropped, and numbers
//! written in digits ("15th", "2026", "Q3") become the words a speaker says ("fifteenth",
//! "two thousand twenty six", "q three"), the way the scripts are spoken by `espeak-ng`.

/// Words too common to say whether two short phrases mean the same thing.
const STOP_WORDS: &[&str] = &[
    "a", "an", "the", "to", "of", "and", "or", "for", "on", "in", "at", "with", "our", "their",
    "his", "her", "my", "your", "its", "this", "that", "these", "those", "it", "is", "be", "are",
    "we", "i", "you", "they", "he", "she", "will", "would", "should", "can", "could", "all",
    "some", "up", "so", "just", "then", "also", "about",
];

/// Leading words of a due phrase that do not change the deadline ("by Friday" = "Friday").
const DUE_PREPOSITIONS: &[&str] = &[
    "by", "before", "on", "until", "till", "til", "no", "later", "than", "the", "at", "in", "for",
    "within", "of",
];

const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

/// `n` in words without "and" (`2026` → "two thousand twenty six"); up to 999,999,999.
pub fn number_words(n: u64) -> Vec<String> {
    fn below_thousand(n: u64, out: &mut Vec<String>) {
        let hundreds = n / 100;
        let rest = n % 100;
        if hundreds > 0 {
            out.push(ONES[hundreds as usize].to_owned());
            out.push("hundred".to_owned());
        }
        if rest >= 20 {
            out.push(TENS[(rest / 10) as usize].to_owned());
            if !rest.is_multiple_of(10) {
                out.push(ONES[(rest % 10) as usize].to_owned());
            }
        } else if rest > 0 || hundreds == 0 {
            out.push(ONES[rest as usize].to_owned());
        }
    }
    if n >= 1_000_000_000 {
        return n
            .to_string()
            .chars()
            .filter_map(|c| c.to_digit(10))
            .map(|d| ONES[d as usize].to_owned())
            .collect();
    }
    let mut out = Vec::new();
    let millions = n / 1_000_000;
    let thousands = (n / 1000) % 1000;
    let rest = n % 1000;
    if millions > 0 {
        below_thousand(millions, &mut out);
        out.push("million".to_owned());
    }
    if thousands > 0 {
        below_thousand(thousands, &mut out);
        out.push("thousand".to_owned());
    }
    if rest > 0 || out.is_empty() {
        below_thousand(rest, &mut out);
    }
    out
}

/// The ordinal of a cardinal in words: its last word changes ("twenty one" → "twenty first").
fn ordinal_words(n: u64) -> Vec<String> {
    let mut words = number_words(n);
    if let Some(last) = words.last_mut() {
        *last = match last.as_str() {
            "one" => "first".to_owned(),
            "two" => "second".to_owned(),
            "three" => "third".to_owned(),
            "five" => "fifth".to_owned(),
            "eight" => "eighth".to_owned(),
            "nine" => "ninth".to_owned(),
            "twelve" => "twelfth".to_owned(),
            w if w.ends_with('y') => format!("{}ieth", &w[..w.len() - 1]),
            w => format!("{w}th"),
        };
    }
    words
}

/// One raw token (already lower-case, punctuation removed except digits and letters) in words:
/// digit runs become number words, ordinal suffixes ordinals, letters stay.
fn expand_token(token: &str, out: &mut Vec<String>) {
    // Split at letter/digit boundaries: "q3" → "q", "3"; "15th" → "15", "th".
    let mut parts: Vec<String> = Vec::new();
    for c in token.chars() {
        let digit = c.is_ascii_digit();
        match parts.last_mut() {
            Some(last) if last.chars().all(|l| l.is_ascii_digit()) == digit => last.push(c),
            _ => parts.push(c.to_string()),
        }
    }
    let mut i = 0;
    while i < parts.len() {
        let part = &parts[i];
        if part.chars().all(|c| c.is_ascii_digit()) {
            let value: Option<u64> = part.parse().ok();
            let suffix = parts.get(i + 1).map(String::as_str);
            match (value, suffix) {
                (Some(n), Some("st" | "nd" | "rd" | "th")) => {
                    out.extend(ordinal_words(n));
                    i += 1;
                }
                (Some(n), _) => out.extend(number_words(n)),
                (None, _) => out.push(part.clone()),
            }
        } else {
            out.push(part.clone());
        }
        i += 1;
    }
}

/// The words of `text` as compared by the word error rate: lower case, no punctuation, hyphens
/// as spaces, apostrophes removed ("don't" → "dont"), `%` as "percent", numbers as words.
pub fn normalise_words(text: &str) -> Vec<String> {
    let mut cleaned = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => cleaned.push_str(" percent "),
            '&' => cleaned.push_str(" and "),
            '\'' | '\u{2019}' => {}
            // "3.5" → "3 point 5"; "p.m." → "pm" (a dot between letters disappears).
            '.' => cleaned.push('.'),
            c if c.is_alphanumeric() => cleaned.extend(c.to_lowercase()),
            _ => cleaned.push(' '),
        }
    }
    let mut words = Vec::new();
    for raw in cleaned.split_whitespace() {
        let pieces: Vec<&str> = raw.split('.').collect();
        for (i, piece) in pieces.iter().enumerate() {
            let decimal = i > 0
                && piece.chars().next().is_some_and(|c| c.is_ascii_digit())
                && pieces[i - 1]
                    .chars()
                    .last()
                    .is_some_and(|c| c.is_ascii_digit());
            if decimal {
                words.push("point".to_owned());
            }
            if !piece.is_empty() {
                if !decimal
                    && i > 0
                    && !piece.chars().any(|c| c.is_ascii_digit())
                    && let Some(last) = words.last_mut()
                    && last.len() == 1
                    && piece.len() == 1
                {
                    // Abbreviations spelt with dots: "p.m." → "pm".
                    last.push_str(piece);
                    continue;
                }
                expand_token(piece, &mut words);
            }
        }
    }
    words
}

/// A light stem so "sends" matches "send" and "plans" matches "plan": a trailing `s` (not `ss`)
/// of words longer than three letters is dropped; an ordinal is its number ("tenth" = "ten", so
/// "November 10th" matches "November 10").
fn stem(word: &str) -> String {
    if let Some(cardinal) = (1..=99u64).find_map(|n| {
        (ordinal_words(n).last().map(String::as_str) == Some(word))
            .then(|| number_words(n).last().cloned())
            .flatten()
    }) {
        return cardinal;
    }
    if word.len() > 3 && word.ends_with('s') && !word.ends_with("ss") {
        word[..word.len() - 1].to_owned()
    } else {
        word.to_owned()
    }
}

/// The content words of a phrase, for matching tasks and decisions: normalised, stop words
/// removed, lightly stemmed.
pub fn content_tokens(text: &str) -> Vec<String> {
    normalise_words(text)
        .into_iter()
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
        .map(|w| stem(&w))
        .collect()
}

/// Token overlap of two phrases: the F1 (Dice coefficient) of their [`content_tokens`] as
/// multisets, in `0..=1`. Two phrases with no content words at all score 1 when both are empty.
pub fn token_overlap(a: &str, b: &str) -> f64 {
    let a = content_tokens(a);
    let b = content_tokens(b);
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let mut remaining = b.clone();
    let mut common = 0usize;
    for word in &a {
        if let Some(at) = remaining.iter().position(|w| w == word) {
            remaining.swap_remove(at);
            common += 1;
        }
    }
    2.0 * common as f64 / (a.len() + b.len()) as f64
}

/// A due phrase as compared: normalised, leading prepositions dropped ("by Friday" → "friday",
/// "before the next sprint" → "next sprint").
pub fn normalise_due(due: &str) -> String {
    let words = normalise_words(due);
    let start = words
        .iter()
        .position(|w| !DUE_PREPOSITIONS.contains(&w.as_str()))
        .unwrap_or(words.len());
    words[start..].join(" ")
}

/// A person's name as compared: normalised words joined by single spaces.
pub fn normalise_name(name: &str) -> String {
    normalise_words(name).join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_punctuation_and_case_when_normalised_then_only_words_remain() {
        assert_eq!(
            normalise_words("Thanks, Maria! Let's GO -- follow-up?"),
            ["thanks", "maria", "lets", "go", "follow", "up"]
        );
    }

    #[test]
    fn given_numbers_in_digits_when_normalised_then_they_read_as_spoken() {
        assert_eq!(
            normalise_words("By March 15th, 2026 we need 3.5% and Q3 at 4 p.m."),
            [
                "by",
                "march",
                "fifteenth",
                "two",
                "thousand",
                "twenty",
                "six",
                "we",
                "need",
                "three",
                "point",
                "five",
                "percent",
                "and",
                "q",
                "three",
                "at",
                "four",
                "pm"
            ]
        );
        assert_eq!(
            normalise_words("the 21st and 100"),
            ["the", "twenty", "first", "and", "one", "hundred"]
        );
    }

    #[test]
    fn given_a_task_with_extra_words_when_compared_then_overlap_is_their_dice_coefficient() {
        // "send budget" vs "send budget high friday": 2 common of 2 + 4 → 4/6.
        let overlap = token_overlap("send the budget", "send the budget high Friday");
        assert!((overlap - 4.0 / 6.0).abs() < 1e-9, "{overlap}");
        assert!((token_overlap("Sends the budgets", "send budget") - 1.0).abs() < 1e-9);
        assert!(token_overlap("write the migration plan", "book the venue").abs() < 1e-9);
        assert!(
            (token_overlap("launch on November 10th", "Launch on November 10") - 1.0).abs() < 1e-9
        );
        assert!(token_overlap("the 1st draft", "the 10th draft") < 0.9);
        assert!((token_overlap("the twenty-first", "the 21") - 1.0).abs() < 1e-9);
    }

    #[test]
    fn given_due_phrases_with_prepositions_when_normalised_then_the_deadline_remains() {
        assert_eq!(normalise_due("by Friday"), "friday");
        assert_eq!(normalise_due("Friday"), "friday");
        assert_eq!(normalise_due("before the next sprint"), "next sprint");
        assert_eq!(normalise_due("by the 15th"), "fifteenth");
        assert_ne!(normalise_due("by Friday"), normalise_due("by Monday"));
    }
}
