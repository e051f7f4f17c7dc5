//! Paths of the Amazon States Language (JSONPath query language), parsed into an AST.
//!
//! ASL uses a JSONPath dialect (the service runs Jayway JsonPath) in four flavours:
//! - a **path** (`InputPath`, `OutputPath`, `ItemsPath` values and `.$` payload-template
//!   values): full JSONPath with wildcards, recursive descent, unions, slices and filters;
//! - a **reference path** (`ResultPath`, `*Path` fields of Choice rules, Wait, Fail, Map):
//!   a path restricted to a single node — only `.name`, `['name']` and `[index]` steps
//!   ("The operators `@`, `,`, `:`, `?` and `*` are not supported", AWS Step Functions
//!   developer guide, "Reference Paths");
//! - a **context path** `$$` / `$$.Execution.Input` reading the context object;
//! - a **variable path** `$name.field` reading a workflow variable (variables were added to
//!   JSONPath mode together with `Assign`).
//!
//! The AST ([`JsonPath`]: a [`Root`] and a list of [`Segment`]s) is shaped for evaluation:
//! an interpreter walks the segments left to right, each one mapping a node list to a node
//! list. [`JsonPath::is_reference`] tells whether a parsed path is a legal reference path.

use std::fmt;

use serde_json::Value;

/// Where a path starts reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    /// `$`: the effective input of the state (or the current item inside a filter's `$`).
    Input,
    /// `$$`: the context object (execution, state, task token, map item…).
    Context,
    /// `$name`: a workflow variable assigned with `Assign`.
    Variable(String),
    /// `@`: the node being tested, only inside a filter expression.
    Current,
}

/// A parsed JSONPath expression: a root followed by steps.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    /// What the path reads from.
    pub root: Root,
    /// The steps, applied left to right.
    pub segments: Vec<Segment>,
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// `true` for `..` (recursive descent: the selector applies to every descendant).
    pub descendant: bool,
    /// What the step selects from each node.
    pub selector: Selector,
}

/// What a step selects.
#[derive(Debug, Clone, PartialEq)]
pub enum Selector {
    /// `.name` or `['name']`: one object member.
    Name(String),
    /// `['a','b']`: several object members.
    Names(Vec<String>),
    /// `.*` or `[*]`: every member or element.
    Wildcard,
    /// `[3]` or `[-1]`: one array element (negative counts from the end).
    Index(i64),
    /// `[0,2]`: several array elements.
    Indices(Vec<i64>),
    /// `[start:end:step]`: an array slice.
    Slice(Slice),
    /// `[?(<expr>)]`: the elements (or members) for which the expression holds.
    Filter(FilterExpr),
}

/// The bounds of an array slice; absent bounds take the JSONPath defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slice {
    /// First index (inclusive), default 0.
    pub start: Option<i64>,
    /// Last index (exclusive), default the array length.
    pub end: Option<i64>,
    /// Stride, default 1.
    pub step: Option<i64>,
}

/// A filter expression inside `[?( … )]`.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterExpr {
    /// A lone operand: true when the path selects something (or the literal is truthy).
    Exists(Operand),
    /// `left <op> right`.
    Compare {
        /// Left-hand side.
        left: Operand,
        /// The comparison.
        op: CompareOp,
        /// Right-hand side.
        right: Operand,
    },
    /// `a && b`.
    And(Box<FilterExpr>, Box<FilterExpr>),
    /// `a || b`.
    Or(Box<FilterExpr>, Box<FilterExpr>),
    /// `!a`.
    Not(Box<FilterExpr>),
}

/// A comparison operator of a filter expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `=~` (right-hand side is a regular expression literal)
    Matches,
    /// `in` (left value is one of the right array's elements)
    In,
    /// `nin` (left value is none of the right array's elements)
    Nin,
    /// `subsetof` (left array is a subset of the right array)
    SubsetOf,
    /// `anyof` (the arrays share an element)
    AnyOf,
    /// `noneof` (the arrays share no element)
    NoneOf,
    /// `size` (left string or array has the right length)
    Size,
    /// `empty` (left string or array is empty when the right side is `true`)
    Empty,
}

impl CompareOp {
    /// The operator as written.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "==",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Matches => "=~",
            Self::In => "in",
            Self::Nin => "nin",
            Self::SubsetOf => "subsetof",
            Self::AnyOf => "anyof",
            Self::NoneOf => "noneof",
            Self::Size => "size",
            Self::Empty => "empty",
        }
    }
}

