//! The recovery use cases: [`list`] finds kubeadm's backups and kubeladder's etcd
//! snapshots on the control-plane nodes; [`plan_recovery`] turns one recovery request into
//! typed node operations (shown before anything runs), and [`RecoveryPlan::execute`] runs
//! them, verifies the node, and tells the journal which steps must be checked again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kubeladder_core::KubeVersion;
use kubeladder_core::cluster::Role;
use kubeladder_core::image;
use kubeladder_core::journal::{self, Event};
use kubeladder_core::kubeadm::StaticPod;
use kubeladder_core::package::PackageManager;
use kubeladder_core::plan::Action;
use kubeladder_kube::health::{self, Gate};
use kubeladder_kube::inventory::Inventory;
use kubeladder_node::exec::{self, OpOutcome};
use kubeladder_node::ops::{self, Backup, BackupKind};
use kubeladder_node::recovery::{self, EtcdMember, EtcdSource, RestoreTool};
use kubeladder_node::{CommandOutput, Executor, NodeOp};
use serde::Serialize;

use crate::error::{OrchestratorError, StepError};
use crate::journal_store::{self, Journal};
use crate::node_fleet::SNAPSHOT_DIR;
use crate::session::{ClusterTarget, Reach, Session};

const TIMEOUT: Duration = Duration::from_secs(600);

/// Where recovery finds the nodes and the run's journal.
#[derive(Debug, Clone, Default)]
pub struct RecoverReach {
    pub hosts: Option<PathBuf>,
    pub state_dir: Option<PathBuf>,
}

/// One control-plane node's backups, snapshots and manifests.
#[derive(Debug, Serialize)]
pub struct NodeBackups {
    pub node: String,
    /// Image tag of each static pod manifest in place now.
    pub manifests: BTreeMap<String, String>,
    pub backups: Vec<BackupView>,
    pub snapshots: Vec<SnapshotView>,
    /// What the journal says about this node (failed or unfinished steps).
    pub journal: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct BackupView {
    pub kind: BackupKind,
    pub timestamp: String,
    pub path: String,
    /// Manifests backups: the components it holds.
    pub holds: Vec<String>,
    /// Etcd backups: the size of the data copy (`du -sb`), when the node could say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct SnapshotView {
    pub path: String,
    /// The snapshot file's size (`du -sb`), when the node could say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
}

/// The one recovery action asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecoverAction {
    /// Run the journal's unfinished kubeadm step on the node again.
    Rerun,
    /// `kubeadm upgrade apply <running version> --force -y`.
    ForceReconverge,
    /// Restore the manifests of this kubeadm backup directory.
    RestoreManifests(String),
    /// Restore the local etcd member from this kubeadm etcd backup or snapshot file.
    RestoreEtcd { source: String, allow_quorum_risk: bool },
}

/// One recovery, planned: what it runs and what the node must show afterwards.
#[derive(Debug)]
pub struct RecoveryPlan {
    pub name: &'static str,
    pub node: String,
    pub ops: Vec<NodeOp>,
    /// Afterwards: control-plane pods Ready at this version.
    pub expect_version: Option<KubeVersion>,
    /// Afterwards: the etcd pod Ready.
    pub expect_etcd: bool,
    pm: PackageManager,
    exec: Arc<dyn Executor>,
    session: Session,
    journal_dir: PathBuf,
}

/// What an executed recovery did.
#[derive(Debug)]
pub struct RecoveryDone {
    /// The journal told to re-check the node's steps, if a run is unfinished there.
    pub journal_reopened: Option<PathBuf>,
}

async fn query(exec: &dyn Executor, op: &NodeOp, pm: PackageManager) -> Result<CommandOutput, OrchestratorError> {
    Ok(exec::query(exec, op, pm, TIMEOUT).await?)
}

/// Ask the node for its package manager: the operations render for it (recovery needs no
/// package, but renders nothing against a package manager the node does not have).
async fn package_manager(reach: &Reach, exec: &dyn Executor, node: &str) -> Result<PackageManager, OrchestratorError> {
    if let Some(pm) = reach.package_managers.get(node) {
        return Ok(*pm);
    }
    exec::detect_package_manager(exec, TIMEOUT)
        .await?
        .ok_or_else(|| OrchestratorError::Refused(StepError::NoPackageManager { node: node.to_owned() }.to_string()))
}

