//! The evaluator: a port of jsonata-js `jsonata.js`.

use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::sync::Arc;

use indexmap::IndexMap;

use crate::ast::{BinOp, Group, Kind, Node, SortTerm, Stage, TransformDef};
use crate::error::{Err, ErrExt, R};
use crate::functions::{BuiltinDef, builtin};
use crate::value::{
    CONS, Frame, Func, KEEP, Lambda, Map, OUTER, SEQ, Tuple, Value, deep_equal, find_non_finite,
    strict_equal, stringify, truthy,
};
use crate::{Environment, Limits, NativeFunction};

/// Bytes of native stack an evaluation may use beyond its entry point.
const STACK_BUDGET: usize = 1536 * 1024;

pub(crate) struct Ctx<'e> {
    pub limits: Limits,
    pub steps: u64,
    pub depth: usize,
    pub stack_base: usize,
    pub now: i64,
    pub natives: &'e HashMap<String, NativeFunction>,
    cyclic: Vec<Weak<Frame>>,
    prune_at: usize,
}

#[inline(never)]
fn stack_addr() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

// The public error type is part of the API contract.
#[allow(clippy::result_large_err)]
pub(crate) fn evaluate(
    root: &Node,
    input: Option<&serde_json::Value>,
    env: &Environment,
) -> Result<crate::Evaluation, crate::Error> {
    let now = env.now.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    });
    let mut ctx = Ctx {
        limits: env.limits,
        steps: 0,
        depth: 0,
        stack_base: stack_addr(),
        now,
        natives: &env.functions,
        cyclic: Vec::new(),
        prune_at: 64,
    };
    let frame = Frame::new(None);
    for (name, value) in &env.bindings {
        frame.bind(&Arc::from(name.as_str()), Value::from_json(value));
    }
    let mut input = input.map_or(Value::Undefined, Value::from_json);
    if input.is_array() {
        input = Value::Arr(Rc::new(vec![input]), SEQ | OUTER);
    }
    frame.bind(&Arc::from("$"), input.clone());
    ctx.register(&frame);
    let result = ctx.eval(root, &input, &frame);
    let out = match result {
        Ok(v) => {
            let out = if crate::value::nesting(&v, 0) > crate::value::MAX_DATA_DEPTH {
                Err(u1001("The result is nested too deeply"))
            } else if let Some(n) = find_non_finite(&v) {
                Err(Err::new("D1001")
                    .with_value(serde_json::Value::Null)
                    .with_value_text(crate::value::js_num(n)))
            } else if matches!(v, Value::Func(_)) {
                Ok(crate::Evaluation::Function)
            } else {
                Ok(v.to_json()
                    .map_or(crate::Evaluation::Undefined, crate::Evaluation::Json))
            };
            crate::value::dismantle(v);
            out
        }
        Err(e) => Err(e),
    };
    ctx.release();
    crate::value::dismantle(input);
    out.map_err(|e| e.into_public())
}

/// The position a literal number predicate (`a[2]`, `a[-1]`) selects in `len` items: floored,
/// negative counting from the end; `None` before the start.
fn literal_index(n: f64, len: usize) -> Option<usize> {
    let mut index = n.floor();
    if index < 0.0 {
        index += len as f64;
    }
    (index >= 0.0).then_some(index as usize)
}

pub(crate) fn u1001(message: &str) -> Box<Err> {
    let mut e = Err::new("U1001");
    e.message = Some(message.to_owned());
    e.fixed_message = true;
    e
}

