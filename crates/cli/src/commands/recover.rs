//! `kubeladder recover list` and `recover node`: find kubeadm's backups and kubeladder's
//! etcd snapshots on the control-plane nodes, and bring a node back - rerun the failed
//! kubeadm step, `kubeadm upgrade apply --force` at the running version, restore manifests
//! from a kubeadm backup, restore the local etcd member - showing every command first,
//! refusing when a precondition fails, verifying the node afterwards, and telling the
//! journal which steps must be checked again.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kubeladder_core::KubeVersion;
use kubeladder_core::cluster::Role;
use kubeladder_core::journal::{self, Event};
use kubeladder_core::plan::Action;
use kubeladder_kube::health::{self, Gate};
use kubeladder_node::exec::{self, OpOutcome};
use kubeladder_node::ops::{self, Backup, BackupKind};
use kubeladder_node::recovery::{self, EtcdMember, EtcdSource, RestoreTool, StaticPod};
use kubeladder_node::{ExecResult, Executor, NodeOp, PackageManager};
use kubeladder_orchestrator::Journal;
use kubeladder_orchestrator::node_ops::SNAPSHOT_DIR;
use serde::Serialize;

use crate::Outcome;
use crate::args::{RecoverListArgs, RecoverNodeArgs};
use crate::commands::upgrade::{self, Cluster};
use crate::error::CliError;
use crate::output;

const TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Debug, Serialize)]
struct NodeBackups {
    node: String,
    /// Image tag of each static pod manifest in place now.
    manifests: BTreeMap<String, String>,
    backups: Vec<BackupView>,
    snapshots: Vec<SnapshotView>,
    /// What the journal says about this node (failed or unfinished steps).
    journal: Vec<String>,
}

#[derive(Debug, Serialize)]
struct BackupView {
    kind: BackupKind,
    timestamp: String,
    path: String,
    /// Manifests backups: the components it holds.
    holds: Vec<String>,
    /// Etcd backups: the size of the data copy (`du -sb`), when the node could say.
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes: Option<u64>,
}

#[derive(Debug, Serialize)]
struct SnapshotView {
    path: String,
    /// The snapshot file's size (`du -sb`), when the node could say.
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes: Option<u64>,
}

/// `etcd data`, with its size when known.
fn etcd_data(bytes: Option<u64>) -> String {
    match bytes {
        Some(bytes) => format!("etcd data ({})", human_bytes(bytes)),
        None => "etcd data".to_owned(),
    }
}

/// A byte count as `du -h` would print it, in binary units (`12.3 MiB`).
fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    #[allow(clippy::cast_precision_loss)]
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

fn usage(text: impl Into<String>) -> CliError {
    CliError::Usage(text.into())
}

async fn run(exec: &dyn Executor, argv: &[String]) -> Result<ExecResult, CliError> {
    Ok(exec.run(argv, TIMEOUT).await?)
}

async fn query(exec: &dyn Executor, op: &NodeOp) -> Result<ExecResult, CliError> {
    Ok(exec::query(exec, op, PackageManager::Apt, TIMEOUT).await?)
}

/// The image tag in a static pod manifest.
fn image_tag(manifest: &str) -> Option<String> {
    manifest.lines().find_map(|line| {
        let image = line.trim().trim_start_matches("- ").strip_prefix("image:")?.trim().trim_matches(['"', '\'']);
        image.rsplit_once(':').map(|(_, tag)| tag.to_owned())
    })
}

async fn backups_of(exec: &dyn Executor) -> Result<Vec<BackupView>, CliError> {
    let list = query(exec, &NodeOp::ListBackups).await?;
    let mut out = Vec::new();
    for Backup { kind, timestamp, path } in ops::parse_backups(&list)? {
        let (holds, bytes) = if kind == BackupKind::Manifests {
            let listing = query(exec, &NodeOp::ListDir { path: path.clone() }).await?;
            (recovery::manifests_in(&listing).iter().map(|p| p.name().to_owned()).collect(), None)
        } else {
            let usage = query(exec, &NodeOp::DiskUsage { path: path.clone() }).await?;
            (vec!["etcd data".to_owned()], ops::parse_disk_usage(&usage).ok())
        };
        out.push(BackupView { kind, timestamp, path, holds, bytes });
    }
    Ok(out)
}

