//! Tokenizer, Pratt parser and post-parse processing: a port of jsonata-js `parser.js`.

use std::sync::Arc;

use crate::ast::{BinOp, Group, Kind, LambdaDef, Node, RegexLit, SortTerm, Stage, TransformDef};
use crate::error::{Err, ErrExt, R};
use crate::signature::Signature;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name(String),
    Variable(String),
    Op(&'static str),
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    Regex(Arc<RegexLit>),
    End,
}

impl PartialEq for RegexLit {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    pos: usize,
}

impl Token {
    fn id(&self) -> &str {
        match &self.tok {
            Tok::Name(_) | Tok::Variable(_) => "(name)",
            Tok::Op(o) => o,
            Tok::Str(_) | Tok::Num(_) | Tok::Bool(_) | Tok::Null => "(literal)",
            Tok::Regex(_) => "(regex)",
            Tok::End => "(end)",
        }
    }
    fn value_text(&self) -> String {
        match &self.tok {
            Tok::Name(s) | Tok::Variable(s) | Tok::Str(s) => s.clone(),
            Tok::Op(o) => (*o).to_owned(),
            Tok::Num(n) => crate::value::js_num(*n),
            Tok::Bool(b) => b.to_string(),
            Tok::Null => "null".into(),
            Tok::Regex(r) => r.source.clone(),
            Tok::End => "(end)".into(),
        }
    }
}

const OPERATORS: &[&str] = &[
    ".", "[", "]", "{", "}", "(", ")", ",", "@", "#", ";", ":", "?", "+", "-", "*", "/", "%", "|",
    "=", "<", ">", "^", "!", "~",
];

fn is_op_char(c: char) -> bool {
    matches!(
        c,
        '.' | '['
            | ']'
            | '{'
            | '}'
            | '('
            | ')'
            | ','
            | '@'
            | '#'
            | ';'
            | ':'
            | '?'
            | '+'
            | '-'
            | '*'
            | '/'
            | '%'
            | '|'
            | '='
            | '<'
            | '>'
            | '^'
            | '&'
            | '!'
            | '~'
    )
}

fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{b}')
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
}

impl Lexer {
    fn at(&self, i: usize) -> Option<char> {
        self.chars.get(i).copied()
    }

