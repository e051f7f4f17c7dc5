//! Choice rules: every comparison operator of the specification, `And` / `Or` / `Not`, and
//! the type tests (`IsNull`, `IsPresent`, `IsNumeric`, `IsString`, `IsBoolean`, `IsTimestamp`).

use asl::model::{ChoiceRule, Comparison, ComparisonOperator as Op};
use asl::path::parse_reference_path;
use serde_json::Value;

use super::parse_timestamp;
use super::paths::{ContextObject, Roots, select};
use super::template::path_failure;
use crate::error::StatesError;

fn lookup(path: &str, input: &Value, ctx: &ContextObject) -> Result<Option<Value>, StatesError> {
    let parsed = parse_reference_path(path)
        .map_err(|e| StatesError::runtime(format!("invalid path '{path}': {e}")))?;
    select(
        &parsed,
        Roots {
            input,
            context: ctx,
        },
    )
    .map_err(path_failure)
}

/// Whether `rule` matches the effective input.
pub fn rule_matches(
    rule: &ChoiceRule,
    input: &Value,
    ctx: &ContextObject,
) -> Result<bool, StatesError> {
    if let Some(rules) = &rule.and {
        for r in rules {
            if !rule_matches(r, input, ctx)? {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    if let Some(rules) = &rule.or {
        for r in rules {
            if rule_matches(r, input, ctx)? {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    if let Some(inner) = &rule.not {
        return Ok(!rule_matches(inner, input, ctx)?);
    }
    let (Some(variable), Some(comparison)) = (&rule.variable, rule.comparisons.first()) else {
        return Err(StatesError::runtime(
            "a Choice rule needs Variable and one comparison operator (Condition is JSONata)",
        ));
    };
    let value = lookup(variable, input, ctx)?;
    compare(variable, value.as_ref(), comparison, input, ctx)
}

/// `*` matches any run of characters; `\*` is a literal star and `\\` a backslash.
pub fn string_matches(text: &str, pattern: &str) -> bool {
    #[derive(PartialEq)]
    enum Tok {
        Lit(char),
        Star,
    }
    let mut toks = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) => toks.push(Tok::Lit(n)),
                None => toks.push(Tok::Lit('\\')),
            },
            '*' => toks.push(Tok::Star),
            c => toks.push(Tok::Lit(c)),
        }
    }
    let text: Vec<char> = text.chars().collect();
    // Classic wildcard matching with backtracking on the last star.
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < toks.len() && toks[p] == Tok::Lit(text[t]) {
            t += 1;
            p += 1;
        } else if p < toks.len() && toks[p] == Tok::Star {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while p < toks.len() && toks[p] == Tok::Star {
        p += 1;
    }
    p == toks.len()
}

/// A timestamp as the service reads one: an ISO-8601 extended offset date-time
/// ([`asl::timestamp::is_offset_date_time`]: `T` between date and time, an offset), then a
/// valid calendar date and time. RFC 3339's space separator is not accepted.
fn timestamp(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    asl::timestamp::is_offset_date_time(text)
        .then(|| parse_timestamp(text))
        .flatten()
}

fn is_timestamp(value: &Value) -> bool {
    value.as_str().and_then(timestamp).is_some()
}

fn compare(
    variable: &str,
    value: Option<&Value>,
    comparison: &Comparison,
    input: &Value,
    ctx: &ContextObject,
) -> Result<bool, StatesError> {
    let op = comparison.operator;
    if op.is_type_test() {
        let expected = comparison
            .value
            .as_bool()
            .ok_or_else(|| StatesError::runtime(format!("{} takes a boolean", op.name())))?;
        let actual = match op {
            Op::IsPresent => value.is_some(),
            Op::IsNull => value.is_some_and(Value::is_null),
            Op::IsNumeric => value.is_some_and(Value::is_number),
            Op::IsString => value.is_some_and(Value::is_string),
            Op::IsBoolean => value.is_some_and(Value::is_boolean),
            _ => value.is_some_and(is_timestamp),
        };
        return Ok(actual == expected);
    }
    let Some(value) = value else {
        return Err(StatesError::runtime(format!(
            "Invalid path '{variable}': The choice state's condition path references an invalid value."
        )));
    };
    let operand = if op.is_path() {
        let path = comparison
            .value
            .as_str()
            .ok_or_else(|| StatesError::runtime(format!("{} takes a path", op.name())))?;
        lookup(path, input, ctx)?.ok_or_else(|| {
            StatesError::runtime(format!(
                "Invalid path '{path}': The choice state's condition path references an invalid value."
            ))
        })?
    } else {
        comparison.value.clone()
    };
    let name = op.name().trim_end_matches("Path");
    let ordering = |kind: &str| -> Option<std::cmp::Ordering> {
        match kind {
            "String" => match (value.as_str(), operand.as_str()) {
                (Some(a), Some(b)) => Some(a.cmp(b)),
                _ => None,
            },
            "Numeric" => match (value.as_f64(), operand.as_f64()) {
                (Some(a), Some(b)) if value.is_number() && operand.is_number() => a.partial_cmp(&b),
                _ => None,
            },
            "Timestamp" => match (
                value.as_str().and_then(timestamp),
                operand.as_str().and_then(timestamp),
            ) {
                (Some(a), Some(b)) => Some(a.cmp(&b)),
                _ => None,
            },
            _ => None,
        }
    };
    if name == "StringMatches" {
        return Ok(match (value.as_str(), operand.as_str()) {
            (Some(text), Some(pattern)) => string_matches(text, pattern),
            _ => false,
        });
    }
    if name == "BooleanEquals" {
        return Ok(value.is_boolean() && operand.is_boolean() && value == &operand);
    }
    for kind in ["String", "Numeric", "Timestamp"] {
        if let Some(rest) = name.strip_prefix(kind) {
            let Some(o) = ordering(kind) else {
                return Ok(false);
            };
            return Ok(match rest {
                "Equals" => o.is_eq(),
                "LessThan" => o.is_lt(),
                "GreaterThan" => o.is_gt(),
                "LessThanEquals" => o.is_le(),
                "GreaterThanEquals" => o.is_ge(),
                _ => false,
            });
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_matches_handles_wildcards_and_escapes() {
        assert!(string_matches("log-2024.txt", "log-*.txt"));
        assert!(string_matches("a*b", "a\\*b"));
        assert!(!string_matches("axb", "a\\*b"));
        assert!(string_matches("anything", "*"));
        assert!(!string_matches("log.csv", "log-*"));
    }
}
