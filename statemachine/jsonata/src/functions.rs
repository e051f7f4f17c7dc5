//! The built-in functions: a port of jsonata-js `functions.js`.

use std::rc::Rc;
use std::sync::OnceLock;

use base64::Engine;

use crate::ast::RegexLit;
use crate::error::{Err, ErrExt, R};
use crate::eval::{Ctx, append, cmp_js_str, merge_sort};
use crate::signature::Signature;
use crate::value::{
    Frame, Func, Map, SEQ, Value, deep_equal, stringify, to_boolean, truthy, utf16_len,
};

pub(crate) struct BuiltinDef {
    pub name: &'static str,
    pub sig: &'static str,
    pub arity: usize,
    signature: OnceLock<Signature>,
}

impl BuiltinDef {
    pub fn signature(&self) -> &Signature {
        self.signature.get_or_init(|| {
            Signature::parse(self.sig)
                .unwrap_or_else(|_| Signature::parse("<x*>").unwrap_or_else(|_| unreachable_sig()))
        })
    }
}

fn unreachable_sig() -> Signature {
    panic!("built-in signature does not parse")
}

macro_rules! builtins {
    ($(($name:literal, $sig:literal, $arity:literal)),* $(,)?) => {
        static BUILTINS: [BuiltinDef; [$($name),*].len()] = [
            $(BuiltinDef { name: $name, sig: $sig, arity: $arity, signature: OnceLock::new() }),*
        ];
    };
}

builtins![
    ("sum", "<a<n>:n>", 1),
    ("count", "<a:n>", 1),
    ("max", "<a<n>:n>", 1),
    ("min", "<a<n>:n>", 1),
    ("average", "<a<n>:n>", 1),
    ("string", "<x-b?:s>", 1),
    ("substring", "<s-nn?:s>", 3),
    ("substringBefore", "<s-s:s>", 2),
    ("substringAfter", "<s-s:s>", 2),
    ("lowercase", "<s-:s>", 1),
    ("uppercase", "<s-:s>", 1),
    ("length", "<s-:n>", 1),
    ("trim", "<s-:s>", 1),
    ("pad", "<s-ns?:s>", 3),
    ("match", "<s-f<s:o>n?:a<o>>", 3),
    ("contains", "<s-(sf):b>", 2),
    ("replace", "<s-(sf)(sf)n?:s>", 4),
    ("split", "<s-(sf)n?:a<s>>", 3),
    ("join", "<a<s>s?:s>", 2),
    ("formatNumber", "<n-so?:s>", 3),
    ("formatBase", "<n-n?:s>", 2),
    ("formatInteger", "<n-s:s>", 2),
    ("parseInteger", "<s-s:n>", 2),
    ("number", "<(nsb)-:n>", 1),
    ("floor", "<n-:n>", 1),
    ("ceil", "<n-:n>", 1),
    ("round", "<n-n?:n>", 2),
    ("abs", "<n-:n>", 1),
    ("sqrt", "<n-:n>", 1),
    ("power", "<n-n:n>", 2),
    ("random", "<:n>", 0),
    ("boolean", "<x-:b>", 1),
    ("not", "<x-:b>", 1),
    ("map", "<af>", 2),
    ("zip", "<a+>", 0),
    ("filter", "<af>", 2),
    ("single", "<af?>", 2),
    ("reduce", "<afj?:j>", 3),
    ("sift", "<o-f?:o>", 2),
    ("keys", "<x-:a<s>>", 1),
    ("lookup", "<x-s:x>", 2),
    ("append", "<xx:a>", 2),
    ("exists", "<x:b>", 1),
    ("spread", "<x-:a<o>>", 1),
    ("merge", "<a<o>:o>", 1),
    ("reverse", "<a:a>", 1),
    ("each", "<o-f:a>", 2),
    ("error", "<s?:x>", 1),
    ("assert", "<bs?:x>", 2),
    ("type", "<x:s>", 1),
    ("sort", "<af?:a>", 2),
    ("shuffle", "<a:a>", 1),
    ("distinct", "<x:x>", 1),
    ("base64encode", "<s-:s>", 1),
    ("base64decode", "<s-:s>", 1),
    ("encodeUrlComponent", "<s-:s>", 1),
    ("encodeUrl", "<s-:s>", 1),
    ("decodeUrlComponent", "<s-:s>", 1),
    ("decodeUrl", "<s-:s>", 1),
    ("eval", "<sx?:x>", 2),
    ("toMillis", "<s-s?:n>", 2),
    ("fromMillis", "<n-s?s?:s>", 3),
    ("clone", "<(oa)-:o>", 1),
    ("now", "<s?s?:s>", 2),
    ("millis", "<:n>", 0),
];

pub(crate) fn builtin(name: &str) -> Option<&'static BuiltinDef> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// jsonata-js `string` (for `&` and `$string`).
pub(crate) fn to_js_string(v: &Value) -> R<String> {
    Ok(match v {
        Value::Str(s) => s.to_string(),
        Value::Func(_) => String::new(),
        Value::Num(n) if !n.is_finite() => {
            return Err(Err::new("D3001").with_value(serde_json::Value::Null));
        }
        Value::Arr(a, f) if f & crate::value::OUTER != 0 && !a.is_empty() => {
            stringify(&a[0], false, true)
        }
        other => {
            if let Some(n) = crate::value::find_non_finite(other) {
                let _ = n;
                return Err(Err::new("D1001").with_value(serde_json::Value::Null));
            }
            stringify(other, false, true)
        }
    })
}