    fn next(&mut self, prefix: bool) -> R<Option<Token>> {
        loop {
            if self.pos >= self.chars.len() {
                return Ok(None);
            }
            while self.at(self.pos).is_some_and(is_ws) {
                self.pos += 1;
            }
            if self.at(self.pos) == Some('/') && self.at(self.pos + 1) == Some('*') {
                let start = self.pos;
                self.pos += 2;
                loop {
                    if self.pos >= self.chars.len() {
                        return Err(Err::at("S0106", start));
                    }
                    if self.at(self.pos) == Some('*') && self.at(self.pos + 1) == Some('/') {
                        break;
                    }
                    self.pos += 1;
                }
                self.pos += 2;
                continue;
            }
            break;
        }
        let Some(c) = self.at(self.pos) else {
            return Ok(None);
        };
        let tok = |tok: Tok, pos: usize| Ok(Some(Token { tok, pos }));
        if !prefix && c == '/' {
            self.pos += 1;
            let lit = self.scan_regex()?;
            return Ok(Some(Token {
                tok: Tok::Regex(lit),
                pos: self.pos,
            }));
        }
        let c2 = self.at(self.pos + 1);
        let two: Option<&'static str> = match (c, c2) {
            ('.', Some('.')) => Some(".."),
            (':', Some('=')) => Some(":="),
            ('!', Some('=')) => Some("!="),
            ('>', Some('=')) => Some(">="),
            ('<', Some('=')) => Some("<="),
            ('*', Some('*')) => Some("**"),
            ('~', Some('>')) => Some("~>"),
            ('?', Some(':')) => Some("?:"),
            ('?', Some('?')) => Some("??"),
            _ => None,
        };
        if let Some(op) = two {
            self.pos += 2;
            return tok(Tok::Op(op), self.pos);
        }
        if c == '&' {
            self.pos += 1;
            return tok(Tok::Op("&"), self.pos);
        }
        if let Some(op) = OPERATORS.iter().find(|o| o.starts_with(c)) {
            self.pos += 1;
            return tok(Tok::Op(op), self.pos);
        }
        if c == '"' || c == '\'' {
            return self.scan_string(c).map(|s| {
                Some(Token {
                    tok: Tok::Str(s),
                    pos: self.pos,
                })
            });
        }
        if let Some(len) = self.number_len() {
            let text: String = self.chars[self.pos..self.pos + len].iter().collect();
            let n: f64 = text.parse().unwrap_or(f64::NAN);
            if n.is_finite() {
                self.pos += len;
                return tok(Tok::Num(n), self.pos);
            }
            return Err(Err::at("S0102", self.pos).with_token(text));
        }
        if c == '`' {
            self.pos += 1;
            if let Some(end) = (self.pos..self.chars.len()).find(|&i| self.chars[i] == '`') {
                let name: String = self.chars[self.pos..end].iter().collect();
                self.pos = end + 1;
                return Ok(Some(Token {
                    tok: Tok::Name(name),
                    pos: self.pos,
                }));
            }
            self.pos = self.chars.len();
            return Err(Err::at("S0105", self.pos));
        }
        let mut i = self.pos;
        while i < self.chars.len() && !is_ws(self.chars[i]) && !is_op_char(self.chars[i]) {
            i += 1;
        }
        if c == '$' {
            let name: String = self.chars[self.pos + 1..i].iter().collect();
            self.pos = i;
            return Ok(Some(Token {
                tok: Tok::Variable(name),
                pos: self.pos,
            }));
        }
        let name: String = self.chars[self.pos..i].iter().collect();
        self.pos = i;
        let t = match name.as_str() {
            "or" => Tok::Op("or"),
            "in" => Tok::Op("in"),
            "and" => Tok::Op("and"),
            "true" => Tok::Bool(true),
            "false" => Tok::Bool(false),
            "null" => Tok::Null,
            "" if self.pos == self.chars.len() => return Ok(None),
            _ => Tok::Name(name),
        };
        Ok(Some(Token {
            tok: t,
            pos: self.pos,
        }))
    }

    /// Length of `^-?(0|([1-9][0-9]*))(\.[0-9]+)?([Ee][-+]?[0-9]+)?` at the position.
    fn number_len(&self) -> Option<usize> {
        let s = &self.chars[self.pos..];
        let mut i = 0;
        if s.first() == Some(&'-') {
            i += 1;
        }
        match s.get(i) {
            Some('0') => i += 1,
            Some(c) if c.is_ascii_digit() => {
                while s.get(i).is_some_and(char::is_ascii_digit) {
                    i += 1;
                }
            }
            _ => return None,
        }
        if s.get(i) == Some(&'.') && s.get(i + 1).is_some_and(char::is_ascii_digit) {
            i += 1;
            while s.get(i).is_some_and(char::is_ascii_digit) {
                i += 1;
            }
        }
        if matches!(s.get(i), Some('e' | 'E')) {
            let mut j = i + 1;
            if matches!(s.get(j), Some('+' | '-')) {
                j += 1;
            }
            if s.get(j).is_some_and(char::is_ascii_digit) {
                while s.get(j).is_some_and(char::is_ascii_digit) {
                    j += 1;
                }
                i = j;
            }
        }
        Some(i)
    }

    fn scan_string(&mut self, quote: char) -> R<String> {
        self.pos += 1;
        let mut units: Vec<u16> = Vec::new();
        let mut buf = [0u16; 2];
        while self.pos < self.chars.len() {
            let c = self.chars[self.pos];
            if c == '\\' {
                self.pos += 1;
                let e = self.at(self.pos).unwrap_or('\0');
                let simple = match e {
                    '"' => Some('"'),
                    '\\' => Some('\\'),
                    '/' => Some('/'),
                    'b' => Some('\u{8}'),
                    'f' => Some('\u{c}'),
                    'n' => Some('\n'),
                    'r' => Some('\r'),
                    't' => Some('\t'),
                    _ => None,
                };
                if let Some(s) = simple {
                    units.extend_from_slice(s.encode_utf16(&mut buf));
                } else if e == 'u' {
                    let hex: String = self.chars.iter().skip(self.pos + 1).take(4).collect();
                    if hex.len() == 4 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
                        units.push(u16::from_str_radix(&hex, 16).unwrap_or(0xfffd));
                        self.pos += 4;
                    } else {
                        return Err(Err::at("S0104", self.pos));
                    }
                } else {
                    return Err(Err::at("S0103", self.pos).with_token(e.to_string()));
                }
            } else if c == quote {
                self.pos += 1;
                return Ok(String::from_utf16_lossy(&units));
            } else {
                units.extend_from_slice(c.encode_utf16(&mut buf));
            }
            self.pos += 1;
        }
        Err(Err::at("S0101", self.pos))
    }

    fn scan_regex(&mut self) -> R<Arc<RegexLit>> {
        let start = self.pos;
        let mut depth: i32 = 0;
        while self.pos < self.chars.len() {
            let c = self.chars[self.pos];
            if c == '/' && depth == 0 {
                let mut backslashes = 0;
                while self.pos > backslashes && self.chars[self.pos - backslashes - 1] == '\\' {
                    backslashes += 1;
                }
                if backslashes % 2 == 0 {
                    let pattern: String = self.chars[start..self.pos].iter().collect();
                    if pattern.is_empty() {
                        return Err(Err::at("S0301", self.pos));
                    }
                    self.pos += 1;
                    let fstart = self.pos;
                    while matches!(self.at(self.pos), Some('i' | 'm')) {
                        self.pos += 1;
                    }
                    let flags: String = self.chars[fstart..self.pos].iter().collect();
                    return crate::regex_js::compile(&pattern, &flags)
                        .map(Arc::new)
                        .map_err(|msg| Err::at("S0303", start).with_value_text(msg));
                }
            }
            let prev_escape = self.pos > 0 && self.chars[self.pos - 1] == '\\';
            if matches!(c, '(' | '[' | '{') && !prev_escape {
                depth += 1;
            }
            if matches!(c, ')' | ']' | '}') && !prev_escape {
                depth -= 1;
            }
            self.pos += 1;
        }
        Err(Err::at("S0302", self.pos))
    }
}

/// The raw parse tree (before jsonata-js's `processAST`).
#[derive(Debug, Clone)]
struct Raw {
    kind: RK,
    pos: usize,
    keep_array: bool,
    /// The nesting depth of this subtree (bounded to keep recursion over the tree safe).
    depth: usize,
}

