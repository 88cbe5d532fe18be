//! The run use cases: `apply` (start a run from a prepared plan), `resume`, `abort`, and
//! driving a started run to its end with the journal, the run lock and the plan runner.
//!
//! Order of an `apply`: the cluster read and planned ([`crate::prepare`]), the journal
//! directory made ready ([`make_room`]), then [`start`]: every node reached once (refused
//! before anything changes if one is not), the run lock taken, the journal created. Then
//! [`StartedRun::drive`] runs the plan; the lock is renewed meanwhile, and a lost lock
//! stops the run at the next step.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kubeladder_core::journal::{self, Event, Header, Record};
use kubeladder_core::plan::Plan;
use kubeladder_core::release::ReleaseData;
use kubeladder_core::window::MaxUnavailable;
use kubeladder_kube::drain::{self, DrainConfig, DrainReport};
use kubeladder_kube::inventory::Inventory;
use kubeladder_kube::lock::{self, RunLock};
use tokio::sync::watch;

use crate::error::OrchestratorError;
use crate::journal_store::{self, Journal};
use crate::kube_cluster::{GateTimings, KubeCluster};
use crate::node_fleet::NodeFleet;
use crate::prepare::Prepared;
use crate::runner::{Outcome, PlanRunner, StepFailure};
use crate::session::{ClusterTarget, Reach, Session};

/// How a run reaches nodes, where it keeps its journal, how long it waits.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// The hosts file (how to reach each node); without it, SSH as root at the `InternalIP`.
    pub hosts: Option<PathBuf>,
    /// The journal directory (default: [`crate::session::default_state_dir`]).
    pub state_dir: Option<PathBuf>,
    /// Give up draining one node after this long.
    pub drain_timeout: Duration,
    /// Give up waiting for a node or static pods to become Ready after this long.
    pub gate_timeout: Duration,
    /// How often gates and the worker window are re-read.
    pub poll: Duration,
    /// Workers unavailable at once.
    pub max_unavailable: MaxUnavailable,
    /// Copy each etcd snapshot into the state directory (`snapshots/`) and check it against
    /// the sha256 recorded on the node (on unless the operator opts out).
    pub copy_snapshots: bool,
    /// How nodes are drained ([`crate::prepare::upgrade_drain_options`]).
    pub drain: kubeladder_core::drain::DrainOptions,
}

/// Where a run's progress goes: every journal record once it is durable, and the few
/// messages the run itself has to say (a lost lease).
pub trait RunObserver: Send + Sync {
    fn record(&self, record: &Record);
    fn message(&self, text: &str);
}

/// A run ready to go: nodes reached, lock held, journal open.
#[derive(Debug)]
pub struct StartedRun {
    session: Session,
    journal: Journal,
    fleet: NodeFleet,
    lock: RunLock,
    settings: RunSettings,
}

/// How a driven run ended.
#[derive(Debug)]
pub enum RunEnd {
    /// Every step done; the cluster as it is now, and every drain this process performed.
    Finished { inventory: Inventory, drains: Vec<DrainReport> },
    /// Stopped at a step boundary on request; `resume` continues.
    Paused,
    /// A step failed; `resume` continues after the cause is fixed.
    Failed { failure: StepFailure, steps_done: usize, node_cordoned_by_this_run: bool },
}

/// What a driven run reports.
#[derive(Debug)]
pub struct RunReport {
    pub dir: PathBuf,
    pub run_id: String,
    pub steps_total: usize,
    pub end: RunEnd,
}

/// What `resume` found.
#[derive(Debug)]
pub enum Resumed {
    /// The journal's run already finished: nothing to do.
    AlreadyFinished {
        dir: PathBuf,
    },
    Started(Box<StartedRun>),
}

/// What `abort` did.
#[derive(Debug)]
pub struct AbortReport {
    pub run_id: String,
    pub dir: PathBuf,
    /// Nodes this run had cordoned, uncordoned now.
    pub uncordoned: Vec<String>,
}

