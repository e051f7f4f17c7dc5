//! The data-flow check: follows the JSON Schema of the execution input through every state of the
//! workflow (InputPath → Parameters → task → ResultSelector → ResultPath → OutputPath, Catch
//! ResultPath, Choice branches) and reports
//!
//! - every `$.path` read that cannot exist at that point (absent, optional, or of the wrong type),
//! - every activity input that would not match the activity's input schema.
//!
//! Shapes are joined where paths of the graph meet (a field is present only if it is present on
//! every incoming path) and iterated to a fixpoint, so loops such as the transcription poll loop
//! are handled. A Choice rule that compares a variable, or tests it with `IsPresent: true`, proves
//! that the variable exists on the edge it guards.

use std::collections::{BTreeMap, HashMap, VecDeque};

use asl::intrinsics::{
    Argument, IntrinsicCall, IntrinsicFunction, PayloadValue, parse_payload_value,
};
use asl::model::{ChoiceRule, ComparisonOperator, State, StateMachine};
use asl::path::{JsonPath, Root, Selector, parse_path};
use serde_json::Value;

use crate::diagnostics::{Finding, escape_segment};

/// JSON Schemas of an activity task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSchemas {
    /// The activity's input schema.
    pub input: Value,
    /// The activity's output schema.
    pub output: Value,
}

const OBJECT: u8 = 1;
const ARRAY: u8 = 2;
const STRING: u8 = 4;
const NUMBER: u8 = 8;
const BOOLEAN: u8 = 16;
const NULL: u8 = 32;
const ALL_KINDS: u8 = OBJECT | ARRAY | STRING | NUMBER | BOOLEAN | NULL;

/// What is known about a JSON value at one point of the workflow.
#[derive(Clone, Debug, PartialEq)]
pub struct Shape {
    kinds: u8,
    props: BTreeMap<String, Field>,
    /// Whether an object may have members not listed in `props`.
    open: bool,
    items: Option<Box<Shape>>,
}

#[derive(Clone, Debug, PartialEq)]
struct Field {
    shape: Shape,
    required: bool,
}

impl Shape {
    /// Nothing is known: any read is allowed.
    pub fn any() -> Self {
        Self {
            kinds: ALL_KINDS,
            props: BTreeMap::new(),
            open: true,
            items: None,
        }
    }

    fn scalar(kinds: u8) -> Self {
        Self {
            kinds,
            props: BTreeMap::new(),
            open: false,
            items: None,
        }
    }

    fn object(props: BTreeMap<String, Field>, open: bool) -> Self {
        Self {
            kinds: OBJECT,
            props,
            open,
            items: None,
        }
    }

    fn empty_object() -> Self {
        Self::object(BTreeMap::new(), false)
    }

    fn is_any(&self) -> bool {
        self.kinds == ALL_KINDS && self.open && self.props.is_empty()
    }

    /// Converts a JSON Schema (as schemars emits it, with `$defs` and `$ref`).
    pub fn from_schema(schema: &Value) -> Self {
        let defs = schema.get("$defs").cloned().unwrap_or(Value::Null);
        Self::convert(schema, &defs, 0)
    }