fn num(v: &Value) -> f64 {
    v.as_num().unwrap_or(f64::NAN)
}

fn opt_num(v: Option<&Value>) -> Option<f64> {
    v.and_then(Value::as_num)
}

fn js_slice(len: usize, start: f64, end: Option<f64>) -> (usize, usize) {
    let len_f = len as f64;
    let norm = |x: f64| -> usize {
        let x = if x.is_nan() { 0.0 } else { x.trunc() };
        if x < 0.0 {
            (len_f + x).max(0.0) as usize
        } else {
            x.min(len_f) as usize
        }
    };
    let s = norm(start);
    let e = end.map_or(len, norm);
    (s, e.max(s))
}

fn arg(args: &[Value], i: usize) -> Value {
    args.get(i).cloned().unwrap_or_default()
}

/// A regex match (byte offsets).
pub(crate) struct Match {
    pub text: String,
    pub start: usize,
    pub end: usize,
    pub groups: Vec<Value>,
}

fn exec_at(re: &RegexLit, s: &str, from: usize) -> Option<Match> {
    if from > s.len() || !s.is_char_boundary(from) {
        return None;
    }
    let caps = re.regex.captures_at(s, from)?;
    let m = caps.get(0)?;
    let groups = (1..caps.len())
        .map(|i| {
            caps.get(i)
                .map_or(Value::Undefined, |g| Value::str(g.as_str()))
        })
        .collect();
    Some(Match {
        text: m.as_str().to_owned(),
        start: m.start(),
        end: m.end(),
        groups,
    })
}

/// All matches as jsonata-js iterates them (`exec` with the `g` flag, D1004 on empty repeats).
fn regex_matches(re: &RegexLit, s: &str, limit: Option<usize>) -> R<Vec<Match>> {
    let mut out = Vec::new();
    let Some(first) = exec_at(re, s, 0) else {
        return Ok(out);
    };
    let mut last_index = first.end;
    out.push(first);
    loop {
        if limit.is_some_and(|l| out.len() >= l) {
            break;
        }
        if last_index >= s.len() {
            break;
        }
        match exec_at(re, s, last_index) {
            None => break,
            Some(m) => {
                if m.text.is_empty() {
                    return Err(Err::new("D1004").with_value_text(re.source.clone()));
                }
                last_index = m.end;
                out.push(m);
            }
        }
    }
    Ok(out)
}

fn match_object(s: &str, m: &Match) -> Map {
    let mut o = Map::new();
    o.insert("match".into(), Value::str(&m.text));
    o.insert("start".into(), Value::Num(utf16_len(&s[..m.start]) as f64));
    o.insert("end".into(), Value::Num(utf16_len(&s[..m.end]) as f64));
    o.insert("groups".into(), Value::arr(m.groups.clone()));
    o
}

/// The result of invoking a regex as a function: a match object with `next`.
pub(crate) fn regex_exec_object(re: &Arc<RegexLit>, s: &str, from: usize) -> R<Value> {
    let Some(m) = exec_at(re, s, from) else {
        return Ok(Value::Undefined);
    };
    let mut o = match_object(s, &m);
    let next_from = m.end;
    o.insert(
        "next".into(),
        Value::Func(Rc::new(Func::Native(native_next(
            re.clone(),
            s.to_owned(),
            next_from,
        )))),
    );
    Ok(Value::obj(o))
}

use std::sync::Arc;

fn native_next(re: Arc<RegexLit>, s: String, from: usize) -> crate::NativeFunction {
    #[allow(clippy::result_large_err)]
    Arc::new(
        move |_args| -> Result<Option<serde_json::Value>, crate::Error> {
            if from >= s.len() {
                return Ok(None);
            }
            match exec_at(&re, &s, from) {
                None => Ok(None),
                Some(m) if m.text.is_empty() => Err(Err::new("D1004")
                    .with_value_text(re.source.clone())
                    .as_ref()
                    .clone()
                    .into_public()),
                Some(m) => {
                    let o = match_object(&s, &m);
                    Ok(Value::obj(o).to_json())
                }
            }
        },
    )
}

/// A matcher's results in the custom-matcher protocol (a function returning match objects).
struct CustomMatch {
    text: String,
    start: usize,
    end: usize,
    groups: Vec<Value>,
    next: Value,
}