async fn backups_of(exec: &dyn Executor, pm: PackageManager) -> Result<Vec<BackupView>, OrchestratorError> {
    let list = query(exec, &NodeOp::ListBackups, pm).await?;
    let mut out = Vec::new();
    for Backup { kind, timestamp, path } in ops::parse_backups(&list)? {
        let (holds, bytes) = if kind == BackupKind::Manifests {
            let listing = query(exec, &NodeOp::ListDir { path: path.clone() }, pm).await?;
            (recovery::manifests_in(&listing).iter().map(|p| p.name().to_owned()).collect(), None)
        } else {
            let usage = query(exec, &NodeOp::DiskUsage { path: path.clone() }, pm).await?;
            (vec!["etcd data".to_owned()], ops::parse_disk_usage(&usage).ok())
        };
        out.push(BackupView { kind, timestamp, path, holds, bytes });
    }
    Ok(out)
}

async fn snapshots_of(exec: &dyn Executor, pm: PackageManager) -> Result<Vec<SnapshotView>, OrchestratorError> {
    let runs = query(exec, &NodeOp::ListDir { path: SNAPSHOT_DIR.to_owned() }, pm).await?;
    if runs.exit_code != 0 {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for run_dir in runs.stdout.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let dir = format!("{SNAPSHOT_DIR}/{run_dir}");
        let files = query(exec, &NodeOp::ListDir { path: dir.clone() }, pm).await?;
        let snapshots = files
            .stdout
            .lines()
            .map(str::trim)
            .filter(|f| Path::new(f).extension().is_some_and(|e| e.eq_ignore_ascii_case("db")));
        for file in snapshots {
            let path = format!("{dir}/{file}");
            let usage = query(exec, &NodeOp::DiskUsage { path: path.clone() }, pm).await?;
            out.push(SnapshotView { path, bytes: ops::parse_disk_usage(&usage).ok() });
        }
    }
    Ok(out)
}

async fn manifests_of(exec: &dyn Executor, pm: PackageManager) -> Result<BTreeMap<String, String>, OrchestratorError> {
    let mut out = BTreeMap::new();
    for pod in StaticPod::ALL {
        let file = query(exec, &NodeOp::ReadFile { path: pod.manifest() }, pm).await?;
        let tag = if file.exit_code == 0 { image::manifest_image(&file.stdout).and_then(|i| i.tag) } else { None };
        out.insert(pod.name().to_owned(), tag.unwrap_or("(no manifest)").to_owned());
    }
    Ok(out)
}

/// What the journal in `dir` says about `node`, when there is one.
fn journal_notes(dir: &Path, node: &str) -> Vec<String> {
    let Ok((header, progress)) = journal_store::inspect(dir) else { return Vec::new() };
    let mut notes = Vec::new();
    for step in header.plan.steps().filter(|s| s.node == node) {
        match progress.steps.get(&step.id) {
            Some(journal::StepStatus::Failed { error }) => {
                notes.push(format!("{} FAILED: {}", step.id, error.lines().next().unwrap_or_default()));
            }
            Some(journal::StepStatus::Running) => notes.push(format!("{} started, not finished", step.id)),
            _ => {}
        }
    }
    if notes.is_empty()
        && let Some(step) = header.plan.steps().filter(|s| s.node == node && progress.is_done(&s.id)).last()
    {
        notes.push(format!("last done: {}", step.id));
    }
    notes
}

fn control_planes<'a>(inventory: &'a Inventory, only: Option<&'a str>) -> Result<Vec<&'a str>, OrchestratorError> {
    let cps: Vec<&str> = inventory
        .nodes
        .iter()
        .filter(|n| n.role == Role::ControlPlane)
        .map(|n| n.name.as_str())
        .filter(|n| only.is_none_or(|o| o == *n))
        .collect();
    if let Some(o) = only
        && cps.is_empty()
    {
        return Err(OrchestratorError::Refused(format!(
            "{o} is not a control-plane node of this cluster; kubeadm backups live on control-plane nodes"
        )));
    }
    Ok(cps)
}

/// `recover list`: per control-plane node (or only `node`), what can be restored. Read-only.
pub async fn list(
    target: &ClusterTarget,
    reach_with: &RecoverReach,
    node: Option<&str>,
) -> Result<Vec<NodeBackups>, OrchestratorError> {
    let session = Session::open(target).await?;
    let reach = Reach::build(reach_with.hosts.as_deref(), &session.inventory)?;
    let dir = session.state_dir(reach_with.state_dir.as_deref())?;
    let mut report = Vec::new();
    for name in control_planes(&session.inventory, node)? {
        let exec = reach.executor(name)?;
        let pm = package_manager(&reach, exec.as_ref(), name).await?;
        report.push(NodeBackups {
            node: name.to_owned(),
            manifests: manifests_of(exec.as_ref(), pm).await?,
            backups: backups_of(exec.as_ref(), pm).await?,
            snapshots: snapshots_of(exec.as_ref(), pm).await?,
            journal: journal_notes(&dir, name),
        });
    }
    Ok(report)
}