/// Make `dir` ready for a new run: refuse a directory holding an unfinished run; move a
/// finished one aside (to `DIR-<run id>`).
pub fn make_room(dir: &Path) -> Result<(), OrchestratorError> {
    if !dir.join(journal_store::HEADER_FILE).exists() {
        return Ok(());
    }
    let (header, progress) = journal_store::inspect(dir)?;
    if !progress.finished {
        return Err(OrchestratorError::Refused(format!(
            "{} holds the unfinished run {} (to {}); continue it with `kubeladder resume`, stop it with \
             `kubeladder abort`, or pass another --state-dir",
            dir.display(),
            header.run_id,
            header.plan.to
        )));
    }
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("run");
    let archive = dir.with_file_name(format!("{name}-{}", header.run_id));
    std::fs::rename(dir, &archive).map_err(|source| OrchestratorError::Io {
        path: dir.to_owned(),
        what: format!("move the finished run aside to {}", archive.display()),
        source,
    })
}

/// Start a run of `prepared`'s plan: every node reached, the lock taken, the journal
/// created in the state directory. Refuses (nothing changed) when there is no proven plan
/// or a node cannot be reached.
pub async fn start(prepared: Prepared, settings: RunSettings) -> Result<StartedRun, OrchestratorError> {
    let plan = prepared.proven_plan()?.clone();
    let session = prepared.session;
    let dir = session.state_dir(settings.state_dir.as_deref())?;
    let run_id = new_run_id();
    let fleet = reach_fleet(&session, &settings, &run_id)
        .await?
        .with_snapshot_store(dir.join(crate::node_fleet::LOCAL_SNAPSHOT_DIR), settings.copy_snapshots);
    let lock = RunLock::acquire(&session.clients.api, &run_id).await?;
    let header = Header {
        format: journal::FORMAT,
        run_id,
        cluster_uid: session.inventory.cluster_uid.clone(),
        created_at: jiff::Timestamp::now().to_string(),
        plan,
    };
    let journal = match Journal::create(&dir, header) {
        Ok(j) => j,
        Err(e) => {
            // Best effort: the lease also expires by itself.
            let _ = lock.release().await;
            return Err(e);
        }
    };
    Ok(StartedRun { session, journal, fleet, lock, settings })
}

/// Open the journal of the cluster `target` names (refusing one of another cluster) and
/// get ready to continue it.
pub async fn resume(target: &ClusterTarget, settings: RunSettings) -> Result<Resumed, OrchestratorError> {
    let session = Session::open(target).await?;
    let dir = session.state_dir(settings.state_dir.as_deref())?;
    let journal = Journal::open(&dir, &session.inventory.cluster_uid)?;
    if journal.progress().finished {
        return Ok(Resumed::AlreadyFinished { dir });
    }
    let run_id = journal.header().run_id.clone();
    let fleet = reach_fleet(&session, &settings, &run_id)
        .await?
        .with_snapshot_store(dir.join(crate::node_fleet::LOCAL_SNAPSHOT_DIR), settings.copy_snapshots);
    let lock = RunLock::acquire(&session.clients.api, &run_id).await?;
    Ok(Resumed::Started(Box::new(StartedRun { session, journal, fleet, lock, settings })))
}

/// Stop a run for good: uncordon what it cordoned (never anyone else's cordon), record it
/// paused (so `resume` could still continue), release the lock.
pub async fn abort(target: &ClusterTarget, state_dir: Option<&Path>) -> Result<AbortReport, OrchestratorError> {
    let session = Session::open(target).await?;
    let dir = session.state_dir(state_dir)?;
    let mut journal = Journal::open(&dir, &session.inventory.cluster_uid)?;
    let run_id = journal.header().run_id.clone();
    let lock = RunLock::acquire(&session.clients.api, &run_id).await?;
    let ours: Vec<String> = journal.progress().cordoned_by_us.iter().cloned().collect();
    let mut uncordoned = Vec::new();
    for node in ours {
        drain::uncordon(&session.clients.api, &node, &run_id, false).await?;
        journal.record(Event::NodeUncordoned { node: node.clone() })?;
        uncordoned.push(node);
    }
    journal.record(Event::RunPaused { reason: "aborted by the operator".to_owned() })?;
    lock.release().await?;
    Ok(AbortReport { run_id, dir, uncordoned })
}

async fn reach_fleet(session: &Session, settings: &RunSettings, run_id: &str) -> Result<NodeFleet, OrchestratorError> {
    let data = ReleaseData::embedded()?;
    let reach = Reach::build(settings.hosts.as_deref(), &session.inventory)?;
    let fleet = NodeFleet::new(reach.executors, session.roles(), reach.package_managers, data, run_id.to_owned())
        .with_package_sources(reach.package_sources);
    fleet.preflight().await?;
    Ok(fleet)
}