impl Ctx<'_> {
    fn custom_match(&mut self, f: &Value, s: &Value, env: &Rc<Frame>) -> R<Option<CustomMatch>> {
        let r = self.call(f, vec![s.clone()], env)?;
        match &r {
            Value::Undefined => Ok(None),
            Value::Obj(o) => {
                let start = o.get("start").and_then(Value::as_num);
                let end = o.get("end").and_then(Value::as_num);
                let groups = o.get("groups");
                let next = o.get("next").cloned().unwrap_or_default();
                if start.is_none() && !matches!(groups, Some(Value::Arr(..))) && !next.is_func() {
                    return Err(Err::new("T1010"));
                }
                Ok(Some(CustomMatch {
                    text: o
                        .get("match")
                        .and_then(|m| m.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    start: start.unwrap_or(0.0) as usize,
                    end: end.unwrap_or(0.0) as usize,
                    groups: groups.map(|g| g.items().to_vec()).unwrap_or_default(),
                    next,
                }))
            }
            _ => Err(Err::new("T1010")),
        }
    }

    /// Matches in UTF-16 offsets for custom matchers, byte offsets converted for regexes.
    fn all_matches(
        &mut self,
        matcher: &Value,
        s: &str,
        limit: Option<usize>,
        env: &Rc<Frame>,
    ) -> R<Vec<Match>> {
        if let Value::Func(f) = matcher
            && let Func::Regex(re) = &**f
        {
            return regex_matches(re, s, limit);
        }
        // custom matcher: offsets are UTF-16 code units; convert to byte offsets
        let to_byte = |u: usize| -> usize {
            let mut count = 0;
            for (i, c) in s.char_indices() {
                if count >= u {
                    return i;
                }
                count += c.len_utf16();
            }
            s.len()
        };
        let mut out = Vec::new();
        let mut cur = self.custom_match(matcher, &Value::str(s), env)?;
        while let Some(m) = cur {
            if limit.is_some_and(|l| out.len() >= l) {
                break;
            }
            self.charge(1)?;
            let next = m.next.clone();
            out.push(Match {
                text: m.text,
                start: to_byte(m.start),
                end: to_byte(m.end),
                groups: m.groups,
            });
            cur = if next.is_func() {
                self.custom_match(&next, &Value::Undefined, env)?
            } else {
                None
            };
        }
        Ok(out)
    }

    fn hof_args(f: &Value, v: Value, i: Value, whole: &Value) -> Vec<Value> {
        let arity = match f {
            Value::Func(f) => f.arity(),
            _ => 1,
        };
        let mut args = vec![v];
        if arity >= 2 {
            args.push(i);
        }
        if arity >= 3 {
            args.push(whole.clone());
        }
        args
    }

    #[inline(never)]
    pub(crate) fn call_builtin(
        &mut self,
        def: &BuiltinDef,
        args: Vec<Value>,
        input: &Value,
        env: &Rc<Frame>,
    ) -> R<Value> {
        let a0 = arg(&args, 0);
        let undef0 = a0.is_undef();
        Ok(match def.name {
            "sum" => {
                if undef0 {
                    return Ok(Value::Undefined);
                }
                Value::Num(a0.items().iter().map(num).sum())
            }
            "count" => Value::Num(if undef0 { 0.0 } else { a0.items().len() as f64 }),
            "max" | "min" => {
                let items = a0.items();
                if items.is_empty() {
                    return Ok(Value::Undefined);
                }
                let it = items.iter().map(num);
                Value::Num(if def.name == "max" {
                    it.fold(f64::NEG_INFINITY, |a, b| {
                        if a.is_nan() || b.is_nan() {
                            f64::NAN
                        } else {
                            a.max(b)
                        }
                    })
                } else {
                    it.fold(f64::INFINITY, |a, b| {
                        if a.is_nan() || b.is_nan() {
                            f64::NAN
                        } else {
                            a.min(b)
                        }
                    })
                })
            }
            "average" => {
                let items = a0.items();
                if items.is_empty() {
                    return Ok(Value::Undefined);
                }
                Value::Num(items.iter().map(num).sum::<f64>() / items.len() as f64)
            }
            "string" => {
                if undef0 {
                    return Ok(Value::Undefined);
                }
                let pretty = matches!(args.get(1), Some(Value::Bool(true)));
                match &a0 {
                    Value::Str(_) => a0.clone(),
                    Value::Func(_) => Value::str(""),
                    Value::Num(n) if !n.is_finite() => {
                        return Err(Err::new("D3001").with_value(serde_json::Value::Null));
                    }
                    other => {
                        if crate::value::find_non_finite(other).is_some() {
                            return Err(Err::new("D1001").with_value(serde_json::Value::Null));
                        }
                        let v = match other {
                            Value::Arr(a, f) if f & crate::value::OUTER != 0 && !a.is_empty() => {
                                &a[0]
                            }
                            v => v,
                        };
                        let s = stringify(v, pretty, true);
                        self.charge(s.len() as u64 / 16)?;
                        Value::string(s)
                    }
                }
            }
            "substring" => {
                let Some(s) = a0.as_str() else {
                    return Ok(Value::Undefined);
                };
                let chars: Vec<char> = s.chars().collect();
                let len = chars.len() as f64;
                let mut start = num(&arg(&args, 1));
                if len + start < 0.0 {
                    start = 0.0;
                }
                let (s, e) = match opt_num(args.get(2)) {
                    Some(length) => {
                        if length <= 0.0 {
                            return Ok(Value::str(""));
                        }
                        let end = if start >= 0.0 {
                            start + length
                        } else {
                            len + start + length
                        };
                        js_slice(chars.len(), start, Some(end))
                    }
                    None => js_slice(chars.len(), start, None),
                };
                Value::string(chars[s..e].iter().collect())
            }
            "substringBefore" | "substringAfter" => {
                let Some(s) = a0.as_str() else {
                    return Ok(Value::Undefined);
                };
                let chars = arg(&args, 1);
                let chars = chars.as_str().unwrap_or("");
                match s.find(chars) {
                    Some(p) if def.name == "substringBefore" => Value::str(&s[..p]),
                    Some(p) => Value::str(&s[p + chars.len()..]),
                    None => a0.clone(),
                }
            }
            "lowercase" => a0
                .as_str()
                .map_or(Value::Undefined, |s| Value::string(s.to_lowercase())),
            "uppercase" => a0
                .as_str()
                .map_or(Value::Undefined, |s| Value::string(s.to_uppercase())),
            "length" => a0
                .as_str()
                .map_or(Value::Undefined, |s| Value::Num(s.chars().count() as f64)),
            "trim" => {
                let Some(s) = a0.as_str() else {
                    return Ok(Value::Undefined);
                };
                let mut out = String::with_capacity(s.len());
                let mut in_ws = false;
                for c in s.chars() {
                    if matches!(c, ' ' | '\t' | '\n' | '\r') {
                        if !in_ws {
                            out.push(' ');
                        }
                        in_ws = true;
                    } else {
                        out.push(c);
                        in_ws = false;
                    }
                }
                let out = out.strip_prefix(' ').unwrap_or(&out);
                let out = out.strip_suffix(' ').unwrap_or(out);
                Value::str(out)
            }
            "pad" => {
                let Some(s) = a0.as_str() else {
                    return Ok(Value::Undefined);
                };
                let width = num(&arg(&args, 1)).trunc();
                let c = arg(&args, 2);
                let c = match c.as_str() {
                    Some(c) if !c.is_empty() => c.to_owned(),
                    _ => " ".to_owned(),
                };
                let len = s.chars().count() as f64;
                let pad_len = width.abs() - len;
                if pad_len > 0.0 {
                    let pad_len = pad_len as usize;
                    self.charge((pad_len * c.len() / 16) as u64)?;
                    let padding: String = c.chars().cycle().take(pad_len).collect();
                    if width > 0.0 {
                        Value::string(format!("{s}{padding}"))
                    } else {
                        Value::string(format!("{padding}{s}"))
                    }
                } else {
                    a0.clone()
                }
            }
            "match" => {
                let Some(s) = a0.as_str() else {
                    return Ok(Value::Undefined);
                };
                let limit = opt_num(args.get(2));
                if limit.is_some_and(|l| l < 0.0) {
                    return Err(Err::new("D3040")
                        .with_value(crate::value::num_to_json(limit.unwrap_or(0.0))));
                }
                let mut out = Vec::new();
                if limit.is_none_or(|l| l > 0.0) {
                    let lim = limit.map(|l| l.ceil() as usize);
                    for m in self.all_matches(&arg(&args, 1), s, lim, env)? {
                        let mut o = Map::new();
                        o.insert("match".into(), Value::string(m.text));
                        o.insert("index".into(), Value::Num(utf16_len(&s[..m.start]) as f64));
                        o.insert("groups".into(), Value::arr(m.groups));
                        out.push(Value::obj(o));
                    }
                }
                Value::seq(out)
            }
            "contains" => {
                let (Some(s), token) = (a0.as_str(), arg(&args, 1)) else {
                    return Ok(Value::Undefined);
                };
                match &token {
                    Value::Undefined => Value::Undefined,
                    Value::Str(t) => Value::Bool(s.contains(&**t)),
                    f => Value::Bool(!self.all_matches(f, s, Some(1), env)?.is_empty()),
                }
            }
            "replace" => return self.replace(&args, env),
            "split" => {
                let Some(s) = a0.as_str() else {
                    return Ok(Value::Undefined);
                };
                let limit = opt_num(args.get(2));
                if limit.is_some_and(|l| l < 0.0) {
                    return Err(Err::new("D3020")
                        .with_value(crate::value::num_to_json(limit.unwrap_or(0.0))));
                }
                let mut out: Vec<Value> = Vec::new();
                let lim = limit.map(|l| l.ceil() as usize);
                if limit.is_none_or(|l| l > 0.0) {
                    match &arg(&args, 1) {
                        Value::Str(sep) => {
                            if sep.is_empty() {
                                out = s.chars().map(|c| Value::string(c.to_string())).collect();
                            } else {
                                out = s.split(&**sep).map(Value::str).collect();
                            }
                            if let Some(l) = limit {
                                out.truncate(l as usize);
                            }
                        }
                        f => {
                            let ms = self.all_matches(f, s, lim, env)?;
                            if ms.is_empty() {
                                out.push(a0.clone());
                            } else {
                                let mut start = 0;
                                for m in &ms {
                                    out.push(Value::str(s.get(start..m.start).unwrap_or("")));
                                    start = m.end;
                                }
                                if lim.is_none_or(|l| ms.len() < l) {
                                    out.push(Value::str(s.get(start..).unwrap_or("")));
                                }
                            }
                        }
                    }
                }
                Value::arr(out)
            }
            "join" => {
                if undef0 {
                    return Ok(Value::Undefined);
                }
                let sep = arg(&args, 1);
                let sep = sep.as_str().unwrap_or("");
                let parts: Vec<&str> = a0
                    .items()
                    .iter()
                    .map(|v| v.as_str().unwrap_or(""))
                    .collect();
                let joined = parts.join(sep);
                self.charge(joined.len() as u64 / 16)?;
                Value::string(joined)
            }
            "formatNumber" => {
                if undef0 {
                    return Ok(Value::Undefined);
                }
                let picture = arg(&args, 1);
                let opts = arg(&args, 2);
                Value::string(crate::numfmt::format_number(
                    num(&a0),
                    picture.as_str().unwrap_or(""),
                    &opts,
                )?)
            }
            "formatBase" => {
                if undef0 {
                    return Ok(Value::Undefined);
                }
                Value::string(crate::numfmt::format_base(num(&a0), opt_num(args.get(1)))?)
            }
            "formatInteger" => {
                if undef0 {
                    return Ok(Value::Undefined);
                }
                Value::string(crate::datetime::format_integer(
                    num(&a0),
                    arg(&args, 1).as_str().unwrap_or(""),
                )?)
            }
            "parseInteger" => {
                let Some(s) = a0.as_str() else {
                    return Ok(Value::Undefined);
                };
                crate::datetime::parse_integer(s, arg(&args, 1).as_str().unwrap_or(""))?
            }
            "number" => match &a0 {
                Value::Undefined => Value::Undefined,
                Value::Num(_) => a0.clone(),
                Value::Bool(b) => Value::Num(if *b { 1.0 } else { 0.0 }),
                Value::Str(s) => match js_number(s) {
                    Some(n) => Value::Num(n),
                    None => {
                        return Err(Err::new("D3030")
                            .with_value_text(s.to_string())
                            .with_index(1));
                    }
                },
                other => {
                    let mut e = Err::new("D3030").with_index(1);
                    e.value = other.to_json();
                    return Err(e);
                }
            },
            "floor" => a0
                .as_num()
                .map_or(Value::Undefined, |n| Value::Num(n.floor())),
            "ceil" => a0
                .as_num()
                .map_or(Value::Undefined, |n| Value::Num(n.ceil())),
            "abs" => a0
                .as_num()
                .map_or(Value::Undefined, |n| Value::Num(n.abs())),
            "round" => match a0.as_num() {
                None => Value::Undefined,
                Some(n) => Value::Num(crate::numfmt::round(
                    n,
                    opt_num(args.get(1)).unwrap_or(0.0) as i32,
                )),
            },
            "sqrt" => match a0.as_num() {
                None => Value::Undefined,
                Some(n) if n < 0.0 => {
                    return Err(Err::new("D3060")
                        .with_value(crate::value::num_to_json(n))
                        .with_index(1));
                }
                Some(n) => Value::Num(n.sqrt()),
            },
            "power" => match a0.as_num() {
                None => Value::Undefined,
                Some(b) => {
                    let e = num(&arg(&args, 1));
                    let r = b.powf(e);
                    if !r.is_finite() {
                        let mut err = Err::new("D3061")
                            .with_value(crate::value::num_to_json(b))
                            .with_index(1);
                        err.exp = Some(crate::value::js_num(e));
                        return Err(err);
                    }
                    Value::Num(r)
                }
            },
            "random" => Value::Num(rand::random::<f64>()),
            "boolean" => to_boolean(&a0).map_or(Value::Undefined, Value::Bool),
            "not" => to_boolean(&a0).map_or(Value::Undefined, |b| Value::Bool(!b)),
            "map" | "filter" => {
                if undef0 {
                    return Ok(Value::Undefined);
                }
                let f = arg(&args, 1);
                let mut out = Vec::new();
                for (i, v) in a0.items().iter().enumerate() {
                    let call_args = Self::hof_args(&f, v.clone(), Value::Num(i as f64), &a0);
                    let r = self.call(&f, call_args, env)?;
                    if def.name == "map" {
                        if !r.is_undef() {
                            out.push(r);
                        }
                    } else if truthy(&r) {
                        out.push(v.clone());
                    }
                }
                Value::seq(out)
            }
            "single" => {
                if undef0 {
                    return Ok(Value::Undefined);
                }
                let f = arg(&args, 1);
                let mut found: Option<Value> = None;
                for (i, v) in a0.items().iter().enumerate() {
                    let positive = if f.is_undef() {
                        true
                    } else {
                        let call_args = Self::hof_args(&f, v.clone(), Value::Num(i as f64), &a0);
                        truthy(&self.call(&f, call_args, env)?)
                    };
                    if positive {
                        if found.is_some() {
                            return Err(Err::new("D3138").with_index(i));
                        }
                        found = Some(v.clone());
                    }
                }
                match found {
                    Some(v) => v,
                    None => return Err(Err::new("D3139")),
                }
            }
            "zip" => {
                let len = args
                    .iter()
                    .map(|a| if a.is_array() { a.items().len() } else { 0 })
                    .min()
                    .unwrap_or(0);
                let out = (0..len)
                    .map(|i| Value::arr(args.iter().map(|a| a.items()[i].clone()).collect()))
                    .collect();
                Value::arr(out)
            }
            "reduce" => {
                if undef0 {
                    return Ok(Value::Undefined);
                }
                let f = arg(&args, 1);
                let arity = match &f {
                    Value::Func(func) => func.arity(),
                    _ => 0,
                };
                if arity < 2 {
                    return Err(Err::new("D3050").with_index(1));
                }
                let items = a0.items();
                let init = arg(&args, 2);
                let (mut acc, mut i) = if init.is_undef() && !items.is_empty() {
                    (items[0].clone(), 1)
                } else {
                    (init, 0)
                };
                while i < items.len() {
                    let mut call_args = vec![acc, items[i].clone()];
                    if arity >= 3 {
                        call_args.push(Value::Num(i as f64));
                    }
                    if arity >= 4 {
                        call_args.push(a0.clone());
                    }
                    acc = self.call(&f, call_args, env)?;
                    i += 1;
                }
                acc
            }
            "sift" | "each" => {
                let f = arg(&args, 1);
                let Value::Obj(o) = &a0 else {
                    return Ok(if def.name == "each" {
                        Value::seq(Vec::new())
                    } else {
                        Value::Undefined
                    });
                };
                let mut kept = Map::new();
                let mut out = Vec::new();
                for (k, v) in o.iter() {
                    let call_args = Self::hof_args(&f, v.clone(), Value::str(k), &a0);
                    let r = self.call(&f, call_args, env)?;
                    if def.name == "sift" {
                        if truthy(&r) {
                            kept.insert(k.clone(), v.clone());
                        }
                    } else if !r.is_undef() {
                        out.push(r);
                    }
                }
                if def.name == "each" {
                    Value::seq(out)
                } else if kept.is_empty() {
                    Value::Undefined
                } else {
                    Value::obj(kept)
                }
            }
            "keys" => {
                let mut keys: indexmap::IndexSet<String> = indexmap::IndexSet::new();
                match &a0 {
                    Value::Arr(a, _) => {
                        for item in a.iter() {
                            if let Value::Obj(o) = item {
                                keys.extend(o.keys().cloned());
                            }
                        }
                    }
                    Value::Obj(o) => keys.extend(o.keys().cloned()),
                    _ => {}
                }
                Value::seq(keys.into_iter().map(Value::string).collect())
            }
            "lookup" => crate::eval::lookup_field(&a0, arg(&args, 1).as_str().unwrap_or("")),
            "append" => {
                let r = append(a0, arg(&args, 1));
                self.charge(r.items().len() as u64)?;
                r
            }
            "exists" => Value::Bool(!undef0),
            "spread" => spread(&a0),
            "merge" => {
                if undef0 {
                    return Ok(Value::Undefined);
                }
                let mut m = Map::new();
                for o in a0.items() {
                    if let Value::Obj(o) = o {
                        for (k, v) in o.iter() {
                            m.insert(k.clone(), v.clone());
                        }
                    }
                }
                Value::obj(m)
            }
            "reverse" => {
                if undef0 {
                    return Ok(Value::Undefined);
                }
                if a0.items().len() <= 1 {
                    return Ok(a0);
                }
                Value::arr(a0.items().iter().rev().cloned().collect())
            }
            "error" => {
                let mut e = Err::new("D3137");
                e.message = Some(
                    a0.as_str()
                        .map_or_else(|| "$error() function evaluated".to_owned(), str::to_owned),
                );
                return Err(e);
            }
            "assert" => {
                if !matches!(a0, Value::Bool(true)) {
                    let mut e = Err::new("D3141");
                    e.message = Some(
                        arg(&args, 1)
                            .as_str()
                            .map_or_else(|| "$assert() statement failed".to_owned(), str::to_owned),
                    );
                    return Err(e);
                }
                Value::Undefined
            }
            "type" => a0.type_name().map_or(Value::Undefined, Value::str),
            "sort" => {
                if undef0 {
                    return Ok(Value::Undefined);
                }
                let items = a0.items().to_vec();
                if items.len() <= 1 {
                    return Ok(a0);
                }
                let f = arg(&args, 1);
                let sorted = if f.is_undef() {
                    let all_num = items.iter().all(|v| matches!(v, Value::Num(_)));
                    let all_str = items.iter().all(|v| matches!(v, Value::Str(_)));
                    if !all_num && !all_str {
                        return Err(Err::new("D3070").with_index(1));
                    }
                    merge_sort(
                        items,
                        &mut |a: &Value, b: &Value, _: &mut ()| {
                            Ok(match (a, b) {
                                (Value::Num(x), Value::Num(y)) => x > y,
                                (Value::Str(x), Value::Str(y)) => {
                                    cmp_js_str(x, y) == std::cmp::Ordering::Greater
                                }
                                _ => false,
                            })
                        },
                        &mut (),
                    )?
                } else {
                    let env = env.clone();
                    merge_sort(
                        items,
                        &mut |a: &Value, b: &Value, ctx: &mut Self| {
                            let r = ctx.call(&f, vec![a.clone(), b.clone()], &env)?;
                            Ok(js_truthy(&r))
                        },
                        self,
                    )?
                };
                Value::arr(sorted)
            }
            "shuffle" => {
                if undef0 {
                    return Ok(Value::Undefined);
                }
                let mut items = a0.items().to_vec();
                if items.len() <= 1 {
                    return Ok(a0);
                }
                for i in (1..items.len()).rev() {
                    let j = rand::random_range(0..=i);
                    items.swap(i, j);
                }
                Value::arr(items)
            }
            "distinct" => {
                if undef0 {
                    return Ok(Value::Undefined);
                }
                if !a0.is_array() || a0.items().len() <= 1 {
                    return Ok(a0);
                }
                let mut out: Vec<Value> = Vec::new();
                for v in a0.items() {
                    self.charge(out.len() as u64 / 16)?;
                    if !out.iter().any(|o| deep_equal(o, v)) {
                        out.push(v.clone());
                    }
                }
                if a0.is_seq() {
                    Value::seq(out)
                } else {
                    Value::arr(out)
                }
            }
            "base64encode" => {
                let Some(s) = a0.as_str() else {
                    return Ok(Value::Undefined);
                };
                let bytes: Vec<u8> = s.encode_utf16().map(|u| (u & 0xff) as u8).collect();
                Value::string(base64::engine::general_purpose::STANDARD.encode(bytes))
            }
            "base64decode" => {
                let Some(s) = a0.as_str() else {
                    return Ok(Value::Undefined);
                };
                let mut clean: String = s
                    .chars()
                    .take_while(|c| *c != '=')
                    .map(|c| match c {
                        '-' => '+',
                        '_' => '/',
                        c => c,
                    })
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '+' || *c == '/')
                    .collect();
                if clean.len() % 4 == 1 {
                    clean.pop();
                }
                let engine = base64::engine::GeneralPurpose::new(
                    &base64::alphabet::STANDARD,
                    base64::engine::GeneralPurposeConfig::new()
                        .with_decode_allow_trailing_bits(true)
                        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
                );
                let bytes = engine.decode(clean.as_bytes()).unwrap_or_default();
                Value::string(bytes.iter().map(|b| char::from(*b)).collect())
            }
            "encodeUrlComponent" | "encodeUrl" => {
                let Some(s) = a0.as_str() else {
                    return Ok(Value::Undefined);
                };
                Value::string(encode_uri(s, def.name == "encodeUrl"))
            }
            "decodeUrlComponent" | "decodeUrl" => {
                let Some(s) = a0.as_str() else {
                    return Ok(Value::Undefined);
                };
                match decode_uri(s, def.name == "decodeUrl") {
                    Some(d) => Value::string(d),
                    None => {
                        let mut e = Err::new("D3140").with_value_text(s.to_string());
                        e.function_name = Some(def.name.to_owned());
                        return Err(e);
                    }
                }
            }
            "eval" => {
                let Some(src) = a0.as_str() else {
                    return Ok(Value::Undefined);
                };
                let mut focus = input.clone();
                let f = arg(&args, 1);
                if !f.is_undef() {
                    focus = f;
                    if focus.is_array() && !focus.is_seq() {
                        focus = Value::Arr(Rc::new(vec![focus]), SEQ | crate::value::OUTER);
                    }
                }
                let ast = match crate::parser::parse(src, 256 * 1024) {
                    Ok(a) => a,
                    Err(e) => {
                        let msg = e.render();
                        return Err(Err::new("D3120").with_value_text(msg));
                    }
                };
                match self.eval(&ast, &focus, env) {
                    Ok(v) => v,
                    Err(e) => {
                        if e.code() == "U1001" {
                            return Err(e);
                        }
                        let msg = e.render();
                        return Err(Err::new("D3121").with_value_text(msg));
                    }
                }
            }
            "toMillis" => {
                let Some(s) = a0.as_str() else {
                    return Ok(Value::Undefined);
                };
                let picture = arg(&args, 1);
                match picture.as_str() {
                    None => match crate::datetime::parse_iso(s) {
                        Some(ms) => Value::Num(ms),
                        None => return Err(Err::new("D3110").with_value_text(s.to_string())),
                    },
                    Some(p) => match crate::datetime::parse_date_time(s, p, self.now)? {
                        Some(ms) => Value::Num(ms),
                        None => Value::Undefined,
                    },
                }
            }
            "fromMillis" => {
                let Some(ms) = a0.as_num() else {
                    return Ok(Value::Undefined);
                };
                let p = arg(&args, 1);
                let tz = arg(&args, 2);
                Value::string(crate::datetime::format_date_time(
                    ms,
                    p.as_str(),
                    tz.as_str(),
                )?)
            }
            "now" => {
                let p = arg(&args, 0);
                let tz = arg(&args, 1);
                Value::string(crate::datetime::format_date_time(
                    self.now as f64,
                    p.as_str(),
                    tz.as_str(),
                )?)
            }
            "millis" => Value::Num(self.now as f64),
            "clone" => {
                if undef0 {
                    return Ok(Value::Undefined);
                }
                a0.to_json()
                    .map_or(Value::Undefined, |j| Value::from_json(&j))
            }
            _ => Value::Undefined,
        })
    }

    #[inline(never)]
    fn replace(&mut self, args: &[Value], env: &Rc<Frame>) -> R<Value> {
        let a0 = arg(args, 0);
        let Some(s) = a0.as_str() else {
            return Ok(Value::Undefined);
        };
        let pattern = arg(args, 1);
        let replacement = arg(args, 2);
        if pattern.as_str() == Some("") {
            return Err(Err::new("D3010").with_value_text("").with_index(2));
        }
        let limit = opt_num(args.get(3));
        if limit.is_some_and(|l| l < 0.0) {
            return Err(Err::new("D3011")
                .with_value(crate::value::num_to_json(limit.unwrap_or(0.0)))
                .with_index(4));
        }
        if limit == Some(0.0) {
            return Ok(a0.clone());
        }
        let lim = limit.map(|l| l.ceil() as usize);
        if let Value::Str(p) = &pattern {
            let rep = replacement.as_str().unwrap_or("");
            let mut out = String::new();
            let mut pos = 0;
            let mut count = 0;
            while let Some(i) = s[pos..].find(&**p) {
                if lim.is_some_and(|l| count >= l) {
                    break;
                }
                out.push_str(&s[pos..pos + i]);
                out.push_str(rep);
                pos += i + p.len();
                count += 1;
            }
            out.push_str(&s[pos..]);
            return Ok(Value::string(out));
        }
        let matches = self.all_matches(&pattern, s, lim, env)?;
        if matches.is_empty() {
            return Ok(a0.clone());
        }
        let mut out = String::new();
        let mut pos = 0;
        for m in &matches {
            out.push_str(s.get(pos..m.start).unwrap_or(""));
            let substitute = match &replacement {
                Value::Str(r) => substitute(r, m),
                f => {
                    let obj = Value::obj(match_object(s, m));
                    match self.call(f, vec![obj], env)? {
                        Value::Str(r) => r.to_string(),
                        other => {
                            let mut e = Err::new("D3012");
                            e.value = other.to_json();
                            return Err(e);
                        }
                    }
                }
            };
            out.push_str(&substitute);
            pos = m.start + m.text.len();
        }
        out.push_str(s.get(pos..).unwrap_or(""));
        self.charge(out.len() as u64 / 16)?;
        Ok(Value::string(out))
    }
}