impl Ctx<'_> {
    /// Records a frame that may take part in a reference cycle (a closure bound in its own scope).
    fn register(&mut self, frame: &Rc<Frame>) {
        self.cyclic.push(Rc::downgrade(frame));
        if self.cyclic.len() >= self.prune_at {
            self.cyclic.retain(|w| w.strong_count() > 0);
            self.prune_at = (self.cyclic.len() * 2).max(64);
        }
    }

    /// Breaks the reference cycles between closures and their scopes.
    fn release(&mut self) {
        for w in self.cyclic.drain(..) {
            if let Some(f) = w.upgrade() {
                let vars = std::mem::take(&mut *f.vars.borrow_mut());
                for (_, v) in vars {
                    crate::value::dismantle(v);
                }
            }
        }
    }

    pub fn bind(&mut self, env: &Rc<Frame>, name: &Arc<str>, value: Value) {
        if matches!(value, Value::Func(_) | Value::Arr(..) | Value::Obj(_)) {
            self.register(env);
        }
        env.bind(name, value);
    }

    pub fn charge(&mut self, steps: u64) -> R<()> {
        self.steps += steps;
        if self.steps > self.limits.max_steps {
            return Err(u1001(
                "Expression evaluation timeout: Check for infinite loop",
            ));
        }
        Ok(())
    }

    #[inline]
    fn enter(&mut self) -> R<()> {
        self.depth += 1;
        self.steps += 1;
        if self.depth > self.limits.max_depth
            || self.stack_base.abs_diff(stack_addr()) > STACK_BUDGET
        {
            return Err(u1001(
                "Stack overflow error: Check for non-terminating recursive function.  Consider rewriting as tail-recursive.",
            ));
        }
        if self.steps > self.limits.max_steps {
            return Err(u1001(
                "Expression evaluation timeout: Check for infinite loop",
            ));
        }
        Ok(())
    }

    pub fn lookup_var(&self, env: &Rc<Frame>, name: &str) -> Value {
        if let Some(v) = env.lookup(name) {
            return v;
        }
        if let Some(f) = self.natives.get(name) {
            return Value::Func(Rc::new(Func::Native(f.clone())));
        }
        if let Some(def) = builtin(name) {
            return Value::Func(Rc::new(Func::Builtin(def)));
        }
        Value::Undefined
    }

    pub fn eval(&mut self, node: &Node, input: &Value, env: &Rc<Frame>) -> R<Value> {
        self.enter()?;
        let r = self.eval_full(node, input, env);
        self.depth -= 1;
        r
    }

    fn eval_full(&mut self, node: &Node, input: &Value, env: &Rc<Frame>) -> R<Value> {
        let mut result = self.eval_kind(node, input, env)?;
        if let Some(preds) = &node.predicate {
            for stage in preds {
                if let Stage::Filter(p) = stage {
                    result = self.eval_filter(p, result, env)?;
                }
            }
        }
        if !matches!(node.kind, Kind::Path(_))
            && let Some(group) = &node.group
        {
            result = self.eval_group(group, result, env)?;
        }
        if let Value::Arr(a, f) = &result
            && f & SEQ != 0
        {
            let mut f = *f;
            if node.keep_array {
                f |= KEEP;
            }
            return Ok(match a.len() {
                0 => Value::Undefined,
                1 if f & KEEP == 0 => a[0].clone(),
                _ => Value::Arr(a.clone(), f),
            });
        }
        Ok(result)
    }

    fn eval_kind(&mut self, node: &Node, input: &Value, env: &Rc<Frame>) -> R<Value> {
        match &node.kind {
            Kind::Path(steps) => self.eval_path(node, steps, input, env),
            Kind::Binary(op, l, r) => self.eval_binary(node, *op, l, r, input, env),
            Kind::Apply(l, r) => self.eval_apply(node, l, r, input, env),
            Kind::Neg(e) => {
                let v = self.eval(e, input, env)?;
                match v {
                    Value::Undefined => Ok(Value::Undefined),
                    Value::Num(n) => {
                        check_finite(n)?;
                        Ok(Value::Num(-n))
                    }
                    other => Err(Err::at("D1002", node.pos)
                        .with_token("-")
                        .with_value_opt(&other)),
                }
            }
            Kind::ArrayCons(items) => {
                let mut out: Vec<Value> = Vec::with_capacity(items.len());
                for item in items {
                    let v = self.eval(item, input, env)?;
                    if v.is_undef() {
                        continue;
                    }
                    if matches!(item.kind, Kind::ArrayCons(_)) {
                        out.push(v);
                    } else if let Value::Arr(a, _) = &v {
                        self.charge(a.len() as u64)?;
                        out.extend(a.iter().cloned());
                    } else {
                        out.push(v);
                    }
                }
                Ok(Value::Arr(
                    Rc::new(out),
                    if node.consarray { CONS } else { 0 },
                ))
            }
            Kind::ObjectCons(pairs) => self.eval_group_pairs(pairs, node.pos, input.clone(), env),
            Kind::Name(name) => Ok(lookup_field(input, name)),
            Kind::Str(s) => Ok(Value::Str(Rc::from(&**s))),
            Kind::Num(n) => Ok(Value::Num(*n)),
            Kind::Bool(b) => Ok(Value::Bool(*b)),
            Kind::Null => Ok(Value::Null),
            Kind::Regex(r) => Ok(Value::Func(Rc::new(Func::Regex(r.clone())))),
            Kind::Wildcard => Ok(eval_wildcard(input)),
            Kind::Descendant => Ok(eval_descendants(input)),
            Kind::Parent(_, label) => Ok(label
                .as_deref()
                .and_then(|l| env.lookup(l))
                .unwrap_or_default()),
            Kind::Condition(c, t, e) => {
                let cond = self.eval(c, input, env)?;
                if truthy(&cond) {
                    self.eval(t, input, env)
                } else if let Some(e) = e {
                    self.eval(e, input, env)
                } else {
                    Ok(Value::Undefined)
                }
            }
            Kind::Block(exprs) => {
                let frame = env.child();
                let mut result = Value::Undefined;
                for e in exprs {
                    result = self.eval(e, input, &frame)?;
                }
                Ok(result)
            }
            Kind::Bind(name, rhs) => {
                let v = self.eval(rhs, input, env)?;
                self.bind(env, name, v.clone());
                Ok(v)
            }
            Kind::Variable(name) => {
                if name.is_empty() {
                    if let Value::Arr(a, f) = input
                        && f & OUTER != 0
                    {
                        return Ok(a.first().cloned().unwrap_or_default());
                    }
                    Ok(input.clone())
                } else {
                    Ok(self.lookup_var(env, name))
                }
            }
            Kind::Lambda(def) => Ok(Value::Func(Rc::new(Func::Lambda(Lambda {
                def: def.clone(),
                env: env.clone(),
                input: input.clone(),
                params: None,
            })))),
            Kind::Function(procedure, args) => {
                self.eval_function(node, procedure, args, input, env, None)
            }
            Kind::Partial(procedure, args) => self.eval_partial(node, procedure, args, input, env),
            Kind::Transform(def) => Ok(Value::Func(Rc::new(Func::Transform(
                Arc::new(Node::new(Kind::Transform(def.clone()), node.pos)),
                env.clone(),
            )))),
            Kind::Sort(terms) => self.eval_sort(node, terms, input.clone(), env),
            Kind::Placeholder => Ok(Value::Undefined),
        }
    }

    #[inline(never)]
    fn eval_path(
        &mut self,
        node: &Node,
        steps: &[Node],
        input: &Value,
        env: &Rc<Frame>,
    ) -> R<Value> {
        let mut input_seq = if input.is_array() && !matches!(steps[0].kind, Kind::Variable(_)) {
            input.clone()
        } else {
            Value::seq(vec![input.clone()])
        };
        let mut result = Value::Undefined;
        let mut is_tuple = false;
        let mut tuples: Option<Vec<Tuple>> = None;
        let last = steps.len() - 1;
        for (ii, step) in steps.iter().enumerate() {
            if step.tuple {
                is_tuple = true;
            }
            if ii == 0 && step.consarray {
                result = self.eval(step, &input_seq, env)?;
            } else if is_tuple {
                tuples = Some(self.eval_tuple_step(step, &input_seq, tuples.take(), env)?);
            } else {
                result = self.eval_step(step, &input_seq, env, ii == last)?;
            }
            if !is_tuple
                && (result.is_undef() || matches!(&result, Value::Arr(a, _) if a.is_empty()))
            {
                break;
            }
            if step.focus.is_none() {
                input_seq = result.clone();
            }
        }
        let mut tuple_stream = None;
        if is_tuple {
            let t = Rc::new(tuples.take().unwrap_or_default());
            if node.tuple {
                result = Value::Tuples(t.clone());
            } else {
                result = Value::seq(t.iter().map(|t| t.at.clone()).collect());
            }
            tuple_stream = Some(t);
        }
        if node.keep_singleton_array {
            if let Value::Arr(_, f) = &result
                && f & CONS != 0
                && f & SEQ == 0
            {
                result = Value::seq(vec![result]);
            }
            result = result.with_flags(KEEP);
        }
        if let Some(group) = &node.group {
            let data = match tuple_stream {
                Some(t) => Value::Tuples(t),
                None => result,
            };
            result = self.eval_group(group, data, env)?;
        }
        Ok(result)
    }

    #[inline(never)]
    fn eval_step(&mut self, step: &Node, input: &Value, env: &Rc<Frame>, last: bool) -> R<Value> {
        if let Kind::Sort(terms) = &step.kind {
            let mut result = self.eval_sort(step, terms, input.clone(), env)?;
            if let Some(stages) = &step.stages {
                result = self.eval_stages(stages, result, env)?;
            }
            return Ok(result);
        }
        let items: &[Value] = match input {
            Value::Arr(a, _) => a,
            _ => &[],
        };
        let mut results: Vec<Value> = Vec::with_capacity(items.len());
        for item in items {
            let mut res = self.eval(step, item, env)?;
            if let Some(stages) = &step.stages {
                for s in stages {
                    if let Stage::Filter(p) = s {
                        res = self.eval_filter(p, res, env)?;
                    }
                }
            }
            if !res.is_undef() {
                results.push(res);
            }
        }
        if last && results.len() == 1 && results[0].is_array() && !results[0].is_seq() {
            return Ok(results.pop().unwrap_or_default());
        }
        let mut flat = Vec::with_capacity(results.len());
        for res in results {
            match res {
                Value::Arr(a, f) if f & CONS == 0 => match Rc::try_unwrap(a) {
                    Ok(v) => flat.extend(v),
                    Err(a) => flat.extend(a.iter().cloned()),
                },
                other => flat.push(other),
            }
        }
        Ok(Value::seq(flat))
    }

    #[inline(never)]
    fn eval_stages(&mut self, stages: &[Stage], input: Value, env: &Rc<Frame>) -> R<Value> {
        let mut result = input;
        for stage in stages {
            match stage {
                Stage::Filter(p) => result = self.eval_filter(p, result, env)?,
                Stage::Index(name) => {
                    if let Value::Tuples(t) = &mut result {
                        let t = Rc::make_mut(t);
                        for (i, tuple) in t.iter_mut().enumerate() {
                            tuple.set(name, Value::Num(i as f64));
                        }
                    }
                }
            }
        }
        Ok(result)
    }

    fn frame_from_tuple(&mut self, env: &Rc<Frame>, tuple: &Tuple) -> Rc<Frame> {
        let frame = env.child();
        for (k, v) in &tuple.binds {
            frame.bind(k, v.clone());
        }
        frame
    }

    #[inline(never)]
    fn eval_tuple_step(
        &mut self,
        step: &Node,
        input: &Value,
        bindings: Option<Vec<Tuple>>,
        env: &Rc<Frame>,
    ) -> R<Vec<Tuple>> {
        if let Kind::Sort(terms) = &step.kind {
            let mut result = if let Some(b) = bindings {
                self.eval_sort(step, terms, Value::Tuples(Rc::new(b)), env)?
            } else {
                let sorted = self.eval_sort(step, terms, input.clone(), env)?;
                let tuples: Vec<Tuple> = sorted
                    .items()
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        let mut t = Tuple {
                            at: v.clone(),
                            binds: Vec::new(),
                        };
                        if let Some(idx) = &step.index {
                            t.set(idx, Value::Num(i as f64));
                        }
                        t
                    })
                    .collect();
                Value::Tuples(Rc::new(tuples))
            };
            if let Some(stages) = &step.stages {
                result = self.eval_stages(stages, result, env)?;
            }
            return Ok(into_tuples(result));
        }
        let bindings = bindings.unwrap_or_else(|| {
            input
                .items()
                .iter()
                .map(|v| Tuple {
                    at: v.clone(),
                    binds: Vec::new(),
                })
                .collect()
        });
        let mut result: Vec<Tuple> = Vec::new();
        for tb in &bindings {
            let step_env = self.frame_from_tuple(env, tb);
            let res = self.eval(step, &tb.at, &step_env)?;
            match res {
                Value::Undefined => {}
                Value::Tuples(ts) => {
                    for r in ts.iter() {
                        let mut tuple = tb.clone();
                        tuple.at = r.at.clone();
                        for (k, v) in &r.binds {
                            tuple.set(k, v.clone());
                        }
                        result.push(tuple);
                    }
                }
                other => {
                    let items: Vec<Value> = match other {
                        Value::Arr(a, _) => a.to_vec(),
                        v => vec![v],
                    };
                    for (bb, r) in items.into_iter().enumerate() {
                        let mut tuple = tb.clone();
                        if let Some(focus) = &step.focus {
                            tuple.set(focus, r);
                        } else {
                            tuple.at = r;
                        }
                        if let Some(idx) = &step.index {
                            tuple.set(idx, Value::Num(bb as f64));
                        }
                        if let Some(label) = &step.ancestor_label {
                            tuple.set(label, tb.at.clone());
                        }
                        result.push(tuple);
                    }
                }
            }
        }
        if let Some(stages) = &step.stages {
            let r = self.eval_stages(stages, Value::Tuples(Rc::new(result)), env)?;
            return Ok(into_tuples(r));
        }
        Ok(result)
    }

    #[inline(never)]
    fn eval_filter(&mut self, predicate: &Node, input: Value, env: &Rc<Frame>) -> R<Value> {
        if let Value::Tuples(ts) = &input {
            let mut results = Vec::new();
            if let Kind::Num(n) = predicate.kind {
                if let Some(t) = literal_index(n, ts.len()).and_then(|i| ts.get(i)) {
                    results.push(t.clone());
                }
                return Ok(Value::Tuples(Rc::new(results)));
            }
            for (index, item) in ts.iter().enumerate() {
                let frame = self.frame_from_tuple(env, item);
                let res = self.eval(predicate, &item.at, &frame)?;
                if predicate_selects(&res, index, ts.len()) {
                    results.push(item.clone());
                }
            }
            return Ok(Value::Tuples(Rc::new(results)));
        }
        let single;
        let items: &[Value] = match &input {
            Value::Arr(a, _) => a,
            other => {
                single = [other.clone()];
                &single
            }
        };
        if let Kind::Num(n) = predicate.kind {
            if let Some(item) = literal_index(n, items.len()).and_then(|i| items.get(i)) {
                if item.is_undef() {
                    return Ok(Value::seq(Vec::new()));
                }
                if item.is_array() {
                    return Ok(item.clone());
                }
                return Ok(Value::seq(vec![item.clone()]));
            }
            return Ok(Value::seq(Vec::new()));
        }
        let mut results = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let res = self.eval(predicate, item, env)?;
            if predicate_selects(&res, index, items.len()) {
                results.push(item.clone());
            }
        }
        Ok(Value::seq(results))
    }

    #[inline(never)]
    fn eval_binary(
        &mut self,
        node: &Node,
        op: BinOp,
        l: &Node,
        r: &Node,
        input: &Value,
        env: &Rc<Frame>,
    ) -> R<Value> {
        let lhs = self.eval(l, input, env)?;
        if matches!(op, BinOp::And | BinOp::Or) {
            let lb = truthy(&lhs);
            let res = match op {
                BinOp::And if !lb => Ok(false),
                BinOp::Or if lb => Ok(true),
                _ => self.eval(r, input, env).map(|v| truthy(&v)),
            };
            return res
                .map(Value::Bool)
                .map_err(|e| e.with_pos(node.pos).with_token(op.symbol()));
        }
        let rhs = self.eval(r, input, env)?;
        let res = match op {
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => {
                numeric(op, &lhs, &rhs)
            }
            BinOp::Eq => Ok(Value::Bool(
                !lhs.is_undef() && !rhs.is_undef() && deep_equal(&lhs, &rhs),
            )),
            BinOp::Ne => Ok(Value::Bool(
                !lhs.is_undef() && !rhs.is_undef() && !deep_equal(&lhs, &rhs),
            )),
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => compare(op, &lhs, &rhs),
            BinOp::Concat => {
                let mut s = String::new();
                if !lhs.is_undef() {
                    s.push_str(&crate::functions::to_js_string(&lhs)?);
                }
                if !rhs.is_undef() {
                    s.push_str(&crate::functions::to_js_string(&rhs)?);
                }
                self.charge(s.len() as u64 / 16)?;
                Ok(Value::string(s))
            }
            BinOp::Range => self.range(&lhs, &rhs),
            BinOp::In => {
                if lhs.is_undef() || rhs.is_undef() {
                    Ok(Value::Bool(false))
                } else {
                    Ok(Value::Bool(
                        rhs.items().iter().any(|v| strict_equal(v, &lhs)),
                    ))
                }
            }
            BinOp::And | BinOp::Or => Ok(Value::Undefined),
        };
        res.map_err(|e| e.with_pos(node.pos).with_token(op.symbol()))
    }

    #[inline(never)]
    fn range(&mut self, lhs: &Value, rhs: &Value) -> R<Value> {
        let is_int = |v: &Value| matches!(v, Value::Num(n) if n.fract() == 0.0 && n.is_finite());
        if !lhs.is_undef() && !is_int(lhs) {
            return Err(Err::new("T2003").with_value_opt(lhs));
        }
        if !rhs.is_undef() && !is_int(rhs) {
            return Err(Err::new("T2004").with_value_opt(rhs));
        }
        let (Value::Num(a), Value::Num(b)) = (lhs, rhs) else {
            return Ok(Value::Undefined);
        };
        if a > b {
            return Ok(Value::Undefined);
        }
        let size = b - a + 1.0;
        if size > 1e7 {
            return Err(Err::new("D2014").with_value(crate::value::num_to_json(size)));
        }
        self.charge(size as u64)?;
        let (a, size) = (*a as i64, size as i64);
        Ok(Value::seq(
            (0..size).map(|i| Value::Num((a + i) as f64)).collect(),
        ))
    }

    #[inline(never)]
    fn eval_apply(
        &mut self,
        node: &Node,
        l: &Node,
        r: &Node,
        input: &Value,
        env: &Rc<Frame>,
    ) -> R<Value> {
        let lhs = self.eval(l, input, env)?;
        if let Kind::Function(procedure, args) = &r.kind {
            return self.eval_function(r, procedure, args, input, env, Some(lhs));
        }
        let func = self.eval(r, input, env)?;
        if !func.is_func() {
            return Err(Err::at("T2006", node.pos).with_value_opt(&func));
        }
        if lhs.is_func() {
            return Ok(Value::Func(Rc::new(Func::Chain(lhs, func))));
        }
        self.apply(&func, vec![lhs], &Value::Undefined, env, None)
    }

    fn proc_name(procedure: &Node) -> Option<String> {
        match &procedure.kind {
            Kind::Path(steps) => match &steps[0].kind {
                Kind::Name(n) | Kind::Variable(n) => Some(n.to_string()),
                _ => None,
            },
            Kind::Variable(n) => Some(n.to_string()),
            _ => None,
        }
    }

    #[inline(never)]
    fn eval_function(
        &mut self,
        node: &Node,
        procedure: &Node,
        args: &[Node],
        input: &Value,
        env: &Rc<Frame>,
        apply_to: Option<Value>,
    ) -> R<Value> {
        let proc = self.eval(procedure, input, env)?;
        if proc.is_undef()
            && let Kind::Path(steps) = &procedure.kind
            && let Kind::Name(n) = &steps[0].kind
            && !self.lookup_var(env, n).is_undef()
        {
            return Err(Err::at("T1005", node.pos).with_token(n.to_string()));
        }
        let mut evaluated = Vec::with_capacity(args.len() + 1);
        if let Some(v) = apply_to {
            evaluated.push(v);
        }
        for a in args {
            evaluated.push(self.eval(a, input, env)?);
        }
        let name = Self::proc_name(procedure);
        self.apply(&proc, evaluated, input, env, Some((name.clone(), node.pos)))
            .map_err(|mut e| {
                if e.position.is_none() {
                    e.position = Some(node.pos);
                }
                if e.token.is_none() {
                    e.token = name;
                }
                e
            })
    }

    #[inline(never)]
    fn eval_partial(
        &mut self,
        node: &Node,
        procedure: &Node,
        args: &[Option<Node>],
        input: &Value,
        env: &Rc<Frame>,
    ) -> R<Value> {
        let mut evaluated: Vec<Option<Value>> = Vec::with_capacity(args.len());
        for a in args {
            evaluated.push(match a {
                Some(a) => Some(self.eval(a, input, env)?),
                None => None,
            });
        }
        let proc = self.eval(procedure, input, env)?;
        if proc.is_undef()
            && let Kind::Path(steps) = &procedure.kind
            && let Kind::Name(n) = &steps[0].kind
            && !self.lookup_var(env, n).is_undef()
        {
            return Err(Err::at("T1007", node.pos).with_token(n.to_string()));
        }
        match &proc {
            Value::Func(f) => match &**f {
                Func::Lambda(l) => {
                    let frame = l.env.child();
                    let params = l.params.clone().unwrap_or_else(|| l.def.params.clone());
                    let mut unbound = Vec::new();
                    for (i, p) in params.iter().enumerate() {
                        match evaluated.get(i) {
                            Some(None) => unbound.push(p.clone()),
                            Some(Some(v)) => self.bind(&frame, p, v.clone()),
                            None => frame.bind(p, Value::Undefined),
                        }
                    }
                    Ok(Value::Func(Rc::new(Func::Lambda(Lambda {
                        def: l.def.clone(),
                        env: frame,
                        input: l.input.clone(),
                        params: Some(unbound),
                    }))))
                }
                _ => Ok(Value::Func(Rc::new(Func::Partial(proc.clone(), evaluated)))),
            },
            _ => Err(Err::at("T1008", node.pos)
                .with_token(Self::proc_name(procedure).unwrap_or_default())),
        }
    }

    /// Applies a function, running the trampoline for tail calls.
    pub fn apply(
        &mut self,
        proc: &Value,
        args: Vec<Value>,
        input: &Value,
        env: &Rc<Frame>,
        site: Option<(Option<String>, usize)>,
    ) -> R<Value> {
        let mut result = self.apply_inner(proc, args, input, env, site)?;
        while let Some((call, l_input, l_env)) = thunk_parts(&result) {
            let Kind::Function(procedure, args) = &call.body.kind else {
                break;
            };
            self.charge(1)?;
            let next = self.eval(procedure, &l_input, &l_env)?;
            let name = Self::proc_name(procedure);
            let mut evaluated = Vec::with_capacity(args.len());
            for a in args {
                evaluated.push(self.eval(a, &l_input, &l_env)?);
            }
            result = self.apply_inner(&next, evaluated, input, env, Some((name, procedure.pos)))?;
        }
        Ok(result)
    }

    fn apply_inner(
        &mut self,
        proc: &Value,
        args: Vec<Value>,
        input: &Value,
        env: &Rc<Frame>,
        site: Option<(Option<String>, usize)>,
    ) -> R<Value> {
        let res = self.apply_unchecked(proc, args, input, env);
        res.map_err(|mut e| {
            if let Some((name, pos)) = site
                && proc.is_func()
            {
                if e.token.is_none() {
                    e.token = name;
                }
                e.position = Some(pos);
            }
            e
        })
    }

    fn apply_unchecked(
        &mut self,
        proc: &Value,
        args: Vec<Value>,
        input: &Value,
        env: &Rc<Frame>,
    ) -> R<Value> {
        let Value::Func(f) = proc else {
            return Err(Err::new("T1006"));
        };
        match &**f {
            Func::Lambda(l) => {
                let args = match (&l.def.signature, &l.params) {
                    (Some(sig), None) => sig.validate(&args, input)?,
                    _ => args,
                };
                let frame = l.env.child();
                let params = l.params.as_ref().unwrap_or(&l.def.params);
                let mut args = args.into_iter();
                for p in params {
                    let v = args.next().unwrap_or_default();
                    if matches!(v, Value::Func(_) | Value::Arr(..) | Value::Obj(_)) {
                        self.register(&frame);
                    }
                    frame.bind(p, v);
                }
                self.eval(&l.def.body, &l.input, &frame)
            }
            Func::Builtin(def) => {
                let args = def.signature().validate(&args, input)?;
                self.call_builtin(def, args, input, env)
            }
            Func::Native(native) => {
                let json_args: Vec<Option<serde_json::Value>> =
                    args.iter().map(Value::to_json).collect();
                match native(&json_args) {
                    Ok(Some(j)) => Ok(Value::from_json(&j)),
                    Ok(None) => Ok(Value::Undefined),
                    Err(e) => Err(Err::from_public(e)),
                }
            }
            Func::Partial(target, bound) => {
                let mut supplied = args.into_iter();
                let full: Vec<Value> = bound
                    .iter()
                    .map(|b| match b {
                        Some(v) => v.clone(),
                        None => supplied.next().unwrap_or_default(),
                    })
                    .collect();
                let target = target.clone();
                self.apply(&target, full, input, env, None)
            }
            Func::Regex(re) => {
                let s = args.first().cloned().unwrap_or_default();
                match s {
                    Value::Str(s) => crate::functions::regex_exec_object(re, &s, 0),
                    Value::Undefined => Ok(Value::Undefined),
                    other => Err(Err::new("T0410").with_value_opt(&other).with_index(1)),
                }
            }
            Func::Transform(node, frame) => {
                let obj = args.into_iter().next().unwrap_or_default();
                if !matches!(obj, Value::Undefined | Value::Obj(_) | Value::Arr(..)) {
                    return Err(Err::new("T0410").with_value_opt(&obj).with_index(1));
                }
                let Kind::Transform(def) = &node.kind else {
                    return Ok(Value::Undefined);
                };
                let frame = frame.clone();
                self.transform(node.pos, def, obj, &frame)
            }
            Func::Chain(f, g) => {
                let (f, g) = (f.clone(), g.clone());
                let r = self.apply(&f, args, input, env, None)?;
                self.apply(&g, vec![r], input, env, None)
            }
        }
    }

    /// Calls a function value with arguments (for higher-order built-ins).
    pub fn call(&mut self, f: &Value, args: Vec<Value>, env: &Rc<Frame>) -> R<Value> {
        self.apply(f, args, &Value::Undefined, env, None)
    }

    #[inline(never)]
    fn transform(
        &mut self,
        pos: usize,
        def: &TransformDef,
        obj: Value,
        env: &Rc<Frame>,
    ) -> R<Value> {
        if obj.is_undef() {
            return Ok(Value::Undefined);
        }
        let clone_fn = self.lookup_var(env, "clone");
        if !clone_fn.is_func() {
            return Err(Err::at("T2013", pos));
        }
        let result = if matches!(&clone_fn, Value::Func(f) if matches!(&**f, Func::Builtin(_))) {
            deep_clone(&obj)
        } else {
            self.call(&clone_fn, vec![obj], env)?
        };
        let matches = self.eval(&def.pattern, &result, env)?;
        let mut replaced: HashMap<usize, Rc<Map>> = HashMap::new();
        for m in matches.items() {
            let Value::Obj(orig) = m else { continue };
            let key = Rc::as_ptr(orig) as usize;
            let current = Value::Obj(replaced.get(&key).cloned().unwrap_or_else(|| orig.clone()));
            let update = self.eval(&def.update, &current, env)?;
            let mut map: Map = match &current {
                Value::Obj(o) => (**o).clone(),
                _ => Map::new(),
            };
            match &update {
                Value::Undefined => {}
                Value::Obj(u) => {
                    for (k, v) in u.iter() {
                        map.insert(k.clone(), v.clone());
                    }
                }
                other => return Err(Err::at("T2011", def.update.pos).with_value_opt(other)),
            }
            if let Some(del) = &def.delete {
                let deletions = self.eval(del, &current, env)?;
                if !deletions.is_undef() {
                    let items = deletions.items();
                    if !items.iter().all(|v| matches!(v, Value::Str(_))) {
                        return Err(Err::at("T2012", del.pos).with_value_opt(&deletions));
                    }
                    for d in items {
                        if let Value::Str(s) = d {
                            map.shift_remove(&**s);
                        }
                    }
                }
            }
            replaced.insert(key, Rc::new(map));
        }
        if replaced.is_empty() {
            return Ok(result);
        }
        Ok(rebuild(&result, &replaced, 0))
    }

    fn eval_group(&mut self, group: &Group, input: Value, env: &Rc<Frame>) -> R<Value> {
        self.eval_group_pairs(&group.pairs, group.pos, input, env)
    }

    #[inline(never)]
    fn eval_group_pairs(
        &mut self,
        pairs: &[(Node, Node)],
        pos: usize,
        input: Value,
        env: &Rc<Frame>,
    ) -> R<Value> {
        enum Data {
            Vals(Value),
            Tuples(Vec<Tuple>),
        }
        let mut groups: IndexMap<String, (Data, usize)> = IndexMap::new();
        if let Value::Tuples(ts) = &input {
            for item in ts.iter() {
                let frame = self.frame_from_tuple(env, item);
                for (pi, (k, _)) in pairs.iter().enumerate() {
                    let key = self.eval(k, &item.at, &frame)?;
                    match key {
                        Value::Str(s) => match groups.get_mut(&*s) {
                            Some((Data::Tuples(v), idx)) => {
                                if *idx != pi {
                                    return Err(
                                        Err::at("D1009", pos).with_value_text(s.to_string())
                                    );
                                }
                                v.push(item.clone());
                            }
                            _ => {
                                groups
                                    .insert(s.to_string(), (Data::Tuples(vec![item.clone()]), pi));
                            }
                        },
                        Value::Undefined => {}
                        other => return Err(Err::at("T1003", pos).with_value_opt(&other)),
                    }
                }
            }
        } else {
            let single;
            let items: &[Value] = match &input {
                Value::Arr(a, _) if !a.is_empty() => a,
                Value::Arr(..) => &[Value::Undefined],
                other => {
                    single = [other.clone()];
                    &single
                }
            };
            for item in items {
                for (pi, (k, _)) in pairs.iter().enumerate() {
                    let key = self.eval(k, item, env)?;
                    match key {
                        Value::Str(s) => match groups.get_mut(&*s) {
                            Some((Data::Vals(v), idx)) => {
                                if *idx != pi {
                                    return Err(
                                        Err::at("D1009", pos).with_value_text(s.to_string())
                                    );
                                }
                                let prev = std::mem::take(v);
                                *v = append(prev, item.clone());
                            }
                            _ => {
                                groups.insert(s.to_string(), (Data::Vals(item.clone()), pi));
                            }
                        },
                        Value::Undefined => {}
                        other => return Err(Err::at("T1003", pos).with_value_opt(&other)),
                    }
                }
            }
        }
        let mut result = Map::with_capacity(groups.len());
        for (key, (data, idx)) in groups {
            let value = match data {
                Data::Vals(context) => self.eval(&pairs[idx].1, &context, env)?,
                Data::Tuples(ts) => {
                    let tuple = reduce_tuples(ts);
                    let frame = self.frame_from_tuple(env, &tuple);
                    self.eval(&pairs[idx].1, &tuple.at, &frame)?
                }
            };
            if !value.is_undef() {
                result.insert(key, value);
            }
        }
        Ok(Value::obj(result))
    }

    #[inline(never)]
    fn eval_sort(
        &mut self,
        node: &Node,
        terms: &[SortTerm],
        input: Value,
        env: &Rc<Frame>,
    ) -> R<Value> {
        if let Value::Tuples(ts) = &input {
            if ts.len() <= 1 {
                return Ok(input);
            }
            let items: Vec<Tuple> = ts.to_vec();
            let sorted = merge_sort(
                items,
                &mut |a: &Tuple, b: &Tuple, ctx: &mut Self| {
                    let fa = ctx.frame_from_tuple(env, a);
                    let fb = ctx.frame_from_tuple(env, b);
                    ctx.sort_compare(node, terms, (&a.at, &fa), (&b.at, &fb))
                },
                self,
            )?;
            return Ok(Value::Tuples(Rc::new(sorted)));
        }
        let items: Vec<Value> = input.items().to_vec();
        if items.len() <= 1 {
            return Ok(input);
        }
        let sorted = merge_sort(
            items,
            &mut |a: &Value, b: &Value, ctx: &mut Self| {
                ctx.sort_compare(node, terms, (a, env), (b, env))
            },
            self,
        )?;
        Ok(Value::arr(sorted))
    }

    #[inline(never)]
    fn sort_compare(
        &mut self,
        node: &Node,
        terms: &[SortTerm],
        a: (&Value, &Rc<Frame>),
        b: (&Value, &Rc<Frame>),
    ) -> R<bool> {
        let mut comp = 0;
        for term in terms {
            if comp != 0 {
                break;
            }
            let aa = self.eval(&term.expr, a.0, a.1)?;
            let bb = self.eval(&term.expr, b.0, b.1)?;
            if aa.is_undef() {
                comp = if bb.is_undef() { 0 } else { 1 };
                continue;
            }
            if bb.is_undef() {
                comp = -1;
                continue;
            }
            let ok = |v: &Value| matches!(v, Value::Num(_) | Value::Str(_));
            if !ok(&aa) || !ok(&bb) {
                let bad = if !ok(&aa) { &aa } else { &bb };
                return Err(Err::at("T2008", node.pos).with_value_opt(bad));
            }
            let c = match (&aa, &bb) {
                (Value::Num(x), Value::Num(y)) => x.partial_cmp(y),
                (Value::Str(x), Value::Str(y)) => Some(cmp_js_str(x, y)),
                _ => {
                    let mut e = Err::at("T2007", node.pos).with_value_opt(&aa);
                    e.value2 = Some(stringify(&bb, false, false));
                    return Err(e);
                }
            };
            comp = match c {
                Some(std::cmp::Ordering::Less) => -1,
                Some(std::cmp::Ordering::Greater) => 1,
                _ => 0,
            };
            if term.descending {
                comp = -comp;
            }
        }
        Ok(comp == 1)
    }
}