/// The suffix of what a recovery keeps aside. Milliseconds included: the operations' done
/// checks look for the aside path, so two recoveries within one second must not share it.
fn stamp() -> String {
    let now = jiff::Timestamp::now();
    format!("{}-{:03}", now.strftime("%Y-%m-%d-%H-%M-%S"), now.subsec_millisecond())
}

fn refused(text: impl Into<String>) -> OrchestratorError {
    OrchestratorError::Refused(text.into())
}

/// Plan one recovery of `node`; refuses (nothing changed) when a precondition fails.
pub async fn plan_recovery(
    target: &ClusterTarget,
    reach_with: &RecoverReach,
    node: &str,
    action: &RecoverAction,
) -> Result<RecoveryPlan, OrchestratorError> {
    let session = Session::open(target).await?;
    control_planes(&session.inventory, Some(node))?;
    let reach = Reach::build(reach_with.hosts.as_deref(), &session.inventory)?;
    let exec = reach.executor(node)?;
    let journal_dir = session.state_dir(reach_with.state_dir.as_deref())?;
    let pm = package_manager(&reach, exec.as_ref(), node).await?;
    let plan = |name, ops, expect_version, expect_etcd| RecoveryPlan {
        name,
        node: node.to_owned(),
        ops,
        expect_version,
        expect_etcd,
        pm,
        exec: Arc::clone(&exec),
        session: session.clone(),
        journal_dir: journal_dir.clone(),
    };
    match action {
        RecoverAction::Rerun => {
            let (op, version) = rerun_op(&journal_dir, node, &session.inventory)?;
            Ok(plan("rerun", vec![op], Some(version), false))
        }
        RecoverAction::ForceReconverge => {
            let manifest =
                query(exec.as_ref(), &NodeOp::ReadFile { path: StaticPod::KubeApiserver.manifest() }, pm).await?;
            let version = ops::apiserver_manifest_version(&manifest.stdout)
                .ok_or_else(|| refused(format!("{node} has no readable kube-apiserver manifest; restore one first")))?;
            Ok(plan("force-reconverge", vec![NodeOp::KubeadmReconverge { version }], Some(version), false))
        }
        RecoverAction::RestoreManifests(wanted) => {
            let backups = backups_of(exec.as_ref(), pm).await?;
            let (ops, expect_version, expect_etcd) =
                restore_manifests_ops(exec.as_ref(), pm, node, wanted, &backups, &session.inventory).await?;
            Ok(plan("restore-manifests", ops, expect_version, expect_etcd))
        }
        RecoverAction::RestoreEtcd { source, allow_quorum_risk } => {
            let backups = backups_of(exec.as_ref(), pm).await?;
            let ops =
                restore_etcd_ops(exec.as_ref(), pm, node, source, *allow_quorum_risk, &backups, &session.inventory)
                    .await?;
            Ok(plan("restore-etcd", ops, None, true))
        }
    }
}

/// The journal's unfinished kubeadm step on `node`, as the operation that reruns it.
fn rerun_op(dir: &Path, node: &str, inventory: &Inventory) -> Result<(NodeOp, KubeVersion), OrchestratorError> {
    let (header, progress) = journal_store::inspect(dir).map_err(|_| {
        refused(format!("--rerun needs the run's journal ({} has none); use --force-reconverge", dir.display()))
    })?;
    let step = header
        .plan
        .steps()
        .filter(|s| s.node == node && !progress.is_done(&s.id))
        .find(|s| matches!(s.action, Action::KubeadmUpgradeApply { .. } | Action::KubeadmUpgradeNode { .. }))
        .ok_or_else(|| refused(format!("the journal has no unfinished kubeadm step on {node}; nothing to rerun")))?;
    let is_control_plane = inventory.nodes.iter().any(|n| n.name == node && n.role == Role::ControlPlane);
    match &step.action {
        Action::KubeadmUpgradeApply { version } => Ok((NodeOp::KubeadmUpgradeApply { version: *version }, *version)),
        Action::KubeadmUpgradeNode { version } if is_control_plane => {
            Ok((NodeOp::KubeadmUpgradeControlPlaneNode { version: *version }, *version))
        }
        Action::KubeadmUpgradeNode { version } => Ok((NodeOp::KubeadmUpgradeNode, *version)),
        other => Err(OrchestratorError::Internal(format!("{other} is not a kubeadm step"))),
    }
}

