//! Evaluation of the path ASTs of the `asl` crate: selecting nodes with a path (InputPath,
//! OutputPath, ItemsPath, `.$` template values), reading one node with a reference path (Choice
//! `Variable`, `*Path` fields) and writing a result at a `ResultPath`.

use asl::path::{CompareOp, FilterExpr, JsonPath, Operand, Root, Segment, Selector};
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};

/// What a path reads: the effective input (`$`) and the context object (`$$`).
#[derive(Clone, Copy, Debug)]
pub struct Roots<'a> {
    /// `$`.
    pub input: &'a Value,
    /// `$$`.
    pub context: &'a ContextObject,
}

/// The context object `$$`, kept in parts so that reading `$$.Execution.Input` or
/// `$$.Map.Item.Value` never copies the execution input (a Map of 10,000 items would otherwise
/// copy it once per item). The whole object is only assembled for paths like `$$` or `$$.*`.
#[derive(Debug, Default)]
pub struct ContextObject {
    /// `{"Execution": ..., "StateMachine": ...}`, shared by every state of an execution.
    pub base: Arc<Value>,
    /// `$$.State`.
    pub state: Option<Value>,
    /// `$$.Map`.
    pub map: Option<Value>,
    /// `$$.Task`.
    pub task: Option<Value>,
    /// Workflow variables visible to the state (`$name`).
    pub variables: Arc<Map<String, Value>>,
    whole: OnceLock<Value>,
}

impl ContextObject {
    /// A context made of these parts.
    pub fn new(
        base: Arc<Value>,
        state: Option<Value>,
        map: Option<Value>,
        task: Option<Value>,
    ) -> Self {
        Self {
            base,
            state,
            map,
            task,
            variables: Arc::default(),
            whole: OnceLock::new(),
        }
    }

    /// The same context with these variables visible.
    #[must_use]
    pub fn with_variables(mut self, variables: Arc<Map<String, Value>>) -> Self {
        self.variables = variables;
        self
    }

    /// A context that is exactly `value` (tests, evaluation outside an execution).
    pub fn from_value(value: Value) -> Self {
        Self::new(Arc::new(value), None, None, None)
    }

    /// The same context with `$$.Map` set.
    pub fn with_map(&self, map: Value) -> Self {
        Self::new(
            Arc::clone(&self.base),
            self.state.clone(),
            Some(map),
            self.task.clone(),
        )
        .with_variables(Arc::clone(&self.variables))
    }

    /// One top-level member of `$$`.
    pub fn section(&self, name: &str) -> Option<&Value> {
        match name {
            "State" if self.state.is_some() => self.state.as_ref(),
            "Map" if self.map.is_some() => self.map.as_ref(),
            "Task" if self.task.is_some() => self.task.as_ref(),
            other => self.base.get(other),
        }
    }

    /// The whole object (assembled on first use).
    pub fn whole(&self) -> &Value {
        self.whole.get_or_init(|| {
            let mut object = match &*self.base {
                Value::Object(map) => map.clone(),
                _ => Map::new(),
            };
            for (key, part) in [
                ("State", &self.state),
                ("Map", &self.map),
                ("Task", &self.task),
            ] {
                if let Some(part) = part {
                    object.insert(key.into(), part.clone());
                }
            }
            Value::Object(object)
        })
    }
}

/// Why a path could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathFailure {
    /// The path reads a workflow variable that was never assigned.
    Variable(String),
    /// A filter uses an invalid regular expression.
    BadRegex(String),
}

/// Whether the path designates at most one node (only names and non-negative indexes).
pub fn is_definite(path: &JsonPath) -> bool {
    path.segments
        .iter()
        .all(|s| !s.descendant && matches!(s.selector, Selector::Name(_) | Selector::Index(_)))
}

fn root_value<'a>(
    path: &JsonPath,
    roots: Roots<'a>,
    current: &'a Value,
) -> Result<&'a Value, PathFailure> {
    match &path.root {
        Root::Input => Ok(roots.input),
        Root::Context => Ok(roots.context.whole()),
        Root::Current => Ok(current),
        Root::Variable(name) => roots
            .context
            .variables
            .get(name)
            .ok_or_else(|| PathFailure::Variable(name.clone())),
    }
}

/// Every node the path selects, in document order.
pub fn nodes<'a>(path: &JsonPath, roots: Roots<'a>) -> Result<Vec<&'a Value>, PathFailure> {
    nodes_from(path, roots, roots.input)
}

