//! The journal's meaning, without its storage: events a run records, and the progress they
//! add up to. The orchestrator persists events (append-only, fsynced) and a snapshot of
//! [`Progress`]; on resume it folds them back and asks what to do next.
//!
//! A step that was started but never recorded as finished is *in doubt*: the process may
//! have died before, during or after the action. It is never assumed done; the executor
//! re-checks its postcondition and redoes it if needed (every step is idempotent).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::plan::Plan;

/// Journal format version; a journal from another format is refused, not guessed at.
pub const FORMAT: u32 = 1;

/// Written once when a run starts; binds the journal to one cluster and one plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub format: u32,
    pub run_id: String,
    /// UID of the cluster's `kube-system` namespace.
    pub cluster_uid: String,
    pub created_at: String,
    pub plan: Plan,
}

/// Something that happened, in order. `seq` numbers start at 1 and have no gaps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub seq: u64,
    pub at: String,
    #[serde(flatten)]
    pub event: Event,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    StepStarted {
        step: String,
    },
    /// `skipped`: the postcondition already held, nothing was done.
    StepFinished {
        step: String,
        skipped: bool,
    },
    StepFailed {
        step: String,
        error: String,
    },
    /// This run cordoned the node (it was schedulable before).
    NodeCordoned {
        node: String,
    },
    /// The node was already cordoned by someone else: never uncordon it.
    NodeForeignCordon {
        node: String,
    },
    NodeUncordoned {
        node: String,
    },
    /// `kubeladder recover` changed the node behind the run's back (restored manifests or
    /// etcd, re-ran kubeadm): these steps, recorded done, must be checked again on resume.
    NodeRecovered {
        node: String,
        action: String,
        reopened: Vec<String>,
    },
    /// A drain finished: the pods it evicted and the eviction attempts a budget answered
    /// with 429 (retried). For the run report; journals written before it have none.
    NodeDrained {
        node: String,
        evicted: u32,
        budget_waits: u32,
    },
    /// No waiting worker could start (budgets without room, the window full, capacity):
    /// recorded once when such a wait begins, with the reasons. For the report and the
    /// live view; changes no progress.
    WindowWaiting {
        reasons: Vec<String>,
    },
    /// Stopped on request (SIGINT, abort) with the cluster consistent.
    RunPaused {
        reason: String,
    },
    RunFinished,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum StepStatus {
    Running,
    Done { skipped: bool },
    Failed { error: String },
}

/// Everything the events add up to.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Progress {
    /// Last applied `seq`.
    pub seq: u64,
    pub steps: BTreeMap<String, StepStatus>,
    /// Nodes this run cordoned and has not uncordoned: the only ones it may uncordon.
    pub cordoned_by_us: BTreeSet<String>,
    /// Nodes found cordoned by someone else: never uncordoned by this run.
    pub foreign_cordons: BTreeSet<String>,
    pub finished: bool,
    pub paused: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JournalError {
    #[error("journal record {got} follows {expected_after}: records must be consecutive")]
    OutOfOrder { expected_after: u64, got: u64 },
    #[error("journal names step {0:?}, which is not in its plan")]
    UnknownStep(String),
}

/// The step ids of a plan, for constant-time "is this step in the plan?" while replaying
/// hundreds of thousands of records.
#[derive(Debug, Clone, Default)]
pub struct StepIds(std::collections::HashSet<String>);

impl StepIds {
    pub fn of(plan: &Plan) -> Self {
        Self(plan.steps().map(|s| s.id.clone()).collect())
    }

    pub fn contains(&self, id: &str) -> bool {
        self.0.contains(id)
    }
}

