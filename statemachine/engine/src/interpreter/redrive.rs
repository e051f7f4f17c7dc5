//! What RedriveExecution needs to continue an execution where it stopped: for every scope that
//! did not finish (the machine, a Map iteration, a Parallel branch), the state to rerun, the
//! input it was given and the workflow variables visible when it was entered; and, for a Map or
//! Parallel that failed, the outputs of its iterations or branches that succeeded (AWS reruns
//! only the ones that failed or were aborted, each from its own unsuccessful step).
//!
//! Nothing is copied on the normal path: a scope keeps the input of the state it runs until the
//! state returns ([`InFlight`]), and writes it down only when the state fails or its run is
//! abandoned (dropped: the execution was stopped or timed out, a sibling iteration failed).
//! A failing Map or Parallel writes down its children ([`Progress`]) into the slot of the scope
//! that runs it, which the scope's own point then carries: the points form a tree that follows
//! the failure, so nothing left from an earlier, caught or retried failure can be mistaken for it.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::{Map, Value};

/// Where a scope stopped: the state to rerun, its input, the variables visible when it was
/// entered and, when it is a Map or Parallel that got to run its children, what they left.
#[derive(Debug)]
pub struct ScopePoint {
    pub(super) state: String,
    pub(super) input: Value,
    pub(super) variables: Arc<Map<String, Value>>,
    pub(super) children: Option<Vec<Child>>,
}

/// One iteration of a Map or branch of a Parallel, as a redrive finds it.
#[derive(Debug)]
pub(super) enum Child {
    /// It succeeded with this output: not rerun.
    Succeeded(Value),
    /// It failed or was aborted at this point, or never started (`None`: from its start).
    Unfinished(Option<Box<ScopePoint>>),
}

/// Where a Map or Parallel state writes down its children when it fails.
pub(super) type ChildrenSlot = Mutex<Option<Vec<Child>>>;

/// The points of the scopes that stopped, by their index among their siblings.
pub(crate) type Points = Mutex<Vec<(usize, Box<ScopePoint>)>>;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Takes what a slot holds.
pub(super) fn take<T>(slot: &Mutex<Option<T>>) -> Option<T> {
    lock(slot).take()
}

/// Where one scope writes its point when it stops: its index among its siblings (0 for the
/// machine, the item index of a Map iteration, the branch index of a Parallel branch).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sink<'a> {
    points: &'a Points,
    index: usize,
}

impl<'a> Sink<'a> {
    /// The sink of the scope `index` of `points`.
    pub(crate) fn new(points: &'a Points, index: usize) -> Self {
        Self { points, index }
    }
}

/// A state in flight in a scope. It owns the state's input while the state runs (the state
/// borrows it) and, when dropped still armed (the state failed, or its run was abandoned),
/// writes the scope's point. The state's Map or Parallel run borrows `children`, so it is gone,
/// and has written them, before this is dropped.
pub(super) struct InFlight<'g> {
    sink: Sink<'g>,
    state: &'g str,
    pub(super) input: Value,
    variables: &'g Arc<Map<String, Value>>,
    pub(super) children: ChildrenSlot,
    armed: bool,
}

impl<'g> InFlight<'g> {
    pub(super) fn new(
        sink: Sink<'g>,
        state: &'g str,
        input: Value,
        variables: &'g Arc<Map<String, Value>>,
    ) -> Self {
        Self {
            sink,
            state,
            input,
            variables,
            children: Mutex::new(None),
            armed: true,
        }
    }

    /// The state returned normally (succeeded, or its error was caught): nothing to record.
    pub(super) fn landed(&mut self) {
        self.armed = false;
    }
}

impl std::fmt::Debug for InFlight<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InFlight")
            .field("state", &self.state)
            .field("armed", &self.armed)
            .finish_non_exhaustive()
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let children = self
            .children
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let point = Box::new(ScopePoint {
            state: self.state.to_owned(),
            input: std::mem::take(&mut self.input),
            variables: Arc::clone(self.variables),
            children,
        });
        lock(self.sink.points).push((self.sink.index, point));
    }
}

