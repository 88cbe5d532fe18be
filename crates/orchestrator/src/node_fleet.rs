//! [`NodePort`] over `kubeladder-node`: each plan action becomes a typed node operation
//! run through the node's executor (ssh, local or the simulator), with the operation's own
//! check, so a rerun skips finished work and a half-done step is done again.
//!
//! Which repository a minor is installed from: pkgs.k8s.io when it publishes the minor
//! (1.24 and later, or the node's pkgs.k8s.io mirror), the node's legacy mirror otherwise
//! (the legacy repositories were removed on 2024-03-04; see `kubeladder_node::sources`).
//! The exact package version comes from the repository itself, the way the upstream docs
//! pick it (`apt-cache madison kubeadm`, `yum list --showduplicates kubeadm`): the newest
//! revision of the hop's exact Kubernetes version (`1.28.14-2.1` where no `-1.1` exists).
//! A repository without that version fails the step before anything is installed.
//!
//! Actions without a check of their own (`kubeadm upgrade plan`, `kubeadm upgrade node` on
//! a worker, the kubelet restart) are idempotent: within a process they count as done once
//! they ran; after a crash they simply run again.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kubeladder_core::cluster::Role;
use kubeladder_core::package::{KubePackage, PackageManager, RepoStyle, Repository};
use kubeladder_core::plan::{Action, Step};
use kubeladder_core::release::ReleaseData;
use kubeladder_core::{KubeVersion, Minor};
use kubeladder_node::etcd_snapshot::{self, SnapshotRecord};
use kubeladder_node::exec::{self, OpOutcome};
use kubeladder_node::ops::{self, EtcdTls, RepoSource};
use kubeladder_node::sources::PackageSources;
use kubeladder_node::{Executor, NodeOp};

use crate::error::{OrchestratorError, StepError};
use crate::journal_store::{create_private_dir, write_private_atomically};
use crate::runner::NodePort;

/// Where etcd snapshots go on the first control-plane node.
pub const SNAPSHOT_DIR: &str = "/var/lib/kubeladder/snapshots";

/// The run's snapshot directory inside its state directory on the operator's machine.
pub const LOCAL_SNAPSHOT_DIR: &str = "snapshots";

/// How long one node command may take (kubeadm apply waits for static pods itself).
#[derive(Debug, Clone, Copy)]
pub struct CommandTimeouts {
    pub package: Duration,
    pub kubeadm: Duration,
    pub other: Duration,
}

impl Default for CommandTimeouts {
    fn default() -> Self {
        Self { package: Duration::from_secs(600), kubeadm: Duration::from_secs(1200), other: Duration::from_secs(120) }
    }
}

/// The nodes as the plan runner sees them: how to reach each, its role and package manager.
pub struct NodeFleet {
    executors: BTreeMap<String, Arc<dyn Executor>>,
    roles: BTreeMap<String, Role>,
    data: &'static ReleaseData,
    run_id: String,
    timeouts: CommandTimeouts,
    /// Known package managers: from the hosts file, or detected on first use.
    package_managers: Mutex<BTreeMap<String, PackageManager>>,
    /// Check-less steps that ran in this process.
    ran: Mutex<BTreeSet<String>>,
    /// Each node's package sources (from the hosts file; pkgs.k8s.io only when absent).
    sources: BTreeMap<String, PackageSources>,
    /// Where etcd snapshots' records (and, when copying, the snapshots) go on this machine.
    snapshots: Option<SnapshotStore>,
}

/// The run's snapshot directory on the operator's machine: one `<step>.json`
/// ([`kubeladder_node::etcd_snapshot::SnapshotRecord`]) per snapshot, and `<step>.db`, the
/// copy checked against the record's sha256, unless copying is switched off.
#[derive(Debug, Clone)]
pub struct SnapshotStore {
    pub dir: std::path::PathBuf,
    pub copy: bool,
}

impl std::fmt::Debug for NodeFleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeFleet").field("nodes", &self.executors.keys().collect::<Vec<_>>()).finish_non_exhaustive()
    }
}

