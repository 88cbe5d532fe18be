//! Runs a plan step by step through two ports - the cluster and the nodes - recording every
//! step in the journal.
//!
//! For each step not yet done: record `StepStarted` (durable), check the postcondition
//! (already true: record `StepFinished { skipped: true }`), otherwise act, check the
//! postcondition again, record `StepFinished`. Any failure records `StepFailed` and stops
//! the run with a [`StepFailure`] naming the node, the step, and the command to continue.
//! Worker lanes run through the sliding window of `kubeladder_core::window`: admitted
//! lanes run concurrently, each lane's steps in order.
//!
//! A stop request (SIGINT) is honoured between steps: running lanes finish their current
//! step, the run records `RunPaused`, and `resume` continues.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use kubeladder_core::journal::{Event, Record, StepStatus};
use kubeladder_core::plan::{Action, Plan, Step, WorkerLane};
use kubeladder_core::window::{self, Candidate, WindowState};

use crate::error::{FailureKind, OrchestratorError, StepError};
use crate::journal_store::Journal;

/// What the executor needs from the cluster API.
pub trait ClusterPort: Send + Sync {
    /// Cordon and drain; returns whether this run cordoned it (false: it was already
    /// cordoned by someone else, which must be remembered and never undone).
    fn drain(&self, step: &Step) -> impl Future<Output = Result<bool, StepError>> + Send;
    fn uncordon(&self, step: &Step) -> impl Future<Output = Result<(), StepError>> + Send;
    /// Postcondition and wait for `WaitNodeReady` / `WaitStaticPods`.
    fn check(&self, step: &Step) -> impl Future<Output = Result<bool, StepError>> + Send;
    fn wait(&self, step: &Step) -> impl Future<Output = Result<(), StepError>> + Send;
    /// The window as observed now, and each pending worker's pods.
    fn observe_window(
        &self,
        pending: &[String],
    ) -> impl Future<Output = Result<(WindowState, Vec<Candidate>), StepError>> + Send;
    /// What the last drain of `node` did: pods evicted, eviction attempts a budget refused.
    /// Journaled for the run report; `None` when the port does not know.
    fn drained(&self, _node: &str) -> Option<(u32, u32)> {
        None
    }
}

/// What the executor needs from the nodes (package manager, kubeadm, systemd, etcdctl).
pub trait NodePort: Send + Sync {
    fn check(&self, step: &Step) -> impl Future<Output = Result<bool, StepError>> + Send;
    fn run(&self, step: &Step) -> impl Future<Output = Result<(), StepError>> + Send;
}

/// Sees every record right after it became durable (progress output, tests).
pub type Observer = Arc<dyn Fn(&Record) + Send + Sync>;

/// Why the run stopped at a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepFailure {
    /// The step's id (`h2/cp-1/kubeadm-upgrade-apply`).
    pub step: String,
    pub node: String,
    /// The action's short name (`kubeadm-upgrade-apply`).
    pub name: &'static str,
    /// The action as a sentence (`kubeadm upgrade apply v1.19.16`).
    pub action: String,
    /// The error as the journal records it.
    pub error: String,
    /// What kind of failure it was (unreachable, command failed, postcondition, ...).
    pub kind: FailureKind,
}

#[derive(Debug)]
pub enum Outcome {
    Finished,
    Paused,
    Failed(StepFailure),
}

pub struct PlanRunner<'a, C, N> {
    pub cluster: &'a C,
    pub nodes: &'a N,
    journal: Arc<Mutex<Journal>>,
    /// Set by the caller (SIGINT, abort): stop at the next step boundary.
    stop: Arc<AtomicBool>,
    /// Set when a lane fails: the other lanes stop at their next step boundary.
    halt: AtomicBool,
    /// How long to wait between window observations when no worker may start.
    pub window_retry: std::time::Duration,
    /// How many consecutive observations may admit nobody before the run stops.
    pub window_patience: usize,
    observer: Option<Observer>,
}

impl<C, N> std::fmt::Debug for PlanRunner<'_, C, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlanRunner").finish_non_exhaustive()
    }
}

impl<'a, C: ClusterPort, N: NodePort> PlanRunner<'a, C, N> {
    pub fn new(cluster: &'a C, nodes: &'a N, journal: Journal, stop: Arc<AtomicBool>) -> Self {
        Self {
            cluster,
            nodes,
            journal: Arc::new(Mutex::new(journal)),
            stop,
            halt: AtomicBool::new(false),
            window_retry: std::time::Duration::from_secs(2),
            window_patience: 300,
            observer: None,
        }
    }

