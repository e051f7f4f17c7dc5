//! Date/time and integer pictures: a port of jsonata-js `datetime.js`.

use crate::error::{Err, ErrExt, R};
use crate::value::Value;

const FEW: [&str; 20] = [
    "Zero",
    "One",
    "Two",
    "Three",
    "Four",
    "Five",
    "Six",
    "Seven",
    "Eight",
    "Nine",
    "Ten",
    "Eleven",
    "Twelve",
    "Thirteen",
    "Fourteen",
    "Fifteen",
    "Sixteen",
    "Seventeen",
    "Eighteen",
    "Nineteen",
];
const ORDINALS: [&str; 20] = [
    "Zeroth",
    "First",
    "Second",
    "Third",
    "Fourth",
    "Fifth",
    "Sixth",
    "Seventh",
    "Eighth",
    "Ninth",
    "Tenth",
    "Eleventh",
    "Twelfth",
    "Thirteenth",
    "Fourteenth",
    "Fifteenth",
    "Sixteenth",
    "Seventeenth",
    "Eighteenth",
    "Nineteenth",
];
const DECADES: [&str; 9] = [
    "Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety", "Hundred",
];
const MAGNITUDES: [&str; 4] = ["Thousand", "Million", "Billion", "Trillion"];
const DAYS: [&str; 8] = [
    "",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAY_MS: f64 = 86_400_000.0;

fn number_to_words(value: f64, ordinal: bool) -> String {
    fn lookup(num: f64, prev: bool, ord: bool) -> String {
        let mut words;
        if num <= 19.0 {
            let n = num as usize;
            words = format!(
                "{}{}",
                if prev { " and " } else { "" },
                if ord { ORDINALS[n] } else { FEW[n] }
            );
        } else if num < 100.0 {
            let tens = (num / 10.0).floor() as usize;
            let rem = num % 10.0;
            words = format!("{}{}", if prev { " and " } else { "" }, DECADES[tens - 2]);
            if rem > 0.0 {
                words = format!("{words}-{}", lookup(rem, false, ord));
            } else if ord {
                words = format!("{}ieth", &words[..words.len() - 1]);
            }
        } else if num < 1000.0 {
            let hundreds = (num / 100.0).floor() as usize;
            let rem = num % 100.0;
            words = format!("{}{} Hundred", if prev { ", " } else { "" }, FEW[hundreds]);
            if rem > 0.0 {
                words.push_str(&lookup(rem, true, ord));
            } else if ord {
                words.push_str("th");
            }
        } else {
            let mut mag = (num.log10() / 3.0).floor() as usize;
            if mag > MAGNITUDES.len() {
                mag = MAGNITUDES.len();
            }
            let factor = 10f64.powi(mag as i32 * 3);
            let mant = (num / factor).floor();
            let rem = num - mant * factor;
            words = format!(
                "{}{} {}",
                if prev { ", " } else { "" },
                lookup(mant, false, false),
                MAGNITUDES[mag - 1]
            );
            if rem > 0.0 {
                words.push_str(&lookup(rem, true, ord));
            } else if ord {
                words.push_str("th");
            }
        }
        words
    }
    lookup(value, false, ordinal)
}

fn word_value(w: &str) -> Option<f64> {
    for (i, x) in FEW.iter().enumerate() {
        if x.to_lowercase() == w {
            return Some(i as f64);
        }
    }
    for (i, x) in ORDINALS.iter().enumerate() {
        if x.to_lowercase() == w {
            return Some(i as f64);
        }
    }
    for (i, x) in DECADES.iter().enumerate() {
        let l = x.to_lowercase();
        let ieth = format!("{}ieth", &l[..l.len() - 1]);
        if l == w || ieth == w {
            return Some(((i + 2) * 10) as f64);
        }
    }
    if w == "hundredth" {
        return Some(100.0);
    }
    for (i, x) in MAGNITUDES.iter().enumerate() {
        let l = x.to_lowercase();
        if l == w || format!("{l}th") == w {
            return Some(10f64.powi((i as i32 + 1) * 3));
        }
    }
    None
}

fn words_to_number(text: &str) -> f64 {
    let mut parts: Vec<String> = Vec::new();
    // split on ", " | " and " | whitespace | '-'
    let normalized = text.replace(", ", " ").replace(" and ", " ");
    for p in normalized.split(|c: char| c.is_whitespace() || c == '-') {
        parts.push(p.to_owned());
    }
    let mut segs: Vec<f64> = vec![0.0];
    for part in parts {
        let Some(value) = word_value(&part) else {
            segs.push(f64::NAN);
            continue;
        };
        if value < 100.0 {
            let mut top = segs.pop().unwrap_or(0.0);
            if top >= 1000.0 {
                segs.push(top);
                top = 0.0;
            }
            segs.push(top + value);
        } else {
            let top = segs.pop().unwrap_or(0.0);
            segs.push(top * value);
        }
    }
    segs.iter().sum()
}

const ROMAN: [(u64, &str); 13] = [
    (1000, "m"),
    (900, "cm"),
    (500, "d"),
    (400, "cd"),
    (100, "c"),
    (90, "xc"),
    (50, "l"),
    (40, "xl"),
    (10, "x"),
    (9, "ix"),
    (5, "v"),
    (4, "iv"),
    (1, "i"),
];

fn decimal_to_roman(mut value: u64) -> String {
    let mut out = String::new();
    'outer: while value > 0 {
        for (n, s) in ROMAN {
            if value >= n {
                out.push_str(s);
                value -= n;
                continue 'outer;
            }
        }
        break;
    }
    out
}