impl NodeFleet {
    /// `package_managers` holds what the hosts file says; other nodes are detected.
    pub fn new(
        executors: BTreeMap<String, Arc<dyn Executor>>,
        roles: BTreeMap<String, Role>,
        package_managers: BTreeMap<String, PackageManager>,
        data: &'static ReleaseData,
        run_id: String,
    ) -> Self {
        Self {
            executors,
            roles,
            data,
            run_id,
            timeouts: CommandTimeouts::default(),
            package_managers: Mutex::new(package_managers),
            ran: Mutex::new(BTreeSet::new()),
            sources: BTreeMap::new(),
            snapshots: None,
        }
    }

    /// Each node's package sources from the hosts file.
    #[must_use]
    pub fn with_package_sources(mut self, sources: BTreeMap<String, PackageSources>) -> Self {
        self.sources = sources;
        self
    }

    /// The repository `node` installs `minor` from, or why none can serve it.
    fn repo_source(&self, node: &str, minor: Minor, pm: PackageManager) -> Result<RepoSource, StepError> {
        let sources = self.sources.get(node).cloned().unwrap_or_default();
        sources.repository(minor, self.repository(minor), pm.format()).ok_or_else(|| StepError::NoPackageSource {
            node: node.to_owned(),
            minor,
            key: if pm == PackageManager::Apt { "apt" } else { "yum and yum_key" },
        })
    }

    /// The exact package version the node's repository offers for `version`: the newest
    /// revision of that upstream version (`apt-cache madison`, `dnf list --showduplicates`).
    /// apt's index may predate the repository switch (a resumed run whose sources file was
    /// already written): when it lacks the version, refresh once and ask again.
    async fn resolve(
        &self,
        node: &str,
        package: KubePackage,
        version: &KubeVersion,
        pm: PackageManager,
    ) -> Result<String, StepError> {
        let exec = self.executor(node)?;
        let ask = NodeOp::AvailableVersions { package };
        let exact = |text: &String| RepoStyle::parse_package(pm.format(), text).is_ok_and(|(v, _)| v == *version);
        let mut offered =
            ops::parse_available(pm, package, &exec::query(exec, &ask, pm, self.timeouts.package).await?)?;
        if !offered.iter().any(exact) && pm == PackageManager::Apt {
            let update = ["apt-get".to_owned(), "update".to_owned(), "-q".to_owned()];
            exec.run(&update, self.timeouts.package).await?;
            offered = ops::parse_available(pm, package, &exec::query(exec, &ask, pm, self.timeouts.package).await?)?;
        }
        if let Some(found) = offered.iter().find(|t| exact(t)) {
            return Ok(found.clone());
        }
        let repository =
            self.repo_source(node, version.minor(), pm).map_or_else(|_| "configured".to_owned(), |r| r.url);
        let shown: Vec<&str> = offered.iter().take(6).map(String::as_str).collect();
        Err(StepError::VersionNotInRepository(Box::new(crate::error::MissingVersion {
            node: node.to_owned(),
            repository,
            package: package.name().to_owned(),
            version: version.to_string(),
            offered: if shown.is_empty() {
                "nothing".to_owned()
            } else if offered.len() > shown.len() {
                format!("{}, ... ({} in all)", shown.join(", "), offered.len())
            } else {
                shown.join(", ")
            },
        })))
    }

    /// Keep snapshot records (and copies, when `copy`) under `dir` on this machine.
    #[must_use]
    pub fn with_snapshot_store(mut self, dir: std::path::PathBuf, copy: bool) -> Self {
        self.snapshots = Some(SnapshotStore { dir, copy });
        self
    }