fn nodes_from<'a>(
    path: &JsonPath,
    roots: Roots<'a>,
    current: &'a Value,
) -> Result<Vec<&'a Value>, PathFailure> {
    let mut segments = path.segments.as_slice();
    let mut nodes = match (&path.root, segments.first()) {
        (
            Root::Context,
            Some(Segment {
                descendant: false,
                selector: Selector::Name(name),
            }),
        ) => {
            segments = &segments[1..];
            roots.context.section(name).into_iter().collect()
        }
        _ => vec![root_value(path, roots, current)?],
    };
    for segment in segments {
        let mut next = Vec::new();
        for node in nodes {
            if segment.descendant {
                let mut all = Vec::new();
                descendants_or_self(node, &mut all);
                for d in all {
                    apply(segment, d, roots, &mut next)?;
                }
            } else {
                apply(segment, node, roots, &mut next)?;
            }
        }
        nodes = next;
    }
    Ok(nodes)
}

fn descendants_or_self<'a>(node: &'a Value, out: &mut Vec<&'a Value>) {
    out.push(node);
    match node {
        Value::Object(map) => map.values().for_each(|v| descendants_or_self(v, out)),
        Value::Array(items) => items.iter().for_each(|v| descendants_or_self(v, out)),
        _ => {}
    }
}

fn index_of(len: usize, i: i64) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let i = if i < 0 { len + i } else { i };
    (0..len)
        .contains(&i)
        .then(|| usize::try_from(i).ok())
        .flatten()
}

fn apply<'a>(
    segment: &Segment,
    node: &'a Value,
    roots: Roots<'a>,
    out: &mut Vec<&'a Value>,
) -> Result<(), PathFailure> {
    match &segment.selector {
        Selector::Name(name) => {
            if let Some(v) = node.get(name.as_str()) {
                out.push(v);
            }
        }
        Selector::Names(names) => {
            for name in names {
                if let Some(v) = node.get(name.as_str()) {
                    out.push(v);
                }
            }
        }
        Selector::Wildcard => match node {
            Value::Object(map) => out.extend(map.values()),
            Value::Array(items) => out.extend(items.iter()),
            _ => {}
        },
        Selector::Index(i) => {
            if let Value::Array(items) = node
                && let Some(i) = index_of(items.len(), *i)
            {
                out.push(&items[i]);
            }
        }
        Selector::Indices(indices) => {
            if let Value::Array(items) = node {
                for i in indices {
                    if let Some(i) = index_of(items.len(), *i) {
                        out.push(&items[i]);
                    }
                }
            }
        }
        Selector::Slice(slice) => {
            if let Value::Array(items) = node {
                let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
                let clamp = |v: i64| if v < 0 { (len + v).max(0) } else { v.min(len) };
                let start = clamp(slice.start.unwrap_or(0));
                let end = clamp(slice.end.unwrap_or(len));
                let step = slice.step.unwrap_or(1).max(1);
                let mut i = start;
                while i < end {
                    if let Ok(idx) = usize::try_from(i) {
                        out.push(&items[idx]);
                    }
                    // A step past i64::MAX leaves the array.
                    let Some(next) = i.checked_add(step) else {
                        break;
                    };
                    i = next;
                }
            }
        }
        Selector::Filter(expr) => {
            let candidates: Vec<&Value> = match node {
                Value::Array(items) => items.iter().collect(),
                Value::Object(map) => map.values().collect(),
                _ => Vec::new(),
            };
            for candidate in candidates {
                if filter_holds(expr, roots, candidate)? {
                    out.push(candidate);
                }
            }
        }
    }
    Ok(())
}

fn operand_value<'a>(
    operand: &'a Operand,
    roots: Roots<'a>,
    current: &'a Value,
) -> Result<Option<Value>, PathFailure> {
    Ok(match operand {
        Operand::Literal(v) => Some(v.clone()),
        Operand::Path(path) => nodes_from(path, roots, current)?
            .first()
            .map(|v| (*v).clone()),
        Operand::Regex { pattern, .. } => Some(Value::String(pattern.clone())),
    })
}