/// Compares strings as JavaScript does (by UTF-16 code units).
pub(crate) fn cmp_js_str(a: &str, b: &str) -> std::cmp::Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.cmp(b);
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

/// A stable merge sort with a fallible comparator that answers "swap?" (jsonata-js `sort`).
pub(crate) fn merge_sort<T: Clone, C>(
    items: Vec<T>,
    swap: &mut dyn FnMut(&T, &T, &mut C) -> R<bool>,
    ctx: &mut C,
) -> R<Vec<T>> {
    let n = items.len();
    let mut src = items;
    let mut width = 1;
    while width < n {
        let mut dst: Vec<T> = Vec::with_capacity(n);
        let mut start = 0;
        while start < n {
            let mid = (start + width).min(n);
            let end = (start + 2 * width).min(n);
            let (mut i, mut j) = (start, mid);
            while i < mid && j < end {
                if swap(&src[i], &src[j], ctx)? {
                    dst.push(src[j].clone());
                    j += 1;
                } else {
                    dst.push(src[i].clone());
                    i += 1;
                }
            }
            dst.extend_from_slice(&src[i..mid]);
            dst.extend_from_slice(&src[j..end]);
            start = end;
        }
        src = dst;
        width *= 2;
    }
    Ok(src)
}

fn thunk_parts(v: &Value) -> Option<(Arc<crate::ast::LambdaDef>, Value, Rc<Frame>)> {
    match v {
        Value::Func(f) => match &**f {
            Func::Lambda(l) if l.def.thunk => Some((l.def.clone(), l.input.clone(), l.env.clone())),
            _ => None,
        },
        _ => None,
    }
}

