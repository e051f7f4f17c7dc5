//! Intrinsic functions of the Amazon States Language (`States.Format(...)` and friends),
//! parsed into an AST with name and arity checks.
//!
//! Intrinsics appear as the value of a `.$` payload-template field in JSONPath mode, e.g.
//! `"id.$": "States.Format('order-{}', $.id)"`. Arguments are string literals in single
//! quotes (the characters `'`, `{`, `}` and `\` are escaped with `\`, and no other escape
//! exists: AWS refuses `\"` in a literal with "The value for the field 'parsed.$' must be a
//! valid JSONPath or a valid intrinsic function call"), numbers, `true`,
//! `false`, `null`, paths (`$.x`, `$$.x`, `$var.x`) and nested calls. The AWS Step Functions
//! developer guide ("Intrinsic functions") lists the 18 functions and allows up to 10
//! intrinsic functions in one field ([`MAX_FUNCTIONS_PER_FIELD`]).
//!
//! [`parse_payload_value`] is the entry point for a `.$` value: a path or an intrinsic call.

use std::fmt;

use serde_json::Number;

use crate::path::{JsonPath, Parser, PathSyntaxError};

/// AWS limit: "You can nest up to 10 intrinsic functions within a field in your workflows"
/// (Step Functions developer guide, "Intrinsic functions").
pub const MAX_FUNCTIONS_PER_FIELD: usize = 10;

/// The 18 intrinsic functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntrinsicFunction {
    /// `States.Format(template, args...)`: `{}` placeholders filled in order.
    Format,
    /// `States.StringToJson(string)`.
    StringToJson,
    /// `States.JsonToString(path)`.
    JsonToString,
    /// `States.Array(values...)`.
    Array,
    /// `States.ArrayPartition(array, chunkSize)`.
    ArrayPartition,
    /// `States.ArrayContains(array, value)`.
    ArrayContains,
    /// `States.ArrayRange(start, end, step)`.
    ArrayRange,
    /// `States.ArrayGetItem(array, index)`.
    ArrayGetItem,
    /// `States.ArrayLength(array)`.
    ArrayLength,
    /// `States.ArrayUnique(array)`.
    ArrayUnique,
    /// `States.Base64Encode(string)`.
    Base64Encode,
    /// `States.Base64Decode(string)`.
    Base64Decode,
    /// `States.Hash(data, algorithm)`.
    Hash,
    /// `States.JsonMerge(left, right, deep)` — only `false` (shallow) is supported.
    JsonMerge,
    /// `States.MathRandom(start, end[, seed])`.
    MathRandom,
    /// `States.MathAdd(a, b)`.
    MathAdd,
    /// `States.StringSplit(string, separators)`.
    StringSplit,
    /// `States.UUID()`.
    Uuid,
}

/// How many arguments a function takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arity {
    /// Fewest arguments.
    pub min: usize,
    /// Most arguments (`None`: unbounded).
    pub max: Option<usize>,
}

impl Arity {
    const fn exactly(n: usize) -> Self {
        Self {
            min: n,
            max: Some(n),
        }
    }

    /// `true` when `n` arguments are accepted.
    #[must_use]
    pub fn accepts(self, n: usize) -> bool {
        n >= self.min && self.max.is_none_or(|max| n <= max)
    }
}

impl fmt::Display for Arity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.max {
            Some(max) if max == self.min => write!(f, "exactly {max}"),
            Some(max) => write!(f, "{} to {max}", self.min),
            None => write!(f, "at least {}", self.min),
        }
    }
}

/// The hash algorithms `States.Hash` accepts.
pub const HASH_ALGORITHMS: [&str; 5] = ["MD5", "SHA-1", "SHA-256", "SHA-384", "SHA-512"];

impl IntrinsicFunction {
    /// Every function, in the order of the AWS documentation.
    pub const ALL: [Self; 18] = [
        Self::Format,
        Self::StringToJson,
        Self::JsonToString,
        Self::Array,
        Self::ArrayPartition,
        Self::ArrayContains,
        Self::ArrayRange,
        Self::ArrayGetItem,
        Self::ArrayLength,
        Self::ArrayUnique,
        Self::Base64Encode,
        Self::Base64Decode,
        Self::Hash,
        Self::JsonMerge,
        Self::MathRandom,
        Self::MathAdd,
        Self::StringSplit,
        Self::Uuid,
    ];