async fn snapshots_of(exec: &dyn Executor) -> Result<Vec<SnapshotView>, CliError> {
    let runs = query(exec, &NodeOp::ListDir { path: SNAPSHOT_DIR.to_owned() }).await?;
    if runs.exit_code != 0 {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for run_dir in runs.stdout.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let dir = format!("{SNAPSHOT_DIR}/{run_dir}");
        let files = query(exec, &NodeOp::ListDir { path: dir.clone() }).await?;
        let snapshots = files
            .stdout
            .lines()
            .map(str::trim)
            .filter(|f| std::path::Path::new(f).extension().is_some_and(|e| e.eq_ignore_ascii_case("db")));
        for file in snapshots {
            let path = format!("{dir}/{file}");
            let usage = query(exec, &NodeOp::DiskUsage { path: path.clone() }).await?;
            out.push(SnapshotView { path, bytes: ops::parse_disk_usage(&usage).ok() });
        }
    }
    Ok(out)
}

async fn manifests_of(exec: &dyn Executor) -> Result<BTreeMap<String, String>, CliError> {
    let mut out = BTreeMap::new();
    for pod in StaticPod::ALL {
        let file = query(exec, &NodeOp::ReadFile { path: pod.manifest() }).await?;
        let tag = if file.exit_code == 0 { image_tag(&file.stdout) } else { None };
        out.insert(pod.name().to_owned(), tag.unwrap_or_else(|| "(no manifest)".to_owned()));
    }
    Ok(out)
}

/// The journal of this cluster's run, when there is one in `dir`.
fn journal_notes(dir: &std::path::Path, node: &str) -> Vec<String> {
    let Ok((header, progress)) = kubeladder_orchestrator::journal_store::inspect(dir) else { return Vec::new() };
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
    if notes.is_empty() {
        let done = header.plan.steps().filter(|s| s.node == node && progress.is_done(&s.id)).last();
        if let Some(step) = done {
            notes.push(format!("last done: {}", step.id));
        }
    }
    notes
}

fn control_planes<'a>(cluster: &'a Cluster, only: Option<&'a str>) -> Result<Vec<&'a str>, CliError> {
    let cps: Vec<&str> = cluster
        .inventory
        .nodes
        .iter()
        .filter(|n| n.role == Role::ControlPlane)
        .map(|n| n.name.as_str())
        .filter(|n| only.is_none_or(|o| o == *n))
        .collect();
    if let Some(o) = only
        && cps.is_empty()
    {
        return Err(usage(format!(
            "{o} is not a control-plane node of this cluster; kubeadm backups live on control-plane nodes"
        )));
    }
    Ok(cps)
}

/// `kubeladder recover list`.
pub async fn list(args: &RecoverListArgs) -> Result<Outcome, CliError> {
    let cluster = upgrade::read_cluster(&args.cluster).await?;
    let (execs, _) = upgrade::executors(args.reach.hosts.as_deref(), &cluster.inventory)?;
    let dir = upgrade::state_dir(args.reach.state_dir.as_deref(), &cluster.inventory)?;
    let mut report = Vec::new();
    for node in control_planes(&cluster, args.node.as_deref())? {
        let exec = execs.get(node).ok_or_else(|| usage(format!("no way to reach {node}")))?.as_ref();
        report.push(NodeBackups {
            node: node.to_owned(),
            manifests: manifests_of(exec).await?,
            backups: backups_of(exec).await?,
            snapshots: snapshots_of(exec).await?,
            journal: journal_notes(&dir, node),
        });
    }
    output::emit(args.output, &report, || render_list(&report))?;
    Ok(Outcome::Ok)
}

