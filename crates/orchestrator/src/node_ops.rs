//! [`NodePort`] over `kubeladder-node`: each plan action becomes typed node operations
//! run through the node's executor (ssh, local or the simulator), each with its check so
//! a rerun skips finished work.
//!
//! Which repository a minor is installed from: pkgs.k8s.io when it publishes the minor
//! (1.24 and later), the legacy repository otherwise. Package versions follow the
//! repository's style (`1.19.16-00`, `1.29.4-1.1`, ...).
//!
//! Actions without a check of their own (`kubeadm upgrade plan`, `kubeadm upgrade node` on
//! a worker, the kubelet restart) are idempotent: within a process they count as done once
//! they ran; after a crash they simply run again.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kubeladder_core::cluster::Role;
use kubeladder_core::package::{RepoStyle, Repository};
use kubeladder_core::plan::{Action, Step};
use kubeladder_core::release::ReleaseData;
use kubeladder_core::{KubeVersion, Minor};
use kubeladder_node::exec::{self, OpOutcome};
use kubeladder_node::ops::{self, RepoSource};
use kubeladder_node::{Executor, KubePackage, NodeOp, PackageManager};

use crate::executor::NodePort;

/// Where etcd snapshots go on the first control-plane node.
pub const SNAPSHOT_DIR: &str = "/var/lib/kubeladder/snapshots";

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

/// The nodes as the executor sees them.
pub struct NodeOps {
    executors: BTreeMap<String, Arc<dyn Executor>>,
    roles: BTreeMap<String, Role>,
    data: &'static ReleaseData,
    run_id: String,
    timeouts: CommandTimeouts,
    /// Known package managers: from the hosts file, or detected on first use.
    package_managers: Mutex<BTreeMap<String, PackageManager>>,
    /// Check-less steps that ran in this process.
    ran: Mutex<BTreeSet<String>>,
}

impl std::fmt::Debug for NodeOps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeOps").field("nodes", &self.executors.keys().collect::<Vec<_>>()).finish_non_exhaustive()
    }
}