    /// Call `observer` with every record once it is durable.
    #[must_use]
    pub fn with_observer(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Give the journal back (after `run`).
    pub fn into_journal(self) -> Result<Journal, OrchestratorError> {
        Arc::try_unwrap(self.journal)
            .map_err(|_| OrchestratorError::Internal("journal still shared".to_owned()))?
            .into_inner()
            .map_err(|_| OrchestratorError::Internal("journal lock poisoned".to_owned()))
    }

    fn record(&self, event: Event) -> Result<(), OrchestratorError> {
        let record = {
            let mut journal =
                self.journal.lock().map_err(|_| OrchestratorError::Internal("journal lock poisoned".to_owned()))?;
            journal.record(event)?
        };
        if let Some(observer) = &self.observer {
            observer(&record);
        }
        Ok(())
    }

    fn plan(&self) -> Result<Plan, OrchestratorError> {
        let journal =
            self.journal.lock().map_err(|_| OrchestratorError::Internal("journal lock poisoned".to_owned()))?;
        Ok(journal.header().plan.clone())
    }

    fn is_done(&self, step: &str) -> bool {
        self.journal.lock().is_ok_and(|j| j.progress().is_done(step))
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst) || self.halt.load(Ordering::SeqCst)
    }

    /// Run (or resume) the plan to the end, a failure, or a stop request.
    pub async fn run(&self) -> Result<Outcome, OrchestratorError> {
        let plan = self.plan()?;
        for hop in &plan.hops {
            for lane in &hop.catch_up {
                if let Some(outcome) = self.run_lane(lane).await? {
                    return Ok(outcome);
                }
            }
            for step in &hop.steps {
                if let Some(outcome) = self.run_step(step).await? {
                    return Ok(outcome);
                }
            }
            if let Some(outcome) = self.run_workers(&hop.workers).await? {
                return Ok(outcome);
            }
        }
        let finished = self.journal.lock().is_ok_and(|j| j.progress().finished);
        if !finished {
            self.record(Event::RunFinished)?;
        }
        Ok(Outcome::Finished)
    }

    async fn run_lane(&self, lane: &WorkerLane) -> Result<Option<Outcome>, OrchestratorError> {
        for step in &lane.steps {
            if let Some(outcome) = self.run_step(step).await? {
                return Ok(Some(outcome));
            }
        }
        Ok(None)
    }

    /// One step; `Some` ends the run (paused or failed).
    async fn run_step(&self, step: &Step) -> Result<Option<Outcome>, OrchestratorError> {
        if self.is_done(&step.id) {
            return Ok(None);
        }
        if self.stopping() {
            self.record(Event::RunPaused { reason: "stop requested".to_owned() })?;
            return Ok(Some(Outcome::Paused));
        }
        // A step recorded before (started or failed, never finished) was attempted.
        let attempted = self.journal.lock().is_ok_and(|j| j.progress().steps.contains_key(&step.id));
        self.record(Event::StepStarted { step: step.id.clone() })?;
        match self.perform(step, attempted).await {
            Ok(skipped) => {
                self.record(Event::StepFinished { step: step.id.clone(), skipped })?;
                Ok(None)
            }
            Err(error) => {
                self.halt.store(true, Ordering::SeqCst);
                let (kind, error) = (error.kind(), error.to_string());
                self.record(Event::StepFailed { step: step.id.clone(), error: error.clone() })?;
                Ok(Some(Outcome::Failed(StepFailure {
                    step: step.id.clone(),
                    node: step.node.clone(),
                    name: step.action.name(),
                    action: step.action.to_string(),
                    error,
                    kind,
                })))
            }
        }
    }

