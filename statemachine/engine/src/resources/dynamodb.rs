//! The DynamoDB service integration (`arn:aws:states:::dynamodb:getItem|putItem|updateItem`):
//! the [`TableAdapter`] port and an in-memory implementation.
//!
//! Requests and responses are DynamoDB API JSON (items in attribute-value format, `{"S": "x"}`).
//! The in-memory tables support what our workflows use, and fail clearly on the rest:
//! - `UpdateExpression`: `SET` (`path = operand`, `operand + operand`, `operand - operand`,
//!   `if_not_exists(path, operand)`, `list_append(a, b)`) and `REMOVE`; `ADD` / `DELETE` are
//!   rejected with `DynamoDB.AmazonDynamoDBException` naming them.
//! - `ConditionExpression`: comparisons (`= <> < <= > >=`), `BETWEEN`, `IN`, `AND`/`OR`/`NOT`,
//!   parentheses, `attribute_exists`, `attribute_not_exists`, `begins_with`, `contains`, `size`.
//! - Paths: names, `#aliases`, nested map members (`a.b`) and list elements (`a[0]`).
//! - `ReturnValues`: `NONE`, `ALL_OLD`, `ALL_NEW`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::error::StatesError;

/// Step Functions' name for a failed condition.
pub const CONDITIONAL_CHECK_FAILED: &str = "DynamoDB.ConditionalCheckFailedException";
/// Step Functions' name for a missing table.
pub const RESOURCE_NOT_FOUND: &str = "DynamoDB.ResourceNotFoundException";
/// Step Functions' name for any other DynamoDB client error (validation, unsupported syntax).
pub const DYNAMODB_EXCEPTION: &str = "DynamoDB.AmazonDynamoDBException";

/// A DynamoDB-compatible table store behind the Task state integration.
#[async_trait]
pub trait TableAdapter: Send + Sync {
    /// GetItem: `{"TableName", "Key"}` → `{"Item": ...}` or `{}`.
    async fn get_item(&self, request: &Value) -> Result<Value, StatesError>;
    /// PutItem: `{"TableName", "Item", "ConditionExpression"?, ...}` → `{}` (or `Attributes`).
    async fn put_item(&self, request: &Value) -> Result<Value, StatesError>;
    /// UpdateItem: `{"TableName", "Key", "UpdateExpression", ...}` → `{}` (or `Attributes`).
    async fn update_item(&self, request: &Value) -> Result<Value, StatesError>;
}

type Item = Map<String, Value>;

#[derive(Debug, Default)]
struct Table {
    key_names: Vec<String>,
    items: BTreeMap<String, Item>,
}

/// In-memory tables with DynamoDB semantics for the supported subset.
#[derive(Debug, Default)]
pub struct MemoryTables {
    tables: Mutex<BTreeMap<String, Table>>,
}

fn invalid(message: impl Into<String>) -> StatesError {
    StatesError::new(DYNAMODB_EXCEPTION, message)
}

impl MemoryTables {
    /// No tables.
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates table `name` whose primary key is made of `key_names` (partition, then sort).
    pub fn create_table(&self, name: &str, key_names: &[&str]) {
        let mut tables = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        tables.entry(name.to_owned()).or_insert_with(|| Table {
            key_names: key_names.iter().map(|k| (*k).to_owned()).collect(),
            items: BTreeMap::new(),
        });
    }

    /// Every item of a table (for tests), in key order.
    pub fn items(&self, name: &str) -> Vec<Value> {
        let tables = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        tables
            .get(name)
            .map(|t| t.items.values().cloned().map(Value::Object).collect())
            .unwrap_or_default()
    }

    fn with_table<T>(
        &self,
        request: &Value,
        f: impl FnOnce(&mut Table) -> Result<T, StatesError>,
    ) -> Result<T, StatesError> {
        let name = request
            .get("TableName")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("TableName is required"))?;
        let mut tables = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        let table = tables.get_mut(name).ok_or_else(|| {
            StatesError::new(
                RESOURCE_NOT_FOUND,
                format!("Requested resource not found: Table: {name} not found"),
            )
        })?;
        f(table)
    }
}