fn into_tuples(v: Value) -> Vec<Tuple> {
    match v {
        Value::Tuples(t) => Rc::try_unwrap(t).unwrap_or_else(|t| (*t).clone()),
        other => other
            .items()
            .iter()
            .map(|v| Tuple {
                at: v.clone(),
                binds: Vec::new(),
            })
            .collect(),
    }
}

fn reduce_tuples(ts: Vec<Tuple>) -> Tuple {
    let mut iter = ts.into_iter();
    let Some(mut result) = iter.next() else {
        return Tuple::default();
    };
    let mut rest = iter.peekable();
    if rest.peek().is_none() {
        return result;
    }
    for t in rest {
        result.at = append(std::mem::take(&mut result.at), t.at);
        for (k, v) in t.binds {
            let prev = result.get(&k).cloned().unwrap_or_default();
            result.set(&k, append(prev, v));
        }
    }
    result
}

/// jsonata-js `append`.
pub(crate) fn append(a: Value, b: Value) -> Value {
    if a.is_undef() {
        return b;
    }
    if b.is_undef() {
        return a;
    }
    let mut out: Vec<Value> = match a {
        Value::Arr(v, _) => Rc::try_unwrap(v).unwrap_or_else(|v| (*v).clone()),
        other => vec![other],
    };
    match b {
        Value::Arr(v, _) => out.extend(v.iter().cloned()),
        other => out.push(other),
    }
    Value::arr(out)
}