    fn convert(schema: &Value, defs: &Value, depth: usize) -> Self {
        /// Recursive schemas are cut off here; deeper data is unconstrained.
        const MAX_DEPTH: usize = 32;
        if depth > MAX_DEPTH {
            return Self::any();
        }
        let Some(obj) = schema.as_object() else {
            return if schema == &Value::Bool(false) {
                Self::scalar(0)
            } else {
                Self::any()
            };
        };
        if let Some(reference) = obj.get("$ref").and_then(Value::as_str) {
            let name = reference.rsplit('/').next().unwrap_or_default();
            let target = defs.get(name).cloned().unwrap_or(Value::Bool(true));
            return Self::convert(&target, defs, depth + 1);
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(options) = obj.get(key).and_then(Value::as_array) {
                let mut shapes = options.iter().map(|o| Self::convert(o, defs, depth + 1));
                let first = shapes.next().unwrap_or_else(Self::any);
                return shapes.fold(first, |acc, s| acc.join(&s));
            }
        }
        if let Some(all) = obj.get("allOf").and_then(Value::as_array)
            && let Some(first) = all.first()
        {
            return Self::convert(first, defs, depth + 1);
        }
        if let Some(values) = obj.get("enum").and_then(Value::as_array) {
            return Self::scalar(values.iter().fold(0, |k, v| k | kind_of(v)));
        }
        if let Some(value) = obj.get("const") {
            return Self::scalar(kind_of(value));
        }
        let kinds = match obj.get("type") {
            Some(Value::String(t)) => kind_named(t),
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(Value::as_str)
                .fold(0, |k, t| k | kind_named(t)),
            _ => ALL_KINDS,
        };
        let mut shape = Self::scalar(kinds);
        if kinds & OBJECT != 0 {
            let required: Vec<&str> = obj
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if let Some(props) = obj.get("properties").and_then(Value::as_object) {
                for (name, sub) in props {
                    shape.props.insert(
                        name.clone(),
                        Field {
                            shape: Self::convert(sub, defs, depth + 1),
                            required: required.contains(&name.as_str()),
                        },
                    );
                }
            }
            shape.open = obj.get("additionalProperties") != Some(&Value::Bool(false));
        }
        if kinds & ARRAY != 0 {
            shape.items = obj
                .get("items")
                .map(|items| Box::new(Self::convert(items, defs, depth + 1)));
        }
        shape
    }