    /// The full name as written in ASL, e.g. `States.Format`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Format => "States.Format",
            Self::StringToJson => "States.StringToJson",
            Self::JsonToString => "States.JsonToString",
            Self::Array => "States.Array",
            Self::ArrayPartition => "States.ArrayPartition",
            Self::ArrayContains => "States.ArrayContains",
            Self::ArrayRange => "States.ArrayRange",
            Self::ArrayGetItem => "States.ArrayGetItem",
            Self::ArrayLength => "States.ArrayLength",
            Self::ArrayUnique => "States.ArrayUnique",
            Self::Base64Encode => "States.Base64Encode",
            Self::Base64Decode => "States.Base64Decode",
            Self::Hash => "States.Hash",
            Self::JsonMerge => "States.JsonMerge",
            Self::MathRandom => "States.MathRandom",
            Self::MathAdd => "States.MathAdd",
            Self::StringSplit => "States.StringSplit",
            Self::Uuid => "States.UUID",
        }
    }

    /// Looks a function up by its full name (case-sensitive, as the service is).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// How many arguments the function takes.
    #[must_use]
    pub fn arity(self) -> Arity {
        match self {
            Self::Format => Arity { min: 1, max: None },
            Self::Array => Arity { min: 0, max: None },
            Self::Uuid => Arity::exactly(0),
            Self::StringToJson
            | Self::JsonToString
            | Self::ArrayLength
            | Self::ArrayUnique
            | Self::Base64Encode
            | Self::Base64Decode => Arity::exactly(1),
            Self::ArrayPartition
            | Self::ArrayContains
            | Self::ArrayGetItem
            | Self::Hash
            | Self::MathAdd
            | Self::StringSplit => Arity::exactly(2),
            Self::ArrayRange | Self::JsonMerge => Arity::exactly(3),
            Self::MathRandom => Arity {
                min: 2,
                max: Some(3),
            },
        }
    }
}

impl fmt::Display for IntrinsicFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A call of an intrinsic function.
#[derive(Debug, Clone, PartialEq)]
pub struct IntrinsicCall {
    /// Which function.
    pub function: IntrinsicFunction,
    /// The arguments, in order.
    pub args: Vec<Argument>,
}

impl IntrinsicCall {
    /// How many calls this expression contains, itself included.
    #[must_use]
    pub fn function_count(&self) -> usize {
        1 + self
            .args
            .iter()
            .map(|arg| match arg {
                Argument::Call(call) => call.function_count(),
                _ => 0,
            })
            .sum::<usize>()
    }
}

/// One piece of a `States.Format` template written as a literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplatePiece {
    /// Literal text (escapes resolved: `\{\}` is the text `{}`, not a placeholder).
    Text(String),
    /// An unescaped `{}`, filled with the next argument.
    Placeholder,
}

/// One argument of an intrinsic call.
#[derive(Debug, Clone, PartialEq)]
pub enum Argument {
    /// `'text'` with escapes already resolved.
    String(String),
    /// The literal first argument of `States.Format`, split at its unescaped `{}`
    /// placeholders (an escaped `\{\}` stays literal text).
    FormatTemplate(Vec<TemplatePiece>),
    /// A number literal.
    Number(Number),
    /// `true` / `false`.
    Boolean(bool),
    /// `null`.
    Null,
    /// A path into the input, the context object or a variable.
    Path(JsonPath),
    /// A nested call.
    Call(IntrinsicCall),
}

/// The value of a `.$` payload-template field: a path or an intrinsic call.
#[derive(Debug, Clone, PartialEq)]
pub enum PayloadValue {
    /// `"x.$": "$.a.b"` (also `$$…` and `$var…`).
    Path(JsonPath),
    /// `"x.$": "States.Format(...)"`.
    Intrinsic(IntrinsicCall),
}

/// Why an intrinsic call is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntrinsicError {
    /// The text does not parse.
    #[error(transparent)]
    Syntax(#[from] PathSyntaxError),
    /// `States.Foo` is not one of the 18 functions.
    #[error("`{0}` is not an intrinsic function")]
    UnknownFunction(String),
    /// Wrong number of arguments.
    #[error("{function} takes {expected} argument(s), got {actual}")]
    Arity {
        /// The function called.
        function: IntrinsicFunction,
        /// What it accepts.
        expected: Arity,
        /// What was given.
        actual: usize,
    },
    /// More than [`MAX_FUNCTIONS_PER_FIELD`] calls in one field.
    #[error("{0} intrinsic functions in one field; AWS allows at most {MAX_FUNCTIONS_PER_FIELD}")]
    TooManyFunctions(usize),
}