fn predicate_selects(res: &Value, index: usize, len: usize) -> bool {
    let check = |n: f64| {
        let mut ii = n.floor();
        if ii < 0.0 {
            ii += len as f64;
        }
        ii == index as f64
    };
    match res {
        Value::Num(n) => check(*n),
        Value::Arr(a, _) if !a.is_empty() && a.iter().all(|v| matches!(v, Value::Num(_))) => {
            a.iter().any(|v| check(v.as_num().unwrap_or(f64::NAN)))
        }
        Value::Arr(a, _) if a.is_empty() => false,
        other => truthy(other),
    }
}

pub(crate) fn check_finite(n: f64) -> R<()> {
    if n.is_infinite() {
        return Err(Err::new("D1001").with_value(serde_json::Value::Null));
    }
    Ok(())
}

fn numeric(op: BinOp, lhs: &Value, rhs: &Value) -> R<Value> {
    let is_num = |v: &Value| -> R<bool> {
        match v {
            Value::Num(n) => {
                check_finite(*n)?;
                Ok(!n.is_nan())
            }
            _ => Ok(false),
        }
    };
    if !lhs.is_undef() && !is_num(lhs)? {
        return Err(Err::new("T2001").with_value_opt(lhs));
    }
    if !rhs.is_undef() && !is_num(rhs)? {
        return Err(Err::new("T2002").with_value_opt(rhs));
    }
    let (Value::Num(a), Value::Num(b)) = (lhs, rhs) else {
        return Ok(Value::Undefined);
    };
    Ok(Value::Num(match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        BinOp::Div => a / b,
        _ => a % b,
    }))
}

