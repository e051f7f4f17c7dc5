//! Choice rules: comparisons (`Variable` + one operator), the Boolean combinators `And`, `Or`,
//! `Not`, and JSONata `Condition` rules.
//!
//! A rule is parsed into one struct holding every possible field, with the comparison operators
//! collected in [`ChoiceRule::comparisons`]. That keeps rules with zero or several operators
//! representable, so the validator can report them precisely; unknown keys are still rejected.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

macro_rules! operators {
    ($($variant:ident),* $(,)?) => {
        /// A comparison operator of a Choice rule.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ComparisonOperator {
            $(
                #[doc = concat!("`", stringify!($variant), "`")]
                $variant,
            )*
        }

        impl ComparisonOperator {
            /// Every operator.
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            /// The operator's field name.
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => stringify!($variant),)*
                }
            }
        }
    };
}

operators!(
    StringEquals,
    StringEqualsPath,
    StringLessThan,
    StringLessThanPath,
    StringGreaterThan,
    StringGreaterThanPath,
    StringLessThanEquals,
    StringLessThanEqualsPath,
    StringGreaterThanEquals,
    StringGreaterThanEqualsPath,
    StringMatches,
    NumericEquals,
    NumericEqualsPath,
    NumericLessThan,
    NumericLessThanPath,
    NumericGreaterThan,
    NumericGreaterThanPath,
    NumericLessThanEquals,
    NumericLessThanEqualsPath,
    NumericGreaterThanEquals,
    NumericGreaterThanEqualsPath,
    BooleanEquals,
    BooleanEqualsPath,
    TimestampEquals,
    TimestampEqualsPath,
    TimestampLessThan,
    TimestampLessThanPath,
    TimestampGreaterThan,
    TimestampGreaterThanPath,
    TimestampLessThanEquals,
    TimestampLessThanEqualsPath,
    TimestampGreaterThanEquals,
    TimestampGreaterThanEqualsPath,
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
);

/// What kind of value an operator takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperandKind {
    /// A string literal.
    String,
    /// A number literal.
    Number,
    /// A boolean literal.
    Boolean,
    /// An RFC 3339 timestamp string.
    Timestamp,
    /// A reference path (the `*Path` operators).
    Path,
}

impl ComparisonOperator {
    /// Looks an operator up by field name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|op| op.name() == name)
    }

    /// Whether the operand is a path to compare with (the `*Path` variants).
    pub fn is_path(self) -> bool {
        self.name().ends_with("Path")
    }

    /// Whether this is a type test (`IsNull`, `IsPresent`, …), which takes a boolean.
    pub fn is_type_test(self) -> bool {
        self.name().starts_with("Is")
    }

    /// The kind of operand this operator takes.
    pub fn operand_kind(self) -> OperandKind {
        let name = self.name();
        if self.is_path() {
            OperandKind::Path
        } else if self.is_type_test() || name.starts_with("Boolean") {
            OperandKind::Boolean
        } else if name.starts_with("String") {
            OperandKind::String
        } else if name.starts_with("Numeric") {
            OperandKind::Number
        } else {
            OperandKind::Timestamp
        }
    }
}

/// One operator and its operand.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// The operator.
    pub operator: ComparisonOperator,
    /// The operand as written.
    pub value: Value,
}

/// A Choice rule (top-level rules carry `Next`; nested rules inside `And`/`Or`/`Not` do not).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ChoiceRule {
    /// The input path compared (JSONPath mode).
    pub variable: Option<String>,
    /// Comparison operators present in the rule (exactly one in a valid comparison rule).
    pub comparisons: Vec<Comparison>,
    /// All of the nested rules.
    pub and: Option<Vec<ChoiceRule>>,
    /// Any of the nested rules.
    pub or: Option<Vec<ChoiceRule>>,
    /// Negation of the nested rule.
    pub not: Option<Box<ChoiceRule>>,
    /// JSONata condition (`{% … %}` string or a boolean).
    pub condition: Option<Value>,
    /// Target state (top-level rules only).
    pub next: Option<String>,
    /// Human-readable description.
    pub comment: Option<String>,
    /// Variables to assign when this rule matches.
    pub assign: Option<Value>,
    /// State output when this rule matches (JSONata).
    pub output: Option<Value>,
}