    /// The shape of a literal JSON value.
    fn of_literal(value: &Value) -> Self {
        match value {
            Value::Object(map) => Self::object(
                map.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            Field {
                                shape: Self::of_literal(v),
                                required: true,
                            },
                        )
                    })
                    .collect(),
                false,
            ),
            Value::Array(items) => {
                let mut shape = Self::scalar(ARRAY);
                let mut iter = items.iter().map(Self::of_literal);
                shape.items = iter
                    .next()
                    .map(|first| Box::new(iter.fold(first, |a, s| a.join(&s))));
                shape
            }
            other => Self::scalar(kind_of(other)),
        }
    }

    /// The least shape that covers both (used where control-flow paths meet).
    pub fn join(&self, other: &Self) -> Self {
        let mut props = BTreeMap::new();
        for (name, field) in &self.props {
            match other.props.get(name) {
                Some(theirs) => {
                    props.insert(
                        name.clone(),
                        Field {
                            shape: field.shape.join(&theirs.shape),
                            required: field.required && theirs.required,
                        },
                    );
                }
                None => {
                    props.insert(
                        name.clone(),
                        Field {
                            shape: if other.open {
                                Self::any()
                            } else {
                                field.shape.clone()
                            },
                            required: false,
                        },
                    );
                }
            }
        }
        for (name, field) in &other.props {
            props.entry(name.clone()).or_insert_with(|| Field {
                shape: if self.open {
                    Self::any()
                } else {
                    field.shape.clone()
                },
                required: false,
            });
        }
        let items = match (&self.items, &other.items) {
            (Some(a), Some(b)) => Some(Box::new(a.join(b))),
            (Some(a), None) if other.kinds & ARRAY == 0 => Some(a.clone()),
            (None, Some(b)) if self.kinds & ARRAY == 0 => Some(b.clone()),
            _ => None,
        };
        Self {
            kinds: self.kinds | other.kinds,
            props,
            open: self.open || other.open,
            items,
        }
    }

    /// Reads `path` (segments after the root). `Err` says why the path may not exist.
    fn read(&self, segments: &[asl::path::Segment], shown: &str) -> Result<Shape, String> {
        let mut current = self.clone();
        let mut walked = String::from("$");
        for segment in segments {
            if segment.descendant || current.is_any() {
                return Ok(Self::any());
            }
            match &segment.selector {
                Selector::Name(name) => {
                    if current.kinds & OBJECT == 0 {
                        return Err(format!(
                            "{walked} is not an object, so {shown} cannot exist"
                        ));
                    }
                    if current.kinds != OBJECT {
                        return Err(format!(
                            "{walked} may be {} rather than an object, so {shown} may not exist",
                            describe_kinds(current.kinds & !OBJECT)
                        ));
                    }
                    walked.push('.');
                    walked.push_str(name);
                    match current.props.get(name) {
                        Some(field) if field.required => current = field.shape.clone(),
                        Some(_) => {
                            return Err(format!(
                                "{walked} is optional at this point, so {shown} may not exist"
                            ));
                        }
                        None if current.open => return Ok(Self::any()),
                        None => {
                            let known: Vec<&str> =
                                current.props.keys().map(String::as_str).collect();
                            return Err(format!(
                                "{walked} does not exist at this point (known fields: {})",
                                if known.is_empty() {
                                    "none".to_owned()
                                } else {
                                    known.join(", ")
                                }
                            ));
                        }
                    }
                }
                Selector::Index(_) => {
                    if current.kinds & ARRAY == 0 {
                        return Err(format!("{walked} is not an array, so {shown} cannot exist"));
                    }
                    // An index may be out of range; element shape is the best we know.
                    current = current.items.as_deref().cloned().unwrap_or_else(Self::any);
                    walked.push_str("[…]");
                }
                _ => return Ok(Self::any()),
            }
        }
        Ok(current)
    }

    /// Inserts `value` at `segments` (as ResultPath does), creating objects on the way.
    fn insert(&self, segments: &[asl::path::Segment], value: Shape) -> Shape {
        let Some((first, rest)) = segments.split_first() else {
            return value;
        };
        let Selector::Name(name) = &first.selector else {
            return Self::any();
        };
        let mut base = if self.kinds & OBJECT != 0 {
            self.clone()
        } else {
            Self::empty_object()
        };
        base.kinds = OBJECT;
        let child = base
            .props
            .get(name)
            .filter(|f| f.required)
            .map(|f| f.shape.clone())
            .unwrap_or_else(Self::empty_object);
        base.props.insert(
            name.clone(),
            Field {
                shape: child.insert(rest, value),
                required: true,
            },
        );
        base
    }

    /// Checks that a value of this shape satisfies `expected`; returns the mismatches.
    fn conforms_to(&self, expected: &Shape, at: &str, out: &mut Vec<String>) {
        if self.is_any() || expected.is_any() {
            return;
        }
        let extra = self.kinds & !expected.kinds;
        if extra != 0 {
            out.push(format!(
                "{at} may be {} but the activity expects {}",
                describe_kinds(extra),
                describe_kinds(expected.kinds)
            ));
            return;
        }
        if self.kinds & OBJECT != 0 {
            for (name, field) in &expected.props {
                match self.props.get(name) {
                    Some(ours) => {
                        if field.required && !ours.required {
                            out.push(format!(
                                "{at}.{name} is required by the activity but may be absent"
                            ));
                        }
                        ours.shape
                            .conforms_to(&field.shape, &format!("{at}.{name}"), out);
                    }
                    None if field.required && !self.open => {
                        out.push(format!(
                            "{at}.{name} is required by the activity but is not provided"
                        ));
                    }
                    None => {}
                }
            }
            if !expected.open {
                for name in self
                    .props
                    .keys()
                    .filter(|n| !expected.props.contains_key(*n))
                {
                    out.push(format!(
                        "{at}.{name} is not accepted by the activity's input schema"
                    ));
                }
            }
        }
    }
}

fn kind_named(name: &str) -> u8 {
    match name {
        "object" => OBJECT,
        "array" => ARRAY,
        "string" => STRING,
        "number" | "integer" => NUMBER,
        "boolean" => BOOLEAN,
        "null" => NULL,
        _ => ALL_KINDS,
    }
}

fn kind_of(value: &Value) -> u8 {
    match value {
        Value::Object(_) => OBJECT,
        Value::Array(_) => ARRAY,
        Value::String(_) => STRING,
        Value::Number(_) => NUMBER,
        Value::Bool(_) => BOOLEAN,
        Value::Null => NULL,
    }
}