fn render_list(report: &[NodeBackups]) -> String {
    let mut out = String::new();
    for n in report {
        let now: Vec<String> = n.manifests.iter().map(|(c, t)| format!("{c} {t}")).collect();
        out += &format!("{}: manifests now: {}\n", n.node, now.join(", "));
        let mut rows: Vec<Vec<String>> = n
            .backups
            .iter()
            .map(|b| {
                let holds = if b.kind == BackupKind::Etcd { etcd_data(b.bytes) } else { b.holds.join(",") };
                vec![format!("kubeadm {:?}", b.kind).to_lowercase(), b.timestamp.clone(), holds, b.path.clone()]
            })
            .collect();
        rows.extend(
            n.snapshots
                .iter()
                .map(|s| vec!["etcd snapshot".to_owned(), "-".to_owned(), etcd_data(s.bytes), s.path.clone()]),
        );
        if rows.is_empty() {
            out += "  no kubeadm backups and no kubeladder snapshots\n";
        } else {
            out += &output::table(&["KIND", "TAKEN", "HOLDS", "PATH"], rows);
        }
        for note in &n.journal {
            out += &format!("  journal: {note}\n");
        }
        out += "\n";
    }
    out
}

/// One recovery action, as data: what it runs and what the node must show afterwards.
struct Recovery {
    name: &'static str,
    ops: Vec<NodeOp>,
    /// Raw argv for actions without a typed operation (kubeadm with --force).
    argv: Vec<Vec<String>>,
    /// Afterwards: control-plane pods Ready at this version.
    expect_version: Option<KubeVersion>,
    /// Afterwards: the etcd pod Ready.
    expect_etcd: bool,
}

/// The suffix of what a recovery keeps aside. Milliseconds included: the operations' done
/// checks look for the aside path, so two recoveries within one second must not share it.
fn stamp() -> String {
    let now = jiff::Timestamp::now();
    format!("{}-{:03}", now.strftime("%Y-%m-%d-%H-%M-%S"), now.subsec_millisecond())
}

/// `kubeladder recover node N ...`.
pub async fn node(args: &RecoverNodeArgs) -> Result<Outcome, CliError> {
    let chosen = [args.rerun, args.force_reconverge, args.restore_manifests.is_some(), args.restore_etcd.is_some()];
    if chosen.iter().filter(|c| **c).count() != 1 {
        return Err(usage(
            "choose exactly one of --rerun, --force-reconverge, --restore-manifests DIR, --restore-etcd DIR|SNAPSHOT",
        ));
    }
    let cluster = upgrade::read_cluster(&args.cluster).await?;
    control_planes(&cluster, Some(&args.node))?;
    let (execs, _) = upgrade::executors(args.reach.hosts.as_deref(), &cluster.inventory)?;
    let exec: Arc<dyn Executor> =
        execs.get(&args.node).cloned().ok_or_else(|| usage(format!("no way to reach {}", args.node)))?;
    let dir = upgrade::state_dir(args.reach.state_dir.as_deref(), &cluster.inventory)?;
    let recovery = plan_recovery(args, &cluster, exec.as_ref(), &dir).await?;

    let mut text = format!("recover {} on node {}: will run, in order:\n", recovery.name, args.node);
    for op in &recovery.ops {
        for argv in op.render(PackageManager::Apt) {
            text += &format!("  {}\n", kubeladder_node::exec::shell_join(&argv));
        }
    }
    for argv in &recovery.argv {
        text += &format!("  {}\n", kubeladder_node::exec::shell_join(argv));
    }
    if let Some(v) = recovery.expect_version {
        text += &format!("then wait for the control-plane pods of {} Ready at {v}\n", args.node);
    }
    if recovery.expect_etcd {
        text += &format!("then wait for etcd on {} Ready\n", args.node);
    }
    output::print(&text)?;
    if args.dry_run {
        return Ok(Outcome::Ok);
    }
    if !args.yes {
        return Err(usage(
            "nothing was changed; pass --yes to run the commands above (or --dry-run to only show them)",
        ));
    }
    for op in &recovery.ops {
        match exec::run_op(exec.as_ref(), op, PackageManager::Apt, TIMEOUT).await? {
            OpOutcome::AlreadyDone => output::print(&format!("already done: {}\n", op_name(op)))?,
            OpOutcome::Done(_) => output::print(&format!("done: {}\n", op_name(op)))?,
        }
    }
    for argv in &recovery.argv {
        let out = run(exec.as_ref(), argv).await?;
        if out.exit_code != 0 {
            return Err(CliError::Run {
                error: format!(
                    "node {}: `{}` failed with exit code {}: {}",
                    args.node,
                    kubeladder_node::exec::shell_join(argv),
                    out.exit_code,
                    out.stderr.trim()
                ),
                resume: format!("kubeladder recover list --node {}", args.node),
            });
        }
    }
    verify(&cluster, &args.node, &recovery, args.gate_timeout, args.poll).await?;
    reopen_journal(&dir, &cluster.inventory.cluster_uid, &args.node, recovery.name)?;
    output::print(&format!("node {} recovered and verified\n", args.node))?;
    Ok(Outcome::Ok)
}