impl Table {
    fn key_of(&self, source: &Item, exact: bool) -> Result<String, StatesError> {
        let mut parts = Vec::new();
        for name in &self.key_names {
            let value = source.get(name).ok_or_else(|| {
                invalid(format!(
                    "One or more parameter values were invalid: Missing the key {name} in the item"
                ))
            })?;
            parts.push(value.clone());
        }
        if exact && source.len() != self.key_names.len() {
            return Err(invalid(
                "The provided key element does not match the schema",
            ));
        }
        Ok(Value::Array(parts).to_string())
    }
}

fn object<'a>(request: &'a Value, field: &str) -> Result<&'a Item, StatesError> {
    request
        .get(field)
        .and_then(Value::as_object)
        .ok_or_else(|| invalid(format!("{field} is required and must be a map")))
}

fn return_values(
    request: &Value,
    old: Option<&Item>,
    new: Option<&Item>,
) -> Result<Value, StatesError> {
    let mode = request
        .get("ReturnValues")
        .and_then(Value::as_str)
        .unwrap_or("NONE");
    let attrs = match mode {
        "NONE" => None,
        "ALL_OLD" => old,
        "ALL_NEW" => new,
        other => {
            return Err(invalid(format!(
                "ReturnValues {other} is not supported by the local engine (NONE, ALL_OLD, ALL_NEW are)"
            )));
        }
    };
    Ok(match attrs {
        Some(item) => json!({"Attributes": item}),
        None => json!({}),
    })
}

fn check_condition(request: &Value, item: Option<&Item>) -> Result<(), StatesError> {
    let Some(text) = request.get("ConditionExpression").and_then(Value::as_str) else {
        return Ok(());
    };
    let ctx = ExprContext::from_request(request)?;
    let condition = Parser::new(text, &ctx)?.condition_expression()?;
    let empty = Item::new();
    if condition.eval(item.unwrap_or(&empty))? {
        Ok(())
    } else {
        Err(StatesError::new(
            CONDITIONAL_CHECK_FAILED,
            "The conditional request failed",
        ))
    }
}

#[async_trait]
impl TableAdapter for MemoryTables {
    async fn get_item(&self, request: &Value) -> Result<Value, StatesError> {
        self.with_table(request, |table| {
            let key = table.key_of(object(request, "Key")?, true)?;
            Ok(match table.items.get(&key) {
                Some(item) => json!({"Item": item}),
                None => json!({}),
            })
        })
    }

    async fn put_item(&self, request: &Value) -> Result<Value, StatesError> {
        self.with_table(request, |table| {
            let item = object(request, "Item")?.clone();
            let key = table.key_of(&item, false)?;
            let old = table.items.get(&key).cloned();
            check_condition(request, old.as_ref())?;
            table.items.insert(key, item.clone());
            return_values(request, old.as_ref(), Some(&item))
        })
    }

