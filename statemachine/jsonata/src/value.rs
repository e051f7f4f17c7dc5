//! The evaluator's values: JSON plus functions, with jsonata-js's sequence flags.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::Value as Json;

use crate::NativeFunction;
use crate::ast::{LambdaDef, Node};

pub(crate) type Map = IndexMap<String, Value>;

/// The array is a sequence (a result of path navigation), not a JSON array.
pub(crate) const SEQ: u8 = 1;
/// A singleton sequence is kept as an array (`[]` in the expression).
pub(crate) const KEEP: u8 = 2;
/// The array was built by an array constructor.
pub(crate) const CONS: u8 = 4;
/// The input array wrapped so that it is treated as one value.
pub(crate) const OUTER: u8 = 8;

#[derive(Clone, Default)]
pub(crate) enum Value {
    #[default]
    Undefined,
    Null,
    Bool(bool),
    Num(f64),
    Str(Rc<str>),
    Arr(Rc<Vec<Value>>, u8),
    Obj(Rc<Map>),
    Func(Rc<Func>),
    /// A tuple stream (internal to path evaluation with `@`, `#` and `%`).
    Tuples(Rc<Vec<Tuple>>),
}

#[derive(Clone, Default)]
pub(crate) struct Tuple {
    pub at: Value,
    pub binds: Vec<(Arc<str>, Value)>,
}

impl Tuple {
    pub fn set(&mut self, name: &Arc<str>, value: Value) {
        if let Some(slot) = self.binds.iter_mut().find(|(n, _)| **n == **name) {
            slot.1 = value;
        } else {
            self.binds.push((name.clone(), value));
        }
    }
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.binds
            .iter()
            .find(|(n, _)| &**n == name)
            .map(|(_, v)| v)
    }
}

/// A scope of variable bindings.
pub(crate) struct Frame {
    pub vars: RefCell<Vec<(Arc<str>, Value)>>,
    pub parent: Option<Rc<Frame>>,
}

impl Frame {
    pub fn new(parent: Option<Rc<Frame>>) -> Rc<Frame> {
        Rc::new(Frame {
            vars: RefCell::new(Vec::new()),
            parent,
        })
    }
    pub fn child(self: &Rc<Self>) -> Rc<Frame> {
        Frame::new(Some(self.clone()))
    }
    pub fn bind(&self, name: &Arc<str>, value: Value) {
        let mut vars = self.vars.borrow_mut();
        if let Some(slot) = vars.iter_mut().find(|(n, _)| **n == **name) {
            slot.1 = value;
        } else {
            vars.push((name.clone(), value));
        }
    }
    pub fn lookup(&self, name: &str) -> Option<Value> {
        let mut frame = self;
        loop {
            if let Some((_, v)) = frame.vars.borrow().iter().find(|(n, _)| &**n == name) {
                return Some(v.clone());
            }
            match &frame.parent {
                Some(p) => frame = p,
                None => return None,
            }
        }
    }
}

pub(crate) struct Lambda {
    pub def: Arc<LambdaDef>,
    pub env: Rc<Frame>,
    pub input: Value,
    /// The parameters still to be supplied, when partially applied.
    pub params: Option<Vec<Arc<str>>>,
}