fn compare(op: BinOp, lhs: &Value, rhs: &Value) -> R<Value> {
    let comparable = |v: &Value| matches!(v, Value::Undefined | Value::Str(_) | Value::Num(_));
    if !comparable(lhs) || !comparable(rhs) {
        let bad = if !matches!(lhs, Value::Str(_) | Value::Num(_)) {
            lhs
        } else {
            rhs
        };
        return Err(Err::new("T2010").with_value_opt(bad));
    }
    if lhs.is_undef() || rhs.is_undef() {
        return Ok(Value::Undefined);
    }
    let ord = match (lhs, rhs) {
        (Value::Num(a), Value::Num(b)) => a.partial_cmp(b),
        (Value::Str(a), Value::Str(b)) => Some(cmp_js_str(a, b)),
        _ => {
            let mut e = Err::new("T2009").with_value_opt(lhs);
            e.value2 = Some(stringify(rhs, false, false));
            return Err(e);
        }
    };
    use std::cmp::Ordering::*;
    Ok(Value::Bool(match (op, ord) {
        (_, None) => false,
        (BinOp::Lt, Some(o)) => o == Less,
        (BinOp::Le, Some(o)) => o != Greater,
        (BinOp::Gt, Some(o)) => o == Greater,
        (_, Some(o)) => o != Less,
    }))
}

