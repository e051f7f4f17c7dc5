//! The processed syntax tree the evaluator walks (jsonata-js's post-parse AST).

use std::sync::Arc;

use crate::signature::Signature;

#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub kind: Kind,
    pub pos: usize,
    pub keep_array: bool,
    /// Filters applied to the result of this node (`predicate` in jsonata-js).
    pub predicate: Option<Vec<Stage>>,
    /// Filters and index bindings applied per input item of a path step (`stages`).
    pub stages: Option<Vec<Stage>>,
    pub group: Option<Box<Group>>,
    pub focus: Option<Arc<str>>,
    pub index: Option<Arc<str>>,
    pub tuple: bool,
    pub ancestor: Option<usize>,
    pub ancestor_label: Option<Arc<str>>,
    pub consarray: bool,
    pub keep_singleton_array: bool,
    pub seeking_parent: Option<Vec<usize>>,
}

#[derive(Debug, Clone)]
pub(crate) enum Stage {
    Filter(Node),
    Index(Arc<str>),
}

#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub pairs: Vec<(Node, Node)>,
    pub pos: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct SortTerm {
    pub descending: bool,
    pub expr: Node,
}

#[derive(Debug)]
pub(crate) struct RegexLit {
    pub source: String,
    pub regex: regex::Regex,
}

#[derive(Debug)]
pub(crate) struct LambdaDef {
    pub params: Vec<Arc<str>>,
    pub signature: Option<Arc<Signature>>,
    pub body: Node,
    pub thunk: bool,
}

#[derive(Debug)]
pub(crate) struct TransformDef {
    pub pattern: Node,
    pub update: Node,
    pub delete: Option<Node>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Concat,
    And,
    Or,
    Range,
    In,
}

impl BinOp {
    pub fn from_str(s: &str) -> Option<BinOp> {
        Some(match s {
            "+" => BinOp::Add,
            "-" => BinOp::Sub,
            "*" => BinOp::Mul,
            "/" => BinOp::Div,
            "%" => BinOp::Mod,
            "=" => BinOp::Eq,
            "!=" => BinOp::Ne,
            "<" => BinOp::Lt,
            "<=" => BinOp::Le,
            ">" => BinOp::Gt,
            ">=" => BinOp::Ge,
            "&" => BinOp::Concat,
            "and" => BinOp::And,
            "or" => BinOp::Or,
            ".." => BinOp::Range,
            "in" => BinOp::In,
            _ => return None,
        })
    }
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Eq => "=",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Concat => "&",
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::Range => "..",
            BinOp::In => "in",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Path(Vec<Node>),
    Binary(BinOp, Box<Node>, Box<Node>),
    Apply(Box<Node>, Box<Node>),
    Neg(Box<Node>),
    ArrayCons(Vec<Node>),
    ObjectCons(Vec<(Node, Node)>),
    Name(Arc<str>),
    Variable(Arc<str>),
    Str(Arc<str>),
    Num(f64),
    Bool(bool),
    Null,
    Regex(Arc<RegexLit>),
    Wildcard,
    Descendant,
    Parent(usize, Option<Arc<str>>),
    Condition(Box<Node>, Box<Node>, Option<Box<Node>>),
    Block(Vec<Node>),
    Bind(Arc<str>, Box<Node>),
    Function(Box<Node>, Vec<Node>),
    Partial(Box<Node>, Vec<Option<Node>>),
    Lambda(Arc<LambdaDef>),
    Transform(Arc<TransformDef>),
    Sort(Vec<SortTerm>),
    /// A placeholder `?` (only valid as an argument of a partial application).
    Placeholder,
}

impl Node {
    pub fn new(kind: Kind, pos: usize) -> Node {
        Node {
            kind,
            pos,
            keep_array: false,
            predicate: None,
            stages: None,
            group: None,
            focus: None,
            index: None,
            tuple: false,
            ancestor: None,
            ancestor_label: None,
            consarray: false,
            keep_singleton_array: false,
            seeking_parent: None,
        }
    }

    /// jsonata-js's `type` names (for S0217 tokens).
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            Kind::Path(_) => "path",
            Kind::Binary(..) => "binary",
            Kind::Apply(..) => "apply",
            Kind::Neg(_) | Kind::ArrayCons(_) | Kind::ObjectCons(_) => "unary",
            Kind::Name(_) => "name",
            Kind::Variable(_) => "variable",
            Kind::Str(_) => "string",
            Kind::Num(_) => "number",
            Kind::Bool(_) | Kind::Null => "value",
            Kind::Regex(_) => "regex",
            Kind::Wildcard => "wildcard",
            Kind::Descendant => "descendant",
            Kind::Parent(..) => "parent",
            Kind::Condition(..) => "condition",
            Kind::Block(_) => "block",
            Kind::Bind(..) => "bind",
            Kind::Function(..) => "function",
            Kind::Partial(..) => "partial",
            Kind::Lambda(_) => "lambda",
            Kind::Transform(_) => "transform",
            Kind::Sort(_) => "sort",
            Kind::Placeholder => "operator",
        }
    }
}