async fn restore_manifests_ops(
    exec: &dyn Executor,
    pm: PackageManager,
    node: &str,
    wanted: &str,
    backups: &[BackupView],
    inventory: &Inventory,
) -> Result<(Vec<NodeOp>, Option<KubeVersion>, bool), OrchestratorError> {
    let wanted = wanted.trim_end_matches('/');
    let backup = backups.iter().find(|b| b.path == wanted || b.path.ends_with(&format!("/{wanted}"))).ok_or_else(|| {
        refused(format!(
            "{wanted} is not a kubeadm backup on {node}; `kubeladder recover list --node {node}` shows the ones there"
        ))
    })?;
    if backup.kind != BackupKind::Manifests {
        return Err(refused(format!("{} holds etcd data, not manifests; use --restore-etcd", backup.path)));
    }
    let pods: Vec<StaticPod> =
        StaticPod::ALL.into_iter().filter(|p| backup.holds.iter().any(|h| h == p.name())).collect();
    if pods.is_empty() {
        return Err(refused(format!("{} holds no manifest", backup.path)));
    }
    let apiserver =
        query(exec, &NodeOp::ReadFile { path: format!("{}/{}", backup.path, StaticPod::KubeApiserver.file()) }, pm)
            .await?;
    let expect_version = ops::apiserver_manifest_version(&apiserver.stdout);
    refuse_foreign_version(node, &backup.path, expect_version, inventory)?;
    Ok((NodeOp::restore_manifests(&backup.path, &pods, &stamp()), expect_version, pods.contains(&StaticPod::Etcd)))
}

/// A manifests backup must come from the upgrade this cluster is in: its apiserver at most
/// one minor from the cluster's version (`kubeadm-config`). An older backup (an earlier
/// hop's, or another cluster's copied in) would put the node outside the skew policy.
fn refuse_foreign_version(
    node: &str,
    backup: &str,
    version: Option<KubeVersion>,
    inventory: &Inventory,
) -> Result<(), OrchestratorError> {
    let Some(version) = version else { return Ok(()) };
    let cluster = inventory.cluster_version;
    if version.minor().minors_until(cluster.minor()).unsigned_abs() > 1 {
        return Err(refused(format!(
            "{backup} on {node} holds kube-apiserver {version}, but the cluster is at {cluster}: it is not a backup of \
             this upgrade; pick the backup of the failed step (`kubeladder recover list --node {node}`)"
        )));
    }
    Ok(())
}

/// `--restore-etcd`: refused on a multi-member etcd unless the operator accepts the risk.
async fn restore_etcd_ops(
    exec: &dyn Executor,
    pm: PackageManager,
    node: &str,
    source: &str,
    allow_quorum_risk: bool,
    backups: &[BackupView],
    inventory: &Inventory,
) -> Result<Vec<NodeOp>, OrchestratorError> {
    let source = source.trim_end_matches('/');
    let members = inventory.nodes.iter().filter(|n| n.control_plane.as_ref().is_some_and(|c| c.etcd.is_some())).count();
    if members > 1 && !allow_quorum_risk {
        return Err(refused(format!(
            "etcd has {members} members: restoring one member's data from a backup can lose writes the others have \
             and split the cluster; restore it by re-joining the member instead, or pass --allow-quorum-risk if you \
             know every other member is gone"
        )));
    }
    let pki = query(exec, &NodeOp::ListDir { path: recovery::ETCD_PKI_DIR.to_owned() }, pm).await?;
    let missing = recovery::missing_etcd_certs(&pki);
    if !missing.is_empty() {
        return Err(refused(format!(
            "{node} lacks the etcd certificates a restored member needs to start ({} in {}); restore \
             /etc/kubernetes/pki from your backup, or renew them with `kubeadm init phase certs etcd-server` \
             and `etcd-peer`, then retry",
            missing.join(", "),
            recovery::ETCD_PKI_DIR
        )));
    }
    let info = inventory.nodes.iter().find(|n| n.name == node);
    let ip = info.and_then(|n| n.internal_ip.clone()).ok_or_else(|| refused(format!("{node} has no InternalIP")))?;
    let etcd_tag = info.and_then(|n| n.control_plane.as_ref()).and_then(|c| c.etcd.clone()).unwrap_or_default();
    let source = if let Some(b) = backups.iter().find(|b| b.path == source || b.path.ends_with(&format!("/{source}"))) {
        if b.kind != BackupKind::Etcd {
            return Err(refused(format!("{} holds manifests, not etcd data; use --restore-manifests", b.path)));
        }
        EtcdSource::DataCopy { path: recovery::kubeadm_etcd_backup_data(&b.path, recovery::ETCD_DATA_DIR) }
    } else {
        let exists = query(exec, &NodeOp::ReadFile { path: source.to_owned() }, pm).await?;
        if exists.exit_code != 0 || !source.starts_with('/') {
            return Err(refused(format!(
                "{source} is neither a kubeadm etcd backup nor a snapshot file on {node}; `kubeladder recover list` shows both"
            )));
        }
        EtcdSource::Snapshot { path: source.to_owned(), tool: RestoreTool::for_etcd(&etcd_tag) }
    };
    let member = EtcdMember { name: node.to_owned(), peer_url: format!("https://{ip}:2380") };
    Ok(vec![
        NodeOp::StopStaticPod { pod: StaticPod::Etcd },
        NodeOp::restore_etcd(source, member, &stamp()),
        NodeOp::StartStaticPod { pod: StaticPod::Etcd },
    ])
}