/// jsonata-js `lookup` (field navigation).
pub(crate) fn lookup_field(input: &Value, key: &str) -> Value {
    match input {
        Value::Arr(a, _) => {
            let mut out = Vec::new();
            for item in a.iter() {
                match lookup_field(item, key) {
                    Value::Undefined => {}
                    Value::Arr(v, _) => out.extend(v.iter().cloned()),
                    other => out.push(other),
                }
            }
            Value::seq(out)
        }
        Value::Obj(o) => o.get(key).cloned().unwrap_or_default(),
        _ => Value::Undefined,
    }
}

fn flatten_into(v: &Value, out: &mut Vec<Value>, depth: usize) {
    match v {
        Value::Arr(a, _) if depth < crate::value::MAX_DATA_DEPTH => {
            a.iter().for_each(|x| flatten_into(x, out, depth + 1));
        }
        other => out.push(other.clone()),
    }
}

fn eval_wildcard(input: &Value) -> Value {
    let mut input = input;
    if let Value::Arr(a, f) = input
        && f & OUTER != 0
        && !a.is_empty()
    {
        input = &a[0];
    }
    let mut out = Vec::new();
    let values: Box<dyn Iterator<Item = &Value>> = match input {
        Value::Obj(o) => Box::new(o.values()),
        Value::Arr(a, _) => Box::new(a.iter()),
        _ => Box::new(std::iter::empty()),
    };
    {
        for v in values {
            if v.is_array() {
                flatten_into(v, &mut out, 0);
            } else {
                out.push(v.clone());
            }
        }
    }
    Value::seq(out)
}