/// One side of a filter comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A path, usually relative to the current node (`@.price`).
    Path(JsonPath),
    /// A JSON literal: number, string, `true`, `false`, `null`.
    Literal(Value),
    /// A regular expression literal `/…/flags` (right side of `=~`).
    Regex {
        /// The pattern between the slashes.
        pattern: String,
        /// Flags after the closing slash (e.g. `i`).
        flags: String,
    },
}

/// Why a string is not a valid path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at character {position} of `{input}`")]
pub struct PathSyntaxError {
    /// The text that failed to parse.
    pub input: String,
    /// Character offset (in bytes) where parsing stopped.
    pub position: usize,
    /// What was expected.
    pub message: String,
}

/// Why a syntactically valid path is not allowed where it is used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The text is not JSONPath at all.
    #[error(transparent)]
    Syntax(#[from] PathSyntaxError),
    /// A reference path uses an operator that can select several nodes.
    #[error("`{path}` is not a reference path: {reason}")]
    NotReference {
        /// The offending path.
        path: String,
        /// Which operator was found.
        reason: String,
    },
    /// The context object (`$$`) is read where only the state input may be.
    #[error("`{0}` reads the context object ($$), which is not allowed here")]
    ContextNotAllowed(String),
    /// A variable (`$name`) is read where only the state input may be.
    #[error("`{0}` reads a variable, which is not allowed here")]
    VariableNotAllowed(String),
}

impl JsonPath {
    /// `true` when the path can only ever designate a single node: no recursive descent,
    /// wildcard, union, slice, filter or negative index.
    #[must_use]
    pub fn is_reference(&self) -> bool {
        self.non_reference_reason().is_none()
    }

    /// The first operator that makes the path select possibly several nodes, if any.
    #[must_use]
    pub fn non_reference_reason(&self) -> Option<&'static str> {
        if self.root == Root::Current {
            return Some("`@` is not supported");
        }
        self.segments.iter().find_map(|segment| {
            if segment.descendant {
                return Some("recursive descent `..` is not supported");
            }
            match &segment.selector {
                Selector::Name(_) => None,
                Selector::Index(i) if *i >= 0 => None,
                Selector::Index(_) => Some("negative indexes are not supported"),
                Selector::Names(_) | Selector::Indices(_) => Some("unions `,` are not supported"),
                Selector::Wildcard => Some("wildcards `*` are not supported"),
                Selector::Slice(_) => Some("slices `:` are not supported"),
                Selector::Filter(_) => Some("filters `?` are not supported"),
            }
        })
    }

    /// `true` when the path reads the context object (`$$…`).
    #[must_use]
    pub fn is_context(&self) -> bool {
        self.root == Root::Context
    }

    /// The variable read by the path (`$name…`), if any.
    #[must_use]
    pub fn variable(&self) -> Option<&str> {
        match &self.root {
            Root::Variable(name) => Some(name),
            _ => None,
        }
    }
}

/// Parses a full JSONPath expression starting with `$`, `$$` or `$name`.
///
/// # Errors
/// [`PathSyntaxError`] when the text is not a complete path.
pub fn parse_path(input: &str) -> Result<JsonPath, PathSyntaxError> {
    let mut parser = Parser::new(input);
    let path = parser.path(false)?;
    parser.skip_ws();
    if !parser.at_end() {
        return Err(parser.error("unexpected characters after the path"));
    }
    Ok(path)
}

/// Parses a reference path: a path that designates a single node.
///
/// Context (`$$`) and variable (`$name`) roots are accepted here; use
/// [`parse_result_path`] where only the state input may be written.
///
/// # Errors
/// [`PathError::Syntax`] or [`PathError::NotReference`].
pub fn parse_reference_path(input: &str) -> Result<JsonPath, PathError> {
    let path = parse_path(input)?;
    if let Some(reason) = path.non_reference_reason() {
        return Err(PathError::NotReference {
            path: input.to_owned(),
            reason: reason.to_owned(),
        });
    }
    Ok(path)
}