/// What the executor should do with a step on resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next<'a> {
    /// Never started: run it.
    Run(&'a str),
    /// Started (or failed) and not finished: check its postcondition, redo if needed.
    Recheck(&'a str),
}

impl Progress {
    /// Apply one record. Records must come in `seq` order; a replayed record (seq already
    /// applied) is ignored, which makes loading "snapshot + log" idempotent.
    pub fn apply(&mut self, steps: &StepIds, record: &Record) -> Result<(), JournalError> {
        if record.seq <= self.seq {
            return Ok(());
        }
        if record.seq != self.seq + 1 {
            return Err(JournalError::OutOfOrder { expected_after: self.seq, got: record.seq });
        }
        let known = |step: &str| steps.contains(step);
        match &record.event {
            Event::StepStarted { step } | Event::StepFinished { step, .. } | Event::StepFailed { step, .. }
                if !known(step) =>
            {
                return Err(JournalError::UnknownStep(step.clone()));
            }
            Event::StepStarted { step } => {
                self.steps.insert(step.clone(), StepStatus::Running);
                self.paused = None;
            }
            Event::StepFinished { step, skipped } => {
                self.steps.insert(step.clone(), StepStatus::Done { skipped: *skipped });
            }
            Event::StepFailed { step, error } => {
                self.steps.insert(step.clone(), StepStatus::Failed { error: error.clone() });
            }
            Event::NodeCordoned { node } => {
                self.cordoned_by_us.insert(node.clone());
            }
            Event::NodeForeignCordon { node } => {
                self.foreign_cordons.insert(node.clone());
            }
            Event::NodeUncordoned { node } => {
                self.cordoned_by_us.remove(node);
            }
            Event::NodeRecovered { reopened, .. } => {
                if let Some(step) = reopened.iter().find(|s| !known(s)) {
                    return Err(JournalError::UnknownStep(step.clone()));
                }
                for step in reopened {
                    self.steps.remove(step);
                }
                self.finished = false;
            }
            Event::RunPaused { reason } => self.paused = Some(reason.clone()),
            Event::RunFinished => self.finished = true,
            Event::NodeDrained { .. } | Event::WindowWaiting { .. } => {}
        }
        self.seq = record.seq;
        Ok(())
    }

    pub fn is_done(&self, step: &str) -> bool {
        matches!(self.steps.get(step), Some(StepStatus::Done { .. }))
    }

    /// The first step of the plan, in order, that is not done.
    pub fn next<'a>(&self, plan: &'a Plan) -> Option<Next<'a>> {
        plan.steps().find(|s| !self.is_done(&s.id)).map(|s| match self.steps.get(&s.id) {
            None => Next::Run(&s.id),
            Some(_) => Next::Recheck(&s.id),
        })
    }

    /// Steps started or failed but not finished.
    pub fn in_doubt(&self) -> Vec<&str> {
        self.steps
            .iter()
            .filter(|(_, s)| matches!(s, StepStatus::Running | StepStatus::Failed { .. }))
            .map(|(id, _)| id.as_str())
            .collect()
    }

    pub fn done_count(&self) -> usize {
        self.steps.values().filter(|s| matches!(s, StepStatus::Done { .. })).count()
    }
}

