//! The executor's logic on an in-memory cluster model (a unit-level stand-in for the
//! simulator): the model applies each step's effect as core defines it and checks the
//! safety invariants after every change - skew policy, unavailable nodes within the
//! window, no foreign cordon lifted, every step done once unless it failed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is the failure report

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kubeladder_core::KubeVersion;
use kubeladder_core::cluster::ClusterState;
use kubeladder_core::journal::{FORMAT, Header};
use kubeladder_core::path::{Hop, PathOptions, Target, upgrade_path};
use kubeladder_core::plan::{self, Action, Plan, Step, WorkerStrategy, uniform_cluster};
use kubeladder_core::release::ReleaseData;
use kubeladder_core::window::{Candidate, WindowState};
use kubeladder_orchestrator::Journal;
use kubeladder_orchestrator::runner::{ClusterPort, NodePort, Outcome, PlanRunner};
use kubeladder_orchestrator::{FailureKind, StepError};

const UID: &str = "uid-test";

#[derive(Debug, Default)]
struct World {
    state: Option<ClusterState>,
    plan: Option<Plan>,
    foreign: BTreeSet<String>,
    ours: BTreeSet<String>,
    limit: usize,
    max_seen_unavailable: usize,
    violations: Vec<String>,
    performed: BTreeMap<String, usize>,
    fail_once: BTreeSet<String>,
    /// Steps whose node never shows their result (the postcondition never holds).
    never_done: BTreeSet<String>,
    stop_after: Option<(String, Arc<AtomicBool>)>,
}

impl World {
    fn state(&mut self) -> &mut ClusterState {
        self.state.as_mut().unwrap()
    }

    fn apply(&mut self, step: &Step) {
        *self.performed.entry(step.id.clone()).or_insert(0) += 1;
        plan::apply_effect(self.state(), step);
        let plan = self.plan.clone().unwrap();
        let hop = Hop { from: plan.hops[step.hop].from, to: plan.hops[step.hop].to };
        for v in self.state().violations() {
            if !plan::is_kubeadm_kube_proxy_bump(&v, &hop) {
                self.violations.push(format!("after {}: {}", step.id, v.message));
            }
        }
        let unavailable = self.state().nodes.iter().filter(|n| n.cordoned || !n.ready).count();
        self.max_seen_unavailable = self.max_seen_unavailable.max(unavailable);
        if unavailable > self.limit {
            self.violations.push(format!("after {}: {unavailable} nodes unavailable", step.id));
        }
        if let Some((id, flag)) = &self.stop_after
            && id == &step.id
        {
            flag.store(true, Ordering::SeqCst);
        }
    }

    fn fail(&mut self, step: &Step) -> Result<(), StepError> {
        if self.fail_once.remove(&step.id) {
            return Err(StepError::Node(kubeladder_node::NodeError::CommandFailed {
                node: step.node.clone(),
                command: step.action.to_string(),
                exit_code: 1,
                stderr_tail: format!("injected failure in {}", step.id),
            }));
        }
        Ok(())
    }
}

#[derive(Clone)]
struct Model(Arc<Mutex<World>>);

impl ClusterPort for Model {
    async fn drain(&self, step: &Step) -> Result<bool, StepError> {
        tokio::task::yield_now().await;
        let mut w = self.0.lock().unwrap();
        let foreign = w.foreign.contains(&step.node);
        if !foreign {
            w.ours.insert(step.node.clone());
        }
        w.apply(step);
        Ok(!foreign)
    }

    async fn uncordon(&self, step: &Step) -> Result<(), StepError> {
        tokio::task::yield_now().await;
        let node = step.node.as_str();
        let mut w = self.0.lock().unwrap();
        if w.foreign.contains(node) || !w.ours.remove(node) {
            w.violations.push(format!("uncordoned {node}, which this run did not cordon"));
        }
        if let Some(n) = w.state().node_mut(node) {
            n.cordoned = false;
        }
        Ok(())
    }

    async fn check(&self, step: &Step) -> Result<bool, StepError> {
        let mut w = self.0.lock().unwrap();
        let node = w.state().node(&step.node).unwrap().clone();
        Ok(match &step.action {
            Action::WaitNodeReady { version } => node.kubelet == *version && node.ready,
            Action::WaitStaticPods { version } => node.static_pods.is_some_and(|p| p.apiserver == *version),
            _ => false,
        })
    }