/// Parses a `ResultPath`: a reference path into the state input (`$…`), never the context
/// object nor a variable.
///
/// # Errors
/// [`PathError`] describing the first rule broken.
pub fn parse_result_path(input: &str) -> Result<JsonPath, PathError> {
    let path = parse_reference_path(input)?;
    match path.root {
        Root::Context => Err(PathError::ContextNotAllowed(input.to_owned())),
        Root::Variable(_) => Err(PathError::VariableNotAllowed(input.to_owned())),
        Root::Input | Root::Current => Ok(path),
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.root {
            Root::Input => f.write_str("$")?,
            Root::Context => f.write_str("$$")?,
            Root::Variable(name) => write!(f, "${name}")?,
            Root::Current => f.write_str("@")?,
        }
        for segment in &self.segments {
            if segment.descendant {
                f.write_str("..")?;
            }
            match &segment.selector {
                Selector::Name(name) if is_shorthand(name) => {
                    if !segment.descendant {
                        f.write_str(".")?;
                    }
                    f.write_str(name)?;
                }
                Selector::Name(name) => write!(f, "[{}]", quote(name))?,
                Selector::Names(names) => {
                    let quoted: Vec<String> = names.iter().map(|n| quote(n)).collect();
                    write!(f, "[{}]", quoted.join(","))?;
                }
                Selector::Wildcard => f.write_str("[*]")?,
                Selector::Index(i) => write!(f, "[{i}]")?,
                Selector::Indices(indices) => {
                    let list: Vec<String> = indices.iter().map(ToString::to_string).collect();
                    write!(f, "[{}]", list.join(","))?;
                }
                Selector::Slice(slice) => {
                    let bound = |b: Option<i64>| b.map(|v| v.to_string()).unwrap_or_default();
                    write!(f, "[{}:{}", bound(slice.start), bound(slice.end))?;
                    if let Some(step) = slice.step {
                        write!(f, ":{step}")?;
                    }
                    f.write_str("]")?;
                }
                Selector::Filter(expr) => write!(f, "[?({expr})]")?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for FilterExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exists(operand) => write!(f, "{operand}"),
            Self::Compare { left, op, right } => write!(f, "{left} {} {right}", op.as_str()),
            Self::And(a, b) => write!(f, "({a} && {b})"),
            Self::Or(a, b) => write!(f, "({a} || {b})"),
            Self::Not(a) => write!(f, "!({a})"),
        }
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Path(path) => write!(f, "{path}"),
            Self::Literal(Value::String(s)) => f.write_str(&quote(s)),
            Self::Literal(value) => write!(f, "{value}"),
            Self::Regex { pattern, flags } => write!(f, "/{pattern}/{flags}"),
        }
    }
}

fn quote(name: &str) -> String {
    let escaped = name.replace('\\', "\\\\").replace('\'', "\\'");
    format!("'{escaped}'")
}

fn is_shorthand(name: &str) -> bool {
    !name.is_empty() && name != "*" && name.chars().all(is_name_char)
}

/// Characters allowed in a dot-notation member name (`$.name`). Jayway accepts most
/// punctuation there (e.g. `$.detail-type`); these are the characters that end a name.
fn is_name_char(c: char) -> bool {
    !c.is_whitespace()
        && !matches!(
            c,
            '.' | '['
                | ']'
                | '('
                | ')'
                | '\''
                | '"'
                | ','
                | '\\'
                | '<'
                | '>'
                | '='
                | '!'
                | '&'
                | '|'
                | '?'
                | '*'
                | '@'
                | '$'
        )
}