/// The children of one run of a Map or Parallel: the outputs of those that succeeded and the
/// points of those that stopped. Dropped still armed (the state failed or was abandoned), it
/// writes them down for a redrive.
pub(super) struct Progress<'s> {
    record: &'s ChildrenSlot,
    pub(super) outputs: Mutex<Vec<Option<Value>>>,
    pub(super) stopped: Points,
    armed: bool,
}

/// A Map's or Parallel's link to a redrive: where it writes down its children when it fails,
/// and the children a redrive resumes (given to the state's first attempt only: a retry runs
/// everything again).
#[derive(Debug)]
pub(super) struct Nested<'s> {
    pub(super) record: &'s ChildrenSlot,
    pub(super) resume: Option<Vec<Child>>,
}

/// Which children a run starts, and where: `None` for all of them from their start; for a
/// redrive, per child, `None` when it already succeeded and `Some(point)` to rerun it.
pub(super) type Plan = Option<Vec<Option<Option<Box<ScopePoint>>>>>;

impl<'s> Progress<'s> {
    /// The progress of `total` children; `resume` (a redrive) gives the outputs of those that
    /// succeeded before and where the others stopped. A resume that does not match the children
    /// (another number of items) is ignored: everything runs again.
    pub(super) fn start(
        record: &'s ChildrenSlot,
        total: usize,
        resume: Option<Vec<Child>>,
    ) -> (Self, Plan) {
        let (outputs, plan) = match resume {
            Some(children) if children.len() == total => {
                let mut outputs = Vec::with_capacity(total);
                let mut plan = Vec::with_capacity(total);
                for child in children {
                    match child {
                        Child::Succeeded(output) => {
                            outputs.push(Some(output));
                            plan.push(None);
                        }
                        Child::Unfinished(point) => {
                            outputs.push(None);
                            plan.push(Some(point));
                        }
                    }
                }
                (outputs, Some(plan))
            }
            _ => (vec![None; total], None),
        };
        let progress = Self {
            record,
            outputs: Mutex::new(outputs),
            stopped: Mutex::new(Vec::new()),
            armed: true,
        };
        (progress, plan)
    }

    /// Stores the output of child `index` (for a tolerated Map failure, its error).
    pub(super) fn set_output(&self, index: usize, output: Value) {
        if let Some(slot) = lock(&self.outputs).get_mut(index) {
            *slot = Some(output);
        }
    }

    /// The run succeeded: the outputs, in order (`null` for a child without one).
    pub(super) fn finish(mut self) -> Vec<Value> {
        self.armed = false;
        let outputs = std::mem::take(
            self.outputs
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner),
        );
        outputs.into_iter().map(Option::unwrap_or_default).collect()
    }
}

impl std::fmt::Debug for Progress<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("armed", &self.armed)
            .finish_non_exhaustive()
    }
}

impl Drop for Progress<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let outputs = std::mem::take(
            self.outputs
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner),
        );
        let mut stopped: Vec<Option<Box<ScopePoint>>> = Vec::new();
        for (index, point) in std::mem::take(
            self.stopped
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner),
        ) {
            if stopped.len() <= index {
                stopped.resize_with(index + 1, || None);
            }
            stopped[index] = Some(point);
        }
        let children = outputs
            .into_iter()
            .enumerate()
            .map(|(index, output)| {
                match (stopped.get_mut(index).and_then(Option::take), output) {
                    // A tolerated failure has an output (its error) but reruns.
                    (Some(point), _) => Child::Unfinished(Some(point)),
                    (None, Some(output)) => Child::Succeeded(output),
                    (None, None) => Child::Unfinished(None),
                }
            })
            .collect();
        *lock(self.record) = Some(children);
    }
}