    async fn wait(&self, _step: &Step) -> Result<(), StepError> {
        tokio::time::sleep(Duration::from_millis(1)).await;
        Ok(())
    }

    async fn observe_window(&self, pending: &[String]) -> Result<(WindowState, Vec<Candidate>), StepError> {
        let mut w = self.0.lock().unwrap();
        let limit = w.limit;
        let unavailable = w.state().nodes.iter().filter(|n| n.cordoned || !n.ready).map(|n| n.name.clone()).collect();
        let state = WindowState { limit, unavailable, ..WindowState::default() };
        Ok((state, pending.iter().map(|n| Candidate { node: n.clone(), pods: vec![] }).collect()))
    }
}

impl NodePort for Model {
    async fn check(&self, step: &Step) -> Result<bool, StepError> {
        let mut w = self.0.lock().unwrap();
        if w.never_done.contains(&step.id) {
            return Ok(false);
        }
        let done = w.performed.contains_key(&step.id);
        let node = w.state().node(&step.node).unwrap().clone();
        Ok(match &step.action {
            Action::RestartKubelet { version } => node.kubelet == *version,
            Action::KubeadmUpgradeApply { version } => node.static_pods.is_some_and(|p| p.apiserver == *version),
            _ => done,
        })
    }

    async fn run(&self, step: &Step) -> Result<(), StepError> {
        tokio::task::yield_now().await;
        let mut w = self.0.lock().unwrap();
        w.fail(step)?;
        w.apply(step);
        Ok(())
    }
}

fn setup(
    from: &str,
    to: &str,
    cps: usize,
    workers: usize,
    limit: usize,
    strategy: WorkerStrategy,
) -> (Model, Plan, ClusterState) {
    let from = KubeVersion::parse(from).unwrap();
    let path = upgrade_path(ReleaseData::embedded().unwrap(), from, Target::parse(to).unwrap(), PathOptions::default())
        .unwrap();
    let state = uniform_cluster(from, cps, workers);
    let plan = plan::plan(&state, &path, strategy).unwrap();
    let world = World { state: Some(state.clone()), plan: Some(plan.clone()), limit, ..World::default() };
    (Model(Arc::new(Mutex::new(world))), plan, state)
}

fn journal(dir: &std::path::Path, plan: &Plan) -> Journal {
    Journal::create(
        dir,
        Header {
            format: FORMAT,
            run_id: "run-1".to_owned(),
            cluster_uid: UID.to_owned(),
            created_at: "t".to_owned(),
            plan: plan.clone(),
        },
    )
    .unwrap()
}

async fn run(model: &Model, journal: Journal, stop: Arc<AtomicBool>) -> (Outcome, Journal) {
    let mut runner = PlanRunner::new(model, model, journal, stop);
    runner.window_retry = Duration::from_millis(1);
    let outcome = runner.run().await.unwrap();
    (outcome, runner.into_journal().unwrap())
}

#[tokio::test]
async fn a_full_run_ends_at_the_target_within_every_invariant_and_uses_the_window() {
    let (model, plan, _) = setup("v1.28.15", "1.31", 3, 6, 2, WorkerStrategy::Follow);
    let tmp = tempfile::tempdir().unwrap();
    let (outcome, journal) = run(&model, journal(tmp.path(), &plan), Arc::default()).await;
    assert!(matches!(outcome, Outcome::Finished), "{outcome:?}");
    assert!(journal.progress().finished);
    let w = model.0.lock().unwrap();
    assert!(w.violations.is_empty(), "{:#?}", w.violations);
    let target = plan.to;
    let state = w.state.as_ref().unwrap();
    assert!(state.nodes.iter().all(|n| n.kubelet == target && !n.cordoned));
    assert_eq!(w.max_seen_unavailable, 2, "the window should run two workers at once");
    assert!(w.performed.values().all(|&n| n == 1), "a step ran twice: {:?}", w.performed);
}

