//! The transition graph of one scope (the machine, a Parallel branch or a Map processor):
//! dangling targets, transitions across scopes, unreachable states and the absence of any
//! reachable terminal state.
//!
//! Each scope is closed: a state inside a branch can only transition to states of the same
//! branch, and the outer machine cannot jump into a branch (ASL specification, Parallel
//! and Map states).

use std::collections::{BTreeSet, HashSet, VecDeque};

use serde_json::{Map, Value};

use super::{Diagnostic, DiagnosticCode, pointer_push};

/// One transition out of a state.
struct Edge<'a> {
    from: &'a str,
    to: &'a str,
    pointer: String,
}

/// The transitions out of `state` (`Next`, Choice `Default` and rule `Next`s, Catch `Next`s)
/// with the pointer of each target field.
fn edges<'a>(name: &'a str, state: &'a Value, state_ptr: &str) -> Vec<Edge<'a>> {
    let mut out = Vec::new();
    let mut push = |to: Option<&'a Value>, pointer: String| {
        if let Some(Value::String(to)) = to {
            out.push(Edge {
                from: name,
                to,
                pointer,
            });
        }
    };
    push(state.get("Next"), pointer_push(state_ptr, "Next"));
    push(state.get("Default"), pointer_push(state_ptr, "Default"));
    for list in ["Choices", "Catch"] {
        if let Some(Value::Array(items)) = state.get(list) {
            let list_ptr = pointer_push(state_ptr, list);
            for (i, item) in items.iter().enumerate() {
                push(
                    item.get("Next"),
                    pointer_push(&pointer_push(&list_ptr, &i.to_string()), "Next"),
                );
            }
        }
    }
    out
}

/// `Succeed`, `Fail` and `End: true` end an execution (or a branch / iteration).
fn is_terminal(state: &Value) -> bool {
    matches!(
        state.get("Type").and_then(Value::as_str),
        Some("Succeed" | "Fail")
    ) || state.get("End") == Some(&Value::Bool(true))
}

/// Checks the graph of one scope.
pub(super) fn check_scope(
    scope_ptr: &str,
    start_at: Option<&str>,
    states: &Map<String, Value>,
    all_names: &HashSet<String>,
    out: &mut Vec<Diagnostic>,
) {
    let states_ptr = pointer_push(scope_ptr, "States");
    let mut all_edges = Vec::new();
    for (name, state) in states {
        all_edges.extend(edges(name, state, &pointer_push(&states_ptr, name)));
    }
    let mut dangling = |target: &str, pointer: String, what: &str| {
        if all_names.contains(target) {
            out.push(Diagnostic {
                code: DiagnosticCode::TransitionOutOfScope,
                pointer,
                message: format!(
                    "{what} \"{target}\" is a state of another scope: a Parallel branch or Map processor can only transition within itself"
                ),
            });
        } else {
            out.push(Diagnostic {
                code: DiagnosticCode::MissingTransitionTarget,
                pointer,
                message: format!("{what} \"{target}\" names no state"),
            });
        }
    };
    for edge in &all_edges {
        if !states.contains_key(edge.to) {
            dangling(edge.to, edge.pointer.clone(), "transition target");
        }
    }
    let Some(start) = start_at else {
        return;
    };
    if !states.contains_key(start) {
        dangling(start, pointer_push(scope_ptr, "StartAt"), "StartAt");
        return;
    }

    let mut reached: BTreeSet<&str> = BTreeSet::new();
    let mut queue = VecDeque::from([start]);
    reached.insert(start);
    while let Some(current) = queue.pop_front() {
        for edge in all_edges.iter().filter(|e| e.from == current) {
            if states.contains_key(edge.to) && reached.insert(edge.to) {
                queue.push_back(edge.to);
            }
        }
    }
    for name in states.keys() {
        if !reached.contains(name.as_str()) {
            out.push(Diagnostic {
                code: DiagnosticCode::UnreachableState,
                pointer: pointer_push(&states_ptr, name),
                message: format!("state \"{name}\" cannot be reached from StartAt \"{start}\""),
            });
        }
    }
    let terminal_reached = reached
        .iter()
        .any(|name| states.get(*name).is_some_and(is_terminal));
    if !terminal_reached {
        out.push(Diagnostic {
            code: DiagnosticCode::MissingTerminalState,
            pointer: states_ptr,
            message: "no terminal state (Succeed, Fail or End: true) can be reached from StartAt: executions could never finish".to_owned(),
        });
    }
}