    /// Check, act, check. Returns whether the step was skipped (already done).
    async fn perform(&self, step: &Step, attempted: bool) -> Result<bool, StepError> {
        match &step.action {
            Action::Drain => {
                // Always drain: it is idempotent, and a node cordoned by someone else still
                // has pods to move. Who owns the cordon is what the node's annotation says,
                // so a crash between cordoning and recording is recognised on resume.
                let ours = self.cluster.drain(step).await?;
                let known = self.journal.lock().is_ok_and(|j| {
                    j.progress().cordoned_by_us.contains(&step.node)
                        || j.progress().foreign_cordons.contains(&step.node)
                });
                if !known {
                    let event = if ours {
                        Event::NodeCordoned { node: step.node.clone() }
                    } else {
                        Event::NodeForeignCordon { node: step.node.clone() }
                    };
                    self.record(event)?;
                }
                if let Some((evicted, budget_waits)) = self.cluster.drained(&step.node) {
                    let event = Event::NodeDrained { node: step.node.clone(), evicted, budget_waits };
                    self.record(event)?;
                }
                Ok(false)
            }
            Action::Uncordon => {
                let foreign = self.journal.lock().is_ok_and(|j| j.progress().foreign_cordons.contains(&step.node));
                let ours = self.journal.lock().is_ok_and(|j| j.progress().cordoned_by_us.contains(&step.node));
                if foreign || !ours {
                    // Never lift a cordon this run did not set.
                    return Ok(true);
                }
                self.cluster.uncordon(step).await?;
                self.record(Event::NodeUncordoned { node: step.node.clone() })?;
                Ok(false)
            }
            Action::WaitNodeReady { .. } | Action::WaitStaticPods { .. } => {
                if self.cluster.check(step).await? {
                    return Ok(true);
                }
                self.cluster.wait(step).await?;
                if self.cluster.check(step).await? {
                    Ok(false)
                } else {
                    Err(StepError::Postcondition { action: step.action.to_string() })
                }
            }
            _ => {
                // `kubeadm upgrade apply` also stores the new version in kubeadm-config, last;
                // a node's manifests cannot show that half. An attempted apply (the process died
                // or it failed) is therefore run again - kubeadm is idempotent - so that the
                // other control planes' `upgrade node` read the new version.
                let rerun = attempted && matches!(step.action, Action::KubeadmUpgradeApply { .. });
                if !rerun && self.nodes.check(step).await? {
                    return Ok(true);
                }
                self.nodes.run(step).await?;
                if self.nodes.check(step).await? {
                    Ok(false)
                } else {
                    Err(StepError::Postcondition { action: step.action.to_string() })
                }
            }
        }
    }

    /// Run worker lanes through the sliding window.
    async fn run_workers(&self, lanes: &[WorkerLane]) -> Result<Option<Outcome>, OrchestratorError> {
        let mut pending: Vec<&WorkerLane> =
            lanes.iter().filter(|l| l.steps.iter().any(|s| !self.is_done(&s.id))).collect();
        let running: Arc<Mutex<BTreeSet<String>>> = Arc::default();
        let mut tasks = futures::stream::FuturesUnordered::new();
        let mut result: Option<Outcome> = None;
        let mut idle_rounds = 0usize;
        // Bounded: each round admits a lane, waits for one to finish, or waits out an idle
        // window (at most `window_patience` times in a row).
        for _round in 0..=(lanes.len() * 2 + self.window_patience) {
            let mut admitted_any = false;
            if result.is_none() && !self.stopping() && !pending.is_empty() {
                let names: Vec<String> = pending.iter().map(|l| l.node.clone()).collect();
                let (mut state, candidates) =
                    self.cluster.observe_window(&names).await.map_err(OrchestratorError::Observe)?;
                if let Ok(r) = running.lock() {
                    state.unavailable.extend(r.iter().cloned());
                }
                let admission = window::admit(&state, &candidates);
                for node in admission.admitted {
                    if let Some(pos) = pending.iter().position(|l| l.node == node) {
                        let lane = pending.remove(pos);
                        admitted_any = true;
                        if let Ok(mut r) = running.lock() {
                            r.insert(lane.node.clone());
                        }
                        let running = Arc::clone(&running);
                        tasks.push(async move {
                            let out = self.run_lane(lane).await;
                            if let Ok(mut r) = running.lock() {
                                r.remove(&lane.node);
                            }
                            out
                        });
                    }
                }
                if tasks.is_empty() && !admitted_any {
                    idle_rounds += 1;
                    if idle_rounds == 1 {
                        let reasons = admission.waiting.iter().map(ToString::to_string).collect();
                        self.record(Event::WindowWaiting { reasons })?;
                    }
                    if idle_rounds > self.window_patience {
                        let waiting = admission.waiting.iter().map(ToString::to_string).collect();
                        return Err(OrchestratorError::WindowStuck(waiting));
                    }
                    tokio::time::sleep(self.window_retry).await;
                    continue;
                }
                idle_rounds = 0;
            }
            if tasks.is_empty() {
                break;
            }
            if let Some(done) = futures::StreamExt::next(&mut tasks).await
                && let Some(outcome) = done?
                && !matches!(result, Some(Outcome::Failed(_)))
            {
                result = Some(outcome);
            }
        }
        if result.is_none() && self.stopping() && !pending.is_empty() {
            self.record(Event::RunPaused { reason: "stop requested".to_owned() })?;
            return Ok(Some(Outcome::Paused));
        }
        Ok(result)
    }
}

/// For `status`: a one-line summary of a step's state.
pub fn describe(status: Option<&StepStatus>) -> &'static str {
    match status {
        None => "pending",
        Some(StepStatus::Running) => "in doubt (started, not finished)",
        Some(StepStatus::Done { skipped: true }) => "already done",
        Some(StepStatus::Done { skipped: false }) => "done",
        Some(StepStatus::Failed { .. }) => "failed",
    }
}