fn filter_holds(expr: &FilterExpr, roots: Roots<'_>, current: &Value) -> Result<bool, PathFailure> {
    Ok(match expr {
        FilterExpr::Exists(operand) => match operand {
            Operand::Path(path) => !nodes_from(path, roots, current)?.is_empty(),
            Operand::Literal(v) => !matches!(v, Value::Null | Value::Bool(false)),
            Operand::Regex { .. } => true,
        },
        FilterExpr::Compare { left, op, right } => {
            let l = operand_value(left, roots, current)?;
            if *op == CompareOp::Matches {
                let Operand::Regex { pattern, flags } = right else {
                    return Ok(false);
                };
                let pattern = if flags.contains('i') {
                    format!("(?i)^(?:{pattern})$")
                } else {
                    format!("^(?:{pattern})$")
                };
                let re = regex::Regex::new(&pattern)
                    .map_err(|e| PathFailure::BadRegex(e.to_string()))?;
                return Ok(l
                    .as_ref()
                    .and_then(Value::as_str)
                    .is_some_and(|s| re.is_match(s)));
            }
            let r = operand_value(right, roots, current)?;
            let (Some(l), Some(r)) = (l, r) else {
                return Ok(matches!(op, CompareOp::Ne));
            };
            let ordering = match (&l, &r) {
                (Value::Number(a), Value::Number(b)) => a
                    .as_f64()
                    .zip(b.as_f64())
                    .and_then(|(a, b)| a.partial_cmp(&b)),
                (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
                _ => None,
            };
            match op {
                CompareOp::Eq => ordering.map_or(l == r, |o| o.is_eq()),
                CompareOp::Ne => ordering.map_or(l != r, |o| o.is_ne()),
                CompareOp::Lt => ordering.is_some_and(|o| o.is_lt()),
                CompareOp::Le => ordering.is_some_and(|o| o.is_le()),
                CompareOp::Gt => ordering.is_some_and(|o| o.is_gt()),
                CompareOp::Ge => ordering.is_some_and(|o| o.is_ge()),
                CompareOp::Matches => false,
                CompareOp::In => r.as_array().is_some_and(|items| items.contains(&l)),
                CompareOp::Nin => r.as_array().is_some_and(|items| !items.contains(&l)),
                CompareOp::SubsetOf => match (l.as_array(), r.as_array()) {
                    (Some(left), Some(right)) => left.iter().all(|v| right.contains(v)),
                    _ => false,
                },
                CompareOp::AnyOf => match (l.as_array(), r.as_array()) {
                    (Some(left), Some(right)) => left.iter().any(|v| right.contains(v)),
                    _ => false,
                },
                CompareOp::NoneOf => match (l.as_array(), r.as_array()) {
                    (Some(left), Some(right)) => !left.iter().any(|v| right.contains(v)),
                    _ => false,
                },
                CompareOp::Size => {
                    let size = match &l {
                        Value::String(s) => Some(s.chars().count()),
                        Value::Array(items) => Some(items.len()),
                        _ => None,
                    };
                    size.zip(r.as_u64())
                        .is_some_and(|(size, wanted)| size as u64 == wanted)
                }
                CompareOp::Empty => {
                    let empty = match &l {
                        Value::String(s) => Some(s.is_empty()),
                        Value::Array(items) => Some(items.is_empty()),
                        _ => None,
                    };
                    empty
                        .zip(r.as_bool())
                        .is_some_and(|(e, wanted)| e == wanted)
                }
            }
        }
        FilterExpr::And(a, b) => {
            filter_holds(a, roots, current)? && filter_holds(b, roots, current)?
        }
        FilterExpr::Or(a, b) => {
            filter_holds(a, roots, current)? || filter_holds(b, roots, current)?
        }
        FilterExpr::Not(a) => !filter_holds(a, roots, current)?,
    })
}

/// The value a path designates: the node for a definite path (`None` when absent), the array of
/// selected nodes otherwise (as Jayway JsonPath returns for indefinite paths).
pub fn select(path: &JsonPath, roots: Roots<'_>) -> Result<Option<Value>, PathFailure> {
    let found = nodes(path, roots)?;
    if is_definite(path) {
        Ok(found.first().map(|v| (*v).clone()))
    } else {
        Ok(Some(Value::Array(found.into_iter().cloned().collect())))
    }
}

/// AWS's wording (Jayway JsonPath's) for a definite path that selects nothing, the text after
/// `Invalid path '<path>' : `: `No results for path: $['a']['b']` when only the last step is
/// missing, `Missing property in path $['a']` when an earlier member is (LocalStack parity
/// snapshots `test_invalid_jsonpath[ST.INVALID_JSONPATH_IN_INPUTPATH]` and
/// `test_catch_states_runtime`, recorded against AWS).
pub fn no_result_reason(path: &JsonPath, roots: Roots<'_>) -> String {
    let mut shown = match &path.root {
        Root::Context => "$$".to_owned(),
        Root::Variable(name) => format!("${name}"),
        Root::Input | Root::Current => "$".to_owned(),
    };
    let mut node = match &path.root {
        Root::Input | Root::Current => Some(roots.input),
        Root::Context => Some(roots.context.whole()),
        Root::Variable(name) => roots.context.variables.get(name),
    };
    let last = path.segments.len().saturating_sub(1);
    for (i, segment) in path.segments.iter().enumerate() {
        let next = match &segment.selector {
            Selector::Name(name) => {
                shown.push_str(&format!("['{name}']"));
                node.and_then(|n| n.get(name.as_str()))
            }
            Selector::Index(index) => {
                shown.push_str(&format!("[{index}]"));
                node.and_then(|n| match n {
                    Value::Array(items) => index_of(items.len(), *index).map(|i| &items[i]),
                    _ => None,
                })
            }
            _ => return format!("No results for path: {path}"),
        };
        if next.is_none() {
            return if i == last {
                format!("No results for path: {shown}")
            } else {
                format!("Missing property in path {shown}")
            };
        }
        node = next;
    }
    format!("No results for path: {shown}")
}

/// Why a result cannot be written at a ResultPath.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultPathMismatch(pub String);

/// Writes `result` into `target` at the reference path `path` (`$` replaces the whole value),
/// creating missing object members on the way.
pub fn set_at(
    mut target: Value,
    path: &JsonPath,
    result: Value,
) -> Result<Value, ResultPathMismatch> {
    if path.segments.is_empty() {
        return Ok(result);
    }
    let mut current = &mut target;
    let last = path.segments.len() - 1;
    for (i, segment) in path.segments.iter().enumerate() {
        match &segment.selector {
            Selector::Name(name) => {
                let Value::Object(map) = current else {
                    return Err(ResultPathMismatch(format!(
                        "the value at the step before '{name}' is not an object"
                    )));
                };
                if i == last {
                    map.insert(name.clone(), result);
                    return Ok(target);
                }
                current = map
                    .entry(name.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
            }
            Selector::Index(index) => {
                let Value::Array(items) = current else {
                    return Err(ResultPathMismatch(format!(
                        "the value at the step before [{index}] is not an array"
                    )));
                };
                let Some(idx) = usize::try_from(*index).ok().filter(|i| *i < items.len()) else {
                    return Err(ResultPathMismatch(format!(
                        "index [{index}] is out of bounds"
                    )));
                };
                if i == last {
                    items[idx] = result;
                    return Ok(target);
                }
                current = &mut items[idx];
            }
            _ => {
                return Err(ResultPathMismatch(
                    "a ResultPath must be a reference path".into(),
                ));
            }
        }
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use asl::path::parse_path;
    use serde_json::json;

    fn sel(path: &str, input: &Value) -> Option<Value> {
        let ctx = ContextObject::from_value(json!({}));
        select(
            &parse_path(path).expect("path"),
            Roots {
                input,
                context: &ctx,
            },
        )
        .expect("eval")
    }

    #[test]
    fn definite_paths_return_the_node_or_nothing() {
        let input = json!({"a": {"b": [1, 2, 3]}});
        assert_eq!(sel("$.a.b[1]", &input), Some(json!(2)));
        assert_eq!(sel("$.a.c", &input), None);
    }

    #[test]
    fn indefinite_paths_return_an_array_of_matches() {
        let input = json!({"items": [{"p": 5}, {"p": 15}, {"p": 25}]});
        assert_eq!(sel("$.items[?(@.p > 10)].p", &input), Some(json!([15, 25])));
        assert_eq!(sel("$.items[*].p", &input), Some(json!([5, 15, 25])));
        assert_eq!(sel("$..p", &input), Some(json!([5, 15, 25])));
        assert_eq!(sel("$.items[1:].p", &input), Some(json!([15, 25])));
    }

    #[test]
    fn jayway_filter_operators_select_by_membership_and_size() {
        let input = json!({"items": [{"t": "a", "l": [1, 2]}, {"t": "b", "l": []}]});
        assert_eq!(
            sel("$.items[?(@.t in ['a', 'c'])].t", &input),
            Some(json!(["a"]))
        );
        assert_eq!(
            sel("$.items[?(@.t nin ['a'])].t", &input),
            Some(json!(["b"]))
        );
        assert_eq!(sel("$.items[?(@.l size 2)].t", &input), Some(json!(["a"])));
        assert_eq!(
            sel("$.items[?(@.l empty true)].t", &input),
            Some(json!(["b"]))
        );
        assert_eq!(
            sel("$.items[?(@.l anyof [2, 9])].t", &input),
            Some(json!(["a"]))
        );
    }

    #[test]
    fn given_a_missing_member_when_explained_then_the_wording_is_jayways() {
        let input = json!({"a": {"b": 1}});
        let ctx = ContextObject::from_value(json!({}));
        let roots = Roots {
            input: &input,
            context: &ctx,
        };
        let reason = |p: &str| no_result_reason(&parse_path(p).expect("path"), roots);
        assert_eq!(
            reason("$.NoSuchInputPath"),
            "No results for path: $['NoSuchInputPath']"
        );
        assert_eq!(reason("$.a.c"), "No results for path: $['a']['c']");
        assert_eq!(
            reason("$.no.such.result.path"),
            "Missing property in path $['no']"
        );
    }

    #[test]
    fn result_path_creates_missing_members_and_refuses_non_objects() {
        let path = parse_path("$.a.b").expect("path");
        assert_eq!(
            set_at(json!({"x": 1}), &path, json!(2)).expect("set"),
            json!({"x": 1, "a": {"b": 2}})
        );
        assert!(set_at(json!({"a": "s"}), &path, json!(2)).is_err());
    }
}