/// The operation's short name (`restore-manifest`), as progress shows it.
pub fn op_name(op: &NodeOp) -> String {
    serde_json::to_value(op).ok().and_then(|v| v["op"].as_str().map(str::to_owned)).unwrap_or_default()
}

impl RecoveryPlan {
    /// The commands the recovery runs, in order, as a shell would show them.
    pub fn commands(&self) -> Vec<String> {
        self.ops.iter().flat_map(|op| op.render(self.pm)).map(|argv| exec::shell_join(&argv)).collect()
    }

    /// Run the operations (each skipped when its check says it is done), wait for the node
    /// to come back, and tell an unfinished journal to re-check the node's steps.
    /// `progress` hears one line per operation.
    pub async fn execute(
        self,
        gate_timeout: Duration,
        poll: Duration,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<RecoveryDone, OrchestratorError> {
        for op in &self.ops {
            match exec::run_op(self.exec.as_ref(), op, self.pm, TIMEOUT).await {
                Ok(OpOutcome::AlreadyDone) => progress(&format!("already done: {}", op_name(op))),
                Ok(OpOutcome::Done(_)) => progress(&format!("done: {}", op_name(op))),
                Err(e) => return Err(OrchestratorError::Recovery { node: self.node.clone(), error: e.to_string() }),
            }
        }
        self.verify(gate_timeout, poll).await?;
        let journal_reopened = self.reopen_journal()?;
        Ok(RecoveryDone { journal_reopened })
    }

    async fn verify(&self, timeout: Duration, poll: Duration) -> Result<(), OrchestratorError> {
        let api = &self.session.clients.api;
        let node = self.node.as_str();
        let mut gates = Vec::new();
        if self.expect_etcd {
            gates.push(
                health::wait_for(timeout, poll, || async {
                    Ok(health::static_pod_ready(api, node, StaticPod::Etcd.name()).await.unwrap_or_else(|e| Gate {
                        name: "static-pod-ready".to_owned(),
                        passed: false,
                        message: e.to_string(),
                    }))
                })
                .await?,
            );
        }
        if let Some(version) = self.expect_version {
            gates.push(
                health::wait_for(timeout, poll, || async {
                    Ok(health::static_pods_at(api, node, version, None).await.unwrap_or_else(|e| Gate {
                        name: "static-pods".to_owned(),
                        passed: false,
                        message: e.to_string(),
                    }))
                })
                .await?,
            );
        }
        if let Some(failed) = gates.iter().find(|g| !g.passed) {
            return Err(OrchestratorError::Recovery {
                node: self.node.clone(),
                error: format!("the node did not come back after {}: {}", self.name, failed.message),
            });
        }
        Ok(())
    }

    /// Tell the journal (if this cluster has an unfinished one) which of the node's steps
    /// the recovery may have undone, so `resume` checks them again.
    fn reopen_journal(&self) -> Result<Option<PathBuf>, OrchestratorError> {
        let dir = &self.journal_dir;
        if !dir.join(journal_store::HEADER_FILE).exists() {
            return Ok(None);
        }
        let mut journal = Journal::open(dir, &self.session.inventory.cluster_uid)?;
        let reopened = journal::steps_to_reopen(&journal.header().plan, journal.progress(), &self.node);
        journal.record(Event::NodeRecovered { node: self.node.clone(), action: self.name.to_owned(), reopened })?;
        Ok(Some(dir.clone()))
    }
}

/// One thing `recover prune` found: kept or removed (or to be removed).
#[derive(Debug, Serialize)]
pub struct PruneEntry {
    pub node: String,
    /// `kubeadm etcd`, `kubeadm manifests`, `etcd snapshot`.
    pub kind: String,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// `keep`, `remove` (with `--yes`: removed) or `would remove`.
    pub action: String,
}

/// A path on a node and its size, when known.
type PathSize = (String, Option<u64>);

/// The order of a snapshot: its run's UTC time (`<host>-YYYYMMDDTHHMMSSZ-<pid>`), then the
/// hop number of its file name (`h12_...`).
fn snapshot_order(path: &str) -> (String, u64) {
    let mut parts = path.rsplit('/');
    let file = parts.next().unwrap_or_default();
    let run = parts.next().unwrap_or_default();
    let time = run.split('-').find(|p| p.len() == 16 && p.ends_with('Z') && p.contains('T')).unwrap_or(run);
    let hop = file.strip_prefix('h').and_then(|r| r.split('_').next()).and_then(|n| n.parse().ok()).unwrap_or(0);
    (time.to_owned(), hop)
}

/// `recover prune`: per control-plane node, keep the newest `keep` (at least 1) of each
/// kind - kubeadm etcd backups, kubeadm manifests backups, kubeladder snapshots - and
/// list (or with `yes`, remove) the older ones. Refused while a run is unfinished: its
/// backups and snapshots are what recovery needs.
pub async fn prune(
    target: &ClusterTarget,
    reach_with: &RecoverReach,
    keep: usize,
    yes: bool,
) -> Result<Vec<PruneEntry>, OrchestratorError> {
    if keep == 0 {
        return Err(refused("--keep 0 would remove the newest backup; keep at least 1 of each kind"));
    }
    let session = Session::open(target).await?;
    let dir = session.state_dir(reach_with.state_dir.as_deref())?;
    if let Ok((header, progress)) = journal_store::inspect(&dir)
        && !progress.finished
    {
        return Err(refused(format!(
            "run {} in {} is unfinished; its kubeadm backups and snapshots are what `recover` needs. Finish it (`kubeladder resume`) or abort it first",
            header.run_id,
            dir.display()
        )));
    }
    let reach = Reach::build(reach_with.hosts.as_deref(), &session.inventory)?;
    let mut entries = Vec::new();
    for name in control_planes(&session.inventory, None)? {
        let exec = reach.executor(name)?;
        let pm = package_manager(&reach, exec.as_ref(), name).await?;
        let backups = backups_of(exec.as_ref(), pm).await?;
        let mut snapshots = snapshots_of(exec.as_ref(), pm).await?;
        snapshots.sort_by_key(|s| snapshot_order(&s.path));
        let mut groups: Vec<(String, Vec<PathSize>)> = Vec::new();
        for kind in [BackupKind::Etcd, BackupKind::Manifests] {
            // Oldest first (kubeadm's timestamps sort as text).
            let mut of_kind: Vec<&BackupView> = backups.iter().filter(|b| b.kind == kind).collect();
            of_kind.sort_by(|a, b| a.timestamp.cmp(&b.timestamp));
            groups.push((
                format!("kubeadm {kind:?}").to_lowercase(),
                of_kind.iter().map(|b| (b.path.clone(), b.bytes)).collect(),
            ));
        }
        groups.push(("etcd snapshot".to_owned(), snapshots.iter().map(|s| (s.path.clone(), s.bytes)).collect()));
        for (kind, items) in groups {
            let old = items.len().saturating_sub(keep);
            for (index, (path, bytes)) in items.into_iter().enumerate() {
                let action = if index >= old {
                    "keep"
                } else if yes {
                    kubeladder_node::prune::remove(exec.as_ref(), &path, TIMEOUT).await?;
                    "removed"
                } else {
                    "would remove"
                };
                entries.push(PruneEntry {
                    node: name.to_owned(),
                    kind: kind.clone(),
                    path,
                    bytes,
                    action: action.to_owned(),
                });
            }
        }
    }
    Ok(entries)
}