impl NodeOps {
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
        }
    }

    #[must_use]
    pub fn with_timeouts(mut self, timeouts: CommandTimeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    fn executor(&self, node: &str) -> Result<&dyn Executor, String> {
        self.executors
            .get(node)
            .map(AsRef::as_ref)
            .ok_or_else(|| format!("no way to reach node {node}: add it to the hosts file (or give it an InternalIP)"))
    }

    async fn package_manager(&self, node: &str) -> Result<PackageManager, String> {
        if let Some(pm) = self.package_managers.lock().ok().and_then(|m| m.get(node).copied()) {
            return Ok(pm);
        }
        self.detect(node).await
    }

    /// Ask the node which package manager it has (this also proves it is reachable).
    /// A package manager named in the hosts file wins over the detected one.
    async fn detect(&self, node: &str) -> Result<PackageManager, String> {
        let exec = self.executor(node)?;
        // Detection does not depend on the package manager it detects.
        let output = exec::query(exec, &NodeOp::DetectPackageManager, PackageManager::Apt, self.timeouts.other)
            .await
            .map_err(|e| e.to_string())?;
        let detected = ops::detect_package_manager(&output.stdout);
        let Ok(mut known) = self.package_managers.lock() else {
            return Err("internal error: package manager cache poisoned".to_owned());
        };
        if let Some(pm) = known.get(node) {
            return Ok(*pm);
        }
        let pm = detected.ok_or_else(|| {
            format!(
                "node {node} has none of apt-get, dnf5, dnf, yum on PATH; set package_manager for it in the hosts file"
            )
        })?;
        known.insert(node.to_owned(), pm);
        Ok(pm)
    }

    /// Reach every node once, at most 16 at a time, before anything changes; every node
    /// that cannot be reached is named with the reason.
    pub async fn preflight(&self) -> Result<(), Vec<String>> {
        use futures::StreamExt;
        let names: Vec<&String> = self.executors.keys().collect();
        let results: Vec<(String, Result<PackageManager, String>)> = futures::stream::iter(names)
            .map(|node| async move { (node.clone(), self.detect(node).await) })
            .buffer_unordered(16)
            .collect()
            .await;
        let mut problems: Vec<String> =
            results.into_iter().filter_map(|(node, r)| r.err().map(|e| format!("{node}: {e}"))).collect();
        problems.sort();
        if problems.is_empty() { Ok(()) } else { Err(problems) }
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
    ) -> Result<NodeOp, String> {
        let style = RepoStyle { repository: self.repository(version.minor()), format: pm.format() };
        NodeOp::install(packages, version, style).map_err(|e| e.to_string())
    }

    fn snapshot_path(&self, step: &Step) -> String {
        let name: String =
            step.id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
        format!("{SNAPSHOT_DIR}/{}/{name}.db", self.run_id)
    }

    /// The node operation behind a step and its timeout; `None` for check-less steps
    /// handled by [`Self::run_unchecked`].
    async fn op_for(&self, step: &Step) -> Result<Option<(NodeOp, Duration)>, String> {
        let pm = self.package_manager(&step.node).await?;
        let is_control_plane = self.roles.get(&step.node) == Some(&Role::ControlPlane);
        Ok(match &step.action {
            Action::EtcdSnapshot => Some((NodeOp::etcd_snapshot(self.snapshot_path(step)), self.timeouts.other)),
            Action::ConfigureRepository { minor } => {
                let source = RepoSource::upstream(*minor, self.repository(*minor), pm.format());
                Some((NodeOp::ConfigureRepository { source }, self.timeouts.package))
            }
            Action::InstallKubeadm { version } => {
                Some((self.install_op(&[KubePackage::Kubeadm], version, pm)?, self.timeouts.package))
            }
            Action::InstallKubeletKubectl { version } => Some((
                self.install_op(&[KubePackage::Kubelet, KubePackage::Kubectl], version, pm)?,
                self.timeouts.package,
            )),
            Action::KubeadmUpgradeApply { version } => {
                Some((NodeOp::KubeadmUpgradeApply { version: *version }, self.timeouts.kubeadm))
            }
            // On a control plane, `upgrade node` is done when its apiserver manifest names the version.
            Action::KubeadmUpgradeNode { version } if is_control_plane => {
                Some((NodeOp::KubeadmUpgradeApply { version: *version }, self.timeouts.kubeadm))
            }
            _ => None,
        })
    }

    fn unchecked_op(step: &Step) -> Result<NodeOp, String> {
        match &step.action {
            Action::KubeadmUpgradePlan { .. } => Ok(NodeOp::KubeadmUpgradePlan),
            Action::KubeadmUpgradeNode { .. } => Ok(NodeOp::KubeadmUpgradeNode),
            Action::RestartKubelet { .. } => Ok(NodeOp::RestartKubelet),
            other => Err(format!("{other} is not a node operation")),
        }
    }

    fn ran(&self, step: &Step) -> bool {
        self.ran.lock().is_ok_and(|r| r.contains(&step.id))
    }
}

/// The version in a static pod manifest's `image:` tag, if it is a Kubernetes version.
fn manifest_version(manifest: &str) -> Option<KubeVersion> {
    manifest.lines().find_map(|line| {
        let image = line.trim().trim_start_matches("- ").strip_prefix("image:")?.trim().trim_matches(['"', '\'']);
        KubeVersion::parse(image.rsplit_once(':')?.1).ok()
    })
}

/// The control-plane manifests kubeadm upgrades, in its order (etcd is checked by its own
/// version, which not every hop changes).
const CONTROL_PLANE_MANIFESTS: [&str; 3] = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"];