/// Parses an intrinsic function call (the whole text must be one call).
///
/// # Errors
/// [`IntrinsicError`] for syntax errors, unknown names, wrong arity and more than
/// [`MAX_FUNCTIONS_PER_FIELD`] calls. Argument values (hash algorithm, placeholder count…)
/// are judged when the call runs, as the service does.
pub fn parse_intrinsic(input: &str) -> Result<IntrinsicCall, IntrinsicError> {
    let mut parser = Parser::new(input);
    parser.skip_ws();
    let call = call(&mut parser)?;
    parser.skip_ws();
    if !parser.at_end() {
        return Err(parser.error("unexpected characters after the call").into());
    }
    let count = call.function_count();
    if count > MAX_FUNCTIONS_PER_FIELD {
        return Err(IntrinsicError::TooManyFunctions(count));
    }
    Ok(call)
}

/// Parses the value of a `.$` payload-template field: a path (`$…`, `$$…`, `$var…`) or an
/// intrinsic call.
///
/// # Errors
/// [`IntrinsicError`] (path syntax errors are wrapped as [`IntrinsicError::Syntax`]).
pub fn parse_payload_value(input: &str) -> Result<PayloadValue, IntrinsicError> {
    if input.trim_start().starts_with('$') {
        Ok(PayloadValue::Path(crate::path::parse_path(input)?))
    } else {
        parse_intrinsic(input).map(PayloadValue::Intrinsic)
    }
}

/// `true` when `s` looks like an intrinsic call (`States.Name(`), valid or not.
#[must_use]
pub fn looks_like_intrinsic(s: &str) -> bool {
    let s = s.trim_start();
    s.starts_with("States.") && s.contains('(')
}

fn call(p: &mut Parser<'_>) -> Result<IntrinsicCall, IntrinsicError> {
    let start = p.pos();
    while p
        .peek()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
    {
        p.bump();
    }
    let name = p.since(start);
    if name.is_empty() {
        return Err(p.error("expected an intrinsic function name").into());
    }
    let function = IntrinsicFunction::from_name(name)
        .ok_or_else(|| IntrinsicError::UnknownFunction(name.to_owned()))?;
    p.skip_ws();
    if !p.eat("(") {
        return Err(p.error("expected `(` after the function name").into());
    }
    let mut args = Vec::new();
    p.skip_ws();
    if !p.eat(")") {
        loop {
            p.skip_ws();
            let template = function == IntrinsicFunction::Format && args.is_empty();
            args.push(argument(p, template)?);
            p.skip_ws();
            if p.eat(")") {
                break;
            }
            if !p.eat(",") {
                return Err(p.error("expected `,` or `)` in the argument list").into());
            }
        }
    }
    let arity = function.arity();
    if !arity.accepts(args.len()) {
        return Err(IntrinsicError::Arity {
            function,
            expected: arity,
            actual: args.len(),
        });
    }
    Ok(IntrinsicCall { function, args })
}

/// A character of a string literal, and whether it was escaped.
type LiteralChar = (char, bool);

/// A single-quoted string literal: `\'`, `\{`, `\}` and `\\` are the only escapes (AWS
/// developer guide, "Intrinsic functions": "reserved characters ... ' { } \").
fn string_literal(p: &mut Parser<'_>) -> Result<Vec<LiteralChar>, IntrinsicError> {
    if !p.eat("'") {
        return Err(p.error("expected a string in single quotes").into());
    }
    let mut out = Vec::new();
    loop {
        match p.bump() {
            None => return Err(p.error("unterminated string").into()),
            Some('\\') => match p.bump() {
                Some(c @ ('\'' | '{' | '}' | '\\')) => out.push((c, true)),
                Some(_) => {
                    return Err(p
                        .error("only \\', \\{, \\} and \\\\ are escapes in an intrinsic string")
                        .into());
                }
                None => return Err(p.error("unterminated escape").into()),
            },
            Some('\'') => return Ok(out),
            Some(c) => out.push((c, false)),
        }
    }
}