#[derive(Debug, Clone)]
enum RK {
    Name(String),
    Var(String),
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    Regex(Arc<RegexLit>),
    Wildcard,
    Descendant,
    Parent,
    End,
    Placeholder,
    Binary(&'static str, Box<Raw>, Box<Raw>),
    Pred(Box<Raw>, Box<Raw>),
    Group(Box<Raw>, Vec<(Raw, Raw)>),
    Sort(Box<Raw>, Vec<(bool, Raw)>),
    Bind(String, Box<Raw>),
    Focus(Box<Raw>, String),
    IndexBind(Box<Raw>, String),
    Neg(Box<Raw>),
    ArrayCons(Vec<Raw>),
    ObjCons(Vec<(Raw, Raw)>),
    Call(Box<Raw>, Vec<Raw>, bool),
    Lambda(Vec<String>, Option<Arc<Signature>>, Box<Raw>),
    Cond(Box<Raw>, Box<Raw>, Option<Box<Raw>>),
    Block(Vec<Raw>),
    Transform(Box<Raw>, Box<Raw>, Option<Box<Raw>>),
}

impl Raw {
    fn new(kind: RK, pos: usize) -> Raw {
        let depth = 1 + child_depth(&kind);
        Raw {
            kind,
            pos,
            keep_array: false,
            depth,
        }
    }
}

fn child_depth(kind: &RK) -> usize {
    let d = |r: &Raw| r.depth;
    let pairs = |p: &[(Raw, Raw)]| {
        p.iter()
            .map(|(a, b)| a.depth.max(b.depth))
            .max()
            .unwrap_or(0)
    };
    let list = |l: &[Raw]| l.iter().map(d).max().unwrap_or(0);
    match kind {
        RK::Binary(_, a, b) | RK::Pred(a, b) => d(a).max(d(b)),
        RK::Group(a, p) => d(a).max(pairs(p)),
        RK::Sort(a, terms) => d(a).max(terms.iter().map(|(_, t)| t.depth).max().unwrap_or(0)),
        RK::Bind(_, a) | RK::Focus(a, _) | RK::IndexBind(a, _) | RK::Neg(a) => d(a),
        RK::ArrayCons(l) | RK::Block(l) => list(l),
        RK::ObjCons(p) => pairs(p),
        RK::Call(p, args, _) => d(p).max(list(args)),
        RK::Lambda(_, _, b) => d(b),
        RK::Cond(a, b, c) | RK::Transform(a, b, c) => {
            d(a).max(d(b)).max(c.as_ref().map_or(0, |c| d(c)))
        }
        _ => 0,
    }
}

fn too_deep(pos: usize) -> Box<Err> {
    let mut e = Err::at("U1001", pos);
    e.message = Some("Stack overflow error: the expression is nested too deeply".into());
    e.fixed_message = true;
    e
}

/// Bytes of native stack parsing may use beyond its entry point on a caller's (2 MiB) stack.
pub(crate) const INLINE_STACK_BUDGET: usize = 1024 * 1024;

#[inline(never)]
fn stack_addr() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

fn lbp(id: &str) -> u32 {
    match id {
        "." => 75,
        "[" | "(" | "@" | "#" => 80,
        "{" => 70,
        "+" | "-" | "&" => 50,
        "*" | "/" | "%" => 60,
        "=" | "<" | ">" | "!=" | "<=" | ">=" | "^" | "~>" | "??" | "?:" | "in" => 40,
        "and" => 30,
        "or" => 25,
        "?" => 20,
        ":=" => 10,
        _ => 0,
    }
}

const KNOWN_OPS: &[&str] = &[
    ".", "[", "]", "{", "}", "(", ")", ",", "@", "#", ";", ":", "?", "+", "-", "*", "/", "%", "|",
    "=", "<", ">", "^", "**", "..", ":=", "!=", "<=", ">=", "~>", "?:", "??", "and", "or", "in",
    "&",
];

struct Parser {
    lexer: Lexer,
    node: Token,
    len: usize,
    stack_base: usize,
    budget: usize,
}

const MAX_PARSE_DEPTH: usize = 1000;

impl Parser {
    fn advance(&mut self, id: Option<&str>, infix: bool) -> R<()> {
        if let Some(id) = id
            && self.node.id() != id
        {
            let code = if self.node.id() == "(end)" {
                "S0203"
            } else {
                "S0202"
            };
            return Err(Err::at(code, self.node.pos)
                .with_token(self.node.value_text())
                .with_value_text(id));
        }
        match self.lexer.next(infix)? {
            None => {
                self.node = Token {
                    tok: Tok::End,
                    pos: self.len,
                };
            }
            Some(t) => {
                if let Tok::Op(op) = &t.tok
                    && !KNOWN_OPS.contains(op)
                {
                    return Err(Err::at("S0204", t.pos).with_token(*op));
                }
                self.node = t;
            }
        }
        Ok(())
    }

    fn expression(&mut self, rbp: u32) -> R<Raw> {
        if self.stack_base.abs_diff(stack_addr()) > self.budget {
            return Err(too_deep(self.node.pos));
        }
        let t = self.node.clone();
        self.advance(None, true)?;
        let mut left = self.nud(t)?;
        if left.depth > MAX_PARSE_DEPTH {
            return Err(too_deep(left.pos));
        }
        while rbp < lbp(self.node.id()) {
            let t = self.node.clone();
            self.advance(None, false)?;
            left = self.led(t, left)?;
            if left.depth > MAX_PARSE_DEPTH {
                return Err(too_deep(left.pos));
            }
        }
        Ok(left)
    }