impl NodeOps {
    /// Whether `kubeadm upgrade apply|node` is done on a control-plane node: every one of
    /// its manifests names `version`. (A kubeadm killed half-way - its SSH session gone with
    /// a crashed kubeladder - leaves some upgraded and some not; the apiserver alone is not
    /// proof.)
    async fn control_plane_at(&self, node: &str, version: KubeVersion) -> Result<bool, String> {
        let exec = self.executor(node)?;
        for component in CONTROL_PLANE_MANIFESTS {
            let path = format!("{}/{component}.yaml", ops::MANIFESTS_DIR);
            let out = exec::query(exec, &NodeOp::ReadFile { path }, PackageManager::Apt, self.timeouts.other)
                .await
                .map_err(|e| e.to_string())?;
            if out.exit_code != 0 || manifest_version(&out.stdout) != Some(version) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

impl NodePort for NodeOps {
    async fn check(&self, step: &Step) -> Result<bool, String> {
        let is_control_plane = self.roles.get(&step.node) == Some(&Role::ControlPlane);
        match &step.action {
            Action::KubeadmUpgradeApply { version } => return self.control_plane_at(&step.node, *version).await,
            Action::KubeadmUpgradeNode { version } if is_control_plane => {
                return self.control_plane_at(&step.node, *version).await;
            }
            _ => {}
        }
        let Some((op, timeout)) = self.op_for(step).await? else { return Ok(self.ran(step)) };
        let pm = self.package_manager(&step.node).await?;
        let exec = self.executor(&step.node)?;
        let Some(check) = op.check(pm) else { return Ok(self.ran(step)) };
        let output = exec.run(&check, timeout).await.map_err(|e| e.to_string())?;
        op.is_done(pm, &output).map_err(|e| e.to_string())
    }

    async fn run(&self, step: &Step) -> Result<(), String> {
        let pm = self.package_manager(&step.node).await?;
        let exec = self.executor(&step.node)?;
        let (op, timeout) = match self.op_for(step).await? {
            Some(found) => found,
            None => (Self::unchecked_op(step)?, self.timeouts.kubeadm),
        };
        // `kubeadm upgrade node` on a control plane is run as itself; its check is the apply's.
        let op = match (&step.action, op) {
            (Action::KubeadmUpgradeNode { .. }, _) => NodeOp::KubeadmUpgradeNode,
            (_, op) => op,
        };
        match exec::run_op(exec, &op, pm, timeout).await.map_err(|e| e.to_string())? {
            OpOutcome::AlreadyDone | OpOutcome::Done(_) => {}
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
    use kubeladder_node::ExecResult;
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
        ) -> BoxFuture<'a, Result<ExecResult, kubeladder_node::NodeError>> {
            self.seen.lock().unwrap().push(argv.to_vec());
            let stdout = if argv.iter().any(|a| a == "kubeladder-detect") { "/usr/bin/apt-get\n" } else { "" };
            Box::pin(async move { Ok(ExecResult { exit_code: 0, stdout: stdout.to_owned(), stderr: String::new() }) })
        }
    }

    fn ops(recorder: Arc<Recorder>) -> NodeOps {
        let data = ReleaseData::embedded().unwrap();
        let executors: BTreeMap<String, Arc<dyn Executor>> =
            [("cp-1".to_owned(), recorder as Arc<dyn Executor>)].into();
        NodeOps::new(
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
    async fn installs_from_the_repository_that_publishes_the_minor() {
        let recorder = Arc::new(Recorder::default());
        let nodes = ops(Arc::clone(&recorder));
        nodes.run(&step(Action::InstallKubeadm { version: KubeVersion::new(1, 19, 16) })).await.unwrap();
        nodes.run(&step(Action::InstallKubeletKubectl { version: KubeVersion::new(1, 29, 4) })).await.unwrap();
        let seen = joined(&recorder);
        assert!(seen.iter().any(|c| c.contains("apt-get install") && c.ends_with("kubeadm=1.19.16-00")), "{seen:#?}");
        assert!(
            seen.iter().any(|c| c.contains("apt-get install") && c.ends_with("kubelet=1.29.4-1.1 kubectl=1.29.4-1.1")),
            "{seen:#?}"
        );
    }

    #[tokio::test]
    async fn configures_legacy_before_1_24_and_pkgs_k8s_io_after() {
        let recorder = Arc::new(Recorder::default());
        let nodes = ops(Arc::clone(&recorder));
        nodes.run(&step(Action::ConfigureRepository { minor: Minor::new(1, 22) })).await.unwrap();
        nodes.run(&step(Action::ConfigureRepository { minor: Minor::new(1, 30) })).await.unwrap();
        let seen = joined(&recorder);
        assert!(seen.iter().any(|c| c.contains("apt.kubernetes.io")), "{seen:#?}");
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

    #[test]
    fn reads_the_version_of_a_manifest() {
        let manifest = "spec:\n  containers:\n  - command:\n    image: registry.k8s.io/kube-scheduler:v1.19.16\n";
        assert_eq!(manifest_version(manifest), Some(KubeVersion::new(1, 19, 16)));
        assert_eq!(manifest_version("image: k8s.gcr.io/etcd:3.4.13-0"), None);
    }

    #[tokio::test]
    async fn an_unknown_node_is_named() {
        let recorder = Arc::new(Recorder::default());
        let nodes = ops(recorder);
        let mut s = step(Action::Drain);
        s.node = "worker-9".to_owned();
        let err = nodes.check(&s).await.unwrap_err();
        assert!(err.contains("worker-9") && err.contains("hosts file"), "{err}");
    }
}