fn is_variable_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_variable_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// A cursor over the text of a path; also used by the intrinsic-function parser, which
/// reads paths embedded in argument lists.
#[derive(Debug)]
pub(crate) struct Parser<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Self { src, pos: 0 }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    /// The text from `start` to the cursor.
    pub(crate) fn since(&self, start: usize) -> &'a str {
        &self.src[start..self.pos]
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    pub(crate) fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    pub(crate) fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    pub(crate) fn eat(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    pub(crate) fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    pub(crate) fn error(&self, message: &str) -> PathSyntaxError {
        PathSyntaxError {
            input: self.src.to_owned(),
            position: self.pos,
            message: message.to_owned(),
        }
    }

    /// Reads a path at the cursor. `allow_current` admits the `@` root (inside filters).
    pub(crate) fn path(&mut self, allow_current: bool) -> Result<JsonPath, PathSyntaxError> {
        let root = if self.eat("$$") {
            Root::Context
        } else if self.eat("$") {
            if self.peek().is_some_and(is_variable_start) {
                let start = self.pos;
                while self.peek().is_some_and(is_variable_char) {
                    self.bump();
                }
                Root::Variable(self.src[start..self.pos].to_owned())
            } else {
                Root::Input
            }
        } else if allow_current && self.eat("@") {
            Root::Current
        } else {
            return Err(self.error("a path must start with `$`"));
        };
        let mut segments = Vec::new();
        loop {
            if self.eat("..") {
                let selector = if self.peek() == Some('[') {
                    self.bracket()?
                } else {
                    self.dot_member()?
                };
                segments.push(Segment {
                    descendant: true,
                    selector,
                });
            } else if self.eat(".") {
                let selector = self.dot_member()?;
                segments.push(Segment {
                    descendant: false,
                    selector,
                });
            } else if self.peek() == Some('[') {
                let selector = self.bracket()?;
                segments.push(Segment {
                    descendant: false,
                    selector,
                });
            } else {
                break;
            }
        }
        Ok(JsonPath { root, segments })
    }

    fn dot_member(&mut self) -> Result<Selector, PathSyntaxError> {
        if self.eat("*") {
            return Ok(Selector::Wildcard);
        }
        // AWS's documentation writes `$.abc.['def ghi']`; Jayway accepts the dot before a
        // bracket, so do we.
        if self.peek() == Some('[') {
            return self.bracket();
        }
        let start = self.pos;
        while self.peek().is_some_and(is_name_char) {
            self.bump();
        }
        if start == self.pos {
            return Err(self.error("expected a member name after `.`"));
        }
        let name = &self.src[start..self.pos];
        if self.peek() == Some('(') {
            return Err(self.error("path functions such as length() are not supported"));
        }
        Ok(Selector::Name(name.to_owned()))
    }

    fn bracket(&mut self) -> Result<Selector, PathSyntaxError> {
        if !self.eat("[") {
            return Err(self.error("expected `[`"));
        }
        self.skip_ws();
        let selector = match self.peek() {
            Some('*') => {
                self.bump();
                Selector::Wildcard
            }
            Some('\'' | '"') => {
                let mut names = vec![self.quoted()?];
                self.skip_ws();
                while self.eat(",") {
                    self.skip_ws();
                    names.push(self.quoted()?);
                    self.skip_ws();
                }
                if names.len() == 1 {
                    Selector::Name(names.remove(0))
                } else {
                    Selector::Names(names)
                }
            }
            Some('?') => {
                self.bump();
                self.skip_ws();
                if !self.eat("(") {
                    return Err(self.error("expected `(` after `?`"));
                }
                let expr = self.filter_or()?;
                self.skip_ws();
                if !self.eat(")") {
                    return Err(self.error("expected `)` closing the filter"));
                }
                Selector::Filter(expr)
            }
            Some('(') => {
                // Jayway script form `[(@.length-N)]`, the last-N element.
                self.bump();
                self.skip_ws();
                if !self.eat("@.length") {
                    return Err(self.error("only `(@.length-N)` scripts are supported"));
                }
                self.skip_ws();
                if !self.eat("-") {
                    return Err(self.error("expected `-` in `(@.length-N)`"));
                }
                self.skip_ws();
                let n = self.integer()?;
                self.skip_ws();
                if !self.eat(")") {
                    return Err(self.error("expected `)`"));
                }
                Selector::Index(-n)
            }
            Some(c) if c == '-' || c == ':' || c.is_ascii_digit() => self.index_or_slice()?,
            _ => {
                return Err(
                    self.error("expected `*`, a quoted name, an index, a slice or a filter")
                );
            }
        };
        self.skip_ws();
        if !self.eat("]") {
            return Err(self.error("expected `]`"));
        }
        Ok(selector)
    }

    fn index_or_slice(&mut self) -> Result<Selector, PathSyntaxError> {
        let first = self.optional_integer()?;
        self.skip_ws();
        if self.peek() == Some(':') {
            self.bump();
            self.skip_ws();
            let end = self.optional_integer()?;
            self.skip_ws();
            let step = if self.eat(":") {
                self.skip_ws();
                self.optional_integer()?
            } else {
                None
            };
            if step == Some(0) {
                return Err(self.error("a slice step cannot be 0"));
            }
            return Ok(Selector::Slice(Slice {
                start: first,
                end,
                step,
            }));
        }
        let Some(first) = first else {
            return Err(self.error("expected an index"));
        };
        let mut indices = vec![first];
        while self.eat(",") {
            self.skip_ws();
            indices.push(self.integer()?);
            self.skip_ws();
        }
        Ok(if indices.len() == 1 {
            Selector::Index(first)
        } else {
            Selector::Indices(indices)
        })
    }

    fn optional_integer(&mut self) -> Result<Option<i64>, PathSyntaxError> {
        if self.peek().is_some_and(|c| c == '-' || c.is_ascii_digit()) {
            self.integer().map(Some)
        } else {
            Ok(None)
        }
    }

    fn integer(&mut self) -> Result<i64, PathSyntaxError> {
        let start = self.pos;
        self.eat("-");
        let digits = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
        if digits == self.pos {
            return Err(self.error("expected an integer"));
        }
        self.src[start..self.pos]
            .parse()
            .map_err(|_| self.error("integer out of range"))
    }

    /// A single- or double-quoted name or filter literal. A backslash escapes the enclosing
    /// quote and a backslash; before any other character it is kept as written. AWS resolves
    /// `$['Test\\""Name"']` to the member `Test\""Name"` (LocalStack parity snapshot
    /// `test_escape_sequence_parsing[ESCAPE_SEQUENCES_JSONPATH]`, recorded against AWS).
    pub(crate) fn quoted(&mut self) -> Result<String, PathSyntaxError> {
        let Some(quote) = self.bump() else {
            return Err(self.error("expected a quoted string"));
        };
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(self.error("unterminated string")),
                Some('\\') => match self.bump() {
                    None => return Err(self.error("unterminated escape")),
                    Some(c) if c == quote || c == '\\' => out.push(c),
                    Some(c) => {
                        out.push('\\');
                        out.push(c);
                    }
                },
                Some(c) if c == quote => return Ok(out),
                Some(c) => out.push(c),
            }
        }
    }

    fn filter_or(&mut self) -> Result<FilterExpr, PathSyntaxError> {
        let mut left = self.filter_and()?;
        loop {
            self.skip_ws();
            if !self.eat("||") {
                return Ok(left);
            }
            let right = self.filter_and()?;
            left = FilterExpr::Or(Box::new(left), Box::new(right));
        }
    }

    fn filter_and(&mut self) -> Result<FilterExpr, PathSyntaxError> {
        let mut left = self.filter_unary()?;
        loop {
            self.skip_ws();
            if !self.eat("&&") {
                return Ok(left);
            }
            let right = self.filter_unary()?;
            left = FilterExpr::And(Box::new(left), Box::new(right));
        }
    }

    fn filter_unary(&mut self) -> Result<FilterExpr, PathSyntaxError> {
        self.skip_ws();
        if self.peek() == Some('!') && !self.rest().starts_with("!=") {
            self.bump();
            return Ok(FilterExpr::Not(Box::new(self.filter_unary()?)));
        }
        if self.eat("(") {
            let inner = self.filter_or()?;
            self.skip_ws();
            if !self.eat(")") {
                return Err(self.error("expected `)`"));
            }
            return Ok(inner);
        }
        let left = self.operand()?;
        self.skip_ws();
        let op = [
            ("==", CompareOp::Eq),
            ("!=", CompareOp::Ne),
            ("<=", CompareOp::Le),
            (">=", CompareOp::Ge),
            ("=~", CompareOp::Matches),
            ("<", CompareOp::Lt),
            (">", CompareOp::Gt),
        ]
        .into_iter()
        .find(|(text, _)| self.rest().starts_with(text))
        .or_else(|| {
            // Jayway's word operators, followed by a space or an operand.
            [
                ("subsetof", CompareOp::SubsetOf),
                ("anyof", CompareOp::AnyOf),
                ("noneof", CompareOp::NoneOf),
                ("empty", CompareOp::Empty),
                ("size", CompareOp::Size),
                ("nin", CompareOp::Nin),
                ("in", CompareOp::In),
            ]
            .into_iter()
            .find(|(text, _)| {
                self.rest().starts_with(text)
                    && !self.rest()[text.len()..]
                        .starts_with(|c: char| c.is_alphanumeric() || c == '_')
            })
        });
        let Some((text, op)) = op else {
            return Ok(FilterExpr::Exists(left));
        };
        self.pos += text.len();
        self.skip_ws();
        let right = if op == CompareOp::Matches {
            self.regex()?
        } else {
            self.operand()?
        };
        Ok(FilterExpr::Compare { left, op, right })
    }

    fn regex(&mut self) -> Result<Operand, PathSyntaxError> {
        if !self.eat("/") {
            return Err(self.error("expected `/` starting a regular expression"));
        }
        let mut pattern = String::new();
        loop {
            match self.bump() {
                None => return Err(self.error("unterminated regular expression")),
                Some('\\') => {
                    pattern.push('\\');
                    if let Some(c) = self.bump() {
                        pattern.push(c);
                    }
                }
                Some('/') => break,
                Some(c) => pattern.push(c),
            }
        }
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            self.bump();
        }
        Ok(Operand::Regex {
            pattern,
            flags: self.src[start..self.pos].to_owned(),
        })
    }

    fn operand(&mut self) -> Result<Operand, PathSyntaxError> {
        self.skip_ws();
        match self.peek() {
            Some('@' | '$') => Ok(Operand::Path(self.path(true)?)),
            Some('\'' | '"') => Ok(Operand::Literal(Value::String(self.quoted()?))),
            Some('[') => {
                self.bump();
                let mut items = Vec::new();
                self.skip_ws();
                if !self.eat("]") {
                    loop {
                        match self.operand()? {
                            Operand::Literal(value) => items.push(value),
                            _ => return Err(self.error("array literals hold only literals")),
                        }
                        self.skip_ws();
                        if self.eat("]") {
                            break;
                        }
                        if !self.eat(",") {
                            return Err(self.error("expected `,` or `]` in the array literal"));
                        }
                    }
                }
                Ok(Operand::Literal(Value::Array(items)))
            }
            Some(c) if c == '-' || c.is_ascii_digit() => {
                Ok(Operand::Literal(Value::Number(self.number()?)))
            }
            _ => {
                for (word, value) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    if self.eat(word) {
                        return Ok(Operand::Literal(value));
                    }
                }
                Err(self.error("expected a path or a literal"))
            }
        }
    }

    /// A JSON number (integer, fraction, exponent).
    pub(crate) fn number(&mut self) -> Result<serde_json::Number, PathSyntaxError> {
        let start = self.pos;
        self.eat("-");
        let int_start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
        if int_start == self.pos {
            return Err(self.error("expected a number"));
        }
        if self.peek() == Some('.') {
            self.bump();
            let frac = self.pos;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.bump();
            }
            if frac == self.pos {
                return Err(self.error("expected digits after `.`"));
            }
        }
        if self.peek().is_some_and(|c| c == 'e' || c == 'E') {
            self.bump();
            if !self.eat("+") {
                self.eat("-");
            }
            let exp = self.pos;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.bump();
            }
            if exp == self.pos {
                return Err(self.error("expected an exponent"));
            }
        }
        serde_json::from_str(&self.src[start..self.pos]).map_err(|_| self.error("invalid number"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: &str) -> Segment {
        Segment {
            descendant: false,
            selector: Selector::Name(n.to_owned()),
        }
    }

    #[test]
    fn given_the_root_alone_when_parsed_then_it_has_no_segments() {
        let path = parse_path("$").expect("valid");
        assert_eq!(path.root, Root::Input);
        assert!(path.segments.is_empty());
        assert!(path.is_reference());
    }

    #[test]
    fn given_dot_and_bracket_members_when_parsed_then_both_give_name_segments() {
        let path = parse_path("$.a['b c'].d[0]").expect("valid");
        assert_eq!(
            path.segments,
            vec![
                name("a"),
                name("b c"),
                name("d"),
                Segment {
                    descendant: false,
                    selector: Selector::Index(0)
                }
            ]
        );
        assert!(path.is_reference());
    }

    #[test]
    fn given_a_dot_before_a_bracket_when_parsed_then_it_is_accepted_as_in_aws_docs() {
        let path = parse_path("$.abc.['def ghi']").expect("valid");
        assert_eq!(path.segments, vec![name("abc"), name("def ghi")]);
    }

    #[test]
    fn given_a_hyphenated_member_when_parsed_then_it_is_one_name() {
        let path = parse_path("$.detail-type").expect("valid");
        assert_eq!(path.segments, vec![name("detail-type")]);
    }

    #[test]
    fn given_wildcards_descent_and_slices_when_parsed_then_path_is_not_a_reference() {
        for text in [
            "$[*]",
            "$.a.*",
            "$..x",
            "$[1:3]",
            "$[::2]",
            "$[0,1]",
            "$['a','b']",
            "$[-1]",
        ] {
            let path = parse_path(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert!(!path.is_reference(), "{text} must not be a reference path");
            assert!(parse_reference_path(text).is_err());
        }
    }

    #[test]
    fn given_a_slice_when_parsed_then_bounds_are_kept() {
        let path = parse_path("$.items[1:-1:2]").expect("valid");
        assert_eq!(
            path.segments[1].selector,
            Selector::Slice(Slice {
                start: Some(1),
                end: Some(-1),
                step: Some(2)
            })
        );
    }

    #[test]
    fn given_a_filter_when_parsed_then_comparison_and_logic_are_in_the_ast() {
        let path = parse_path("$.jar[?(@.a >= 5 && @.b == 'x')]").expect("valid");
        let Selector::Filter(FilterExpr::And(left, right)) = &path.segments[1].selector else {
            panic!("expected an And filter, got {path:?}");
        };
        assert_eq!(
            **left,
            FilterExpr::Compare {
                left: Operand::Path(JsonPath {
                    root: Root::Current,
                    segments: vec![name("a")]
                }),
                op: CompareOp::Ge,
                right: Operand::Literal(serde_json::json!(5)),
            }
        );
        assert!(matches!(
            **right,
            FilterExpr::Compare {
                op: CompareOp::Eq,
                ..
            }
        ));
    }

    #[test]
    fn given_filters_with_existence_negation_and_regex_when_parsed_then_they_are_valid() {
        for text in [
            "$[?(@.isbn)]",
            "$[?(!@.isbn)]",
            "$.a[?(@.name =~ /^foo.*/i)]",
            "$.a[?((@.x < 1) || (@.y != null))]",
            "$.a[(@.length-1)]",
            "$.a[?(@.size in ['S', 'M'])]",
            "$.a[?(@.tags anyof ['x'])]",
            "$.a[?(@.name size 3)]",
            "$.a[?(@.list empty false)]",
            "$.a[?(@.id nin [1, 2])]",
        ] {
            parse_path(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        }
    }

    #[test]
    fn given_context_and_variable_roots_when_parsed_then_the_root_says_so() {
        let ctx = parse_path("$$.Execution.Input").expect("valid");
        assert!(ctx.is_context());
        let var = parse_path("$order.items[0]").expect("valid");
        assert_eq!(var.variable(), Some("order"));
        assert_eq!(var.segments.len(), 2);
        assert_eq!(parse_path("$$").expect("valid").root, Root::Context);
    }

    #[test]
    fn given_malformed_paths_when_parsed_then_each_is_a_syntax_error() {
        for text in [
            "",
            "a.b",
            "$.",
            "$.a.",
            "$[",
            "$['a'",
            "$[a]",
            "$.a[?(@.x == )]",
            "$.a b",
            "$..",
            "$.a.length()",
            "$[1:2:0]",
            "$.a]",
            "@.a",
        ] {
            assert!(parse_path(text).is_err(), "`{text}` must be rejected");
        }
    }

    #[test]
    fn given_context_or_variable_when_used_as_result_path_then_rejected() {
        assert!(matches!(
            parse_result_path("$$.Execution.Id"),
            Err(PathError::ContextNotAllowed(_))
        ));
        assert!(matches!(
            parse_result_path("$x.y"),
            Err(PathError::VariableNotAllowed(_))
        ));
        assert!(parse_result_path("$.result").is_ok());
    }

    #[test]
    fn given_parsed_paths_when_displayed_then_they_parse_back_to_the_same_ast() {
        for text in [
            "$.a['b c'][0]",
            "$..book[?(@.price < 10)].title",
            "$$.Map.Item.Value",
            "$var.x[1:2]",
            "$['it\\'s']",
        ] {
            let path = parse_path(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            let again = parse_path(&path.to_string()).expect("display is parseable");
            assert_eq!(path, again, "{text}");
        }
    }
}