/// `$n` substitution in replacement strings (jsonata-js semantics).
fn substitute(replacement: &str, m: &Match) -> String {
    let r: Vec<char> = replacement.chars().collect();
    let mut out = String::new();
    let mut position = 0;
    let find_dollar = |from: usize| (from..r.len()).find(|&i| r[i] == '$');
    let mut index = find_dollar(0);
    while let Some(i) = index {
        if position >= r.len() {
            break;
        }
        out.extend(&r[position..i]);
        position = i + 1;
        let dollar_val = r.get(position).copied();
        if dollar_val == Some('$') {
            out.push('$');
            position += 1;
        } else if dollar_val == Some('0') {
            out.push_str(&m.text);
            position += 1;
        } else {
            let ngroups = m.groups.len();
            let max_digits = if ngroups == 0 {
                1
            } else {
                (ngroups as f64).log10().floor() as usize + 1
            };
            let parse = |n: usize| -> Option<usize> {
                let digits: String = r[position..(position + n).min(r.len())]
                    .iter()
                    .take_while(|c| c.is_ascii_digit())
                    .collect();
                digits.parse().ok()
            };
            let mut idx = parse(max_digits);
            if max_digits > 1 && idx.is_some_and(|x| x > ngroups) {
                idx = parse(max_digits - 1);
            }
            match idx {
                Some(x) => {
                    if ngroups > 0
                        && x >= 1
                        && let Some(Value::Str(g)) = m.groups.get(x - 1)
                    {
                        out.push_str(g);
                    }
                    position += x.to_string().len();
                }
                None => out.push('$'),
            }
        }
        index = find_dollar(position);
    }
    if position < r.len() {
        out.extend(&r[position..]);
    }
    out
}