pub(crate) enum Func {
    Lambda(Lambda),
    Builtin(&'static crate::functions::BuiltinDef),
    Native(NativeFunction),
    /// A partially applied built-in or native function: `None` marks a `?` placeholder.
    Partial(Value, Vec<Option<Value>>),
    Regex(Arc<crate::ast::RegexLit>),
    Transform(Arc<Node>, Rc<Frame>),
    Chain(Value, Value),
}

impl Func {
    /// The number of arguments the function declares (jsonata-js `getFunctionArity`).
    pub fn arity(&self) -> usize {
        match self {
            Func::Lambda(l) => l.params.as_ref().map_or(l.def.params.len(), Vec::len),
            Func::Builtin(b) => b.arity,
            Func::Native(..) => 4,
            Func::Partial(_, args) => args.iter().filter(|a| a.is_none()).count(),
            Func::Regex(_) | Func::Transform(..) | Func::Chain(..) => 1,
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Undefined => write!(f, "undefined"),
            Value::Func(_) => write!(f, "<function>"),
            Value::Tuples(t) => write!(f, "<tuples {}>", t.len()),
            other => write!(f, "{}", stringify(other, false, false)),
        }
    }
}

impl Value {
    pub fn str(s: &str) -> Value {
        Value::Str(Rc::from(s))
    }
    pub fn string(s: String) -> Value {
        Value::Str(Rc::from(s))
    }
    pub fn arr(v: Vec<Value>) -> Value {
        Value::Arr(Rc::new(v), 0)
    }
    pub fn seq(v: Vec<Value>) -> Value {
        Value::Arr(Rc::new(v), SEQ)
    }
    pub fn obj(m: Map) -> Value {
        Value::Obj(Rc::new(m))
    }
    pub fn is_undef(&self) -> bool {
        matches!(self, Value::Undefined)
    }
    pub fn is_array(&self) -> bool {
        matches!(self, Value::Arr(..))
    }
    pub fn is_seq(&self) -> bool {
        matches!(self, Value::Arr(_, f) if f & SEQ != 0)
    }
    pub fn with_flags(self, add: u8) -> Value {
        match self {
            Value::Arr(a, f) => Value::Arr(a, f | add),
            other => other,
        }
    }
    pub fn is_func(&self) -> bool {
        matches!(self, Value::Func(_))
    }
    pub fn as_num(&self) -> Option<f64> {
        match self {
            Value::Num(n) => Some(*n),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    /// The items of an array (a non-array is a one-item slice; undefined an empty one).
    pub fn items(&self) -> &[Value] {
        match self {
            Value::Arr(a, _) => a,
            Value::Undefined => &[],
            other => std::slice::from_ref(other),
        }
    }
    pub fn type_name(&self) -> Option<&'static str> {
        Some(match self {
            Value::Undefined => return None,
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Num(_) => "number",
            Value::Str(_) => "string",
            Value::Arr(..) | Value::Tuples(_) => "array",
            Value::Obj(_) => "object",
            Value::Func(_) => "function",
        })
    }

    pub fn from_json(j: &Json) -> Value {
        match j {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Num(n.as_f64().unwrap_or(f64::NAN)),
            Json::String(s) => Value::str(s),
            Json::Array(a) => Value::arr(a.iter().map(Value::from_json).collect()),
            Json::Object(o) => {
                let mut m = Map::with_capacity(o.len());
                for (k, v) in o {
                    m.insert(k.clone(), Value::from_json(v));
                }
                Value::obj(m)
            }
        }
    }

    /// Converts to JSON; `None` for undefined. Functions become `""` inside structures (as
    /// `$string` renders them) and are dropped from objects, like `JSON.stringify`.
    pub fn to_json(&self) -> Option<Json> {
        self.to_json_at(0)
    }

    fn to_json_at(&self, depth: usize) -> Option<Json> {
        if depth > MAX_DATA_DEPTH {
            return Some(Json::Null);
        }
        Some(match self {
            Value::Undefined => return None,
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Num(n) => num_to_json(*n),
            Value::Str(s) => Json::String(s.to_string()),
            Value::Arr(a, _) => Json::Array(
                a.iter()
                    .map(|v| v.to_json_at(depth + 1).unwrap_or(Json::Null))
                    .collect(),
            ),
            Value::Tuples(t) => Json::Array(
                t.iter()
                    .filter_map(|v| v.at.to_json_at(depth + 1))
                    .collect(),
            ),
            Value::Obj(o) => {
                let mut m = serde_json::Map::with_capacity(o.len());
                for (k, v) in o.iter() {
                    if let Some(j) = v.to_json_at(depth + 1) {
                        m.insert(k.clone(), j);
                    }
                }
                Json::Object(m)
            }
            Value::Func(_) => Json::String(String::new()),
        })
    }
}

/// Nesting beyond which recursive helpers stop descending (keeps native stack use bounded).
pub(crate) const MAX_DATA_DEPTH: usize = 1000;

/// The deepest nesting of a value, up to `MAX_DATA_DEPTH + 1`.
pub(crate) fn nesting(v: &Value, depth: usize) -> usize {
    if depth > MAX_DATA_DEPTH {
        return depth;
    }
    match v {
        Value::Arr(a, _) => a
            .iter()
            .map(|x| nesting(x, depth + 1))
            .max()
            .unwrap_or(depth + 1),
        Value::Obj(o) => o
            .values()
            .map(|x| nesting(x, depth + 1))
            .max()
            .unwrap_or(depth + 1),
        _ => depth,
    }
}

/// Drops a value without recursion (deeply nested values would exhaust the native stack).
pub(crate) fn dismantle(v: Value) {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::Arr(a, _) => {
                if let Ok(items) = Rc::try_unwrap(a) {
                    stack.extend(items);
                }
            }
            Value::Obj(o) => {
                if let Ok(m) = Rc::try_unwrap(o) {
                    stack.extend(m.into_values());
                }
            }
            Value::Tuples(t) => {
                if let Ok(ts) = Rc::try_unwrap(t) {
                    for t in ts {
                        stack.push(t.at);
                        stack.extend(t.binds.into_iter().map(|b| b.1));
                    }
                }
            }
            _ => {}
        }
    }
}