fn describe_kinds(kinds: u8) -> String {
    let names = [
        (OBJECT, "an object"),
        (ARRAY, "an array"),
        (STRING, "a string"),
        (NUMBER, "a number"),
        (BOOLEAN, "a boolean"),
        (NULL, "null"),
    ];
    let parts: Vec<&str> = names
        .iter()
        .filter(|(k, _)| kinds & k != 0)
        .map(|(_, n)| *n)
        .collect();
    parts.join(" or ")
}

/// The context object as far as the data-flow check needs it.
fn context_shape() -> Shape {
    let string = || Field {
        shape: Shape::scalar(STRING),
        required: true,
    };
    let obj = |fields: &[&str]| Field {
        shape: Shape::object(
            fields.iter().map(|f| ((*f).to_owned(), string())).collect(),
            true,
        ),
        required: true,
    };
    Shape::object(
        BTreeMap::from([
            (
                "Execution".to_owned(),
                obj(&["Id", "Name", "StartTime", "RoleArn"]),
            ),
            ("State".to_owned(), obj(&["Name", "EnteredTime"])),
            ("StateMachine".to_owned(), obj(&["Id", "Name"])),
            ("Task".to_owned(), obj(&["Token"])),
        ]),
        true,
    )
}

struct Checker<'a> {
    task_schemas: &'a HashMap<String, TaskSchemas>,
    findings: Vec<Finding>,
}