fn template_pieces(chars: &[LiteralChar]) -> Vec<TemplatePiece> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == ('{', false) && chars.get(i + 1) == Some(&('}', false)) {
            if !text.is_empty() {
                pieces.push(TemplatePiece::Text(std::mem::take(&mut text)));
            }
            pieces.push(TemplatePiece::Placeholder);
            i += 2;
        } else {
            text.push(chars[i].0);
            i += 1;
        }
    }
    if !text.is_empty() {
        pieces.push(TemplatePiece::Text(text));
    }
    pieces
}

fn argument(p: &mut Parser<'_>, format_template: bool) -> Result<Argument, IntrinsicError> {
    match p.peek() {
        Some('\'') => {
            let chars = string_literal(p)?;
            Ok(if format_template {
                Argument::FormatTemplate(template_pieces(&chars))
            } else {
                Argument::String(chars.into_iter().map(|(c, _)| c).collect())
            })
        }
        Some('$') => Ok(Argument::Path(p.path(false)?)),
        Some(c) if c == '-' || c.is_ascii_digit() => Ok(Argument::Number(p.number()?)),
        Some('S') if p.rest().starts_with("States.") => Ok(Argument::Call(call(p)?)),
        _ => {
            for (word, arg) in [
                ("true", Argument::Boolean(true)),
                ("false", Argument::Boolean(false)),
                ("null", Argument::Null),
            ] {
                if p.eat(word) {
                    return Ok(arg);
                }
            }
            Err(p
                .error("expected a string in single quotes, a number, true, false, null, a path or a call")
                .into())
        }
    }
}

impl fmt::Display for IntrinsicCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.function)?;
        for (i, arg) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{arg}")?;
        }
        f.write_str(")")
    }
}