/// A number as JSON: integral values within ±2^53 as integers, others as floats.
pub(crate) fn num_to_json(n: f64) -> Json {
    if n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_992.0 {
        Json::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Json::Null, Json::Number)
    }
}

/// Finds the first non-finite number in a value (results must be JSON numbers).
pub(crate) fn find_non_finite(v: &Value) -> Option<f64> {
    match v {
        Value::Num(n) if !n.is_finite() => Some(*n),
        Value::Arr(a, _) => a.iter().find_map(find_non_finite),
        Value::Obj(o) => o.values().find_map(find_non_finite),
        _ => None,
    }
}

/// JavaScript's `Number.prototype.toString()`.
pub(crate) fn js_num(n: f64) -> String {
    if n.is_nan() {
        return "NaN".into();
    }
    if n.is_infinite() {
        return if n > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if n == 0.0 {
        return "0".into();
    }
    // shortest round-trip digits and exponent
    let e = format!("{:e}", n.abs());
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let k = digits.len() as i32;
    let sign = if n < 0.0 { "-" } else { "" };
    let nexp = exp + 1; // position of the decimal point relative to the digits
    let body = if k <= nexp && nexp <= 21 {
        let mut s = digits;
        s.extend(std::iter::repeat_n('0', (nexp - k) as usize));
        s
    } else if 0 < nexp && nexp <= 21 {
        format!("{}.{}", &digits[..nexp as usize], &digits[nexp as usize..])
    } else if -6 < nexp && nexp <= 0 {
        format!("0.{}{}", "0".repeat((-nexp) as usize), digits)
    } else {
        let e = nexp - 1;
        let es = if e >= 0 {
            format!("+{e}")
        } else {
            format!("{e}")
        };
        if k == 1 {
            format!("{digits}e{es}")
        } else {
            format!("{}.{}e{}", &digits[..1], &digits[1..], es)
        }
    };
    format!("{sign}{body}")
}

/// `Number(n.toPrecision(15))`.
pub(crate) fn precision15(n: f64) -> f64 {
    if !n.is_finite() || n == 0.0 {
        return n;
    }
    format!("{n:.14e}").parse().unwrap_or(n)
}

fn push_json_str(out: &mut String, s: &str) {
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

/// `JSON.stringify` as `$string` uses it: non-integers to 15 significant digits, functions as `""`.
pub(crate) fn stringify(v: &Value, pretty: bool, precise: bool) -> String {
    let mut out = String::new();
    write_json(&mut out, v, pretty, precise, 0);
    out
}

fn write_json(out: &mut String, v: &Value, pretty: bool, precise: bool, indent: usize) {
    if indent > MAX_DATA_DEPTH {
        out.push_str("null");
        return;
    }
    match v {
        Value::Undefined => out.push_str("null"),
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Num(n) => {
            if !n.is_finite() {
                out.push_str("null");
            } else if precise && n.fract() != 0.0 {
                out.push_str(&js_num(precision15(*n)));
            } else {
                out.push_str(&js_num(*n));
            }
        }
        Value::Str(s) => push_json_str(out, s),
        Value::Func(_) => out.push_str("\"\""),
        Value::Arr(..) | Value::Tuples(_) => {
            let items: Vec<Value> = match v {
                Value::Arr(a, _) => a.to_vec(),
                Value::Tuples(t) => t.iter().map(|t| t.at.clone()).collect(),
                _ => Vec::new(),
            };
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if pretty {
                    out.push('\n');
                    out.push_str(&"  ".repeat(indent + 1));
                }
                write_json(out, item, pretty, precise, indent + 1);
            }
            if pretty {
                out.push('\n');
                out.push_str(&"  ".repeat(indent));
            }
            out.push(']');
        }
        Value::Obj(o) => {
            let entries: Vec<_> = o.iter().filter(|(_, v)| !v.is_undef()).collect();
            if entries.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, (k, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if pretty {
                    out.push('\n');
                    out.push_str(&"  ".repeat(indent + 1));
                }
                push_json_str(out, k);
                out.push(':');
                if pretty {
                    out.push(' ');
                }
                write_json(out, item, pretty, precise, indent + 1);
            }
            if pretty {
                out.push('\n');
                out.push_str(&"  ".repeat(indent));
            }
            out.push('}');
        }
    }
}

/// `JSON.stringify` of a JSON value with JavaScript number formatting (for error messages).
pub(crate) fn json_to_js_string(j: &Json) -> String {
    stringify(&Value::from_json(j), false, false)
}

/// jsonata-js `isDeepEqual`.
pub(crate) fn deep_equal(a: &Value, b: &Value) -> bool {
    deep_equal_at(a, b, 0)
}

fn deep_equal_at(a: &Value, b: &Value, depth: usize) -> bool {
    if depth > MAX_DATA_DEPTH {
        return false;
    }
    match (a, b) {
        (Value::Undefined, Value::Undefined) | (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Num(x), Value::Num(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Arr(x, _), Value::Arr(y, _)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|(p, q)| deep_equal_at(p, q, depth + 1))
        }
        (Value::Obj(x), Value::Obj(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| deep_equal_at(v, w, depth + 1)))
        }
        (Value::Func(x), Value::Func(y)) => Rc::ptr_eq(x, y),
        _ => false,
    }
}