    fn nud(&mut self, t: Token) -> R<Raw> {
        let pos = t.pos;
        Ok(match t.tok {
            Tok::Name(n) => Raw::new(RK::Name(n), pos),
            Tok::Variable(n) => Raw::new(RK::Var(n), pos),
            Tok::Str(s) => Raw::new(RK::Str(s), pos),
            Tok::Num(n) => Raw::new(RK::Num(n), pos),
            Tok::Bool(b) => Raw::new(RK::Bool(b), pos),
            Tok::Null => Raw::new(RK::Null, pos),
            Tok::Regex(r) => Raw::new(RK::Regex(r), pos),
            Tok::End => Raw::new(RK::End, pos),
            Tok::Op(op) => match op {
                "and" | "or" | "in" => Raw::new(RK::Name(op.to_owned()), pos),
                "-" => {
                    let e = self.expression(70)?;
                    Raw::new(RK::Neg(Box::new(e)), pos)
                }
                "*" => Raw::new(RK::Wildcard, pos),
                "**" => Raw::new(RK::Descendant, pos),
                "%" => Raw::new(RK::Parent, pos),
                "(" => {
                    let mut exprs = Vec::new();
                    while self.node.id() != ")" {
                        exprs.push(self.expression(0)?);
                        if self.node.id() != ";" {
                            break;
                        }
                        self.advance(Some(";"), false)?;
                    }
                    self.advance(Some(")"), true)?;
                    Raw::new(RK::Block(exprs), pos)
                }
                "[" => {
                    let mut items = Vec::new();
                    if self.node.id() != "]" {
                        loop {
                            let mut item = self.expression(0)?;
                            if self.node.id() == ".." {
                                let rpos = self.node.pos;
                                self.advance(Some(".."), false)?;
                                let rhs = self.expression(0)?;
                                item =
                                    Raw::new(RK::Binary("..", Box::new(item), Box::new(rhs)), rpos);
                            }
                            items.push(item);
                            if self.node.id() != "," {
                                break;
                            }
                            self.advance(Some(","), false)?;
                        }
                    }
                    self.advance(Some("]"), true)?;
                    Raw::new(RK::ArrayCons(items), pos)
                }
                "{" => {
                    let pairs = self.object_pairs()?;
                    Raw::new(RK::ObjCons(pairs), pos)
                }
                "|" => {
                    let pattern = self.expression(0)?;
                    self.advance(Some("|"), false)?;
                    let update = self.expression(0)?;
                    let mut delete = None;
                    if self.node.id() == "," {
                        self.advance(Some(","), false)?;
                        delete = Some(Box::new(self.expression(0)?));
                    }
                    self.advance(Some("|"), false)?;
                    Raw::new(
                        RK::Transform(Box::new(pattern), Box::new(update), delete),
                        pos,
                    )
                }
                _ => return Err(Err::at("S0211", pos).with_token(op)),
            },
        })
    }

    fn object_pairs(&mut self) -> R<Vec<(Raw, Raw)>> {
        let mut pairs = Vec::new();
        if self.node.id() != "}" {
            loop {
                let n = self.expression(0)?;
                self.advance(Some(":"), false)?;
                let v = self.expression(0)?;
                pairs.push((n, v));
                if self.node.id() != "," {
                    break;
                }
                self.advance(Some(","), false)?;
            }
        }
        self.advance(Some("}"), true)?;
        Ok(pairs)
    }