    #[must_use]
    pub fn with_timeouts(mut self, timeouts: CommandTimeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    fn executor(&self, node: &str) -> Result<&dyn Executor, StepError> {
        self.executors.get(node).map(AsRef::as_ref).ok_or_else(|| StepError::NoRoute { node: node.to_owned() })
    }

    /// The node's package manager: named in the hosts file, or detected once.
    pub async fn package_manager(&self, node: &str) -> Result<PackageManager, StepError> {
        if let Some(pm) = self.package_managers.lock().ok().and_then(|m| m.get(node).copied()) {
            return Ok(pm);
        }
        self.detect(node).await
    }

    /// Ask the node which package manager it has (this also proves it is reachable).
    /// A package manager named in the hosts file wins over the detected one.
    async fn detect(&self, node: &str) -> Result<PackageManager, StepError> {
        let detected = exec::detect_package_manager(self.executor(node)?, self.timeouts.other).await?;
        let Ok(mut known) = self.package_managers.lock() else {
            return Err(StepError::Internal("package manager cache poisoned".to_owned()));
        };
        if let Some(pm) = known.get(node) {
            return Ok(*pm);
        }
        let pm = detected.ok_or_else(|| StepError::NoPackageManager { node: node.to_owned() })?;
        known.insert(node.to_owned(), pm);
        Ok(pm)
    }

    /// Reach every node once, at most 16 at a time, before anything changes; every node
    /// that cannot be reached is named with the reason.
    pub async fn preflight(&self) -> Result<(), OrchestratorError> {
        use futures::StreamExt;
        let names: Vec<&String> = self.executors.keys().collect();
        let results: Vec<(String, Result<PackageManager, StepError>)> = futures::stream::iter(names)
            .map(|node| async move { (node.clone(), self.detect(node).await) })
            .buffer_unordered(16)
            .collect()
            .await;
        let mut problems: Vec<String> =
            results.into_iter().filter_map(|(node, r)| r.err().map(|e| format!("{node}: {e}"))).collect();
        problems.sort();
        if problems.is_empty() { Ok(()) } else { Err(OrchestratorError::Unreachable(problems)) }
    }

    /// The repository a minor is installed from.
    fn repository(&self, minor: Minor) -> Repository {
        match self.data.get(minor) {
            Some(r) if !r.repositories.contains(&Repository::PkgsK8sIo) => Repository::Legacy,
            _ => Repository::PkgsK8sIo,
        }
    }

    fn install_op(
        &self,
        packages: &[KubePackage],
        version: &KubeVersion,
        pm: PackageManager,
    ) -> Result<NodeOp, StepError> {
        let style = RepoStyle { repository: self.repository(version.minor()), format: pm.format() };
        Ok(NodeOp::install(packages, version, style)?)
    }

    /// The packages and version an install step puts on its node.
    fn install_target(action: &Action) -> Option<(&'static [KubePackage], &KubeVersion)> {
        match action {
            Action::InstallKubeadm { version } => Some((&[KubePackage::Kubeadm], version)),
            Action::InstallKubeletKubectl { version } => Some((&[KubePackage::Kubelet, KubePackage::Kubectl], version)),
            _ => None,
        }
    }

    fn snapshot_name(step: &Step) -> String {
        step.id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect()
    }

    fn snapshot_path(&self, step: &Step) -> String {
        format!("{SNAPSHOT_DIR}/{}/{}.db", self.run_id, Self::snapshot_name(step))
    }

    /// Done when the record exists, the node's file still has the recorded sha256 and (when
    /// copying) so does the copy here.
    async fn snapshot_done(&self, step: &Step, store: &SnapshotStore) -> Result<bool, StepError> {
        let name = Self::snapshot_name(step);
        let Ok(text) = std::fs::read_to_string(store.dir.join(format!("{name}.json"))) else { return Ok(false) };
        let Ok(record) = serde_json::from_str::<SnapshotRecord>(&text) else { return Ok(false) };
        let exec = self.executor(&step.node)?;
        let remote = etcd_snapshot::remote_sha256(exec, &record.node_path, self.timeouts.other).await?;
        if remote.as_deref() != Some(record.sha256.as_str()) {
            return Ok(false);
        }
        if store.copy {
            let Ok(bytes) = std::fs::read(store.dir.join(format!("{name}.db"))) else { return Ok(false) };
            return Ok(etcd_snapshot::sha256_hex(&bytes) == record.sha256);
        }
        Ok(true)
    }

    /// The etcd gate before a hop changes anything: every member answers, none is a
    /// learner or stale (belongs to no control-plane node), a leader is present
    /// (`core::etcd::gate`). Refuses with every problem, naming the members.
    async fn etcd_gate(&self, exec: &dyn Executor, step: &Step) -> Result<(), StepError> {
        let tls = EtcdTls::default();
        let access = etcd_snapshot::locate(exec, self.timeouts.other).await?;
        let (members, statuses) = etcd_snapshot::cluster_status(exec, &access, &tls, self.timeouts.other).await?;
        let control_planes: Vec<(String, String)> = self
            .roles
            .iter()
            .filter(|(_, role)| **role == Role::ControlPlane)
            .map(|(node, _)| (node.clone(), String::new()))
            .collect();
        let verdict = kubeladder_core::etcd::gate(&members, &statuses, &control_planes);
        if verdict.passed() {
            return Ok(());
        }
        let _ = step;
        Err(StepError::Gate { gate: "etcd".to_owned(), seconds: 0, message: verdict.problems.join("; ") })
    }

    /// Take the snapshot, copy it here and check the copy against the node's sha256, then
    /// write the record (last: a record means the snapshot is complete).
    async fn take_snapshot(&self, step: &Step, store: &SnapshotStore) -> Result<(), StepError> {
        let exec = self.executor(&step.node)?;
        let name = Self::snapshot_name(step);
        let path = self.snapshot_path(step);
        self.etcd_gate(exec, step).await?;
        let record = etcd_snapshot::take(exec, &path, &EtcdTls::default(), self.timeouts.other).await?;
        let io = |path: &std::path::Path, e: std::io::Error| StepError::SnapshotCopy {
            node: step.node.clone(),
            path: path.to_owned(),
            reason: e.to_string(),
        };
        create_private_dir(&store.dir).map_err(|e| io(&store.dir, e))?;
        if store.copy {
            let bytes = etcd_snapshot::fetch(exec, &path, record.size, self.timeouts.other).await?;
            let local = store.dir.join(format!("{name}.db"));
            let sha = etcd_snapshot::sha256_hex(&bytes);
            if sha != record.sha256 || bytes.len() as u64 != record.size {
                return Err(StepError::SnapshotCopy {
                    node: step.node.clone(),
                    path: local,
                    reason: format!(
                        "the copy has sha256 {sha} and {} bytes, the node's file {} has {} and {} bytes",
                        bytes.len(),
                        record.node_path,
                        record.sha256,
                        record.size
                    ),
                });
            }
            write_private_atomically(&local, &bytes).map_err(|(_, e)| io(&local, e))?;
        }
        let json = serde_json::to_vec_pretty(&record).map_err(|e| StepError::Internal(e.to_string()))?;
        let record_path = store.dir.join(format!("{name}.json"));
        write_private_atomically(&record_path, &json).map_err(|(_, e)| io(&record_path, e))
    }

    /// The node operation behind a step and its timeout.
    fn op_for(&self, step: &Step, pm: PackageManager) -> Result<(NodeOp, Duration), StepError> {
        let is_control_plane = self.roles.get(&step.node) == Some(&Role::ControlPlane);
        let t = self.timeouts;
        Ok(match &step.action {
            Action::EtcdSnapshot => (NodeOp::etcd_snapshot(self.snapshot_path(step)), t.other),
            Action::ConfigureRepository { minor } => {
                let source = self.repo_source(&step.node, *minor, pm)?;
                (NodeOp::ConfigureRepository { source }, t.package)
            }
            Action::InstallKubeadm { version } => (self.install_op(&[KubePackage::Kubeadm], version, pm)?, t.package),
            Action::InstallKubeletKubectl { version } => {
                (self.install_op(&[KubePackage::Kubelet, KubePackage::Kubectl], version, pm)?, t.package)
            }
            Action::KubeadmUpgradePlan { .. } => (NodeOp::KubeadmUpgradePlan, t.kubeadm),
            Action::KubeadmUpgradeApply { version } => (NodeOp::KubeadmUpgradeApply { version: *version }, t.kubeadm),
            Action::KubeadmUpgradeNode { version } if is_control_plane => {
                (NodeOp::KubeadmUpgradeControlPlaneNode { version: *version }, t.kubeadm)
            }
            Action::KubeadmUpgradeNode { .. } => (NodeOp::KubeadmUpgradeNode, t.kubeadm),
            Action::RestartKubelet { .. } => (NodeOp::RestartKubelet, t.other),
            other => return Err(StepError::Internal(format!("{other} is not a node operation"))),
        })
    }

    fn ran(&self, step: &Step) -> bool {
        self.ran.lock().is_ok_and(|r| r.contains(&step.id))
    }
}

impl NodePort for NodeFleet {
    async fn check(&self, step: &Step) -> Result<bool, StepError> {
        if let (Action::EtcdSnapshot, Some(store)) = (&step.action, &self.snapshots) {
            return self.snapshot_done(step, store).await;
        }
        let pm = self.package_manager(&step.node).await?;
        // An install is done when every package is installed at the step's Kubernetes
        // version (whatever revision the repository had) and, on apt, held.
        if let Some((packages, version)) = Self::install_target(&step.action) {
            let exec = self.executor(&step.node)?;
            let output = exec::query(exec, &NodeOp::QueryPackages, pm, self.timeouts.package).await?;
            let state = ops::parse_packages(pm, &output)?;
            return Ok(packages.iter().all(|p| {
                state.iter().any(|s| {
                    s.package == *p
                        && s.version
                            .as_deref()
                            .is_some_and(|v| RepoStyle::parse_package(pm.format(), v).is_ok_and(|(k, _)| k == *version))
                        && (pm != PackageManager::Apt || s.held)
                })
            }));
        }
        let (op, timeout) = self.op_for(step, pm)?;
        let Some(check) = op.check(pm) else { return Ok(self.ran(step)) };
        let output = self.executor(&step.node)?.run(&check, timeout).await?;
        Ok(op.is_done(pm, &output)?)
    }