/// The steps of `node` recorded done from the first hop with unfinished work on (the hop
/// a failure or a stop left it in, else the last one) - what a recovery on that node may
/// have undone, and so must be checked again.
pub fn steps_to_reopen(plan: &Plan, progress: &Progress, node: &str) -> Vec<String> {
    let current = plan.steps().filter(|s| !progress.is_done(&s.id)).map(|s| s.hop).min();
    let from = current.or_else(|| plan.hops.len().checked_sub(1)).unwrap_or(0);
    plan.steps().filter(|s| s.node == node && s.hop >= from && progress.is_done(&s.id)).map(|s| s.id.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{WorkerStrategy, plan, uniform_cluster};
    use crate::test_support::path;

    fn small_plan() -> Plan {
        let path = path("v1.28.15", "1.29");
        plan(&uniform_cluster(path.from, 1, 2), &path, WorkerStrategy::Follow).unwrap()
    }

    fn ids(plan: &Plan) -> StepIds {
        StepIds::of(plan)
    }

    fn rec(seq: u64, event: Event) -> Record {
        Record { seq, at: format!("t{seq}"), event }
    }

    #[test]
    fn a_recovered_node_has_its_done_steps_of_the_current_hop_checked_again() {
        let plan = small_plan();
        let steps = ids(&plan);
        let mut p = Progress::default();
        let mut seq = 0;
        // Everything up to the first worker step is done.
        for s in plan.steps().take_while(|s| s.node != "worker-1") {
            seq += 1;
            p.apply(&steps, &rec(seq, Event::StepFinished { step: s.id.clone(), skipped: false })).unwrap();
        }
        let cp_done: Vec<String> = plan.steps().filter(|s| s.node == "cp-1").map(|s| s.id.clone()).collect();
        let reopened = steps_to_reopen(&plan, &p, "cp-1");
        assert!(!reopened.is_empty());
        assert!(reopened.iter().all(|id| cp_done.contains(id)));
        assert!(steps_to_reopen(&plan, &p, "worker-1").is_empty(), "nothing of worker-1 is done yet");
        seq += 1;
        let event = Event::NodeRecovered { node: "cp-1".to_owned(), action: "restore-manifests".to_owned(), reopened };
        p.apply(&steps, &rec(seq, event)).unwrap();
        assert_eq!(p.next(&plan), Some(Next::Run(plan.steps().find(|s| s.node == "cp-1").unwrap().id.as_str())));
        let unknown =
            Event::NodeRecovered { node: "x".to_owned(), action: "a".to_owned(), reopened: vec!["nope".to_owned()] };
        assert_eq!(p.apply(&steps, &rec(seq + 1, unknown)), Err(JournalError::UnknownStep("nope".to_owned())));
    }

    #[test]
    fn folding_events_tracks_steps_and_cordons() {
        let plan = small_plan();
        let first = plan.steps().next().unwrap().id.clone();
        let mut p = Progress::default();
        assert_eq!(p.next(&plan), Some(Next::Run(first.as_str())));
        p.apply(&ids(&plan), &rec(1, Event::StepStarted { step: first.clone() })).unwrap();
        assert_eq!(p.next(&plan), Some(Next::Recheck(first.as_str())));
        assert_eq!(p.in_doubt(), [first.as_str()]);
        p.apply(&ids(&plan), &rec(2, Event::StepFinished { step: first.clone(), skipped: false })).unwrap();
        assert!(p.in_doubt().is_empty());
        let second = plan.steps().nth(1).unwrap().id.as_str();
        assert_eq!(p.next(&plan), Some(Next::Run(second)));
        p.apply(&ids(&plan), &rec(3, Event::NodeCordoned { node: "worker-1".to_owned() })).unwrap();
        p.apply(&ids(&plan), &rec(4, Event::NodeForeignCordon { node: "worker-2".to_owned() })).unwrap();
        p.apply(&ids(&plan), &rec(5, Event::NodeUncordoned { node: "worker-1".to_owned() })).unwrap();
        assert!(p.cordoned_by_us.is_empty());
        assert!(p.foreign_cordons.contains("worker-2"));
    }

    #[test]
    fn replayed_records_are_ignored_and_gaps_refused() {
        let plan = small_plan();
        let first = plan.steps().next().unwrap().id.clone();
        let mut p = Progress::default();
        p.apply(&ids(&plan), &rec(1, Event::StepStarted { step: first.clone() })).unwrap();
        let snapshot = p.clone();
        p.apply(&ids(&plan), &rec(1, Event::StepStarted { step: first })).unwrap();
        assert_eq!(p, snapshot);
        assert_eq!(
            p.apply(&ids(&plan), &rec(3, Event::RunFinished)),
            Err(JournalError::OutOfOrder { expected_after: 1, got: 3 })
        );
        assert_eq!(
            p.apply(&ids(&plan), &rec(2, Event::StepStarted { step: "h9/x/drain".to_owned() })),
            Err(JournalError::UnknownStep("h9/x/drain".to_owned()))
        );
    }

    #[test]
    fn records_of_older_journals_still_load_and_drain_facts_change_no_progress() {
        // A line as kubeladder wrote it before NodeDrained and WindowWaiting existed.
        let old: Record =
            serde_json::from_str(r#"{"seq":3,"at":"2026-11-25T10:00:00Z","event":"node_cordoned","node":"worker-1"}"#)
                .unwrap();
        assert_eq!(old.event, Event::NodeCordoned { node: "worker-1".to_owned() });
        let drained = Event::NodeDrained { node: "worker-1".to_owned(), evicted: 19, budget_waits: 3 };
        let line = serde_json::to_string(&rec(1, drained.clone())).unwrap();
        assert!(line.contains(r#""event":"node_drained""#), "{line}");
        assert_eq!(serde_json::from_str::<Record>(&line).unwrap().event, drained);
        let plan = small_plan();
        let mut p = Progress::default();
        p.apply(&ids(&plan), &rec(1, drained)).unwrap();
        p.apply(&ids(&plan), &rec(2, Event::WindowWaiting { reasons: vec!["budget".to_owned()] })).unwrap();
        assert_eq!(p, Progress { seq: 2, ..Progress::default() });
    }

    #[test]
    fn a_finished_plan_has_no_next_step() {
        let plan = small_plan();
        let mut p = Progress::default();
        for (i, step) in plan.steps().enumerate() {
            let seq = u64::try_from(i).unwrap() + 1;
            p.apply(&ids(&plan), &rec(seq, Event::StepFinished { step: step.id.clone(), skipped: false })).unwrap();
        }
        assert_eq!(p.next(&plan), None);
        assert_eq!(p.done_count(), plan.steps().count());
    }
}