fn op_name(op: &NodeOp) -> String {
    serde_json::to_value(op).ok().and_then(|v| v["op"].as_str().map(str::to_owned)).unwrap_or_default()
}

async fn plan_recovery(
    args: &RecoverNodeArgs,
    cluster: &Cluster,
    exec: &dyn Executor,
    dir: &std::path::Path,
) -> Result<Recovery, CliError> {
    let node = args.node.as_str();
    if args.rerun {
        let (header, progress) = kubeladder_orchestrator::journal_store::inspect(dir).map_err(|_| {
            usage(format!("--rerun needs the run's journal ({} has none); use --force-reconverge", dir.display()))
        })?;
        let step = header
            .plan
            .steps()
            .filter(|s| s.node == node && !progress.is_done(&s.id))
            .find(|s| matches!(s.action, Action::KubeadmUpgradeApply { .. } | Action::KubeadmUpgradeNode { .. }))
            .ok_or_else(|| usage(format!("the journal has no unfinished kubeadm step on {node}; nothing to rerun")))?;
        let (op, version) = match &step.action {
            Action::KubeadmUpgradeApply { version } => (NodeOp::KubeadmUpgradeApply { version: *version }, *version),
            Action::KubeadmUpgradeNode { version } => (NodeOp::KubeadmUpgradeNode, *version),
            _ => return Err(usage("internal: not a kubeadm step")),
        };
        return Ok(Recovery {
            name: "rerun",
            ops: vec![op],
            argv: Vec::new(),
            expect_version: Some(version),
            expect_etcd: false,
        });
    }
    if args.force_reconverge {
        let manifest = query(exec, &NodeOp::ReadFile { path: StaticPod::KubeApiserver.manifest() }).await?;
        let version = ops::manifest_image_version(&manifest.stdout)
            .ok_or_else(|| usage(format!("{node} has no readable kube-apiserver manifest; restore one first")))?;
        let argv = ["kubeadm", "upgrade", "apply", &version.to_string(), "--force", "-y"].map(str::to_owned).to_vec();
        return Ok(Recovery {
            name: "force-reconverge",
            ops: Vec::new(),
            argv: vec![argv],
            expect_version: Some(version),
            expect_etcd: false,
        });
    }
    let backups = backups_of(exec).await?;
    if let Some(wanted) = &args.restore_manifests {
        let wanted = wanted.trim_end_matches('/');
        let backup = backups.iter().find(|b| b.path == wanted || b.path.ends_with(&format!("/{wanted}"))).ok_or_else(|| {
            usage(format!(
                "{wanted} is not a kubeadm backup on {node}; `kubeladder recover list --node {node}` shows the ones there"
            ))
        })?;
        if backup.kind != BackupKind::Manifests {
            return Err(usage(format!("{} holds etcd data, not manifests; use --restore-etcd", backup.path)));
        }
        let pods: Vec<StaticPod> =
            StaticPod::ALL.into_iter().filter(|p| backup.holds.iter().any(|h| h == p.name())).collect();
        if pods.is_empty() {
            return Err(usage(format!("{} holds no manifest", backup.path)));
        }
        let apiserver = query(exec, &NodeOp::ReadFile { path: format!("{}/kube-apiserver.yaml", backup.path) }).await?;
        let expect_version = ops::manifest_image_version(&apiserver.stdout);
        refuse_foreign_version(node, &backup.path, expect_version, &cluster.inventory)?;
        return Ok(Recovery {
            name: "restore-manifests",
            ops: NodeOp::restore_manifests(&backup.path, &pods, &stamp()),
            argv: Vec::new(),
            expect_version,
            expect_etcd: pods.contains(&StaticPod::Etcd),
        });
    }
    plan_restore_etcd(args, cluster, exec, &backups).await
}