/// `<machine>-<UTC time>-<pid>`: the machine's name, so that a refused second run can say
/// where the first one runs.
fn new_run_id() -> String {
    let now = jiff::Timestamp::now();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "kubeladder".to_owned());
    format!("{host}-{}-{}", now.strftime("%Y%m%dT%H%M%SZ"), std::process::id())
}

impl StartedRun {
    pub fn plan(&self) -> &Plan {
        &self.journal.header().plan
    }

    pub fn dir(&self) -> &Path {
        self.journal.dir()
    }

    pub fn run_id(&self) -> &str {
        &self.journal.header().run_id
    }

    /// Steps the journal records as done.
    pub fn steps_done(&self) -> usize {
        self.journal.progress().done_count()
    }

    /// Run the plan to its end, a failed step, or a stop request (`stop` set, or the run
    /// lock lost). An error outside any step leaves the journal consistent for `resume`.
    pub async fn drive(
        self,
        observer: Arc<dyn RunObserver>,
        stop: Arc<AtomicBool>,
    ) -> Result<RunReport, OrchestratorError> {
        let Self { session, journal, fleet, lock, settings } = self;
        let dir = journal.dir().to_owned();
        let run_id = journal.header().run_id.clone();
        let steps_total = journal.header().plan.steps().count();
        let workers =
            session.inventory.nodes.iter().filter(|n| n.role == kubeladder_core::cluster::Role::Worker).count();
        let drain_config = DrainConfig {
            run_id: run_id.clone(),
            options: settings.drain,
            timeout: settings.drain_timeout,
            ..DrainConfig::default()
        };
        let gates =
            GateTimings { node_ready: settings.gate_timeout, static_pods: settings.gate_timeout, poll: settings.poll };
        let cluster = KubeCluster::new(session.clients.clone(), drain_config, settings.max_unavailable, workers, gates);
        let (renew_stop, renewal) = spawn_renewal(lock, Arc::clone(&stop), Arc::clone(&observer));
        let records = Arc::clone(&observer);
        let mut runner = PlanRunner::new(&cluster, &fleet, journal, stop)
            .with_observer(Arc::new(move |record| records.record(record)));
        runner.window_retry = settings.poll;
        // A worker waits for room in the window (budgets, capacity) at most as long as a drain may take.
        runner.window_patience = usize::try_from(settings.drain_timeout.as_millis() / settings.poll.as_millis().max(1))
            .unwrap_or(usize::MAX)
            .max(1);
        let outcome = runner.run().await;
        let _ = renew_stop.send(true);
        let lock = renewal.await.map_err(|e| OrchestratorError::Internal(format!("lock renewal stopped: {e}")))?;
        let journal = runner.into_journal()?;
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(e) => {
                // Best effort: the lease also expires by itself.
                let _ = lock.release().await;
                return Err(e);
            }
        };
        let end = match outcome {
            Outcome::Finished => {
                let inventory = session.reread().await;
                match inventory {
                    Ok(inventory) => RunEnd::Finished { inventory, drains: cluster.drain_reports() },
                    Err(e) => {
                        let _ = lock.release().await;
                        return Err(e);
                    }
                }
            }
            Outcome::Paused => RunEnd::Paused,
            Outcome::Failed(failure) => {
                let progress = journal.progress();
                RunEnd::Failed {
                    node_cordoned_by_this_run: progress.cordoned_by_us.contains(&failure.node),
                    steps_done: progress.done_count(),
                    failure,
                }
            }
        };
        lock.release().await?;
        Ok(RunReport { dir, run_id, steps_total, end })
    }
}

/// Renew the lock until told to stop; on loss, ask the run to stop at the next step.
fn spawn_renewal(
    mut lock: RunLock,
    stop: Arc<AtomicBool>,
    observer: Arc<dyn RunObserver>,
) -> (watch::Sender<bool>, tokio::task::JoinHandle<RunLock>) {
    let (done_tx, mut done_rx) = watch::channel(false);
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(lock::RENEW_EVERY) => {
                    if let Err(e) = lock.renew().await {
                        observer.message(&format!("warning: {e}"));
                        stop.store(true, Ordering::SeqCst);
                    }
                }
                _ = done_rx.changed() => break,
            }
        }
        lock
    });
    (done_tx, task)
}