fn write_literal_text(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    for c in text.chars() {
        if matches!(c, '\'' | '\\' | '{' | '}') {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    Ok(())
}

impl fmt::Display for Argument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::String(s) => {
                f.write_str("'")?;
                write_literal_text(f, s)?;
                f.write_str("'")
            }
            Self::FormatTemplate(pieces) => {
                f.write_str("'")?;
                for piece in pieces {
                    match piece {
                        TemplatePiece::Text(text) => write_literal_text(f, text)?,
                        TemplatePiece::Placeholder => f.write_str("{}")?,
                    }
                }
                f.write_str("'")
            }
            Self::Number(n) => write!(f, "{n}"),
            Self::Boolean(b) => write!(f, "{b}"),
            Self::Null => f.write_str("null"),
            Self::Path(path) => write!(f, "{path}"),
            Self::Call(call) => write!(f, "{call}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::Root;

    #[test]
    fn given_every_function_name_when_looked_up_then_it_round_trips() {
        assert_eq!(IntrinsicFunction::ALL.len(), 18);
        for function in IntrinsicFunction::ALL {
            assert_eq!(
                IntrinsicFunction::from_name(function.name()),
                Some(function)
            );
        }
        assert_eq!(IntrinsicFunction::from_name("States.uuid"), None);
    }

    #[test]
    fn given_a_format_call_when_parsed_then_arguments_are_typed() {
        let call = parse_intrinsic("States.Format('Hello, {} ({})', $.name, $$.Execution.Id)")
            .expect("valid");
        assert_eq!(call.function, IntrinsicFunction::Format);
        assert_eq!(call.args.len(), 3);
        assert_eq!(
            call.args[0],
            Argument::FormatTemplate(vec![
                TemplatePiece::Text("Hello, ".to_owned()),
                TemplatePiece::Placeholder,
                TemplatePiece::Text(" (".to_owned()),
                TemplatePiece::Placeholder,
                TemplatePiece::Text(")".to_owned()),
            ])
        );
        let Argument::Path(ctx) = &call.args[2] else {
            panic!("expected a path");
        };
        assert_eq!(ctx.root, Root::Context);
    }

    #[test]
    fn given_escaped_characters_when_parsed_then_escapes_are_resolved() {
        let call =
            parse_intrinsic(r"States.Array('it\'s \{not\} a brace \\ {}', $.x)").expect("valid");
        assert_eq!(
            call.args[0],
            Argument::String(r"it's {not} a brace \ {}".to_owned())
        );
    }

    #[test]
    fn given_a_format_literal_when_parsed_then_only_unescaped_braces_are_placeholders() {
        let call = parse_intrinsic(r"States.Format('a \{\} b {} c', $.x)").expect("valid");
        assert_eq!(
            call.args[0],
            Argument::FormatTemplate(vec![
                TemplatePiece::Text("a {} b ".to_owned()),
                TemplatePiece::Placeholder,
                TemplatePiece::Text(" c".to_owned()),
            ])
        );
        let again = parse_intrinsic(&call.to_string()).expect("display parses");
        assert_eq!(again, call);
    }

    #[test]
    fn given_an_escape_aws_does_not_define_when_parsed_then_the_call_is_invalid() {
        // AWS: "The value for the field 'parsed.$' must be a valid JSONPath or a valid
        // intrinsic function call" for `\"` inside an intrinsic string (recorded by LocalStack,
        // test_illegal_escapes).
        for text in [
            r#"States.StringToJson('{"text":"An \"escaped\" quote"}')"#,
            r#"States.Format('He said, \"Hello, {}!\"', 'x')"#,
            r"States.Array('\n')",
        ] {
            assert!(parse_intrinsic(text).is_err(), "`{text}` must be rejected");
        }
        assert!(parse_intrinsic("States.StringSplit('Hello\nWorld', '\n')").is_ok());
    }

    #[test]
    fn given_literals_of_every_kind_when_parsed_then_each_has_its_variant() {
        let call = parse_intrinsic("States.Array('a', -1.5, 2e3, true, false, null, $v.x)")
            .expect("valid");
        assert!(matches!(call.args[1], Argument::Number(_)));
        assert_eq!(call.args[3], Argument::Boolean(true));
        assert_eq!(call.args[5], Argument::Null);
        assert!(matches!(&call.args[6], Argument::Path(p) if p.variable() == Some("v")));
    }

    #[test]
    fn given_nested_calls_when_parsed_then_the_tree_is_kept() {
        let text = "States.Format('{}.{}.{}', States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 0), States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 1), 'x')";
        let call = parse_intrinsic(text).expect("AWS's nine-function example is valid");
        assert_eq!(call.function_count(), 9);
        let again = parse_intrinsic(&call.to_string()).expect("display parses");
        assert_eq!(again, call);
    }

    #[test]
    fn given_eleven_functions_in_one_field_when_parsed_then_the_limit_is_reported() {
        let text = "States.Array(States.UUID(), States.UUID(), States.UUID(), States.UUID(), States.UUID(), States.UUID(), States.UUID(), States.UUID(), States.UUID(), States.UUID())";
        assert_eq!(
            parse_intrinsic(text),
            Err(IntrinsicError::TooManyFunctions(11))
        );
    }

    #[test]
    fn given_wrong_arity_when_parsed_then_the_error_names_expected_and_actual() {
        let err = parse_intrinsic("States.ArrayRange(1, 2)").expect_err("needs 3");
        assert_eq!(
            err,
            IntrinsicError::Arity {
                function: IntrinsicFunction::ArrayRange,
                expected: Arity::exactly(3),
                actual: 2
            }
        );
        assert!(parse_intrinsic("States.UUID($.x)").is_err());
        assert!(parse_intrinsic("States.MathRandom(1, 2, 3)").is_ok());
        assert!(parse_intrinsic("States.MathRandom(1)").is_err());
        assert!(parse_intrinsic("States.Array()").is_ok());
    }

    #[test]
    fn given_unknown_or_miscased_names_when_parsed_then_they_are_unknown_functions() {
        assert!(matches!(
            parse_intrinsic("States.Concat('a', 'b')"),
            Err(IntrinsicError::UnknownFunction(_))
        ));
        assert!(matches!(
            parse_intrinsic("states.format('a')"),
            Err(IntrinsicError::UnknownFunction(_))
        ));
    }

    #[test]
    fn given_malformed_calls_when_parsed_then_syntax_errors() {
        for text in [
            "States.Format('a'",
            "States.Format('a',)",
            "States.Format(\"a\")",
            "States.Array(1 2)",
            "States.Array(abc)",
            "States.UUID() extra",
            "States.Format('unterminated)",
        ] {
            assert!(parse_intrinsic(text).is_err(), "`{text}` must be rejected");
        }
    }

    #[test]
    fn given_payload_values_when_parsed_then_paths_and_calls_are_told_apart() {
        assert!(matches!(
            parse_payload_value("$.a"),
            Ok(PayloadValue::Path(_))
        ));
        assert!(matches!(
            parse_payload_value("$$.Task.Token"),
            Ok(PayloadValue::Path(_))
        ));
        assert!(matches!(
            parse_payload_value("States.UUID()"),
            Ok(PayloadValue::Intrinsic(_))
        ));
        assert!(parse_payload_value("hello").is_err());
    }
}