/// A manifests backup must come from the upgrade this cluster is in: its apiserver at most
/// one minor from the cluster's version (`kubeadm-config`). An older backup (an earlier
/// hop's, or another cluster's copied in) would put the node outside the skew policy.
fn refuse_foreign_version(
    node: &str,
    backup: &str,
    version: Option<KubeVersion>,
    inventory: &kubeladder_kube::inventory::Inventory,
) -> Result<(), CliError> {
    let Some(version) = version else { return Ok(()) };
    let cluster = inventory.cluster_version;
    if version.minor().minors_until(cluster.minor()).unsigned_abs() > 1 {
        return Err(usage(format!(
            "{backup} on {node} holds kube-apiserver {version}, but the cluster is at {cluster}: it is not a backup of \
             this upgrade; pick the backup of the failed step (`kubeladder recover list --node {node}`)"
        )));
    }
    Ok(())
}

/// `--restore-etcd`: refused on a multi-member etcd unless the operator accepts the risk.
async fn plan_restore_etcd(
    args: &RecoverNodeArgs,
    cluster: &Cluster,
    exec: &dyn Executor,
    backups: &[BackupView],
) -> Result<Recovery, CliError> {
    let node = args.node.as_str();
    let source = args.restore_etcd.as_deref().unwrap_or_default().trim_end_matches('/');
    let members =
        cluster.inventory.nodes.iter().filter(|n| n.control_plane.as_ref().is_some_and(|c| c.etcd.is_some())).count();
    if members > 1 && !args.allow_quorum_risk {
        return Err(usage(format!(
            "etcd has {members} members: restoring one member's data from a backup can lose writes the others have \
             and split the cluster; restore it by re-joining the member instead, or pass --allow-quorum-risk if you \
             know every other member is gone"
        )));
    }
    let pki = query(exec, &NodeOp::ListDir { path: recovery::ETCD_PKI_DIR.to_owned() }).await?;
    let missing = recovery::missing_etcd_certs(&pki);
    if !missing.is_empty() {
        return Err(usage(format!(
            "{node} lacks the etcd certificates a restored member needs to start ({} in {}); restore \
             /etc/kubernetes/pki from your backup, or renew them with `kubeadm init phase certs etcd-server` \
             and `etcd-peer`, then retry",
            missing.join(", "),
            recovery::ETCD_PKI_DIR
        )));
    }
    let info = cluster.inventory.nodes.iter().find(|n| n.name == node);
    let ip = info.and_then(|n| n.internal_ip.clone()).ok_or_else(|| usage(format!("{node} has no InternalIP")))?;
    let etcd_tag = info.and_then(|n| n.control_plane.as_ref()).and_then(|c| c.etcd.clone()).unwrap_or_default();
    let source = if let Some(b) = backups.iter().find(|b| b.path == source || b.path.ends_with(&format!("/{source}"))) {
        if b.kind != BackupKind::Etcd {
            return Err(usage(format!("{} holds manifests, not etcd data; use --restore-manifests", b.path)));
        }
        EtcdSource::DataCopy { path: recovery::kubeadm_etcd_backup_data(&b.path, recovery::ETCD_DATA_DIR) }
    } else {
        let exists = query(exec, &NodeOp::ReadFile { path: source.to_owned() }).await?;
        if exists.exit_code != 0 || !source.starts_with('/') {
            return Err(usage(format!(
                "{source} is neither a kubeadm etcd backup nor a snapshot file on {node}; `kubeladder recover list` shows both"
            )));
        }
        EtcdSource::Snapshot { path: source.to_owned(), tool: RestoreTool::for_etcd(&etcd_tag) }
    };
    let member = EtcdMember { name: node.to_owned(), peer_url: format!("https://{ip}:2380") };
    Ok(Recovery {
        name: "restore-etcd",
        ops: vec![
            NodeOp::StopStaticPod { pod: StaticPod::Etcd },
            NodeOp::restore_etcd(source, member, &stamp()),
            NodeOp::StartStaticPod { pod: StaticPod::Etcd },
        ],
        argv: Vec::new(),
        expect_version: None,
        expect_etcd: true,
    })
}

