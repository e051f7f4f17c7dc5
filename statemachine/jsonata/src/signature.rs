//! Function signatures (`<s-n?:s>`): a port of jsonata-js `signature.js`.

use regex::Regex;

use crate::error::{Err, ErrExt, R};
use crate::value::Value;

#[derive(Debug, Clone, Default)]
struct Param {
    regex: String,
    ty: String,
    context: bool,
    context_regex: Option<Regex>,
    subtype: Option<String>,
}

#[derive(Debug)]
pub(crate) struct Signature {
    params: Vec<Param>,
    regex: Regex,
}

fn symbol(v: &Value) -> char {
    match v {
        Value::Func(_) => 'f',
        Value::Str(_) => 's',
        Value::Num(_) => 'n',
        Value::Bool(_) => 'b',
        Value::Null => 'l',
        Value::Arr(..) | Value::Tuples(_) => 'a',
        Value::Obj(_) => 'o',
        Value::Undefined => 'm',
    }
}

fn array_mapping(c: &str) -> &'static str {
    match c {
        "a" => "arrays",
        "b" => "booleans",
        "f" => "functions",
        "n" => "numbers",
        "o" => "objects",
        "s" => "strings",
        _ => "undefined",
    }
}

fn find_closing(chars: &[char], start: usize, open: char, close: char) -> usize {
    let mut depth = 1;
    let mut pos = start;
    while pos < chars.len() {
        pos += 1;
        match chars.get(pos) {
            Some(c) if *c == close => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            Some(c) if *c == open => depth += 1,
            _ => {}
        }
    }
    pos
}

impl Signature {
    pub fn parse(signature: &str) -> R<Signature> {
        let chars: Vec<char> = signature.chars().collect();
        let mut position = 1;
        let mut params: Vec<Param> = Vec::new();
        let mut param = Param::default();
        while position < chars.len() {
            let symbol = chars[position];
            if symbol == ':' {
                break;
            }
            match symbol {
                's' | 'n' | 'b' | 'l' | 'o' => {
                    param.regex = format!("[{symbol}m]");
                    param.ty = symbol.to_string();
                    params.push(std::mem::take(&mut param));
                }
                'a' => {
                    param.regex = "[asnblfom]".into();
                    param.ty = "a".into();
                    params.push(std::mem::take(&mut param));
                }
                'f' => {
                    param.regex = "f".into();
                    param.ty = "f".into();
                    params.push(std::mem::take(&mut param));
                }
                'j' => {
                    param.regex = "[asnblom]".into();
                    param.ty = "j".into();
                    params.push(std::mem::take(&mut param));
                }
                'x' => {
                    param.regex = "[asnblfom]".into();
                    param.ty = "x".into();
                    params.push(std::mem::take(&mut param));
                }
                '-' => {
                    if let Some(prev) = params.last_mut() {
                        prev.context = true;
                        prev.context_regex = Regex::new(&format!("^{}$", prev.regex)).ok();
                        prev.regex.push('?');
                    }
                }
                '?' | '+' => {
                    if let Some(prev) = params.last_mut() {
                        prev.regex.push(symbol);
                    }
                }
                '(' => {
                    let end = find_closing(&chars, position, '(', ')');
                    let choice: String = chars[position + 1..end.min(chars.len())].iter().collect();
                    if choice.contains('<') {
                        return Err(Err::at("S0402", position).with_value_text(choice));
                    }
                    param.regex = format!("[{choice}m]");
                    param.ty = format!("({choice})");
                    position = end;
                    params.push(std::mem::take(&mut param));
                }
                '<' => {
                    let prev_ty = params.last().map(|p| p.ty.clone()).unwrap_or_default();
                    if prev_ty == "a" || prev_ty == "f" {
                        let end = find_closing(&chars, position, '<', '>');
                        let sub: String =
                            chars[position + 1..end.min(chars.len())].iter().collect();
                        if let Some(prev) = params.last_mut() {
                            prev.subtype = Some(sub);
                        }
                        position = end;
                    } else {
                        return Err(Err::at("S0401", position).with_value_text(prev_ty));
                    }
                }
                _ => {}
            }
            position += 1;
        }
        let regex_str = format!(
            "^{}$",
            params
                .iter()
                .map(|p| format!("({})", p.regex))
                .collect::<String>()
        );
        let regex = Regex::new(&regex_str).map_err(|_| Err::at("S0401", 0))?;
        Ok(Signature { params, regex })
    }

    /// Validates (and fixes up) arguments; errors carry `index` but not the function name.
    pub fn validate(&self, args: &[Value], context: &Value) -> R<Vec<Value>> {
        let supplied: String = args.iter().map(symbol).collect();
        let Some(caps) = self.regex.captures(&supplied) else {
            return Err(self.validation_error(args, &supplied));
        };
        let mut validated = Vec::with_capacity(self.params.len());
        let mut arg_index = 0;
        for (index, param) in self.params.iter().enumerate() {
            let m = caps.get(index + 1).map_or("", |m| m.as_str());
            if m.is_empty() {
                if param.context
                    && let Some(cre) = &param.context_regex
                {
                    if cre.is_match(&symbol(context).to_string()) {
                        validated.push(context.clone());
                    } else {
                        return Err(Err::new("T0411")
                            .with_value_opt(context)
                            .with_index(arg_index + 1));
                    }
                } else {
                    validated.push(args.get(arg_index).cloned().unwrap_or_default());
                    arg_index += 1;
                }
            } else {
                for single in m.chars() {
                    let arg = args.get(arg_index).cloned().unwrap_or_default();
                    if param.ty == "a" {
                        if single == 'm' {
                            validated.push(Value::Undefined);
                        } else {
                            let mut ok = true;
                            if let Some(sub) = &param.subtype {
                                if single != 'a' && m != sub {
                                    ok = false;
                                } else if single == 'a' {
                                    let items = arg.items();
                                    if let Some(first) = items.first() {
                                        let it = symbol(first);
                                        if !sub.starts_with(it) {
                                            ok = false;
                                        } else {
                                            ok = items.iter().all(|v| symbol(v) == it);
                                        }
                                    }
                                }
                                if !ok {
                                    let mut e = Err::new("T0412")
                                        .with_value_opt(&arg)
                                        .with_index(arg_index + 1);
                                    e.type_ = Some(array_mapping(sub).to_owned());
                                    return Err(e);
                                }
                            }
                            validated.push(if single == 'a' {
                                arg
                            } else {
                                Value::arr(vec![arg])
                            });
                        }
                    } else {
                        validated.push(arg);
                    }
                    arg_index += 1;
                }
            }
        }
        Ok(validated)
    }

    fn validation_error(&self, args: &[Value], supplied: &str) -> Box<Err> {
        let mut partial = String::from("^");
        let mut good_to = 0;
        for p in &self.params {
            partial.push_str(&p.regex);
            let matched = Regex::new(&partial)
                .ok()
                .and_then(|r| r.find(supplied).map(|m| m.end()));
            match matched {
                None => break,
                Some(end) => good_to = end,
            }
        }
        let value = args.get(good_to).cloned().unwrap_or_default();
        Err::new("T0410")
            .with_value_opt(&value)
            .with_index(good_to + 1)
    }
}

pub(crate) trait WithValue {
    fn with_value_opt(self, v: &Value) -> Self;
}

impl WithValue for Box<Err> {
    fn with_value_opt(mut self, v: &Value) -> Self {
        self.value = v.to_json();
        self
    }
}