/// JavaScript `===` (used by the `in` operator).
pub(crate) fn strict_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Arr(x, _), Value::Arr(y, _)) => Rc::ptr_eq(x, y),
        (Value::Obj(x), Value::Obj(y)) => Rc::ptr_eq(x, y),
        _ => deep_equal(a, b),
    }
}

/// Effective boolean value (jsonata-js `boolean`); `None` for undefined.
pub(crate) fn to_boolean(v: &Value) -> Option<bool> {
    Some(match v {
        Value::Undefined => return None,
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Num(n) => *n != 0.0 && !n.is_nan(),
        Value::Str(s) => !s.is_empty(),
        Value::Arr(a, _) => match a.len() {
            0 => false,
            1 => to_boolean(&a[0]).unwrap_or(false),
            _ => a.iter().any(|v| to_boolean(v).unwrap_or(false)),
        },
        Value::Tuples(t) => !t.is_empty(),
        Value::Obj(o) => !o.is_empty(),
        Value::Func(_) => false,
    })
}

pub(crate) fn truthy(v: &Value) -> bool {
    to_boolean(v).unwrap_or(false)
}

/// UTF-16 length of a prefix (JavaScript string indexes).
pub(crate) fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

#[allow(dead_code)]
pub(crate) fn lambda_node(l: &Lambda) -> &Node {
    &l.def.body
}
