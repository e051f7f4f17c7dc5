//! A JSONata evaluator: a port of jsonata-js 2.x (parser, evaluator and built-in functions).
//!
//! ```
//! use jsonata::{Environment, Expression};
//! let expr = Expression::parse("$sum(items.price)").unwrap();
//! let input = serde_json::json!({"items": [{"price": 1}, {"price": 2.5}]});
//! let out = expr.evaluate(Some(&input), &Environment::new()).unwrap();
//! assert_eq!(out, Some(serde_json::json!(3.5)));
//! ```

mod ast;
mod datetime;
mod error;
mod eval;
mod functions;
mod numfmt;
mod parser;
mod regex_js;
mod signature;
mod value;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

pub use error::Error;

/// A function registered with [`Environment::register_function`]: receives the arguments
/// (`None` for undefined) and returns the result (`None` for undefined).
pub type NativeFunction = Arc<
    dyn Fn(&[Option<serde_json::Value>]) -> Result<Option<serde_json::Value>, Error> + Send + Sync,
>;

/// Guards against runaway evaluations; exceeding either raises error `U1001`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The deepest nesting of evaluation (jsonata-js counts one level per evaluated node).
    pub max_depth: usize,
    /// The number of evaluation steps (nodes evaluated, plus large allocations).
    pub max_steps: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 500,
            max_steps: 10_000_000,
        }
    }
}

/// What an evaluation produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Evaluation {
    /// Nothing (JSONata's `undefined`).
    Undefined,
    /// A JSON value.
    Json(serde_json::Value),
    /// A function (a lambda or a built-in), which has no JSON form.
    Function,
}

/// A parsed JSONata expression.
#[derive(Debug, Clone)]
pub struct Expression {
    root: Arc<ast::Node>,
}

/// Variable bindings, registered functions and limits for evaluations.
#[derive(Clone, Default)]
pub struct Environment {
    bindings: Vec<(String, serde_json::Value)>,
    functions: HashMap<String, NativeFunction>,
    now: Option<i64>,
    limits: Limits,
}

impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.functions.keys().collect();
        names.sort();
        f.debug_struct("Environment")
            .field(
                "bindings",
                &self.bindings.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("functions", &names)
            .field("now", &self.now)
            .field("limits", &self.limits)
            .finish()
    }
}

impl Environment {
    /// An environment with no bindings, the built-in functions and default limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// Binds `$name` (name given without the `$`).
    pub fn bind(&mut self, name: &str, value: serde_json::Value) {
        if let Some(slot) = self.bindings.iter_mut().find(|(n, _)| n == name) {
            slot.1 = value;
        } else {
            self.bindings.push((name.to_owned(), value));
        }
    }

    /// Registers (or overrides a built-in) function `$name`.
    pub fn register_function(&mut self, name: &str, function: NativeFunction) {
        self.functions.insert(name.to_owned(), function);
    }

    /// The instant `$now()` and `$millis()` return during one evaluation; when unset, the
    /// system clock at the start of [`Expression::evaluate`].
    pub fn set_now(&mut self, millis_since_epoch: i64) {
        self.now = Some(millis_since_epoch);
    }

    /// Sets the depth and step limits.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }
}

/// Sources this short and shallow are parsed on the caller's stack; others on a helper thread with
/// a large stack (the recursive-descent parser needs tens of KiB per nesting level in debug builds).
const INLINE_PARSE_MAX_LEN: usize = 64;
const INLINE_PARSE_MAX_NESTING: usize = 4;
const PARSE_THREAD_STACK: usize = 256 << 20;

fn bracket_nesting(source: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    for c in source.chars() {
        match c {
            '(' | '[' | '{' => {
                depth += 1;
                max = max.max(depth);
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

fn parse_with_stack(source: &str) -> error::R<ast::Node> {
    if source.len() <= INLINE_PARSE_MAX_LEN && bracket_nesting(source) <= INLINE_PARSE_MAX_NESTING {
        return parser::parse(source, parser::INLINE_STACK_BUDGET);
    }
    std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new()
            .name("jsonata-parse".into())
            .stack_size(PARSE_THREAD_STACK)
            .spawn_scoped(scope, || parser::parse(source, PARSE_THREAD_STACK / 4 * 3));
        match spawned {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|_| Err(error::Err::new("U1001"))),
            Err(_) => parser::parse(source, parser::INLINE_STACK_BUDGET),
        }
    })
}

impl Expression {
    /// Parses JSONata source; syntax errors carry JSONata's codes (S0xxx) and the character position.
    #[allow(clippy::result_large_err)] // the error type is part of the API contract
    pub fn parse(source: &str) -> Result<Expression, Error> {
        match parse_with_stack(source) {
            Ok(root) => Ok(Expression {
                root: Arc::new(root),
            }),
            Err(e) => Err(e.into_public()),
        }
    }

    /// Evaluates with `input` as the context `$` (None = undefined input). `Ok(None)` = undefined result.
    #[allow(clippy::result_large_err)] // the error type is part of the API contract
    pub fn evaluate(
        &self,
        input: Option<&serde_json::Value>,
        env: &Environment,
    ) -> Result<Option<serde_json::Value>, Error> {
        Ok(match self.evaluate_result(input, env)? {
            Evaluation::Undefined => None,
            Evaluation::Json(value) => Some(value),
            // As jsonata-js's JSON output shows a function.
            Evaluation::Function => Some(serde_json::Value::String(String::new())),
        })
    }

    /// Like [`Expression::evaluate`], but tells a function result apart (hosts such as Step
    /// Functions refuse it rather than store `""`).
    #[allow(clippy::result_large_err)] // the error type is part of the API contract
    pub fn evaluate_result(
        &self,
        input: Option<&serde_json::Value>,
        env: &Environment,
    ) -> Result<Evaluation, Error> {
        eval::evaluate(&self.root, input, env)
    }
}