impl Checker<'_> {
    fn report(&mut self, pointer: String, message: String) {
        let finding = Finding::new("data-flow", pointer, message);
        if !self.findings.contains(&finding) {
            self.findings.push(finding);
        }
    }

    /// Reads a path (`$…` from `input`, `$$…` from the context object).
    fn read_path(&mut self, input: &Shape, text: &str, pointer: &str) -> Shape {
        match parse_path(text) {
            Ok(path) => self.read_parsed(input, &path, text, pointer),
            Err(e) => {
                self.report(
                    pointer.to_owned(),
                    format!("{text:?} is not a valid path: {e}"),
                );
                Shape::any()
            }
        }
    }

    fn read_parsed(&mut self, input: &Shape, path: &JsonPath, text: &str, pointer: &str) -> Shape {
        let root = match &path.root {
            Root::Input => input.clone(),
            Root::Context => context_shape(),
            Root::Variable(_) | Root::Current => return Shape::any(),
        };
        match root.read(&path.segments, text) {
            Ok(shape) => shape,
            Err(message) => {
                self.report(pointer.to_owned(), message);
                Shape::any()
            }
        }
    }

    /// Evaluates a payload template against `input`.
    fn template(&mut self, input: &Shape, template: &Value, pointer: &str) -> Shape {
        match template {
            Value::Object(map) => {
                let mut props = BTreeMap::new();
                for (key, value) in map {
                    let child_pointer = format!("{pointer}/{}", escape_segment(key));
                    let (name, shape) = match (key.strip_suffix(".$"), value) {
                        (Some(name), Value::String(expr)) => (
                            name.to_owned(),
                            self.dynamic_value(input, expr, &child_pointer),
                        ),
                        _ => (key.clone(), self.template(input, value, &child_pointer)),
                    };
                    props.insert(
                        name,
                        Field {
                            shape,
                            required: true,
                        },
                    );
                }
                Shape::object(props, false)
            }
            Value::Array(items) => {
                let mut shape = Shape::scalar(ARRAY);
                let mut shapes = items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| self.template(input, v, &format!("{pointer}/{i}")))
                    .collect::<Vec<_>>()
                    .into_iter();
                shape.items = shapes
                    .next()
                    .map(|first| Box::new(shapes.fold(first, |a, s| a.join(&s))));
                shape
            }
            other => Shape::of_literal(other),
        }
    }

    fn dynamic_value(&mut self, input: &Shape, expr: &str, pointer: &str) -> Shape {
        match parse_payload_value(expr) {
            Ok(PayloadValue::Path(path)) => self.read_parsed(input, &path, expr, pointer),
            Ok(PayloadValue::Intrinsic(call)) => self.intrinsic(input, &call, pointer),
            Err(e) => {
                self.report(
                    pointer.to_owned(),
                    format!("{expr:?} is neither a path nor a valid intrinsic call: {e}"),
                );
                Shape::any()
            }
        }
    }

    fn intrinsic(&mut self, input: &Shape, call: &IntrinsicCall, pointer: &str) -> Shape {
        for arg in &call.args {
            match arg {
                Argument::Path(path) => {
                    self.read_parsed(input, path, &path.to_string(), pointer);
                }
                Argument::Call(nested) => {
                    self.intrinsic(input, nested, pointer);
                }
                _ => {}
            }
        }
        use IntrinsicFunction as F;
        match call.function {
            F::Format | F::JsonToString | F::Base64Encode | F::Base64Decode | F::Hash | F::Uuid => {
                Shape::scalar(STRING)
            }
            F::ArrayLength | F::MathRandom | F::MathAdd => Shape::scalar(NUMBER),
            F::ArrayContains => Shape::scalar(BOOLEAN),
            F::Array | F::ArrayPartition | F::ArrayRange | F::ArrayUnique | F::StringSplit => {
                Shape::scalar(ARRAY)
            }
            F::StringToJson | F::ArrayGetItem | F::JsonMerge => Shape::any(),
        }
    }

    fn select(&mut self, shape: &Shape, path: &Option<Option<String>>, pointer: &str) -> Shape {
        match path {
            None => shape.clone(),
            Some(None) => Shape::empty_object(),
            Some(Some(text)) => self.read_path(shape, text, pointer),
        }
    }

    fn place(
        &mut self,
        raw: &Shape,
        result: Shape,
        path: &Option<Option<String>>,
        pointer: String,
    ) -> Shape {
        match path {
            None => result,
            Some(None) => raw.clone(),
            Some(Some(text)) => match parse_path(text) {
                Ok(parsed) if matches!(parsed.root, Root::Input) => {
                    raw.insert(&parsed.segments, result)
                }
                Ok(_) | Err(_) => {
                    self.report(pointer, format!("{text:?} is not a valid ResultPath"));
                    Shape::any()
                }
            },
        }
    }

    /// Runs one state on `input`; returns the (target, shape) pairs it passes on.
    fn step(&mut self, name: &str, state: &State, raw: &Shape) -> Vec<(String, Shape)> {
        let base = format!("/States/{}", escape_segment(name));
        let mut out = Vec::new();
        let error_object = || {
            Shape::object(
                BTreeMap::from([
                    (
                        "Error".to_owned(),
                        Field {
                            shape: Shape::scalar(STRING),
                            required: true,
                        },
                    ),
                    (
                        "Cause".to_owned(),
                        Field {
                            shape: Shape::scalar(STRING),
                            required: true,
                        },
                    ),
                ]),
                false,
            )
        };
        match state {
            State::Pass(p) => {
                let input = self.select(raw, &p.input_path, &format!("{base}/InputPath"));
                let effective = match &p.parameters {
                    Some(t) => self.template(&input, t, &format!("{base}/Parameters")),
                    None => input,
                };
                let result = p
                    .result
                    .as_ref()
                    .map(Shape::of_literal)
                    .unwrap_or(effective);
                let placed = self.place(raw, result, &p.result_path, format!("{base}/ResultPath"));
                let output = self.select(&placed, &p.output_path, &format!("{base}/OutputPath"));
                out.extend(p.next.iter().map(|n| (n.clone(), output.clone())));
            }
            State::Task(t) => {
                let input = self.select(raw, &t.input_path, &format!("{base}/InputPath"));
                let effective = match &t.parameters {
                    Some(template) => {
                        self.template(&input, template, &format!("{base}/Parameters"))
                    }
                    None => input,
                };
                let result = match self.task_schemas.get(name) {
                    Some(schemas) => {
                        let expected = Shape::from_schema(&schemas.input);
                        let mut problems = Vec::new();
                        effective.conforms_to(&expected, "input", &mut problems);
                        for problem in problems {
                            self.report(
                                format!("{base}/Parameters"),
                                format!("activity input: {problem}"),
                            );
                        }
                        Shape::from_schema(&schemas.output)
                    }
                    None => Shape::any(),
                };
                let result = match &t.result_selector {
                    Some(template) => {
                        self.template(&result, template, &format!("{base}/ResultSelector"))
                    }
                    None => result,
                };
                let placed = self.place(raw, result, &t.result_path, format!("{base}/ResultPath"));
                let output = self.select(&placed, &t.output_path, &format!("{base}/OutputPath"));
                out.extend(t.next.iter().map(|n| (n.clone(), output.clone())));
                for (i, catcher) in t.catch.iter().flatten().enumerate() {
                    let shape = self.place(
                        raw,
                        error_object(),
                        &catcher.result_path,
                        format!("{base}/Catch/{i}/ResultPath"),
                    );
                    out.push((catcher.next.clone(), shape));
                }
            }
            State::Choice(c) => {
                let input = self.select(raw, &c.input_path, &format!("{base}/InputPath"));
                for (i, rule) in c.choices.iter().enumerate() {
                    let mut narrowed = input.clone();
                    self.rule(&input, rule, &format!("{base}/Choices/{i}"), &mut narrowed);
                    let output =
                        self.select(&narrowed, &c.output_path, &format!("{base}/OutputPath"));
                    out.extend(rule.next.iter().map(|n| (n.clone(), output.clone())));
                }
                if let Some(default) = &c.default {
                    let output = self.select(&input, &c.output_path, &format!("{base}/OutputPath"));
                    out.push((default.clone(), output));
                }
            }
            State::Wait(w) => {
                let input = self.select(raw, &w.input_path, &format!("{base}/InputPath"));
                for (field, path) in [
                    ("SecondsPath", &w.seconds_path),
                    ("TimestampPath", &w.timestamp_path),
                ] {
                    if let Some(path) = path {
                        self.read_path(&input, path, &format!("{base}/{field}"));
                    }
                }
                let output = self.select(&input, &w.output_path, &format!("{base}/OutputPath"));
                out.extend(w.next.iter().map(|n| (n.clone(), output.clone())));
            }
            State::Fail(f) => {
                for (field, path) in [("ErrorPath", &f.error_path), ("CausePath", &f.cause_path)] {
                    if let Some(path) = path {
                        self.dynamic_value(raw, path, &format!("{base}/{field}"));
                    }
                }
            }
            State::Succeed(_) | State::Parallel(_) | State::Map(_) => {
                // Nested scopes are not followed: their input is opaque to this check.
                out.extend(
                    state
                        .transitions()
                        .into_iter()
                        .map(|n| (n.to_owned(), Shape::any())),
                );
            }
        }
        out
    }

    /// Checks the paths a rule reads and narrows `narrowed` with what the rule proves.
    fn rule(&mut self, input: &Shape, rule: &ChoiceRule, pointer: &str, narrowed: &mut Shape) {
        if let Some(variable) = &rule.variable {
            let tests_presence = rule.comparisons.iter().any(|c| {
                matches!(
                    c.operator,
                    ComparisonOperator::IsPresent | ComparisonOperator::IsNull
                )
            });
            let proves_presence = rule.comparisons.iter().any(|c| {
                c.operator != ComparisonOperator::IsPresent || c.value == Value::Bool(true)
            });
            if !tests_presence {
                self.read_path(input, variable, &format!("{pointer}/Variable"));
            }
            if proves_presence
                && let Ok(path) = parse_path(variable)
                && matches!(path.root, Root::Input)
            {
                let kinds = rule.comparisons.iter().fold(ALL_KINDS, |kinds, c| {
                    kinds & proven_kinds(c.operator, &c.value)
                });
                *narrowed = prove_present(narrowed, &path.segments, kinds);
            }
            for comparison in &rule.comparisons {
                if comparison.operator.is_path()
                    && let Some(other) = comparison.value.as_str()
                {
                    self.read_path(
                        input,
                        other,
                        &format!("{pointer}/{}", comparison.operator.name()),
                    );
                }
            }
        }
        // `And` stops at the first rule that does not match, so each rule is read with what the
        // rules before it proved (the documented `IsPresent`-then-compare guard).
        for (i, nested) in rule.and.iter().flatten().enumerate() {
            let proven = narrowed.clone();
            self.rule(&proven, nested, &format!("{pointer}/And/{i}"), narrowed);
        }
        // Or and Not prove nothing about presence; only check the paths they read.
        for (i, nested) in rule.or.iter().flatten().enumerate() {
            let mut ignored = input.clone();
            self.rule(input, nested, &format!("{pointer}/Or/{i}"), &mut ignored);
        }
        if let Some(nested) = &rule.not {
            let mut ignored = input.clone();
            self.rule(input, nested, &format!("{pointer}/Not"), &mut ignored);
        }
    }
}