    fn led(&mut self, t: Token, left: Raw) -> R<Raw> {
        let pos = t.pos;
        let Tok::Op(op) = t.tok else {
            return Err(Err::at("S0201", pos).with_token(t.value_text()));
        };
        let bp = lbp(op);
        Ok(match op {
            "??" => {
                let rhs = self.expression(0)?;
                let cond = Raw::new(
                    RK::Call(
                        Box::new(Raw::new(RK::Var("exists".into()), pos)),
                        vec![left.clone()],
                        false,
                    ),
                    pos,
                );
                Raw::new(
                    RK::Cond(Box::new(cond), Box::new(left), Some(Box::new(rhs))),
                    pos,
                )
            }
            "?:" => {
                let rhs = self.expression(0)?;
                Raw::new(
                    RK::Cond(Box::new(left.clone()), Box::new(left), Some(Box::new(rhs))),
                    pos,
                )
            }
            "(" => {
                let mut args = Vec::new();
                let mut partial = false;
                if self.node.id() != ")" {
                    loop {
                        if self.node.tok == Tok::Op("?") {
                            partial = true;
                            args.push(Raw::new(RK::Placeholder, self.node.pos));
                            self.advance(Some("?"), false)?;
                        } else {
                            args.push(self.expression(0)?);
                        }
                        if self.node.id() != "," {
                            break;
                        }
                        self.advance(Some(","), false)?;
                    }
                }
                self.advance(Some(")"), true)?;
                if let RK::Name(n) = &left.kind
                    && (n == "function" || n == "\u{3bb}")
                {
                    let mut params = Vec::new();
                    for (i, a) in args.iter().enumerate() {
                        match &a.kind {
                            RK::Var(v) => params.push(v.clone()),
                            _ => {
                                let tok = match &a.kind {
                                    RK::Name(s) | RK::Str(s) => s.clone(),
                                    _ => String::new(),
                                };
                                return Err(Err::at("S0208", a.pos)
                                    .with_token(tok)
                                    .with_value_text((i + 1).to_string()));
                            }
                        }
                    }
                    let mut signature = None;
                    if self.node.id() == "<" {
                        let sig_pos = self.node.pos;
                        let mut depth = 1;
                        let mut sig = String::from("<");
                        while depth > 0 && self.node.id() != "{" && self.node.id() != "(end)" {
                            self.advance(None, false)?;
                            if self.node.id() == ">" {
                                depth -= 1;
                            } else if self.node.id() == "<" {
                                depth += 1;
                            }
                            sig.push_str(&self.node.value_text());
                        }
                        self.advance(Some(">"), false)?;
                        signature = Some(Arc::new(Signature::parse(&sig).map_err(|mut e| {
                            e.position = Some(sig_pos + e.position.unwrap_or(0));
                            e
                        })?));
                    }
                    self.advance(Some("{"), false)?;
                    let body = self.expression(0)?;
                    self.advance(Some("}"), false)?;
                    Raw::new(RK::Lambda(params, signature, Box::new(body)), pos)
                } else {
                    Raw::new(RK::Call(Box::new(left), args, partial), pos)
                }
            }
            "[" => {
                if self.node.id() == "]" {
                    let mut left = left;
                    mark_keep_array(&mut left);
                    self.advance(Some("]"), false)?;
                    left
                } else {
                    let rhs = self.expression(0)?;
                    self.advance(Some("]"), true)?;
                    Raw::new(RK::Pred(Box::new(left), Box::new(rhs)), pos)
                }
            }
            "^" => {
                self.advance(Some("("), false)?;
                let mut terms = Vec::new();
                loop {
                    let mut descending = false;
                    if self.node.id() == "<" {
                        self.advance(Some("<"), false)?;
                    } else if self.node.id() == ">" {
                        descending = true;
                        self.advance(Some(">"), false)?;
                    }
                    let e = self.expression(0)?;
                    terms.push((descending, e));
                    if self.node.id() != "," {
                        break;
                    }
                    self.advance(Some(","), false)?;
                }
                self.advance(Some(")"), false)?;
                Raw::new(RK::Sort(Box::new(left), terms), pos)
            }
            "{" => {
                let pairs = self.object_pairs()?;
                Raw::new(RK::Group(Box::new(left), pairs), pos)
            }
            ":=" => {
                let RK::Var(name) = &left.kind else {
                    let tok = match &left.kind {
                        RK::Name(s) | RK::Str(s) => s.clone(),
                        _ => String::new(),
                    };
                    return Err(Err::at("S0212", left.pos).with_token(tok));
                };
                let name = name.clone();
                let rhs = self.expression(bp - 1)?;
                Raw::new(RK::Bind(name, Box::new(rhs)), pos)
            }
            "@" | "#" => {
                let rhs = self.expression(bp)?;
                let RK::Var(name) = rhs.kind else {
                    return Err(Err::at("S0214", rhs.pos).with_token(op));
                };
                if op == "@" {
                    Raw::new(RK::Focus(Box::new(left), name), pos)
                } else {
                    Raw::new(RK::IndexBind(Box::new(left), name), pos)
                }
            }
            "?" => {
                let then = self.expression(0)?;
                let mut els = None;
                if self.node.id() == ":" {
                    self.advance(Some(":"), false)?;
                    els = Some(Box::new(self.expression(0)?));
                }
                Raw::new(RK::Cond(Box::new(left), Box::new(then), els), pos)
            }
            _ => {
                if bp == 0 {
                    return Err(Err::at("S0201", pos).with_token(op));
                }
                let rhs = self.expression(bp)?;
                Raw::new(RK::Binary(op, Box::new(left), Box::new(rhs)), pos)
            }
        })
    }
}

struct Slot {
    label: String,
    level: i64,
}

struct Processor {
    slots: Vec<Slot>,
    stack_base: usize,
    budget: usize,
}

impl Processor {
    fn new_slot(&mut self) -> usize {
        let n = self.slots.len();
        self.slots.push(Slot {
            label: format!("!{n}"),
            level: 1,
        });
        n
    }

    fn push_ancestry(result: &mut Node, value: &mut Node) {
        let mut slots = value.seeking_parent.clone().unwrap_or_default();
        let is_parent = matches!(value.kind, Kind::Parent(..));
        if value.seeking_parent.is_none() && !is_parent {
            return;
        }
        if let Kind::Parent(slot, _) = value.kind {
            slots.push(slot);
        }
        result
            .seeking_parent
            .get_or_insert_with(Vec::new)
            .extend(slots);
    }

    fn seek_parent(&mut self, node: &mut Node, slot: usize) -> R<()> {
        match &mut node.kind {
            Kind::Name(_) | Kind::Wildcard => {
                self.slots[slot].level -= 1;
                if self.slots[slot].level == 0 {
                    if let Some(existing) = node.ancestor {
                        self.slots[slot].label = self.slots[existing].label.clone();
                    }
                    node.ancestor = Some(slot);
                    node.tuple = true;
                }
            }
            Kind::Parent(..) => self.slots[slot].level += 1,
            Kind::Block(exprs) => {
                if let Some(last) = exprs.last_mut() {
                    self.seek_parent(last, slot)?;
                    node.tuple = true;
                }
            }
            Kind::Path(steps) => {
                let mut index = steps.len() as isize - 1;
                self.seek_parent(&mut steps[index as usize], slot)?;
                index -= 1;
                while self.slots[slot].level > 0 && index >= 0 {
                    self.seek_parent(&mut steps[index as usize], slot)?;
                    index -= 1;
                }
                node.tuple = true;
            }
            _ => {
                return Err(Err::at("S0217", node.pos).with_token(node.type_name()));
            }
        }
        Ok(())
    }

    fn resolve_ancestry(&mut self, path: &mut Node) -> R<()> {
        let Kind::Path(steps) = &mut path.kind else {
            return Ok(());
        };
        let last = steps.len() - 1;
        let mut slots = steps[last].seeking_parent.clone().unwrap_or_default();
        if let Kind::Parent(slot, _) = steps[last].kind {
            slots.push(slot);
        }
        let mut seeking = Vec::new();
        for slot in slots {
            let mut index = steps.len() as isize - 2;
            while self.slots[slot].level > 0 {
                if index < 0 {
                    seeking.push(slot);
                    break;
                }
                let mut si = index as usize;
                index -= 1;
                while index >= 0
                    && steps[si].focus.is_some()
                    && steps[index as usize].focus.is_some()
                {
                    si = index as usize;
                    index -= 1;
                }
                self.seek_parent(&mut steps[si], slot)?;
            }
        }
        if !seeking.is_empty() {
            path.seeking_parent
                .get_or_insert_with(Vec::new)
                .extend(seeking);
        }
        Ok(())
    }