    async fn update_item(&self, request: &Value) -> Result<Value, StatesError> {
        self.with_table(request, |table| {
            let key_value = object(request, "Key")?.clone();
            let key = table.key_of(&key_value, true)?;
            let old = table.items.get(&key).cloned();
            check_condition(request, old.as_ref())?;
            let mut item = old.clone().unwrap_or_else(|| key_value.clone());
            if let Some(text) = request.get("UpdateExpression").and_then(Value::as_str) {
                let ctx = ExprContext::from_request(request)?;
                let actions = Parser::new(text, &ctx)?.update_expression()?;
                for action in actions {
                    action.apply(&mut item)?;
                }
            }
            for name in &table.key_names {
                if item.get(name) != key_value.get(name) {
                    return Err(invalid(format!(
                        "Cannot update attribute {name}. This attribute is part of the key"
                    )));
                }
            }
            table.items.insert(key, item.clone());
            return_values(request, old.as_ref(), Some(&item))
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------------------------

struct ExprContext {
    names: Map<String, Value>,
    values: Map<String, Value>,
}

impl ExprContext {
    fn from_request(request: &Value) -> Result<Self, StatesError> {
        let map = |field: &str| -> Map<String, Value> {
            request
                .get(field)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        Ok(Self {
            names: map("ExpressionAttributeNames"),
            values: map("ExpressionAttributeValues"),
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Word(String),
    Name(String),
    Value(String),
    Number(usize),
    Symbol(&'static str),
}

fn tokenize(text: &str) -> Result<Vec<Token>, StatesError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let word_char = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c == '#' || c == ':' {
            i += 1;
            while i < chars.len() && word_char(chars[i]) && chars[i] != '-' {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            tokens.push(if c == '#' {
                Token::Name(word)
            } else {
                Token::Value(word)
            });
            continue;
        }
        if c.is_ascii_digit() {
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let digits: String = chars[start..i].iter().collect();
            tokens.push(Token::Number(digits.parse().map_err(|_| {
                invalid(format!("bad list index {digits} in expression"))
            })?));
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(Token::Word(chars[start..i].iter().collect()));
            continue;
        }
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let symbol = match two.as_str() {
            "<>" => Some("<>"),
            "<=" => Some("<="),
            ">=" => Some(">="),
            _ => None,
        };
        if let Some(symbol) = symbol {
            tokens.push(Token::Symbol(symbol));
            i += 2;
            continue;
        }
        let symbol = match c {
            '(' => "(",
            ')' => ")",
            ',' => ",",
            '.' => ".",
            '[' => "[",
            ']' => "]",
            '=' => "=",
            '<' => "<",
            '>' => ">",
            '+' => "+",
            '-' => "-",
            other => {
                return Err(invalid(format!(
                    "Invalid expression: unexpected character '{other}' in \"{text}\""
                )));
            }
        };
        tokens.push(Token::Symbol(symbol));
        i += 1;
    }
    Ok(tokens)
}

#[derive(Clone, Debug, PartialEq)]
enum PathStep {
    Member(String),
    Index(usize),
}

type Path = Vec<PathStep>;

#[derive(Clone, Debug)]
enum Operand {
    Path(Path),
    Literal(Value),
    Size(Path),
    IfNotExists(Path, Box<Operand>),
    ListAppend(Box<Operand>, Box<Operand>),
    Plus(Box<Operand>, Box<Operand>),
    Minus(Box<Operand>, Box<Operand>),
}

#[derive(Clone, Debug)]
enum Condition {
    Compare(Operand, &'static str, Operand),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    Exists(Path, bool),
    BeginsWith(Operand, Operand),
    Contains(Operand, Operand),
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
    Not(Box<Condition>),
}

#[derive(Clone, Debug)]
enum UpdateAction {
    Set(Path, Operand),
    Remove(Path),
}

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    ctx: &'a ExprContext,
    text: String,
}

fn keyword(token: Option<&Token>, word: &str) -> bool {
    matches!(token, Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
}

impl<'a> Parser<'a> {
    fn new(text: &str, ctx: &'a ExprContext) -> Result<Self, StatesError> {
        Ok(Self {
            tokens: tokenize(text)?,
            pos: 0,
            ctx,
            text: text.to_owned(),
        })
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn error(&self, what: &str) -> StatesError {
        invalid(format!(
            "Invalid expression: {what} at token {} of \"{}\"",
            self.pos + 1,
            self.text
        ))
    }

    fn expect(&mut self, symbol: &str) -> Result<(), StatesError> {
        match self.next() {
            Some(Token::Symbol(s)) if s == symbol => Ok(()),
            _ => Err(self.error(&format!("expected '{symbol}'"))),
        }
    }

    fn eat(&mut self, symbol: &str) -> bool {
        if matches!(self.peek(), Some(Token::Symbol(s)) if *s == symbol) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn finish(&self) -> Result<(), StatesError> {
        if self.pos == self.tokens.len() {
            Ok(())
        } else {
            Err(self.error("unexpected trailing input"))
        }
    }

    fn member(&mut self) -> Result<String, StatesError> {
        match self.next() {
            Some(Token::Word(w)) => Ok(w),
            Some(Token::Name(alias)) => self
                .ctx
                .names
                .get(&alias)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| {
                    invalid(format!(
                        "Value provided in ExpressionAttributeNames unused in expressions or undefined: {alias}"
                    ))
                }),
            _ => Err(self.error("expected an attribute name")),
        }
    }

    fn path(&mut self) -> Result<Path, StatesError> {
        let mut path = vec![PathStep::Member(self.member()?)];
        loop {
            if self.eat(".") {
                path.push(PathStep::Member(self.member()?));
            } else if self.eat("[") {
                match self.next() {
                    Some(Token::Number(n)) => path.push(PathStep::Index(n)),
                    _ => return Err(self.error("expected a list index")),
                }
                self.expect("]")?;
            } else {
                return Ok(path);
            }
        }
    }

    fn operand(&mut self) -> Result<Operand, StatesError> {
        match self.peek().cloned() {
            Some(Token::Value(name)) => {
                self.pos += 1;
                self.ctx
                    .values
                    .get(&name)
                    .cloned()
                    .map(Operand::Literal)
                    .ok_or_else(|| {
                        invalid(format!(
                            "An expression attribute value used in expression is not defined; attribute value: {name}"
                        ))
                    })
            }
            Some(Token::Word(w)) if self.is_call() => {
                self.pos += 2;
                let operand = match w.as_str() {
                    "size" => Operand::Size(self.path()?),
                    "if_not_exists" => {
                        let path = self.path()?;
                        self.expect(",")?;
                        Operand::IfNotExists(path, Box::new(self.value()?))
                    }
                    "list_append" => {
                        let a = self.value()?;
                        self.expect(",")?;
                        Operand::ListAppend(Box::new(a), Box::new(self.value()?))
                    }
                    other => {
                        return Err(invalid(format!(
                            "Invalid expression: function {other} is not supported here by the local engine"
                        )));
                    }
                };
                self.expect(")")?;
                Ok(operand)
            }
            _ => Ok(Operand::Path(self.path()?)),
        }
    }

    fn is_call(&self) -> bool {
        matches!(self.tokens.get(self.pos + 1), Some(Token::Symbol("(")))
    }

    /// An update value: `operand`, `operand + operand` or `operand - operand`.
    fn value(&mut self) -> Result<Operand, StatesError> {
        let left = self.operand()?;
        if self.eat("+") {
            return Ok(Operand::Plus(Box::new(left), Box::new(self.operand()?)));
        }
        if self.eat("-") {
            return Ok(Operand::Minus(Box::new(left), Box::new(self.operand()?)));
        }
        Ok(left)
    }

    fn condition_expression(mut self) -> Result<Condition, StatesError> {
        let condition = self.or()?;
        self.finish()?;
        Ok(condition)
    }

    fn or(&mut self) -> Result<Condition, StatesError> {
        let mut left = self.and()?;
        while keyword(self.peek(), "OR") {
            self.pos += 1;
            left = Condition::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Condition, StatesError> {
        let mut left = self.not()?;
        while keyword(self.peek(), "AND") {
            self.pos += 1;
            left = Condition::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Condition, StatesError> {
        if keyword(self.peek(), "NOT") {
            self.pos += 1;
            return Ok(Condition::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Condition, StatesError> {
        if self.eat("(") {
            let inner = self.or()?;
            self.expect(")")?;
            return Ok(inner);
        }
        if let Some(Token::Word(w)) = self.peek().cloned()
            && self.is_call()
            && w != "size"
        {
            self.pos += 2;
            let condition = match w.as_str() {
                "attribute_exists" => Condition::Exists(self.path()?, true),
                "attribute_not_exists" => Condition::Exists(self.path()?, false),
                "begins_with" | "contains" => {
                    let a = self.operand()?;
                    self.expect(",")?;
                    let b = self.operand()?;
                    if w == "contains" {
                        Condition::Contains(a, b)
                    } else {
                        Condition::BeginsWith(a, b)
                    }
                }
                other => {
                    return Err(invalid(format!(
                        "Invalid ConditionExpression: function {other} is not supported by the local engine"
                    )));
                }
            };
            self.expect(")")?;
            return Ok(condition);
        }
        let left = self.operand()?;
        if keyword(self.peek(), "BETWEEN") {
            self.pos += 1;
            let low = self.operand()?;
            if !keyword(self.peek(), "AND") {
                return Err(self.error("expected AND in BETWEEN"));
            }
            self.pos += 1;
            return Ok(Condition::Between(left, low, self.operand()?));
        }
        if keyword(self.peek(), "IN") {
            self.pos += 1;
            self.expect("(")?;
            let mut list = vec![self.operand()?];
            while self.eat(",") {
                list.push(self.operand()?);
            }
            self.expect(")")?;
            return Ok(Condition::In(left, list));
        }
        let op = match self.next() {
            Some(Token::Symbol(s)) if ["=", "<>", "<", "<=", ">", ">="].contains(&s) => s,
            _ => return Err(self.error("expected a comparator")),
        };
        Ok(Condition::Compare(left, op, self.operand()?))
    }

    fn update_expression(mut self) -> Result<Vec<UpdateAction>, StatesError> {
        let mut actions = Vec::new();
        while let Some(token) = self.next() {
            let clause = match token {
                Token::Word(w) => w.to_ascii_uppercase(),
                _ => return Err(self.error("expected SET or REMOVE")),
            };
            loop {
                match clause.as_str() {
                    "SET" => {
                        let path = self.path()?;
                        self.expect("=")?;
                        actions.push(UpdateAction::Set(path, self.value()?));
                    }
                    "REMOVE" => actions.push(UpdateAction::Remove(self.path()?)),
                    "ADD" | "DELETE" => {
                        return Err(invalid(format!(
                            "UpdateExpression {clause} clauses are not supported by the local engine (SET and REMOVE are)"
                        )));
                    }
                    _ => return Err(self.error("expected SET or REMOVE")),
                }
                if !self.eat(",") {
                    break;
                }
            }
        }
        if actions.is_empty() {
            return Err(invalid("Invalid UpdateExpression: the expression is empty"));
        }
        Ok(actions)
    }
}

fn resolve<'v>(item: &'v Item, path: &Path) -> Option<&'v Value> {
    let mut steps = path.iter();
    let Some(PathStep::Member(first)) = steps.next() else {
        return None;
    };
    let mut current = item.get(first)?;
    for step in steps {
        current = match step {
            PathStep::Member(name) => current.get("M")?.get(name)?,
            PathStep::Index(i) => current.get("L")?.get(*i)?,
        };
    }
    Some(current)
}

fn number(value: &Value) -> Option<f64> {
    value.get("N")?.as_str()?.parse().ok()
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

impl Operand {
    fn eval(&self, item: &Item) -> Result<Option<Value>, StatesError> {
        Ok(match self {
            Self::Path(path) => resolve(item, path).cloned(),
            Self::Literal(v) => Some(v.clone()),
            Self::Size(path) => resolve(item, path).map(|v| {
                let size = if let Some(s) = v.get("S").and_then(Value::as_str) {
                    s.len()
                } else if let Some(m) = v.get("M").and_then(Value::as_object) {
                    m.len()
                } else {
                    v.as_object()
                        .and_then(|o| o.values().next())
                        .and_then(Value::as_array)
                        .map_or(0, Vec::len)
                };
                json!({"N": size.to_string()})
            }),
            Self::IfNotExists(path, default) => match resolve(item, path) {
                Some(v) => Some(v.clone()),
                None => default.eval(item)?,
            },
            Self::ListAppend(a, b) => {
                let list = |v: Option<Value>| -> Result<Vec<Value>, StatesError> {
                    v.and_then(|v| v.get("L").and_then(Value::as_array).cloned())
                        .ok_or_else(|| invalid("list_append operands must be lists"))
                };
                let mut items = list(a.eval(item)?)?;
                items.extend(list(b.eval(item)?)?);
                Some(json!({"L": items}))
            }
            Self::Plus(a, b) | Self::Minus(a, b) => {
                let operand = |v: Option<Value>| {
                    v.as_ref().and_then(number).ok_or_else(|| {
                        invalid("An operand in the update expression has an incorrect data type")
                    })
                };
                let (x, y) = (operand(a.eval(item)?)?, operand(b.eval(item)?)?);
                let n = if matches!(self, Self::Plus(..)) {
                    x + y
                } else {
                    x - y
                };
                Some(json!({"N": format_number(n)}))
            }
        })
    }
}

fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    if let (Some(x), Some(y)) = (number(a), number(b)) {
        return x.partial_cmp(&y);
    }
    match (
        a.get("S").and_then(Value::as_str),
        b.get("S").and_then(Value::as_str),
    ) {
        (Some(x), Some(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    match (number(a), number(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

impl Condition {
    fn eval(&self, item: &Item) -> Result<bool, StatesError> {
        Ok(match self {
            Self::Compare(a, op, b) => {
                let (Some(a), Some(b)) = (a.eval(item)?, b.eval(item)?) else {
                    return Ok(false);
                };
                match *op {
                    "=" => equal(&a, &b),
                    "<>" => !equal(&a, &b),
                    op => match compare(&a, &b) {
                        Some(ordering) => match op {
                            "<" => ordering.is_lt(),
                            "<=" => ordering.is_le(),
                            ">" => ordering.is_gt(),
                            _ => ordering.is_ge(),
                        },
                        None => false,
                    },
                }
            }
            Self::Between(v, low, high) => {
                let (Some(v), Some(low), Some(high)) =
                    (v.eval(item)?, low.eval(item)?, high.eval(item)?)
                else {
                    return Ok(false);
                };
                compare(&v, &low).is_some_and(|o| o.is_ge())
                    && compare(&v, &high).is_some_and(|o| o.is_le())
            }
            Self::In(v, list) => {
                let Some(v) = v.eval(item)? else {
                    return Ok(false);
                };
                let mut found = false;
                for candidate in list {
                    if candidate.eval(item)?.is_some_and(|c| equal(&v, &c)) {
                        found = true;
                    }
                }
                found
            }
            Self::Exists(path, wanted) => resolve(item, path).is_some() == *wanted,
            Self::BeginsWith(a, b) => match (a.eval(item)?, b.eval(item)?) {
                (Some(a), Some(b)) => match (
                    a.get("S").and_then(Value::as_str),
                    b.get("S").and_then(Value::as_str),
                ) {
                    (Some(a), Some(b)) => a.starts_with(b),
                    _ => false,
                },
                _ => false,
            },
            Self::Contains(a, b) => match (a.eval(item)?, b.eval(item)?) {
                (Some(a), Some(b)) => {
                    if let (Some(s), Some(sub)) = (
                        a.get("S").and_then(Value::as_str),
                        b.get("S").and_then(Value::as_str),
                    ) {
                        s.contains(sub)
                    } else {
                        let members = a
                            .as_object()
                            .and_then(|o| o.values().next())
                            .and_then(Value::as_array);
                        let needle = b.as_object().and_then(|o| o.values().next());
                        match (members, needle) {
                            (Some(members), Some(needle)) => members
                                .iter()
                                .any(|m| m == needle || m.get("S") == Some(needle) || equal(m, &b)),
                            _ => false,
                        }
                    }
                }
                _ => false,
            },
            Self::And(a, b) => a.eval(item)? && b.eval(item)?,
            Self::Or(a, b) => a.eval(item)? || b.eval(item)?,
            Self::Not(a) => !a.eval(item)?,
        })
    }
}

fn set_path(item: &mut Item, path: &Path, value: Option<Value>) -> Result<(), StatesError> {
    let Some((PathStep::Member(first), rest)) = path.split_first() else {
        return Err(invalid("an update path must start with an attribute name"));
    };
    if rest.is_empty() {
        match value {
            Some(v) => {
                item.insert(first.clone(), v);
            }
            None => {
                item.remove(first);
            }
        }
        return Ok(());
    }
    let missing =
        || invalid("The document path provided in the update expression is invalid for update");
    let mut current = item.get_mut(first).ok_or_else(missing)?;
    for (i, step) in rest.iter().enumerate() {
        let last = i + 1 == rest.len();
        match step {
            PathStep::Member(name) => {
                let map = current
                    .get_mut("M")
                    .and_then(Value::as_object_mut)
                    .ok_or_else(missing)?;
                if last {
                    match value {
                        Some(v) => {
                            map.insert(name.clone(), v);
                        }
                        None => {
                            map.remove(name);
                        }
                    }
                    return Ok(());
                }
                current = map.get_mut(name).ok_or_else(missing)?;
            }
            PathStep::Index(index) => {
                let list = current
                    .get_mut("L")
                    .and_then(Value::as_array_mut)
                    .ok_or_else(missing)?;
                if last {
                    match value {
                        Some(v) if *index < list.len() => list[*index] = v,
                        Some(v) => list.push(v),
                        None if *index < list.len() => {
                            list.remove(*index);
                        }
                        None => {}
                    }
                    return Ok(());
                }
                current = list.get_mut(*index).ok_or_else(missing)?;
            }
        }
    }
    Ok(())
}

impl UpdateAction {
    fn apply(&self, item: &mut Item) -> Result<(), StatesError> {
        match self {
            Self::Set(path, operand) => {
                let value = operand.eval(item)?.ok_or_else(|| {
                    invalid("The provided expression refers to an attribute that does not exist in the item")
                })?;
                set_path(item, path, Some(value))
            }
            Self::Remove(path) => set_path(item, path, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables() -> MemoryTables {
        let tables = MemoryTables::new();
        tables.create_table("catalog", &["recordingId"]);
        tables
    }

    #[tokio::test]
    async fn update_with_attribute_exists_fails_on_a_missing_item() {
        let t = tables();
        let err = t
            .update_item(&json!({
                "TableName": "catalog",
                "Key": {"recordingId": {"S": "r1"}},
                "UpdateExpression": "SET #s = :s",
                "ConditionExpression": "attribute_exists(recordingId)",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {":s": {"S": "completed"}}
            }))
            .await
            .expect_err("no item");
        assert_eq!(err.error, CONDITIONAL_CHECK_FAILED);
    }

    #[tokio::test]
    async fn set_and_remove_update_an_existing_item() {
        let t = tables();
        t.put_item(&json!({"TableName": "catalog", "Item": {
            "recordingId": {"S": "r1"}, "status": {"S": "processing"}, "error": {"S": "x"}, "n": {"N": "1"}
        }}))
        .await
        .expect("put");
        let out = t
            .update_item(&json!({
                "TableName": "catalog",
                "Key": {"recordingId": {"S": "r1"}},
                "UpdateExpression": "SET #s = :s, n = n + :one, tags = list_append(if_not_exists(tags, :empty), :t) REMOVE #e",
                "ConditionExpression": "attribute_exists(recordingId) AND #s = :from",
                "ExpressionAttributeNames": {"#s": "status", "#e": "error"},
                "ExpressionAttributeValues": {":s": {"S": "completed"}, ":from": {"S": "processing"},
                    ":one": {"N": "1"}, ":empty": {"L": []}, ":t": {"L": [{"S": "a"}]}},
                "ReturnValues": "ALL_NEW"
            }))
            .await
            .expect("update");
        assert_eq!(
            out["Attributes"],
            json!({"recordingId": {"S": "r1"}, "status": {"S": "completed"}, "n": {"N": "2"}, "tags": {"L": [{"S": "a"}]}})
        );
    }

    #[tokio::test]
    async fn put_with_attribute_not_exists_refuses_to_overwrite() {
        let t = tables();
        let request = json!({"TableName": "catalog", "Item": {"recordingId": {"S": "r1"}},
            "ConditionExpression": "attribute_not_exists(recordingId)"});
        t.put_item(&request).await.expect("first put");
        let err = t.put_item(&request).await.expect_err("second put");
        assert_eq!(err.error, CONDITIONAL_CHECK_FAILED);
        let got = t
            .get_item(&json!({"TableName": "catalog", "Key": {"recordingId": {"S": "r1"}}}))
            .await
            .expect("get");
        assert_eq!(got, json!({"Item": {"recordingId": {"S": "r1"}}}));
    }

    #[tokio::test]
    async fn unsupported_clauses_and_missing_tables_fail_with_a_named_error() {
        let t = tables();
        let err = t
            .update_item(&json!({"TableName": "catalog", "Key": {"recordingId": {"S": "r1"}},
                "UpdateExpression": "ADD n :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}))
            .await
            .expect_err("ADD");
        assert_eq!(err.error, DYNAMODB_EXCEPTION);
        assert!(err.cause.contains("ADD"));
        let err = t
            .get_item(&json!({"TableName": "other", "Key": {"id": {"S": "1"}}}))
            .await
            .expect_err("missing table");
        assert_eq!(err.error, RESOURCE_NOT_FOUND);
    }
}