/// The kinds a value can have when a rule with this operator and operand matched: a typed
/// comparison proves the type, `IsString: true` and friends prove theirs, `IsNull: false` rules
/// out null.
fn proven_kinds(operator: ComparisonOperator, operand: &Value) -> u8 {
    use ComparisonOperator as Op;
    let yes = operand == &Value::Bool(true);
    match operator {
        Op::IsString | Op::IsTimestamp if yes => STRING,
        Op::IsNumeric if yes => NUMBER,
        Op::IsBoolean if yes => BOOLEAN,
        Op::IsNull if yes => NULL,
        Op::IsNull => ALL_KINDS & !NULL,
        Op::IsString | Op::IsTimestamp | Op::IsNumeric | Op::IsBoolean | Op::IsPresent => ALL_KINDS,
        op => match op.operand_kind() {
            asl::model::OperandKind::String | asl::model::OperandKind::Timestamp => STRING,
            asl::model::OperandKind::Number => NUMBER,
            asl::model::OperandKind::Boolean => BOOLEAN,
            // `StringEqualsPath` and the like prove the type of their family.
            asl::model::OperandKind::Path => match op.name() {
                n if n.starts_with("String") || n.starts_with("Timestamp") => STRING,
                n if n.starts_with("Numeric") => NUMBER,
                n if n.starts_with("Boolean") => BOOLEAN,
                _ => ALL_KINDS,
            },
        },
    }
}