fn roman_to_decimal(roman: &str) -> f64 {
    let mut decimal = 0.0;
    let mut max = 1.0;
    for c in roman.chars().rev() {
        let v = match c {
            'M' => 1000.0,
            'D' => 500.0,
            'C' => 100.0,
            'L' => 50.0,
            'X' => 10.0,
            'V' => 5.0,
            'I' => 1.0,
            _ => f64::NAN,
        };
        if v < max {
            decimal -= v;
        } else {
            max = v;
            decimal += v;
        }
    }
    decimal
}

fn decimal_to_letters(mut value: u64, a: char) -> String {
    let mut letters = Vec::new();
    while value > 0 {
        letters.push(char::from_u32(((value - 1) % 26) as u32 + a as u32).unwrap_or('?'));
        value = (value - 1) / 26;
    }
    letters.iter().rev().collect()
}

fn letters_to_decimal(letters: &str, a: char) -> f64 {
    let chars: Vec<char> = letters.chars().collect();
    let mut d = 0.0;
    for i in 0..chars.len() {
        d += (chars[chars.len() - i - 1] as i64 - a as i64 + 1) as f64 * 26f64.powi(i as i32);
    }
    d
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Primary {
    Decimal,
    Letters,
    Roman,
    Words,
    Sequence,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Case {
    Upper,
    Lower,
    Title,
}

#[derive(Debug, Clone)]
struct IntFormat {
    primary: Primary,
    case: Case,
    ordinal: bool,
    zero_code: u32,
    mandatory: usize,
    optional: usize,
    regular: bool,
    /// (position, character); for regular grouping, one entry with the interval.
    separators: Vec<(usize, char)>,
    token: String,
    parse_width: Option<usize>,
}

const DECIMAL_GROUPS: [u32; 37] = [
    0x30, 0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6,
    0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80,
    0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0,
    0xFF10,
];

fn analyse_integer_picture(picture: &str) -> R<IntFormat> {
    let mut f = IntFormat {
        primary: Primary::Decimal,
        case: Case::Lower,
        ordinal: false,
        zero_code: 0x30,
        mandatory: 0,
        optional: 0,
        regular: false,
        separators: Vec::new(),
        token: String::new(),
        parse_width: None,
    };
    let primary = match picture.rfind(';') {
        None => picture,
        Some(i) => {
            if picture[i + 1..].starts_with('o') {
                f.ordinal = true;
            }
            &picture[..i]
        }
    };
    match primary {
        "A" => {
            f.case = Case::Upper;
            f.primary = Primary::Letters;
        }
        "a" => f.primary = Primary::Letters,
        "I" => {
            f.case = Case::Upper;
            f.primary = Primary::Roman;
        }
        "i" => f.primary = Primary::Roman,
        "W" => {
            f.case = Case::Upper;
            f.primary = Primary::Words;
        }
        "Ww" => {
            f.case = Case::Title;
            f.primary = Primary::Words;
        }
        "w" => f.primary = Primary::Words,
        _ => {
            let mut zero: Option<u32> = None;
            let mut sep_pos = 0;
            let mut seps: Vec<(usize, char)> = Vec::new();
            for c in primary.chars().rev() {
                let cp = c as u32;
                let group = DECIMAL_GROUPS.iter().find(|&&g| cp >= g && cp <= g + 9);
                if let Some(&g) = group {
                    f.mandatory += 1;
                    sep_pos += 1;
                    match zero {
                        None => zero = Some(g),
                        Some(z) if z != g => return Err(Err::new("D3131")),
                        _ => {}
                    }
                } else if c == '#' {
                    sep_pos += 1;
                    f.optional += 1;
                } else {
                    seps.push((sep_pos, c));
                }
            }
            if f.mandatory > 0 {
                f.zero_code = zero.unwrap_or(0x30);
                let regular = (|| {
                    if seps.is_empty() {
                        return 0;
                    }
                    let c0 = seps[0].1;
                    if seps.iter().any(|s| s.1 != c0) {
                        return 0;
                    }
                    let idx: Vec<usize> = seps.iter().map(|s| s.0).collect();
                    fn gcd(a: usize, b: usize) -> usize {
                        if b == 0 { a } else { gcd(b, a % b) }
                    }
                    let factor = idx.iter().copied().reduce(gcd).unwrap_or(0);
                    for i in 1..=idx.len() {
                        if !idx.contains(&(i * factor)) {
                            return 0;
                        }
                    }
                    factor
                })();
                if regular > 0 {
                    f.regular = true;
                    f.separators = vec![(regular, seps[0].1)];
                } else {
                    f.separators = seps;
                }
            } else {
                f.primary = Primary::Sequence;
                f.token = primary.to_owned();
            }
        }
    }
    Ok(f)
}

fn format_int(value: f64, f: &IntFormat) -> R<String> {
    if !value.is_finite() {
        return Err(Err::new("D1001").with_value(serde_json::Value::Null));
    }
    if value.abs() >= 1e9 && f.primary == Primary::Roman {
        return Err(crate::eval::u1001(
            "The number is too large to format as roman numerals",
        ));
    }
    let negative = value < 0.0;
    let value = value.abs();
    let mut s = match f.primary {
        Primary::Letters => {
            decimal_to_letters(value as u64, if f.case == Case::Upper { 'A' } else { 'a' })
        }
        Primary::Roman => {
            let r = decimal_to_roman(value as u64);
            if f.case == Case::Upper {
                r.to_uppercase()
            } else {
                r
            }
        }
        Primary::Words => {
            let w = number_to_words(value, f.ordinal);
            match f.case {
                Case::Upper => w.to_uppercase(),
                Case::Lower => w.to_lowercase(),
                Case::Title => w,
            }
        }
        Primary::Decimal => {
            let mut s = crate::value::js_num(value);
            let count = s.chars().count();
            if f.mandatory > count {
                s = format!("{}{}", "0".repeat(f.mandatory - count), s);
            }
            if f.zero_code != 0x30 {
                s = s
                    .chars()
                    .map(|c| char::from_u32(c as u32 + f.zero_code - 0x30).unwrap_or(c))
                    .collect();
            }
            let mut chars: Vec<char> = s.chars().collect();
            if f.regular {
                let (pos, c) = f.separators[0];
                let n = (chars.len().saturating_sub(1)) / pos;
                for ii in (1..=n).rev() {
                    let at = chars.len() - ii * pos;
                    chars.insert(at, c);
                }
            } else {
                for &(pos, c) in f.separators.iter().rev() {
                    let at = chars.len().saturating_sub(pos);
                    chars.insert(at, c);
                }
            }
            let mut s: String = chars.into_iter().collect();
            if f.ordinal {
                let cs: Vec<char> = s.chars().collect();
                let last = cs.last().copied();
                let mut suffix = match last {
                    Some('1') => "st",
                    Some('2') => "nd",
                    Some('3') => "rd",
                    _ => "th",
                };
                if cs.len() > 1 && cs[cs.len() - 2] == '1' {
                    suffix = "th";
                }
                s.push_str(suffix);
            }
            s
        }
        Primary::Sequence => return Err(Err::new("D3130").with_value_text(f.token.clone())),
    };
    if negative {
        s = format!("-{s}");
    }
    Ok(s)
}

pub(crate) fn format_integer(value: f64, picture: &str) -> R<String> {
    let f = analyse_integer_picture(picture)?;
    format_int(value.floor(), &f)
}

/// A regex and parser for one integer picture.
fn integer_matcher(f: &IntFormat) -> R<(String, Parser)> {
    let upper = f.case == Case::Upper;
    Ok(match f.primary {
        Primary::Letters => (
            if upper { "[A-Z]+" } else { "[a-z]+" }.to_owned(),
            Box::new(move |v: &str| letters_to_decimal(v, if upper { 'A' } else { 'a' })),
        ),
        Primary::Roman => (
            if upper { "[MDCLXVI]+" } else { "[mdclxvi]+" }.to_owned(),
            Box::new(move |v: &str| {
                roman_to_decimal(&if upper {
                    v.to_owned()
                } else {
                    v.to_uppercase()
                })
            }),
        ),
        Primary::Words => {
            let mut words: Vec<String> = Vec::new();
            for w in FEW.iter().chain(ORDINALS.iter()) {
                words.push(w.to_lowercase());
            }
            for d in DECADES {
                let l = d.to_lowercase();
                words.push(format!("{}ieth", &l[..l.len() - 1]));
                words.push(l);
            }
            words.push("hundredth".into());
            for m in MAGNITUDES {
                let l = m.to_lowercase();
                words.push(format!("{l}th"));
                words.push(l);
            }
            words.sort_by_key(|w| std::cmp::Reverse(w.len()));
            (
                format!("(?:{}|and|[\\-, ])+", words.join("|")),
                Box::new(|v: &str| words_to_number(&v.to_lowercase())),
            )
        }
        Primary::Decimal => {
            let mut re = "[0-9]".to_owned();
            match f.parse_width {
                Some(w) => re.push_str(&format!("{{{w}}}")),
                None => re.push('+'),
            }
            if f.ordinal {
                re.push_str("(?:th|st|nd|rd)");
            }
            let f2 = f.clone();
            (
                re,
                Box::new(move |v: &str| {
                    let mut digits = v.to_owned();
                    if f2.ordinal {
                        digits = digits
                            .chars()
                            .take(digits.chars().count().saturating_sub(2))
                            .collect();
                    }
                    if f2.regular {
                        digits = digits.replace(',', "");
                    } else {
                        for (_, c) in &f2.separators {
                            digits = digits.replace(*c, "");
                        }
                    }
                    if f2.zero_code != 0x30 {
                        digits = digits
                            .chars()
                            .map(|c| char::from_u32(c as u32 + 0x30 - f2.zero_code).unwrap_or(c))
                            .collect();
                    }
                    parse_int_prefix(&digits)
                }),
            )
        }
        Primary::Sequence => return Err(Err::new("D3130").with_value_text(f.token.clone())),
    })
}

/// JavaScript `parseInt(s, 10)`.
fn parse_int_prefix(s: &str) -> f64 {
    let s = s.trim_start();
    let (neg, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return f64::NAN;
    }
    let n: f64 = digits.parse().unwrap_or(f64::NAN);
    if neg { -n } else { n }
}

pub(crate) fn parse_integer(value: &str, picture: &str) -> R<Value> {
    let f = analyse_integer_picture(picture)?;
    let (_, parse) = integer_matcher(&f)?;
    Ok(Value::Num(parse(value)))
}

#[derive(Debug, Clone)]
struct Marker {
    component: char,
    width: Option<(Option<usize>, Option<usize>)>,
    presentation2: Option<char>,
    names: Option<Case>,
    int_format: Option<IntFormat>,
    n: i64,
}

#[derive(Debug, Clone)]
enum Part {
    Literal(String),
    Marker(Marker),
}

fn default_presentation(c: char) -> Option<&'static str> {
    Some(match c {
        'Y' | 'M' | 'D' | 'd' | 'W' | 'w' | 'X' | 'x' | 'H' | 'h' | 'f' => "1",
        'F' | 'P' | 'C' | 'E' => "n",
        'm' | 's' => "01",
        'Z' | 'z' => "01:01",
        _ => return None,
    })
}

fn analyse_date_time_picture(picture: &str) -> R<Vec<Part>> {
    let chars: Vec<char> = picture.chars().collect();
    let mut spec: Vec<Part> = Vec::new();
    let add_literal = |spec: &mut Vec<Part>, start: usize, end: usize| {
        if end > start {
            let lit: String = chars[start..end].iter().collect();
            spec.push(Part::Literal(lit.replace("]]", "]")));
        }
    };
    let (mut start, mut pos) = (0, 0);
    while pos < chars.len() {
        if chars[pos] == '[' {
            if chars.get(pos + 1) == Some(&'[') {
                add_literal(&mut spec, start, pos);
                spec.push(Part::Literal("[".into()));
                pos += 2;
                start = pos;
                continue;
            }
            add_literal(&mut spec, start, pos);
            start = pos;
            let Some(close) = (start..chars.len()).find(|&i| chars[i] == ']') else {
                return Err(Err::new("D3135"));
            };
            pos = close;
            let marker: String = chars[start + 1..pos]
                .iter()
                .filter(|c| !c.is_whitespace())
                .collect();
            let mchars: Vec<char> = marker.chars().collect();
            let component = mchars.first().copied().unwrap_or(' ');
            let comma = mchars.iter().rposition(|&c| c == ',');
            let mut width = None;
            let pres: String = match comma {
                Some(ci) => {
                    let wm: String = mchars[ci + 1..].iter().collect();
                    let parse_w = |s: &str| {
                        if s == "*" {
                            None
                        } else {
                            s.parse::<usize>().ok()
                        }
                    };
                    width = Some(match wm.find('-') {
                        None => (parse_w(&wm), None),
                        Some(d) => (parse_w(&wm[..d]), parse_w(&wm[d + 1..])),
                    });
                    mchars[1..ci].iter().collect()
                }
                None => mchars.iter().skip(1).collect(),
            };
            let pres_chars: Vec<char> = pres.chars().collect();
            let mut presentation2 = None;
            let mut ordinal = false;
            let p1: String = if pres_chars.len() == 1 {
                pres.clone()
            } else if pres_chars.len() > 1 {
                let last = pres_chars[pres_chars.len() - 1];
                if "atco".contains(last) {
                    presentation2 = Some(last);
                    ordinal = last == 'o';
                    pres_chars[..pres_chars.len() - 1].iter().collect()
                } else {
                    pres.clone()
                }
            } else {
                match default_presentation(component) {
                    Some(d) => d.to_owned(),
                    None => return Err(Err::new("D3132").with_value_text(component.to_string())),
                }
            };
            let _ = ordinal;
            let mut m = Marker {
                component,
                width,
                presentation2,
                names: None,
                int_format: None,
                n: -1,
            };
            let p1c: Vec<char> = p1.chars().collect();
            if p1c.first() == Some(&'n') {
                m.names = Some(Case::Lower);
            } else if p1c.first() == Some(&'N') {
                m.names = Some(if p1c.get(1) == Some(&'n') {
                    Case::Title
                } else {
                    Case::Upper
                });
            } else if "YMDdFWwXxHhmsf".contains(component) {
                let mut pattern = p1.clone();
                if let Some(p2) = presentation2 {
                    pattern.push(';');
                    pattern.push(p2);
                }
                let mut f = analyse_integer_picture(&pattern)?;
                if let Some((Some(min), _)) = width
                    && f.mandatory < min
                {
                    f.mandatory = min;
                }
                if component == 'Y' {
                    m.n = -1;
                    if let Some((_, Some(max))) = width {
                        m.n = max as i64;
                        f.mandatory = max;
                    } else {
                        let w = f.mandatory + f.optional;
                        if w >= 2 {
                            m.n = w as i64;
                        }
                    }
                }
                if let Some(Part::Marker(prev)) = spec.last_mut()
                    && let Some(pf) = &mut prev.int_format
                {
                    pf.parse_width = Some(pf.mandatory);
                }
                m.int_format = Some(f);
            }
            if component == 'Z' || component == 'z' {
                m.int_format = Some(analyse_integer_picture(&p1)?);
            }
            spec.push(Part::Marker(m));
            start = pos + 1;
        }
        pos += 1;
    }
    add_literal(&mut spec, start, pos);
    Ok(spec)
}

// ---- civil calendar arithmetic (proleptic Gregorian, UTC) ----

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// JavaScript `Date.UTC` (month zero-based, overflowing fields carried).
pub(crate) fn date_utc(y: f64, m: f64, d: f64, h: f64, mi: f64, s: f64, ms: f64) -> f64 {
    if ![y, m, d, h, mi, s, ms].iter().all(|v| v.is_finite()) {
        return f64::NAN;
    }
    let ym = y + (m / 12.0).floor();
    let mn = m.rem_euclid(12.0);
    let days = days_from_civil(ym as i64, mn as i64 + 1, 1) as f64 + d - 1.0;
    days * DAY_MS + h * 3_600_000.0 + mi * 60_000.0 + s * 1000.0 + ms.trunc()
}

struct DateParts {
    millis: f64,
    year: i64,
    month: i64, // 0-based
    day: i64,
    hours: i64,
    minutes: i64,
    seconds: i64,
    ms: i64,
    weekday: i64, // 0 = Sunday
}

fn date_parts(millis: f64) -> DateParts {
    let days = (millis / DAY_MS).floor();
    let rem = millis - days * DAY_MS;
    let (y, m, d) = civil_from_days(days as i64);
    let rem = rem as i64;
    DateParts {
        millis,
        year: y,
        month: m - 1,
        day: d,
        hours: rem / 3_600_000,
        minutes: (rem / 60_000) % 60,
        seconds: (rem / 1000) % 60,
        ms: rem % 1000,
        weekday: (days as i64 + 4).rem_euclid(7),
    }
}

fn start_of_first_week(year: i64, month: i64) -> f64 {
    let jan1 = date_utc(year as f64, month as f64, 1.0, 0.0, 0.0, 0.0, 0.0);
    let mut day = date_parts(jan1).weekday;
    if day == 0 {
        day = 7;
    }
    if day > 4 {
        jan1 + (8 - day) as f64 * DAY_MS
    } else {
        jan1 - (day - 1) as f64 * DAY_MS
    }
}

fn next_month(y: i64, m: i64) -> (i64, i64) {
    if m == 11 { (y + 1, 0) } else { (y, m + 1) }
}
fn prev_month(y: i64, m: i64) -> (i64, i64) {
    if m == 0 { (y - 1, 11) } else { (y, m - 1) }
}

fn delta_weeks(start: f64, end: f64) -> f64 {
    (end - start) / (DAY_MS * 7.0) + 1.0
}

enum Frag {
    Num(f64),
    Str(&'static str),
    None,
}

fn fragment(d: &DateParts, component: char) -> Frag {
    let today = || {
        date_utc(
            d.year as f64,
            d.month as f64,
            d.day as f64,
            0.0,
            0.0,
            0.0,
            0.0,
        )
    };
    Frag::Num(match component {
        'Y' => d.year as f64,
        'M' => (d.month + 1) as f64,
        'D' => d.day as f64,
        'd' => {
            let first = date_utc(d.year as f64, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0);
            (today() - first) / DAY_MS + 1.0
        }
        'F' => {
            if d.weekday == 0 {
                7.0
            } else {
                d.weekday as f64
            }
        }
        'W' => {
            let start = start_of_first_week(d.year, 0);
            let t = today();
            let mut week = delta_weeks(start, t);
            if week > 52.0 {
                if t >= start_of_first_week(d.year + 1, 0) {
                    week = 1.0;
                }
            } else if week < 1.0 {
                week = delta_weeks(start_of_first_week(d.year - 1, 0), t);
            }
            week.floor()
        }
        'w' => {
            let start = start_of_first_week(d.year, d.month);
            let t = today();
            let mut week = delta_weeks(start, t);
            if week > 4.0 {
                let (ny, nm) = next_month(d.year, d.month);
                if t >= start_of_first_week(ny, nm) {
                    week = 1.0;
                }
            } else if week < 1.0 {
                let (py, pm) = prev_month(d.year, d.month);
                week = delta_weeks(start_of_first_week(py, pm), t);
            }
            week.floor()
        }
        'X' => {
            let start = start_of_first_week(d.year, 0);
            let end = start_of_first_week(d.year + 1, 0);
            if d.millis < start {
                (d.year - 1) as f64
            } else if d.millis >= end {
                (d.year + 1) as f64
            } else {
                d.year as f64
            }
        }
        'x' => {
            let start = start_of_first_week(d.year, d.month);
            let (ny, nm) = next_month(d.year, d.month);
            let end = start_of_first_week(ny, nm);
            if d.millis < start {
                (prev_month(d.year, d.month).1 + 1) as f64
            } else if d.millis >= end {
                (nm + 1) as f64
            } else {
                (d.month + 1) as f64
            }
        }
        'H' => d.hours as f64,
        'h' => {
            let h = d.hours % 12;
            if h == 0 { 12.0 } else { h as f64 }
        }
        'P' => return Frag::Str(if d.hours >= 12 { "pm" } else { "am" }),
        'm' => d.minutes as f64,
        's' => d.seconds as f64,
        'f' => d.ms as f64,
        'C' | 'E' => return Frag::Str("ISO"),
        _ => return Frag::None,
    })
}

const ISO_PICTURE: &str = "[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001][Z01:01t]";

/// jsonata-js `formatDateTime`.
pub(crate) fn format_date_time(
    millis: f64,
    picture: Option<&str>,
    timezone: Option<&str>,
) -> R<String> {
    let (mut oh, mut om) = (0.0, 0.0);
    if let Some(tz) = timezone {
        let offset = parse_int_prefix(tz);
        oh = (offset / 100.0).floor();
        om = offset % 100.0;
    }
    let spec = analyse_date_time_picture(picture.unwrap_or(ISO_PICTURE))?;
    let offset_ms = (60.0 * oh + om) * 60_000.0;
    let d = date_parts(millis + offset_ms);
    let mut out = String::new();
    for part in &spec {
        match part {
            Part::Literal(s) => out.push_str(s),
            Part::Marker(m) => out.push_str(&format_component(&d, m, oh, om)?),
        }
    }
    Ok(out)
}

fn format_component(d: &DateParts, m: &Marker, oh: f64, om: f64) -> R<String> {
    let frag = fragment(d, m.component);
    let c = m.component;
    if "YMDdFWwXxHhms".contains(c) {
        let mut v = match frag {
            Frag::Num(n) => n,
            _ => 0.0,
        };
        if c == 'Y' && m.n != -1 {
            v %= 10f64.powi(m.n as i32);
        }
        if let Some(case) = m.names {
            let mut name = if c == 'M' || c == 'x' {
                MONTHS
                    .get((v as usize).wrapping_sub(1))
                    .copied()
                    .unwrap_or("")
                    .to_owned()
            } else if c == 'F' {
                DAYS.get(v as usize).copied().unwrap_or("").to_owned()
            } else {
                return Err(Err::new("D3133").with_value_text(c.to_string()));
            };
            match case {
                Case::Upper => name = name.to_uppercase(),
                Case::Lower => name = name.to_lowercase(),
                Case::Title => {}
            }
            if let Some((_, Some(max))) = m.width
                && name.chars().count() > max
            {
                name = name.chars().take(max).collect();
            }
            return Ok(name);
        }
        return match &m.int_format {
            Some(f) => format_int(v, f),
            None => Ok(crate::value::js_num(v)),
        };
    }
    match c {
        'f' => {
            let v = match frag {
                Frag::Num(n) => n,
                _ => 0.0,
            };
            match &m.int_format {
                Some(f) => format_int(v, f),
                None => Ok(crate::value::js_num(v)),
            }
        }
        'Z' | 'z' => {
            let offset = oh * 100.0 + om;
            let Some(f) = &m.int_format else {
                return Ok(String::new());
            };
            let mut s = if f.regular {
                format_int(offset, f)?
            } else {
                match f.mandatory {
                    1 | 2 => {
                        let mut s = format_int(oh, f)?;
                        if om != 0.0 {
                            s.push(':');
                            s.push_str(&format_integer(om, "00")?);
                        }
                        s
                    }
                    3 | 4 => format_int(offset, f)?,
                    n => return Err(Err::new("D3134").with_value(serde_json::Value::from(n))),
                }
            };
            if offset >= 0.0 {
                s = format!("+{s}");
            }
            if c == 'z' {
                s = format!("GMT{s}");
            }
            if offset == 0.0 && m.presentation2 == Some('t') {
                s = "Z".into();
            }
            Ok(s)
        }
        'P' => {
            let s = match frag {
                Frag::Str(s) => s.to_owned(),
                _ => String::new(),
            };
            Ok(if m.names == Some(Case::Upper) {
                s.to_uppercase()
            } else {
                s
            })
        }
        _ => Ok(match frag {
            Frag::Str(s) => s.to_owned(),
            Frag::Num(n) => crate::value::js_num(n),
            Frag::None => String::new(),
        }),
    }
}

type Parser = Box<dyn Fn(&str) -> f64>;

/// jsonata-js `parseDateTime` (`$toMillis` with a picture).
pub(crate) fn parse_date_time(timestamp: &str, picture: &str, now: i64) -> R<Option<f64>> {
    let spec = analyse_date_time_picture(picture)?;
    let mut regex = String::from("(?i)^");
    let mut parsers: Vec<Option<(char, Parser)>> = Vec::new();
    for part in &spec {
        match part {
            Part::Literal(s) => {
                regex.push('(');
                regex.push_str(&regex::escape(s));
                regex.push(')');
                parsers.push(None);
            }
            Part::Marker(m) => {
                let c = m.component;
                let (re, parse): (String, Parser) = if c == 'Z' || c == 'z' {
                    let sep = m
                        .int_format
                        .as_ref()
                        .filter(|f| f.regular)
                        .map(|f| f.separators[0].1);
                    let mut re = if c == 'z' {
                        "GMT".to_owned()
                    } else {
                        String::new()
                    };
                    re.push_str("[-+][0-9]+");
                    if let Some(s) = sep {
                        re.push_str(&regex::escape(&s.to_string()));
                        re.push_str("[0-9]+");
                    }
                    let is_z = c == 'z';
                    (
                        re,
                        Box::new(move |v: &str| {
                            let v = if is_z { v.get(3..).unwrap_or("") } else { v };
                            let (h, mi) = if let Some(s) = sep {
                                let i = v.find(s).unwrap_or(v.len());
                                (
                                    parse_int_prefix(&v[..i]),
                                    parse_int_prefix(v.get(i + s.len_utf8()..).unwrap_or("")),
                                )
                            } else if v.len() - 1 <= 2 {
                                (parse_int_prefix(v), 0.0)
                            } else {
                                (parse_int_prefix(&v[..3]), parse_int_prefix(&v[3..]))
                            };
                            h * 60.0 + mi
                        }),
                    )
                } else if c == 'f' {
                    (
                        "[0-9]+".to_owned(),
                        Box::new(|v: &str| {
                            let d: String = v.chars().take(3).collect();
                            format!("0.{d}").parse::<f64>().unwrap_or(f64::NAN) * 1000.0
                        }),
                    )
                } else if let Some(f) = &m.int_format {
                    integer_matcher(f)?
                } else {
                    let width_max = m.width.and_then(|w| w.1);
                    let mut lookup: Vec<(String, f64)> = Vec::new();
                    let name = |n: &str| match width_max {
                        Some(mx) => n.chars().take(mx).collect(),
                        None => n.to_owned(),
                    };
                    if c == 'M' || c == 'x' {
                        for (i, n) in MONTHS.iter().enumerate() {
                            lookup.push((name(n), (i + 1) as f64));
                        }
                    } else if c == 'F' {
                        for (i, n) in DAYS.iter().enumerate().skip(1) {
                            lookup.push((name(n), i as f64));
                        }
                    } else if c == 'P' {
                        lookup = vec![
                            ("am".into(), 0.0),
                            ("AM".into(), 0.0),
                            ("pm".into(), 1.0),
                            ("PM".into(), 1.0),
                        ];
                    } else {
                        return Err(Err::new("D3133").with_value_text(c.to_string()));
                    }
                    (
                        "[a-zA-Z]+".to_owned(),
                        Box::new(move |v: &str| {
                            lookup
                                .iter()
                                .find(|(k, _)| k == v)
                                .map_or(f64::NAN, |(_, n)| *n)
                        }),
                    )
                };
                regex.push('(');
                regex.push_str(&re);
                regex.push(')');
                parsers.push(Some((c, parse)));
            }
        }
    }
    regex.push('$');
    let re = regex::Regex::new(&regex).map_err(|_| Err::new("D3136"))?;
    let Some(caps) = re.captures(timestamp) else {
        return Ok(None);
    };
    let mut comps: std::collections::HashMap<char, f64> = std::collections::HashMap::new();
    for (i, p) in parsers.iter().enumerate() {
        if let Some((c, parse)) = p {
            let text = caps.get(i + 1).map_or("", |m| m.as_str());
            comps.insert(*c, parse(text));
        }
    }
    if comps.is_empty() {
        return Ok(None);
    }
    let truthy = |c: char, comps: &std::collections::HashMap<char, f64>| {
        comps.get(&c).is_some_and(|v| *v != 0.0 && !v.is_nan())
    };
    let mask_of = |parts: &str, comps: &std::collections::HashMap<char, f64>| {
        parts
            .chars()
            .fold(0u32, |m, c| (m << 1) + u32::from(truthy(c, comps)))
    };
    let is_type = |t: u32, mask: u32| (!t & mask) == 0 && (t & mask) != 0;
    let mask = mask_of("YXMxWwdD", &comps);
    let date_a = is_type(161, mask);
    let date_b = !date_a && is_type(130, mask);
    let date_c = is_type(84, mask);
    let date_d = !date_c && is_type(72, mask);
    let tmask = mask_of("PHhmsf", &comps);
    let time_a = is_type(23, tmask);
    let time_b = !time_a && is_type(47, tmask);
    let date_comps = if date_b {
        "YD"
    } else if date_c {
        "XxwF"
    } else if date_d {
        "XWF"
    } else {
        "YMD"
    };
    let time_comps = if time_b { "Phmsf" } else { "Hmsf" };
    let now_parts = date_parts(now as f64);
    let mut start_specified = false;
    let mut end_specified = false;
    for part in date_comps.chars().chain(time_comps.chars()) {
        if let std::collections::hash_map::Entry::Vacant(e) = comps.entry(part) {
            if start_specified {
                e.insert(if "MDd".contains(part) { 1.0 } else { 0.0 });
                end_specified = true;
            } else {
                let v = match fragment(&now_parts, part) {
                    Frag::Num(n) => n,
                    Frag::Str(s) => {
                        if s == "pm" {
                            1.0
                        } else {
                            0.0
                        }
                    }
                    Frag::None => 0.0,
                };
                e.insert(v);
            }
        } else {
            start_specified = true;
            if end_specified {
                return Err(Err::new("D3136"));
            }
        }
    }
    let get = |c: char, comps: &std::collections::HashMap<char, f64>| {
        comps.get(&c).copied().unwrap_or(f64::NAN)
    };
    let mut month = get('M', &comps);
    month = if month > 0.0 { month - 1.0 } else { 0.0 };
    let mut day = get('D', &comps);
    if date_b {
        let first = date_utc(get('Y', &comps), 0.0, 1.0, 0.0, 0.0, 0.0, 0.0);
        let derived = date_parts(first + (get('d', &comps) - 1.0) * DAY_MS);
        month = derived.month as f64;
        day = derived.day as f64;
    }
    if date_c || date_d {
        return Err(Err::new("D3136"));
    }
    let mut hours = get('H', &comps);
    if time_b {
        let h = get('h', &comps);
        hours = if h == 12.0 { 0.0 } else { h };
        if get('P', &comps) == 1.0 {
            hours += 12.0;
        }
    }
    let mut millis = date_utc(
        get('Y', &comps),
        month,
        day,
        hours,
        get('m', &comps),
        get('s', &comps),
        get('f', &comps),
    );
    let tz = comps.get(&'Z').or(comps.get(&'z')).copied().unwrap_or(0.0);
    if tz != 0.0 && !tz.is_nan() {
        millis -= tz * 60_000.0;
    }
    Ok(Some(millis))
}

/// `Date.parse` of the ISO 8601 forms `$toMillis` accepts.
pub(crate) fn parse_iso(s: &str) -> Option<f64> {
    let re = iso_regex();
    let caps = re.captures(s)?;
    let num = |t: &str| t.parse::<f64>().ok();
    let year = num(caps.get(1)?.as_str())?;
    let month = caps
        .get(2)
        .and_then(|m| num(&m.as_str()[1..]))
        .unwrap_or(1.0);
    let day = caps
        .get(3)
        .and_then(|m| num(&m.as_str()[1..]))
        .unwrap_or(1.0);
    let (mut h, mut mi, mut sec) = (0.0, 0.0, 0.0);
    if let Some(t) = caps.get(4) {
        let t = &t.as_str()[1..];
        h = num(&t[0..2])?;
        mi = num(&t[3..5])?;
        sec = num(&t[6..8])?;
    }
    let ms = caps.get(5).map_or(0.0, |f| {
        let digits: String = f.as_str()[1..].chars().take(3).collect();
        format!("0.{digits}").parse::<f64>().unwrap_or(0.0) * 1000.0
    });
    if !(1.0..=12.0).contains(&month) || !(1.0..=31.0).contains(&day) || h > 24.0 {
        return Some(f64::NAN);
    }
    let mut millis = date_utc(year, month - 1.0, day, h, mi, sec, ms.round());
    if let Some(z) = caps.get(6) {
        let z = z.as_str();
        if z != "Z" {
            let sign = if z.starts_with('-') { -1.0 } else { 1.0 };
            let digits: String = z.chars().filter(char::is_ascii_digit).collect();
            let oh = num(&digits[0..2])?;
            let om = num(&digits[2..4])?;
            millis -= sign * (oh * 60.0 + om) * 60_000.0;
        }
    }
    Some(millis)
}

fn iso_regex() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(
            r"^(\d{4})(-[01]\d)?(-[0-3]\d)?(T[0-2]\d:[0-5]\d:[0-5]\d)?(\.\d+)?([+-][0-2]\d:?[0-5]\d|Z)?$",
        )
        .unwrap_or_else(|_| regex::Regex::new("$^").unwrap_or_else(|_| unreachable_regex()))
    })
}

fn unreachable_regex() -> regex::Regex {
    panic!("static regex does not compile")
}