    async fn run(&self, step: &Step) -> Result<(), StepError> {
        if let (Action::EtcdSnapshot, Some(store)) = (&step.action, &self.snapshots) {
            return self.take_snapshot(step, store).await;
        }
        let pm = self.package_manager(&step.node).await?;
        let exec = self.executor(&step.node)?;
        let (mut op, timeout) = self.op_for(step, pm)?;
        if let Some((packages, version)) = Self::install_target(&step.action)
            && let NodeOp::InstallPackages { version: exact, .. } = &mut op
        {
            *exact = self.resolve(&step.node, packages[0], version, pm).await?;
        }
        // The runner asks `run` only when the step must act; an apply acts even when the
        // manifests already show the version (see `PlanRunner`: an attempted apply reruns).
        let outcome = if matches!(op, NodeOp::KubeadmUpgradeApply { .. }) {
            exec::run_commands(exec, &op, pm, timeout).await?
        } else {
            exec::run_op(exec, &op, pm, timeout).await?
        };
        match outcome {
            OpOutcome::AlreadyDone | OpOutcome::Done(_) => {}
        }
        // After kubeadm changed a control plane (and maybe restarted its etcd member), the
        // etcd gate again before the next node is touched; the member gets a minute to rejoin.
        if matches!(op, NodeOp::KubeadmUpgradeApply { .. } | NodeOp::KubeadmUpgradeControlPlaneNode { .. })
            && self.snapshots.is_some()
        {
            let mut attempt = 0;
            loop {
                match self.etcd_gate(exec, step).await {
                    Ok(()) => break,
                    Err(_) if attempt < 30 => {
                        attempt += 1;
                        tokio::time::sleep(Duration::from_secs(2)).await;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        if let Ok(mut ran) = self.ran.lock() {
            ran.insert(step.id.clone());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubeladder_core::plan::Phase;
    use kubeladder_node::CommandOutput;
    use kubeladder_node::exec::BoxFuture;

    /// Records every argv; answers detection with apt and everything else with exit 0.
    #[derive(Debug, Default)]
    struct Recorder {
        seen: Mutex<Vec<Vec<String>>>,
    }

    impl Executor for Recorder {
        fn node(&self) -> &'static str {
            "cp-1"
        }

        fn run<'a>(
            &'a self,
            argv: &'a [String],
            _timeout: Duration,
        ) -> BoxFuture<'a, Result<CommandOutput, kubeladder_node::NodeError>> {
            self.seen.lock().unwrap().push(argv.to_vec());
            let stdout = if argv.iter().any(|a| a == "kubeladder-detect") {
                "/usr/bin/apt-get\n"
            } else if argv.iter().any(|a| a == "madison") {
                // What a mirror offers: 1.19.16 at -00, 1.29.4 rebuilt at -2.1 (and the old -1.1).
                "   kubeadm | 1.19.16-00 | https://m/kubernetes/apt kubernetes-xenial/main amd64 Packages\n   kubelet | 1.29.4-2.1 | https://m/v1.29/deb  Packages\n   kubelet | 1.29.4-1.1 | https://m/v1.29/deb  Packages\n   kubelet | 1.29.3-1.1 | https://m/v1.29/deb  Packages\n"
            } else {
                ""
            };
            Box::pin(
                async move { Ok(CommandOutput { exit_code: 0, stdout: stdout.to_owned(), stderr: String::new() }) },
            )
        }
    }

    fn mirrored() -> BTreeMap<String, PackageSources> {
        let sources = PackageSources {
            legacy: Some(kubeladder_node::sources::LegacyMirror {
                apt: Some("https://mirrors.aliyun.com/kubernetes/apt/".to_owned()),
                ..Default::default()
            }),
            pkgs_k8s_io: None,
        };
        [("cp-1".to_owned(), sources)].into()
    }

    fn ops(recorder: Arc<Recorder>) -> NodeFleet {
        let data = ReleaseData::embedded().unwrap();
        let executors: BTreeMap<String, Arc<dyn Executor>> =
            [("cp-1".to_owned(), recorder as Arc<dyn Executor>)].into();
        NodeFleet::new(
            executors,
            [("cp-1".to_owned(), Role::ControlPlane)].into(),
            BTreeMap::new(),
            data,
            "run-1".to_owned(),
        )
    }

    fn step(action: Action) -> Step {
        Step {
            id: format!("h1/cp-1/{}", action.name()),
            hop: 0,
            phase: Phase::ControlPlane,
            node: "cp-1".to_owned(),
            action,
        }
    }

    fn joined(recorder: &Recorder) -> Vec<String> {
        recorder.seen.lock().unwrap().iter().map(|a| a.join(" ")).collect()
    }

    #[tokio::test]
    async fn installs_the_newest_revision_the_repository_offers() {
        let recorder = Arc::new(Recorder::default());
        let nodes = ops(Arc::clone(&recorder));
        nodes.run(&step(Action::InstallKubeadm { version: KubeVersion::new(1, 19, 16) })).await.unwrap();
        nodes.run(&step(Action::InstallKubeletKubectl { version: KubeVersion::new(1, 29, 4) })).await.unwrap();
        let seen = joined(&recorder);
        assert!(seen.iter().any(|c| c == "apt-cache madison kubeadm"), "{seen:#?}");
        assert!(seen.iter().any(|c| c.contains("apt-get install") && c.ends_with("kubeadm=1.19.16-00")), "{seen:#?}");
        assert!(
            seen.iter().any(|c| c.contains("apt-get install") && c.ends_with("kubelet=1.29.4-2.1 kubectl=1.29.4-2.1")),
            "{seen:#?}"
        );
    }

    #[tokio::test]
    async fn a_version_the_repository_lacks_fails_before_installing() {
        let recorder = Arc::new(Recorder::default());
        let nodes = ops(Arc::clone(&recorder));
        let err =
            nodes.run(&step(Action::InstallKubeletKubectl { version: KubeVersion::new(1, 29, 5) })).await.unwrap_err();
        assert!(matches!(err, StepError::VersionNotInRepository(_)), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("v1.29.5") && text.contains("1.29.4-2.1") && text.contains("nothing was installed"),
            "{text}"
        );
        let seen = joined(&recorder);
        assert!(!seen.iter().any(|c| c.contains("apt-get install")), "{seen:#?}");
        // apt's index may predate the switch: it refreshed once before giving up.
        assert!(seen.iter().any(|c| c == "apt-get update -q"), "{seen:#?}");
    }

    #[tokio::test]
    async fn legacy_minors_come_from_the_legacy_mirror_and_later_ones_from_pkgs_k8s_io() {
        let recorder = Arc::new(Recorder::default());
        let nodes = ops(Arc::clone(&recorder));
        let err = nodes.run(&step(Action::ConfigureRepository { minor: Minor::new(1, 22) })).await.unwrap_err();
        assert!(matches!(err, StepError::NoPackageSource { .. }), "{err}");
        assert!(err.to_string().contains("package_sources.legacy"), "{err}");
        assert!(joined(&recorder).is_empty() || !joined(&recorder).iter().any(|c| c.contains("kubernetes.list")));
        let nodes = ops(Arc::clone(&recorder)).with_package_sources(mirrored());
        nodes.run(&step(Action::ConfigureRepository { minor: Minor::new(1, 22) })).await.unwrap();
        nodes.run(&step(Action::ConfigureRepository { minor: Minor::new(1, 30) })).await.unwrap();
        let seen = joined(&recorder);
        assert!(!seen.iter().any(|c| c.contains("apt.kubernetes.io")), "{seen:#?}");
        assert!(
            seen.iter().any(|c| c.contains("https://mirrors.aliyun.com/kubernetes/apt/ kubernetes-xenial main")),
            "{seen:#?}"
        );
        assert!(seen.iter().any(|c| c.contains("pkgs.k8s.io/core:/stable:/v1.30/deb/")), "{seen:#?}");
    }

    #[tokio::test]
    async fn check_less_steps_count_as_done_once_they_ran() {
        let recorder = Arc::new(Recorder::default());
        let nodes = ops(Arc::clone(&recorder));
        let restart = step(Action::RestartKubelet { version: KubeVersion::new(1, 19, 16) });
        assert!(!nodes.check(&restart).await.unwrap());
        nodes.run(&restart).await.unwrap();
        assert!(nodes.check(&restart).await.unwrap());
        let seen = joined(&recorder);
        assert!(seen.contains(&"systemctl restart kubelet".to_owned()), "{seen:#?}");
    }

    #[tokio::test]
    async fn snapshots_go_under_the_run_and_the_step() {
        let recorder = Arc::new(Recorder::default());
        let nodes = ops(Arc::clone(&recorder));
        nodes.run(&step(Action::EtcdSnapshot)).await.unwrap();
        let seen = joined(&recorder);
        assert!(
            seen.iter()
                .any(|c| c.contains("snapshot save /var/lib/kubeladder/snapshots/run-1/h1_cp-1_etcd-snapshot.db")),
            "{seen:#?}"
        );
    }

    #[tokio::test]
    async fn an_unknown_node_is_named() {
        let recorder = Arc::new(Recorder::default());
        let nodes = ops(recorder);
        let mut s = step(Action::Drain);
        s.node = "worker-9".to_owned();
        let err = nodes.check(&s).await.unwrap_err();
        assert!(matches!(&err, StepError::NoRoute { node } if node == "worker-9"), "{err}");
        assert_eq!(err.kind(), crate::error::FailureKind::Unreachable);
        assert!(err.to_string().contains("hosts file"), "{err}");
    }
}