    fn process(&mut self, expr: Raw) -> R<Node> {
        let pos = expr.pos;
        if self.stack_base.abs_diff(stack_addr()) > self.budget {
            return Err(too_deep(pos));
        }
        let keep_array = expr.keep_array;
        let mut result = match expr.kind {
            RK::Binary(".", lhs, rhs) => {
                let lstep = self.process(*lhs)?;
                let lparent = if let Kind::Parent(slot, _) = lstep.kind {
                    Some(slot)
                } else {
                    None
                };
                let mut result = if matches!(lstep.kind, Kind::Path(_)) {
                    lstep
                } else {
                    path_of(lstep)
                };
                if let Some(slot) = lparent {
                    result.seeking_parent = Some(vec![slot]);
                }
                let mut rest = self.process(*rhs)?;
                let Kind::Path(steps) = &mut result.kind else {
                    unreachable_path()
                };
                if let Kind::Path(rsteps) = rest.kind {
                    steps.extend(rsteps);
                } else {
                    if rest.predicate.is_some() {
                        rest.stages = rest.predicate.take();
                    }
                    steps.push(rest);
                }
                for step in steps.iter_mut() {
                    match &step.kind {
                        Kind::Num(n) => {
                            return Err(Err::at("S0213", step.pos)
                                .with_value(crate::value::num_to_json(*n)));
                        }
                        Kind::Bool(b) => {
                            return Err(
                                Err::at("S0213", step.pos).with_value(serde_json::Value::Bool(*b))
                            );
                        }
                        Kind::Null => {
                            return Err(
                                Err::at("S0213", step.pos).with_value(serde_json::Value::Null)
                            );
                        }
                        Kind::Str(s) => step.kind = Kind::Name(s.clone()),
                        _ => {}
                    }
                }
                if steps.iter().any(|s| s.keep_array) {
                    result.keep_singleton_array = true;
                }
                if let Some(first) = steps.first_mut()
                    && matches!(first.kind, Kind::ArrayCons(_))
                {
                    first.consarray = true;
                }
                if let Some(last) = steps.last_mut()
                    && matches!(last.kind, Kind::ArrayCons(_))
                {
                    last.consarray = true;
                }
                self.resolve_ancestry(&mut result)?;
                result
            }
            RK::Pred(lhs, rhs) => {
                let mut result = self.process(*lhs)?;
                let is_path = matches!(result.kind, Kind::Path(_));
                let mut predicate = self.process(*rhs)?;
                {
                    let step: &mut Node = match &mut result.kind {
                        Kind::Path(steps) => steps.last_mut().unwrap_or_else(|| unreachable_path()),
                        _ => &mut result,
                    };
                    if step.group.is_some() {
                        return Err(Err::at("S0209", pos));
                    }
                    if let Some(sp) = predicate.seeking_parent.clone() {
                        for slot in sp {
                            if self.slots[slot].level == 1 {
                                self.seek_parent(step, slot)?;
                            } else {
                                self.slots[slot].level -= 1;
                            }
                        }
                        Self::push_ancestry(step, &mut predicate);
                    }
                    let list = if is_path {
                        &mut step.stages
                    } else {
                        &mut step.predicate
                    };
                    list.get_or_insert_with(Vec::new)
                        .push(Stage::Filter(predicate));
                }
                result
            }
            RK::Group(lhs, pairs) => {
                let mut result = self.process(*lhs)?;
                if result.group.is_some() {
                    return Err(Err::at("S0210", pos));
                }
                let mut ps = Vec::new();
                for (k, v) in pairs {
                    ps.push((self.process(k)?, self.process(v)?));
                }
                result.group = Some(Box::new(Group { pairs: ps, pos }));
                result
            }
            RK::Sort(lhs, terms) => {
                let result = self.process(*lhs)?;
                let mut result = if matches!(result.kind, Kind::Path(_)) {
                    result
                } else {
                    path_of(result)
                };
                let mut sort_step = Node::new(Kind::Sort(Vec::new()), pos);
                let mut ts = Vec::new();
                for (descending, e) in terms {
                    let mut expr = self.process(e)?;
                    Self::push_ancestry(&mut sort_step, &mut expr);
                    ts.push(SortTerm { descending, expr });
                }
                sort_step.kind = Kind::Sort(ts);
                if let Kind::Path(steps) = &mut result.kind {
                    steps.push(sort_step);
                }
                self.resolve_ancestry(&mut result)?;
                result
            }
            RK::Bind(name, rhs) => {
                let mut rhs = self.process(*rhs)?;
                let mut result = Node::new(Kind::Null, pos);
                Self::push_ancestry(&mut result, &mut rhs);
                result.kind = Kind::Bind(Arc::from(name), Box::new(rhs));
                result
            }
            RK::Focus(lhs, var) => {
                let mut result = self.process(*lhs)?;
                let step: &mut Node = match &mut result.kind {
                    Kind::Path(steps) => steps.last_mut().unwrap_or_else(|| unreachable_path()),
                    _ => &mut result,
                };
                if step.stages.is_some() || step.predicate.is_some() {
                    return Err(Err::at("S0215", pos));
                }
                if matches!(step.kind, Kind::Sort(_)) {
                    return Err(Err::at("S0216", pos));
                }
                if keep_array {
                    step.keep_array = true;
                }
                step.focus = Some(Arc::from(var));
                step.tuple = true;
                result
            }
            RK::IndexBind(lhs, var) => {
                let result = self.process(*lhs)?;
                let mut result = if matches!(result.kind, Kind::Path(_)) {
                    result
                } else {
                    let mut r = result;
                    if r.predicate.is_some() {
                        r.stages = r.predicate.take();
                    }
                    path_of(r)
                };
                if let Kind::Path(steps) = &mut result.kind
                    && let Some(step) = steps.last_mut()
                {
                    match &mut step.stages {
                        None => step.index = Some(Arc::from(var)),
                        Some(stages) => stages.push(Stage::Index(Arc::from(var))),
                    }
                    step.tuple = true;
                }
                result
            }
            RK::Binary("~>", lhs, rhs) => {
                let lhs = self.process(*lhs)?;
                let rhs = self.process(*rhs)?;
                let ka = lhs.keep_array || rhs.keep_array;
                let mut n = Node::new(Kind::Apply(Box::new(lhs), Box::new(rhs)), pos);
                n.keep_array = ka;
                n
            }
            RK::Binary(op, lhs, rhs) => {
                let mut lhs = self.process(*lhs)?;
                let mut rhs = self.process(*rhs)?;
                let mut result = Node::new(Kind::Null, pos);
                Self::push_ancestry(&mut result, &mut lhs);
                Self::push_ancestry(&mut result, &mut rhs);
                let Some(bop) = BinOp::from_str(op) else {
                    return Err(Err::at("S0201", pos).with_token(op));
                };
                result.kind = Kind::Binary(bop, Box::new(lhs), Box::new(rhs));
                result
            }
            RK::ArrayCons(items) => {
                let mut result = Node::new(Kind::Null, pos);
                let mut out = Vec::new();
                for item in items {
                    let mut v = self.process(item)?;
                    Self::push_ancestry(&mut result, &mut v);
                    out.push(v);
                }
                result.kind = Kind::ArrayCons(out);
                result
            }
            RK::ObjCons(pairs) => {
                let mut result = Node::new(Kind::Null, pos);
                let mut out = Vec::new();
                for (k, v) in pairs {
                    let mut k = self.process(k)?;
                    Self::push_ancestry(&mut result, &mut k);
                    let mut v = self.process(v)?;
                    Self::push_ancestry(&mut result, &mut v);
                    out.push((k, v));
                }
                result.kind = Kind::ObjectCons(out);
                result
            }
            RK::Neg(e) => {
                let mut e = self.process(*e)?;
                if let Kind::Num(n) = e.kind {
                    e.kind = Kind::Num(-n);
                    e
                } else {
                    let mut result = Node::new(Kind::Null, pos);
                    Self::push_ancestry(&mut result, &mut e);
                    result.kind = Kind::Neg(Box::new(e));
                    result
                }
            }
            RK::Call(procedure, args, partial) => {
                let mut result = Node::new(Kind::Null, pos);
                let mut out = Vec::new();
                for a in args {
                    let mut a = self.process(a)?;
                    Self::push_ancestry(&mut result, &mut a);
                    out.push(a);
                }
                let procedure = Box::new(self.process(*procedure)?);
                result.kind = if partial {
                    Kind::Partial(
                        procedure,
                        out.into_iter()
                            .map(|a| {
                                if matches!(a.kind, Kind::Placeholder) {
                                    None
                                } else {
                                    Some(a)
                                }
                            })
                            .collect(),
                    )
                } else {
                    Kind::Function(procedure, out)
                };
                result
            }
            RK::Lambda(params, signature, body) => {
                let body = self.process(*body)?;
                let body = tail_call_optimize(body);
                Node::new(
                    Kind::Lambda(Arc::new(LambdaDef {
                        params: params.into_iter().map(Arc::from).collect(),
                        signature,
                        body,
                        thunk: false,
                    })),
                    pos,
                )
            }
            RK::Cond(c, t, e) => {
                let mut result = Node::new(Kind::Null, pos);
                let mut c = self.process(*c)?;
                Self::push_ancestry(&mut result, &mut c);
                let mut t = self.process(*t)?;
                Self::push_ancestry(&mut result, &mut t);
                let e = match e {
                    Some(e) => {
                        let mut e = self.process(*e)?;
                        Self::push_ancestry(&mut result, &mut e);
                        Some(Box::new(e))
                    }
                    None => None,
                };
                result.kind = Kind::Condition(Box::new(c), Box::new(t), e);
                result
            }
            RK::Transform(p, u, d) => {
                let pattern = self.process(*p)?;
                let update = self.process(*u)?;
                let delete = match d {
                    Some(d) => Some(self.process(*d)?),
                    None => None,
                };
                Node::new(
                    Kind::Transform(Arc::new(TransformDef {
                        pattern,
                        update,
                        delete,
                    })),
                    pos,
                )
            }
            RK::Block(exprs) => {
                let mut result = Node::new(Kind::Null, pos);
                let mut out = Vec::new();
                for e in exprs {
                    let mut part = self.process(e)?;
                    Self::push_ancestry(&mut result, &mut part);
                    if part.consarray || matches!(&part.kind, Kind::Path(s) if s[0].consarray) {
                        result.consarray = true;
                    }
                    out.push(part);
                }
                result.kind = Kind::Block(out);
                result
            }
            RK::Name(n) => {
                let mut step = Node::new(Kind::Name(Arc::from(n)), pos);
                step.keep_array = keep_array;
                let mut result = path_of(step);
                if keep_array {
                    result.keep_singleton_array = true;
                }
                result
            }
            RK::Parent => {
                let slot = self.new_slot();
                Node::new(Kind::Parent(slot, None), pos)
            }
            RK::Var(v) => Node::new(Kind::Variable(Arc::from(v)), pos),
            RK::Str(s) => Node::new(Kind::Str(Arc::from(s)), pos),
            RK::Num(n) => Node::new(Kind::Num(n), pos),
            RK::Bool(b) => Node::new(Kind::Bool(b), pos),
            RK::Null => Node::new(Kind::Null, pos),
            RK::Regex(r) => Node::new(Kind::Regex(r), pos),
            RK::Wildcard => Node::new(Kind::Wildcard, pos),
            RK::Descendant => Node::new(Kind::Descendant, pos),
            RK::Placeholder => Node::new(Kind::Placeholder, pos),
            RK::End => return Err(Err::at("S0207", pos).with_token("(end)")),
        };
        if keep_array {
            result.keep_array = true;
        }
        Ok(result)
    }

