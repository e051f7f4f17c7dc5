//! Number formatting: `$round`, `$formatBase` and `$formatNumber` (XPath F&O picture strings).

use crate::error::{Err, ErrExt, R};
use crate::value::{Value, js_num};

/// JavaScript `Math.round` (halves toward +∞).
fn js_math_round(x: f64) -> f64 {
    let f = x.floor();
    if x - f >= 0.5 { f + 1.0 } else { f }
}

fn shift(x: f64, by: i32) -> f64 {
    let s = js_num(x);
    let (m, e) = match s.split_once('e') {
        Some((m, e)) => (
            m.to_owned(),
            e.trim_start_matches('+').parse::<i32>().unwrap_or(0) + by,
        ),
        None => (s, by),
    };
    format!("{m}e{e}").parse().unwrap_or(x)
}

/// jsonata-js `round`: half to even, with an optional number of decimal places.
pub(crate) fn round(arg: f64, precision: i32) -> f64 {
    if !arg.is_finite() {
        return arg;
    }
    let mut x = arg;
    if precision != 0 {
        x = shift(x, precision);
    }
    let mut result = js_math_round(x);
    let diff = result - x;
    if diff.abs() == 0.5 && (result % 2.0).abs() == 1.0 {
        result -= 1.0;
    }
    if precision != 0 {
        result = shift(result, -precision);
    }
    if result == 0.0 {
        result = 0.0;
    }
    result
}

pub(crate) fn format_base(value: f64, radix: Option<f64>) -> R<String> {
    let value = round(value, 0);
    let radix = radix.map_or(10.0, |r| round(r, 0));
    if !(2.0..=36.0).contains(&radix) {
        return Err(Err::new("D3100").with_value(crate::value::num_to_json(radix)));
    }
    let radix = radix as u32;
    let neg = value < 0.0;
    let mut n = value.abs();
    if n == 0.0 {
        return Ok("0".into());
    }
    let mut digits = Vec::new();
    while n >= 1.0 {
        let d = (n % radix as f64) as u32;
        digits.push(std::char::from_digit(d, radix).unwrap_or('0'));
        n = ((n - d as f64) / radix as f64).floor();
    }
    if neg {
        digits.push('-');
    }
    Ok(digits.into_iter().rev().collect())
}

/// JavaScript `Number.prototype.toFixed` on the exact binary value (ties round up).
pub(crate) fn to_fixed(x: f64, dp: usize) -> String {
    let exact = format!("{:.1100}", x.abs());
    let (int, frac) = exact.split_once('.').unwrap_or((&exact, ""));
    let mut digits: Vec<u8> = int
        .bytes()
        .chain(frac.bytes().chain(std::iter::repeat(b'0')).take(dp))
        .map(|b| b - b'0')
        .collect();
    let next = frac.as_bytes().get(dp).map_or(0, |b| b - b'0');
    if next >= 5 {
        let mut i = digits.len();
        loop {
            if i == 0 {
                digits.insert(0, 1);
                break;
            }
            i -= 1;
            if digits[i] == 9 {
                digits[i] = 0;
            } else {
                digits[i] += 1;
                break;
            }
        }
    }
    let int_len = digits.len() - dp;
    let mut s: String = digits[..int_len]
        .iter()
        .map(|d| char::from(b'0' + d))
        .collect();
    if dp > 0 {
        s.push('.');
        s.extend(digits[int_len..].iter().map(|d| char::from(b'0' + d)));
    }
    let s = s.trim_start_matches('0');
    let s = if s.is_empty() || s.starts_with('.') {
        format!("0{s}")
    } else {
        s.to_owned()
    };
    if x < 0.0 && s.chars().any(|c| c != '0' && c != '.') {
        format!("-{s}")
    } else {
        s
    }
}

struct Props {
    decimal: char,
    grouping: char,
    exponent: char,
    minus: String,
    percent: char,
    per_mille: char,
    zero: char,
    digit: char,
    pattern: char,
}