fn spread(v: &Value) -> Value {
    match v {
        Value::Arr(a, _) => {
            let mut out = Vec::new();
            for item in a.iter() {
                match spread(item) {
                    Value::Arr(x, _) => out.extend(x.iter().cloned()),
                    Value::Undefined => {}
                    other => out.push(other),
                }
            }
            Value::seq(out)
        }
        Value::Obj(o) => Value::seq(
            o.iter()
                .map(|(k, v)| {
                    let mut m = Map::new();
                    m.insert(k.clone(), v.clone());
                    Value::obj(m)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// JavaScript truthiness (for `$sort` comparators).
fn js_truthy(v: &Value) -> bool {
    match v {
        Value::Undefined | Value::Null => false,
        Value::Bool(b) => *b,
        Value::Num(n) => *n != 0.0 && !n.is_nan(),
        Value::Str(s) => !s.is_empty(),
        _ => true,
    }
}

/// `$number` of a string.
pub(crate) fn js_number(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let mut i = 0;
    if b.first() == Some(&b'-') {
        i += 1;
    }
    let ds = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let decimal_ok = (|| {
        let mut i = i;
        if i == ds {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            let fs = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == fs {
                return false;
            }
        }
        if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            i += 1;
            if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
                i += 1;
            }
            let es = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == es {
                return false;
            }
        }
        i == b.len()
    })();
    if decimal_ok {
        let n: f64 = s.parse().ok()?;
        return n.is_finite().then_some(n);
    }
    let lower = s.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else {
        return None;
    };
    if digits.is_empty() {
        return None;
    }
    let mut n = 0f64;
    for c in digits.chars() {
        n = n * radix as f64 + c.to_digit(radix)? as f64;
    }
    Some(n)
}

fn encode_uri(s: &str, full: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let keep = c.is_ascii_alphanumeric()
            || "-_.!~*'()".contains(c)
            || (full && ";,/?:@&=+$#".contains(c));
        if keep {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

fn decode_uri(s: &str, full: bool) -> Option<String> {
    let b = s.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    let hex = |x: u8| (x as char).to_digit(16);
    while i < b.len() {
        if b[i] == b'%' {
            let byte = (hex(*b.get(i + 1)?)? * 16 + hex(*b.get(i + 2)?)?) as u8;
            if byte < 0x80 {
                if full && ";/?:@&=+$,#".contains(byte as char) {
                    out.extend_from_slice(&b[i..i + 3]);
                } else {
                    out.push(byte);
                }
                i += 3;
                continue;
            }
            // a multi-byte UTF-8 sequence: all continuation bytes must be escaped too
            let n = match byte {
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                0xF0..=0xF7 => 4,
                _ => return None,
            };
            let mut seq = vec![byte];
            let mut j = i + 3;
            for _ in 1..n {
                if b.get(j) != Some(&b'%') {
                    return None;
                }
                seq.push((hex(*b.get(j + 1)?)? * 16 + hex(*b.get(j + 2)?)?) as u8);
                j += 3;
            }
            std::str::from_utf8(&seq).ok()?;
            out.extend_from_slice(&seq);
            i = j;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}