    /// Replaces slot numbers by their final labels (the evaluator only sees labels).
    fn finish(&self, node: &mut Node) {
        if let Some(slot) = node.ancestor {
            node.ancestor_label = Some(Arc::from(self.slots[slot].label.as_str()));
        }
        let stage_nodes = |stages: &mut Option<Vec<Stage>>, this: &Self| {
            if let Some(stages) = stages {
                for s in stages {
                    if let Stage::Filter(n) = s {
                        this.finish(n);
                    }
                }
            }
        };
        stage_nodes(&mut node.predicate, self);
        stage_nodes(&mut node.stages, self);
        if let Some(g) = &mut node.group {
            for (k, v) in &mut g.pairs {
                self.finish(k);
                self.finish(v);
            }
        }
        match &mut node.kind {
            Kind::Path(steps) | Kind::ArrayCons(steps) | Kind::Block(steps) => {
                steps.iter_mut().for_each(|s| self.finish(s));
            }
            Kind::Binary(_, a, b) | Kind::Apply(a, b) => {
                self.finish(a);
                self.finish(b);
            }
            Kind::Neg(a) | Kind::Bind(_, a) => self.finish(a),
            Kind::ObjectCons(pairs) => {
                for (k, v) in pairs {
                    self.finish(k);
                    self.finish(v);
                }
            }
            Kind::Parent(slot, label) => *label = Some(Arc::from(self.slots[*slot].label.as_str())),
            Kind::Condition(c, t, e) => {
                self.finish(c);
                self.finish(t);
                if let Some(e) = e {
                    self.finish(e);
                }
            }
            Kind::Function(p, args) => {
                self.finish(p);
                args.iter_mut().for_each(|a| self.finish(a));
            }
            Kind::Partial(p, args) => {
                self.finish(p);
                args.iter_mut().flatten().for_each(|a| self.finish(a));
            }
            Kind::Lambda(def) => {
                if let Some(def) = Arc::get_mut(def) {
                    self.finish(&mut def.body);
                }
            }
            Kind::Transform(def) => {
                if let Some(def) = Arc::get_mut(def) {
                    self.finish(&mut def.pattern);
                    self.finish(&mut def.update);
                    if let Some(d) = &mut def.delete {
                        self.finish(d);
                    }
                }
            }
            Kind::Sort(terms) => terms.iter_mut().for_each(|t| self.finish(&mut t.expr)),
            _ => {}
        }
    }
}

fn mark_keep_array(r: &mut Raw) {
    match &mut r.kind {
        RK::Pred(lhs, _) => mark_keep_array(lhs),
        _ => r.keep_array = true,
    }
}

fn unreachable_path() -> ! {
    panic!("path node without steps")
}

fn path_of(step: Node) -> Node {
    Node::new(Kind::Path(vec![step]), 0)
}

fn tail_call_optimize(mut expr: Node) -> Node {
    match &mut expr.kind {
        Kind::Function(..) if expr.predicate.is_none() => {
            let pos = expr.pos;
            Node::new(
                Kind::Lambda(Arc::new(LambdaDef {
                    params: Vec::new(),
                    signature: None,
                    body: expr,
                    thunk: true,
                })),
                pos,
            )
        }
        Kind::Condition(_, t, e) => {
            let then = std::mem::replace(t.as_mut(), Node::new(Kind::Null, 0));
            **t = tail_call_optimize(then);
            if let Some(e) = e {
                let els = std::mem::replace(e.as_mut(), Node::new(Kind::Null, 0));
                **e = tail_call_optimize(els);
            }
            expr
        }
        Kind::Block(exprs) => {
            if let Some(last) = exprs.pop() {
                exprs.push(tail_call_optimize(last));
            }
            expr
        }
        _ => expr,
    }
}

/// Parses and processes an expression.
pub(crate) fn parse(source: &str, budget: usize) -> R<Node> {
    let chars: Vec<char> = source.chars().collect();
    let len = chars.len();
    let stack_base = stack_addr();
    let mut parser = Parser {
        lexer: Lexer { chars, pos: 0 },
        node: Token {
            tok: Tok::End,
            pos: 0,
        },
        len,
        stack_base,
        budget,
    };
    parser.advance(None, false)?;
    let expr = parser.expression(0)?;
    if parser.node.id() != "(end)" {
        return Err(Err::at("S0201", parser.node.pos).with_token(parser.node.value_text()));
    }
    let mut proc = Processor {
        slots: Vec::new(),
        stack_base,
        budget,
    };
    let mut node = proc.process(expr)?;
    if matches!(node.kind, Kind::Parent(..)) || node.seeking_parent.is_some() {
        return Err(Err::at("S0217", node.pos).with_token(node.type_name()));
    }
    proc.finish(&mut node);
    Ok(node)
}