fn recurse_descendants(v: &Value, out: &mut Vec<Value>, depth: usize) {
    if !v.is_array() {
        out.push(v.clone());
    }
    if depth > crate::value::MAX_DATA_DEPTH {
        return;
    }
    match v {
        Value::Arr(a, _) => a
            .iter()
            .for_each(|x| recurse_descendants(x, out, depth + 1)),
        Value::Obj(o) => o
            .values()
            .for_each(|x| recurse_descendants(x, out, depth + 1)),
        _ => {}
    }
}

fn eval_descendants(input: &Value) -> Value {
    if input.is_undef() {
        return Value::Undefined;
    }
    let mut out = Vec::new();
    recurse_descendants(input, &mut out, 0);
    if out.len() == 1 {
        return out.pop().unwrap_or_default();
    }
    Value::seq(out)
}

/// A deep copy with fresh objects (the transform operator's `$clone`).
pub(crate) fn deep_clone(v: &Value) -> Value {
    deep_clone_at(v, 0)
}

fn deep_clone_at(v: &Value, depth: usize) -> Value {
    if depth > crate::value::MAX_DATA_DEPTH {
        return v.clone();
    }
    match v {
        Value::Arr(a, f) => Value::Arr(
            Rc::new(a.iter().map(|x| deep_clone_at(x, depth + 1)).collect()),
            *f & !(SEQ | OUTER),
        ),
        Value::Obj(o) => Value::obj(
            o.iter()
                .map(|(k, v)| (k.clone(), deep_clone_at(v, depth + 1)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn rebuild(v: &Value, replaced: &HashMap<usize, Rc<Map>>, depth: usize) -> Value {
    if depth > crate::value::MAX_DATA_DEPTH {
        return v.clone();
    }
    match v {
        Value::Obj(o) => {
            let src = replaced.get(&(Rc::as_ptr(o) as usize)).unwrap_or(o);
            Value::obj(
                src.iter()
                    .map(|(k, x)| (k.clone(), rebuild(x, replaced, depth + 1)))
                    .collect(),
            )
        }
        Value::Arr(a, f) => Value::Arr(
            Rc::new(a.iter().map(|x| rebuild(x, replaced, depth + 1)).collect()),
            *f,
        ),
        other => other.clone(),
    }
}

trait WithValueOpt {
    fn with_value_opt(self, v: &Value) -> Self;
}
impl WithValueOpt for Box<Err> {
    fn with_value_opt(mut self, v: &Value) -> Self {
        self.value = v.to_json();
        if let Value::Num(n) = v
            && !n.is_finite()
        {
            self.value = Some(serde_json::Value::Null);
        }
        self
    }
}

#[allow(dead_code)]
fn _unused(_: &BuiltinDef) {}