#[derive(Clone)]
struct Parts {
    prefix: Vec<char>,
    suffix: Vec<char>,
    active: Vec<char>,
    mantissa: Vec<char>,
    exponent: Option<Vec<char>>,
    integer: Vec<char>,
    fractional: Vec<char>,
    sub: Vec<char>,
}

#[derive(Clone)]
struct Analysis {
    integer_grouping: Vec<usize>,
    regular_grouping: usize,
    min_int: usize,
    scaling: i32,
    prefix: String,
    fractional_grouping: Vec<usize>,
    min_frac: usize,
    max_frac: usize,
    min_exp: usize,
    suffix: String,
    picture: Vec<char>,
}

fn index_of(hay: &[char], c: char, from: usize) -> Option<usize> {
    (from..hay.len()).find(|&i| hay[i] == c)
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

pub(crate) fn format_number(value: f64, picture: &str, options: &Value) -> R<String> {
    let mut p = Props {
        decimal: '.',
        grouping: ',',
        exponent: 'e',
        minus: "-".into(),
        percent: '%',
        per_mille: '\u{2030}',
        zero: '0',
        digit: '#',
        pattern: ';',
    };
    if let Value::Obj(o) = options {
        for (k, v) in o.iter() {
            let Some(s) = v.as_str() else { continue };
            let c = s.chars().next().unwrap_or(' ');
            match k.as_str() {
                "decimal-separator" => p.decimal = c,
                "grouping-separator" => p.grouping = c,
                "exponent-separator" => p.exponent = c,
                "minus-sign" => p.minus = s.to_owned(),
                "percent" => p.percent = c,
                "per-mille" => p.per_mille = c,
                "zero-digit" => p.zero = c,
                "digit" => p.digit = c,
                "pattern-separator" => p.pattern = c,
                _ => {}
            }
        }
    }
    let zero = p.zero as u32;
    let family: Vec<char> = (zero..zero + 10).filter_map(char::from_u32).collect();
    let is_family = |c: char| family.contains(&c);
    let mut active = family.clone();
    active.extend([p.decimal, p.exponent, p.grouping, p.digit, p.pattern]);
    let is_active = |c: char| active.contains(&c);

    let pic: Vec<char> = picture.chars().collect();
    let subs: Vec<Vec<char>> = pic
        .split(|c| *c == p.pattern)
        .map(<[char]>::to_vec)
        .collect();
    if subs.len() > 2 {
        return Err(Err::new("D3080"));
    }
    let split_parts = |sub: &Vec<char>| -> Parts {
        let prefix: Vec<char> = match sub.iter().position(|&c| is_active(c) && c != p.exponent) {
            Some(i) => sub[..i].to_vec(),
            None => Vec::new(),
        };
        let suffix: Vec<char> = match sub.iter().rposition(|&c| is_active(c) && c != p.exponent) {
            Some(i) => sub[i + 1..].to_vec(),
            None => Vec::new(),
        };
        let end = sub.len().saturating_sub(suffix.len()).max(prefix.len());
        let active_part = sub[prefix.len()..end].to_vec();
        let exp_pos = index_of(sub, p.exponent, prefix.len());
        let (mantissa, exponent) = match exp_pos {
            Some(e) if e <= sub.len() - suffix.len() => {
                let e = e.min(active_part.len());
                (
                    active_part[..e].to_vec(),
                    Some(active_part.get(e + 1..).unwrap_or(&[]).to_vec()),
                )
            }
            _ => (active_part.clone(), None),
        };
        let (integer, fractional) = match mantissa.iter().position(|&c| c == p.decimal) {
            None => (mantissa.clone(), suffix.clone()),
            Some(d) => (mantissa[..d].to_vec(), mantissa[d + 1..].to_vec()),
        };
        Parts {
            prefix,
            suffix,
            active: active_part,
            mantissa,
            exponent,
            integer,
            fractional,
            sub: sub.clone(),
        }
    };
    let parts: Vec<Parts> = subs.iter().map(split_parts).collect();
    for parts in &parts {
        let sub = &parts.sub;
        let count = |c: char| sub.iter().filter(|&&x| x == c).count();
        let mut error = None;
        if count(p.decimal) > 1 {
            error = Some("D3081");
        }
        if count(p.percent) > 1 {
            error = Some("D3082");
        }
        if count(p.per_mille) > 1 {
            error = Some("D3083");
        }
        if count(p.percent) > 0 && count(p.per_mille) > 0 {
            error = Some("D3084");
        }
        if !parts.mantissa.iter().any(|&c| is_family(c) || c == p.digit) {
            error = Some("D3085");
        }
        if parts.active.iter().any(|&c| !is_active(c)) {
            error = Some("D3086");
        }
        let decimal_pos = sub.iter().position(|&c| c == p.decimal);
        if let Some(dp) = decimal_pos {
            if (dp > 0 && sub[dp - 1] == p.grouping) || sub.get(dp + 1) == Some(&p.grouping) {
                error = Some("D3087");
            }
        } else if parts.integer.last() == Some(&p.grouping) {
            error = Some("D3088");
        }
        if sub
            .windows(2)
            .any(|w| w[0] == p.grouping && w[1] == p.grouping)
        {
            error = Some("D3089");
        }
        if let Some(op) = parts.integer.iter().position(|&c| c == p.digit)
            && parts.integer[..op].iter().any(|&c| is_family(c))
        {
            error = Some("D3090");
        }
        if let Some(op) = parts.fractional.iter().rposition(|&c| c == p.digit)
            && parts.fractional[op..].iter().any(|&c| is_family(c))
        {
            error = Some("D3091");
        }
        if let Some(exp) = &parts.exponent {
            if !exp.is_empty() && (count(p.percent) > 0 || count(p.per_mille) > 0) {
                error = Some("D3092");
            }
            if exp.is_empty() || exp.iter().any(|&c| !is_family(c)) {
                error = Some("D3093");
            }
        }
        if let Some(code) = error {
            return Err(Err::new(code));
        }
    }
    let analyse = |parts: &Parts| -> Analysis {
        let grouping_positions = |part: &[char], to_left: bool| -> Vec<usize> {
            let mut positions = Vec::new();
            let mut gp = index_of(part, p.grouping, 0);
            while let Some(g) = gp {
                let side: &[char] = if to_left {
                    &part[..g.min(part.len())]
                } else {
                    part.get(g..).unwrap_or(&[])
                };
                positions.push(
                    side.iter()
                        .filter(|&&c| is_family(c) || c == p.digit)
                        .count(),
                );
                gp = index_of(&parts.integer, p.grouping, g + 1);
            }
            positions
        };
        let integer_grouping = grouping_positions(&parts.integer, false);
        let regular = |idx: &[usize]| -> usize {
            if idx.is_empty() {
                return 0;
            }
            let factor = idx.iter().copied().reduce(gcd).unwrap_or(0);
            for i in 1..=idx.len() {
                if !idx.contains(&(i * factor)) {
                    return 0;
                }
            }
            factor
        };
        let regular_grouping = regular(&integer_grouping);
        let fractional_grouping = grouping_positions(&parts.fractional, true);
        let mut min_int = parts.integer.iter().filter(|&&c| is_family(c)).count();
        let scaling = min_int as i32;
        let mut min_frac = parts.fractional.iter().filter(|&&c| is_family(c)).count();
        let mut max_frac = parts
            .fractional
            .iter()
            .filter(|&&c| is_family(c) || c == p.digit)
            .count();
        let exp_present = parts.exponent.is_some();
        if min_int == 0 && max_frac == 0 {
            if exp_present {
                min_frac = 1;
                max_frac = 1;
            } else {
                min_int = 1;
            }
        }
        if exp_present && min_int == 0 && parts.integer.contains(&p.digit) {
            min_int = 1;
        }
        if min_int == 0 && min_frac == 0 {
            min_frac = 1;
        }
        let min_exp = parts
            .exponent
            .as_ref()
            .map_or(0, |e| e.iter().filter(|&&c| is_family(c)).count());
        Analysis {
            integer_grouping,
            regular_grouping,
            min_int,
            scaling,
            prefix: parts.prefix.iter().collect(),
            fractional_grouping,
            min_frac,
            max_frac,
            min_exp,
            suffix: parts.suffix.iter().collect(),
            picture: parts.sub.clone(),
        }
    };
    let mut vars: Vec<Analysis> = parts.iter().map(analyse).collect();
    if vars.len() == 1 {
        let mut neg = vars[0].clone();
        neg.prefix = format!("{}{}", p.minus, neg.prefix);
        vars.push(neg);
    }
    let pic = if value >= 0.0 { &vars[0] } else { &vars[1] };
    let adjusted = if pic.picture.contains(&p.percent) {
        value * 100.0
    } else if pic.picture.contains(&p.per_mille) {
        value * 1000.0
    } else {
        value
    };
    let mut mantissa = adjusted;
    let mut exponent: Option<i32> = None;
    if pic.min_exp != 0 {
        let max_m = 10f64.powi(pic.scaling);
        let min_m = 10f64.powi(pic.scaling - 1);
        let mut e = 0;
        if mantissa != 0.0 && mantissa.is_finite() {
            while mantissa.abs() < min_m {
                mantissa *= 10.0;
                e -= 1;
            }
            while mantissa.abs() > max_m {
                mantissa /= 10.0;
                e += 1;
            }
        }
        exponent = Some(e);
    }
    let rounded = round(mantissa, pic.max_frac as i32);
    let make_string = |v: f64, dp: usize| -> Vec<char> {
        let s = to_fixed(v.abs(), dp);
        s.chars()
            .map(|c| {
                if c.is_ascii_digit() {
                    family[(c as u8 - b'0') as usize]
                } else {
                    c
                }
            })
            .collect()
    };
    let mut sv = make_string(rounded, pic.max_frac);
    match sv.iter().position(|&c| c == '.') {
        None => sv.push(p.decimal),
        Some(i) => sv[i] = p.decimal,
    }
    while sv.first() == Some(&p.zero) {
        sv.remove(0);
    }
    while sv.last() == Some(&p.zero) {
        sv.pop();
    }
    let dpos = |sv: &Vec<char>| sv.iter().position(|&c| c == p.decimal).unwrap_or(sv.len());
    let mut decimal_pos = dpos(&sv);
    let pad_left = pic.min_int as i64 - decimal_pos as i64;
    let pad_right = pic.min_frac as i64 - (sv.len() as i64 - decimal_pos as i64 - 1);
    if pad_left > 0 {
        let mut v: Vec<char> = std::iter::repeat_n(p.zero, pad_left as usize).collect();
        v.extend(sv);
        sv = v;
    }
    if pad_right > 0 {
        sv.extend(std::iter::repeat_n(p.zero, pad_right as usize));
    }
    decimal_pos = dpos(&sv);
    if pic.regular_grouping > 0 {
        let rg = pic.regular_grouping;
        let group_count = if decimal_pos == 0 {
            0
        } else {
            (decimal_pos - 1) / rg
        };
        for group in 1..=group_count {
            let at = decimal_pos - group * rg;
            sv.insert(at, p.grouping);
        }
    } else {
        for &pos in &pic.integer_grouping {
            let at = decimal_pos.saturating_sub(pos);
            sv.insert(at, p.grouping);
            decimal_pos += 1;
        }
    }
    decimal_pos = dpos(&sv);
    for &pos in &pic.fractional_grouping {
        let at = (pos + decimal_pos + 1).min(sv.len());
        sv.insert(at, p.grouping);
    }
    decimal_pos = dpos(&sv);
    if !pic.picture.contains(&p.decimal) || decimal_pos + 1 == sv.len() {
        sv.pop();
    }
    let mut out: String = sv.into_iter().collect();
    if let Some(e) = exponent {
        let mut se: String = make_string(e as f64, 0).into_iter().collect();
        let pad = pic.min_exp as i64 - se.chars().count() as i64;
        if pad > 0 {
            se = format!("{}{}", p.zero.to_string().repeat(pad as usize), se);
        }
        out = format!(
            "{out}{}{}{se}",
            p.exponent,
            if e < 0 { p.minus.as_str() } else { "" }
        );
    }
    Ok(format!("{}{}{}", pic.prefix, out, pic.suffix))
}