async fn verify(
    cluster: &Cluster,
    node: &str,
    recovery: &Recovery,
    timeout: Duration,
    poll: Duration,
) -> Result<(), CliError> {
    let api = &cluster.clients.api;
    let mut gates = Vec::new();
    if recovery.expect_etcd {
        gates.push(
            health::wait_for(timeout, poll, || async {
                Ok(health::static_pod_ready(api, node, "etcd").await.unwrap_or_else(|e| Gate {
                    name: "static-pod-ready".to_owned(),
                    passed: false,
                    message: e.to_string(),
                }))
            })
            .await?,
        );
    }
    if let Some(version) = recovery.expect_version {
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
        return Err(CliError::Run {
            error: format!("the node did not come back after {}: {}", recovery.name, failed.message),
            resume: format!("kubeladder recover list --node {node}"),
        });
    }
    Ok(())
}

/// Tell the journal (if this cluster has an unfinished one) which of the node's steps the
/// recovery may have undone, so `resume` checks them again.
fn reopen_journal(dir: &std::path::Path, cluster_uid: &str, node: &str, action: &str) -> Result<(), CliError> {
    if !dir.join("header.json").exists() {
        return Ok(());
    }
    let mut journal = Journal::open(dir, cluster_uid)?;
    let reopened = journal::steps_to_reopen(&journal.header().plan, journal.progress(), node);
    journal.record(Event::NodeRecovered { node: node.to_owned(), action: action.to_owned(), reopened })?;
    output::print(&format!(
        "journal {}: {node}'s steps of the current hop will be checked again on resume\n",
        dir.display()
    ))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{human_bytes, image_tag};

    #[test]
    fn sizes_read_like_du_h() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(2048), "2.0 KiB");
        assert_eq!(human_bytes(12_897_485), "12.3 MiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }

    #[test]
    fn reads_image_tags_from_manifests() {
        let manifest = "spec:\n  containers:\n  - command:\n    - etcd\n    image: k8s.gcr.io/etcd:3.4.13-0\n";
        assert_eq!(image_tag(manifest).as_deref(), Some("3.4.13-0"));
        assert_eq!(image_tag("image: \"registry.k8s.io/kube-apiserver:v1.19.16\"").as_deref(), Some("v1.19.16"));
        assert_eq!(image_tag("kind: Pod"), None);
    }
}