/// Marks every field along `segments` as present, and the last one as having only `kinds`.
fn prove_present(shape: &Shape, segments: &[asl::path::Segment], kinds: u8) -> Shape {
    let Some((first, rest)) = segments.split_first() else {
        let mut out = shape.clone();
        out.kinds &= kinds;
        return out;
    };
    let Selector::Name(name) = &first.selector else {
        return shape.clone();
    };
    let mut out = shape.clone();
    if let Some(field) = out.props.get_mut(name) {
        field.required = true;
        field.shape = prove_present(&field.shape, rest, kinds);
        out.kinds = OBJECT;
    }
    out
}

/// Runs the data-flow check over the top-level states of `machine`.
pub fn check(
    machine: &StateMachine,
    input_schema: &Value,
    task_schemas: &HashMap<String, TaskSchemas>,
) -> Vec<Finding> {
    /// Joins only widen shapes, so the fixpoint is reached quickly; this bounds pathological cases.
    const MAX_VISITS: usize = 10_000;
    let mut checker = Checker {
        task_schemas,
        findings: Vec::new(),
    };
    let mut inputs: HashMap<String, Shape> = HashMap::new();
    let mut queue: VecDeque<String> = VecDeque::new();
    inputs.insert(machine.start_at.clone(), Shape::from_schema(input_schema));
    queue.push_back(machine.start_at.clone());
    let mut visits = 0;
    while let Some(name) = queue.pop_front() {
        visits += 1;
        if visits > MAX_VISITS {
            break;
        }
        let (Some(state), Some(input)) = (machine.states.get(&name), inputs.get(&name).cloned())
        else {
            continue;
        };
        for (target, shape) in checker.step(&name, state, &input) {
            let joined = match inputs.get(&target) {
                Some(existing) => existing.join(&shape),
                None => shape,
            };
            if inputs.get(&target) != Some(&joined) {
                inputs.insert(target.clone(), joined);
                if !queue.contains(&target) {
                    queue.push_back(target);
                }
            }
        }
    }
    checker.findings
}