#[tokio::test]
async fn a_foreign_cordon_is_never_lifted() {
    // The foreign cordon takes one of the two window slots for the whole run.
    let (model, plan, _) = setup("v1.28.15", "1.29", 1, 3, 2, WorkerStrategy::Follow);
    {
        let mut w = model.0.lock().unwrap();
        w.foreign.insert("worker-2".to_owned());
        w.state().node_mut("worker-2").unwrap().cordoned = true;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (outcome, journal) = run(&model, journal(tmp.path(), &plan), Arc::default()).await;
    assert!(matches!(outcome, Outcome::Finished), "{outcome:?}");
    let w = model.0.lock().unwrap();
    assert!(w.violations.is_empty(), "{:#?}", w.violations);
    assert!(w.state.as_ref().unwrap().node("worker-2").unwrap().cordoned, "the foreign cordon was lifted");
    assert!(journal.progress().foreign_cordons.contains("worker-2"));
    assert!(journal.progress().cordoned_by_us.is_empty());
}

#[tokio::test]
async fn a_failure_stops_with_a_report_and_resume_finishes_without_redoing_work() {
    let (model, plan, _) = setup("v1.28.15", "1.30", 3, 4, 2, WorkerStrategy::Follow);
    let failing = "h1/cp-2/kubeadm-upgrade-node".to_owned();
    model.0.lock().unwrap().fail_once.insert(failing.clone());
    let tmp = tempfile::tempdir().unwrap();
    let (outcome, journal) = run(&model, journal(tmp.path(), &plan), Arc::default()).await;
    let Outcome::Failed(failure) = outcome else { panic!("expected a failure, got {outcome:?}") };
    assert_eq!((failure.step.as_str(), failure.node.as_str()), (failing.as_str(), "cp-2"));
    assert!(failure.error.contains("injected failure"));
    assert_eq!(failure.kind, FailureKind::CommandFailed, "a failed command is told apart from other failures");
    assert_eq!(journal.progress().in_doubt(), [failing.as_str()]);
    drop(journal);

    let journal = Journal::open(tmp.path(), UID).unwrap();
    let (outcome, journal) = run(&model, journal, Arc::default()).await;
    assert!(matches!(outcome, Outcome::Finished), "{outcome:?}");
    assert!(journal.progress().finished);
    let w = model.0.lock().unwrap();
    assert!(w.violations.is_empty(), "{:#?}", w.violations);
    assert!(w.performed.values().all(|&n| n == 1), "work was redone on resume: {:?}", w.performed);
}

#[tokio::test]
async fn a_stop_request_pauses_at_a_step_boundary_and_resume_finishes() {
    let (model, plan, _) = setup("v1.28.15", "1.29", 1, 4, 2, WorkerStrategy::Follow);
    let stop = Arc::new(AtomicBool::new(false));
    model.0.lock().unwrap().stop_after = Some(("h1/cp-1/kubeadm-upgrade-apply".to_owned(), Arc::clone(&stop)));
    let tmp = tempfile::tempdir().unwrap();
    let (outcome, journal) = run(&model, journal(tmp.path(), &plan), Arc::clone(&stop)).await;
    assert!(matches!(outcome, Outcome::Paused), "{outcome:?}");
    assert!(journal.progress().paused.is_some());
    assert!(journal.progress().in_doubt().is_empty(), "a pause must not leave a step half-recorded");
    drop(journal);
    model.0.lock().unwrap().stop_after = None;
    let (outcome, _) = run(&model, Journal::open(tmp.path(), UID).unwrap(), Arc::default()).await;
    assert!(matches!(outcome, Outcome::Finished), "{outcome:?}");
    let w = model.0.lock().unwrap();
    assert!(w.violations.is_empty(), "{:#?}", w.violations);
    assert!(w.state.as_ref().unwrap().nodes.iter().all(|n| n.kubelet == plan.to));
}

#[tokio::test]
async fn a_step_whose_result_never_shows_fails_as_a_postcondition() {
    let (model, plan, _) = setup("v1.28.15", "1.29", 1, 2, 1, WorkerStrategy::Follow);
    let stuck = "h1/cp-1/install-kubeadm".to_owned();
    model.0.lock().unwrap().never_done.insert(stuck.clone());
    let tmp = tempfile::tempdir().unwrap();
    let (outcome, journal) = run(&model, journal(tmp.path(), &plan), Arc::default()).await;
    let Outcome::Failed(failure) = outcome else { panic!("expected a failure, got {outcome:?}") };
    assert_eq!(failure.step, stuck);
    assert_eq!(failure.kind, FailureKind::Postcondition, "{failure:?}");
    assert!(failure.error.contains("postcondition does not hold"), "{}", failure.error);
    assert!(!journal.progress().is_done(&stuck));
}
