//! Translation of JavaScript regular expression literals to the `regex` crate's syntax.

use crate::ast::RegexLit;

/// Compiles a JavaScript regex body and flags (`i`, `m`). Lookaround and back-references have no
/// equivalent in the `regex` crate and are reported as errors.
pub(crate) fn compile(pattern: &str, flags: &str) -> Result<RegexLit, String> {
    let translated = translate(pattern)?;
    let mut prefix = String::new();
    if flags.contains('i') || flags.contains('m') {
        prefix.push_str("(?");
        if flags.contains('i') {
            prefix.push('i');
        }
        if flags.contains('m') {
            prefix.push('m');
        }
        prefix.push(')');
    }
    let regex = regex::Regex::new(&format!("{prefix}{translated}"))
        .map_err(|e| format!("/{pattern}/: {e}"))?;
    Ok(RegexLit {
        source: pattern.to_owned(),
        regex,
    })
}

fn is_quantifier_brace(chars: &[char], i: usize) -> bool {
    // `{n}`, `{n,}`, `{n,m}`
    let mut j = i + 1;
    let start = j;
    while j < chars.len() && chars[j].is_ascii_digit() {
        j += 1;
    }
    if j == start {
        return false;
    }
    if j < chars.len() && chars[j] == ',' {
        j += 1;
        while j < chars.len() && chars[j].is_ascii_digit() {
            j += 1;
        }
    }
    j < chars.len() && chars[j] == '}'
}

fn translate(pattern: &str) -> Result<String, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    let unsupported = |what: &str| Err(format!("/{pattern}/ uses {what}, which is not supported"));
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                let Some(&n) = chars.get(i + 1) else {
                    return unsupported("a trailing backslash");
                };
                i += 2;
                match n {
                    'd' => out.push_str(if in_class { "0-9" } else { "[0-9]" }),
                    'D' => out.push_str("[^0-9]"),
                    'w' => out.push_str(if in_class {
                        "A-Za-z0-9_"
                    } else {
                        "[A-Za-z0-9_]"
                    }),
                    'W' => out.push_str("[^A-Za-z0-9_]"),
                    's' | 'S' | 'b' | 'B' | 'n' | 'r' | 't' | 'f' | 'v' => {
                        if n == 'b' && in_class {
                            out.push_str("\\x08");
                        } else if n == 'v' {
                            out.push_str("\\x0B");
                        } else {
                            out.push('\\');
                            out.push(n);
                        }
                    }
                    '0' => out.push_str("\\x00"),
                    '1'..='9' => return unsupported("a back-reference"),
                    'x' => out.push_str("\\x"),
                    'u' => {
                        if chars.get(i) == Some(&'{') {
                            out.push_str("\\u");
                        } else {
                            let hex: String = chars.iter().skip(i).take(4).collect();
                            out.push_str(&format!("\\u{{{hex}}}"));
                            i += hex.chars().count();
                        }
                    }
                    'c' => {
                        let Some(&l) = chars.get(i) else {
                            return unsupported("\\c");
                        };
                        i += 1;
                        out.push_str(&format!("\\x{:02X}", (l as u32) % 32));
                    }
                    'k' => return unsupported("a named back-reference"),
                    'p' | 'P' => {
                        out.push('\\');
                        out.push(n);
                    }
                    other if other.is_ascii_alphanumeric() => {
                        // JavaScript treats unknown escapes as the literal letter
                        out.push(other);
                    }
                    other => out.push_str(&regex::escape(&other.to_string())),
                }
                continue;
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.get(i + 1) == Some(&'^') {
                    out.push('^');
                    i += 1;
                    if chars.get(i + 1) == Some(&']') {
                        // `[^]` matches anything
                        out.pop();
                        out.pop();
                        out.push_str("(?s:.)");
                        in_class = false;
                        i += 2;
                        continue;
                    }
                } else if chars.get(i + 1) == Some(&']') {
                    // `[]` matches nothing
                    out.pop();
                    out.push_str("[^\\x00-\\x{10FFFF}]");
                    i += 2;
                    in_class = false;
                    continue;
                }
                if chars.get(i + 1) == Some(&']') {
                    out.push_str("\\]");
                    i += 1;
                }
            }
            '[' => out.push_str("\\["),
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '&' | '~' | '-' if in_class => {
                if c == '-' {
                    out.push('-');
                } else {
                    out.push('\\');
                    out.push(c);
                }
            }
            '(' if !in_class && chars.get(i + 1) == Some(&'?') => {
                let rest: String = chars.iter().skip(i).take(4).collect();
                if rest.starts_with("(?=")
                    || rest.starts_with("(?!")
                    || rest.starts_with("(?<=")
                    || rest.starts_with("(?<!")
                {
                    return unsupported("a lookaround assertion");
                }
                out.push('(');
            }
            '{' if !in_class => {
                if is_quantifier_brace(&chars, i) {
                    out.push('{');
                } else {
                    out.push_str("\\{");
                }
            }
            '}' if !in_class => {
                // a closing brace of a quantifier has been copied with its opening brace
                let opened = out
                    .rfind('{')
                    .is_some_and(|p| !out[p..].contains('}') && !out[..p].ends_with('\\'));
                if opened {
                    out.push('}');
                } else {
                    out.push_str("\\}");
                }
            }
            _ => out.push(c),
        }
        i += 1;
    }
    Ok(out)
}