impl ChoiceRule {
    /// A comparison rule `Variable <op> value`.
    pub fn compare(
        variable: impl Into<String>,
        operator: ComparisonOperator,
        value: Value,
    ) -> Self {
        Self {
            variable: Some(variable.into()),
            comparisons: vec![Comparison { operator, value }],
            ..Self::default()
        }
    }

    /// Sets `Next`.
    pub fn with_next(mut self, next: impl Into<String>) -> Self {
        self.next = Some(next.into());
        self
    }
}

impl Serialize for ChoiceRule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = Map::new();
        if let Some(comment) = &self.comment {
            map.insert("Comment".into(), Value::String(comment.clone()));
        }
        if let Some(variable) = &self.variable {
            map.insert("Variable".into(), Value::String(variable.clone()));
        }
        for comparison in &self.comparisons {
            map.insert(comparison.operator.name().into(), comparison.value.clone());
        }
        if let Some(rules) = &self.and {
            map.insert(
                "And".into(),
                serde_json::to_value(rules).map_err(serde::ser::Error::custom)?,
            );
        }
        if let Some(rules) = &self.or {
            map.insert(
                "Or".into(),
                serde_json::to_value(rules).map_err(serde::ser::Error::custom)?,
            );
        }
        if let Some(rule) = &self.not {
            map.insert(
                "Not".into(),
                serde_json::to_value(rule).map_err(serde::ser::Error::custom)?,
            );
        }
        if let Some(condition) = &self.condition {
            map.insert("Condition".into(), condition.clone());
        }
        if let Some(assign) = &self.assign {
            map.insert("Assign".into(), assign.clone());
        }
        if let Some(output) = &self.output {
            map.insert("Output".into(), output.clone());
        }
        if let Some(next) = &self.next {
            map.insert("Next".into(), Value::String(next.clone()));
        }
        map.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ChoiceRule {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(deserializer)?;
        let mut rule = ChoiceRule::default();
        let string = |key: &str, value: Value| -> Result<String, D::Error> {
            match value {
                Value::String(s) => Ok(s),
                other => Err(D::Error::custom(format!(
                    "choice rule field `{key}` must be a string, found {other}"
                ))),
            }
        };
        let rules = |key: &str, value: Value| -> Result<Vec<ChoiceRule>, D::Error> {
            serde_json::from_value(value)
                .map_err(|e| D::Error::custom(format!("choice rule field `{key}`: {e}")))
        };
        for (key, value) in map {
            match key.as_str() {
                "Variable" => rule.variable = Some(string(&key, value)?),
                "Next" => rule.next = Some(string(&key, value)?),
                "Comment" => rule.comment = Some(string(&key, value)?),
                "And" => rule.and = Some(rules(&key, value)?),
                "Or" => rule.or = Some(rules(&key, value)?),
                "Not" => {
                    let nested: ChoiceRule = serde_json::from_value(value)
                        .map_err(|e| D::Error::custom(format!("choice rule field `Not`: {e}")))?;
                    rule.not = Some(Box::new(nested));
                }
                "Condition" => rule.condition = Some(value),
                "Assign" => rule.assign = Some(value),
                "Output" => rule.output = Some(value),
                other => match ComparisonOperator::from_name(other) {
                    Some(operator) => rule.comparisons.push(Comparison { operator, value }),
                    None => {
                        return Err(D::Error::custom(format!(
                            "unknown field `{other}` in choice rule"
                        )));
                    }
                },
            }
        }
        Ok(rule)
    }
}
