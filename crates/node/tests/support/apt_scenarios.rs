//! The apt scenarios every transport must pass the same way: a real sshd host over real apt
//! (`ssh_apt.rs`) and a simulated host over the simulator's exec endpoint
//! (`sim_transport.rs`). Everything is observed through the executor; only the evidence that
//! kubeadm and systemctl ran is the transport's own ([`AptNode::invoked`]).

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kubeladder_core::kubeadm::StaticPod;
use kubeladder_core::package::{RepoStyle, Repository};
use kubeladder_core::{KubeVersion, Minor};
use kubeladder_node::exec::{OpOutcome, Stream, executor_for, query, run_op};
use kubeladder_node::hosts::Host;
use kubeladder_node::ops::{self, NodeOp, PackageState};
use kubeladder_node::probe::probe;
use kubeladder_node::{Executor, LineSink, NodeError, SshOptions};
use kubeladder_node::{KubePackage, PackageManager};

pub const T: Duration = Duration::from_secs(120);
const APT: PackageManager = PackageManager::Apt;
const ALL: [KubePackage; 3] = KubePackage::ALL;

/// One apt node under test.
pub trait AptNode: Sync {
    /// How kubeladder reaches it (from its hosts file entry).
    fn host(&self) -> Host;
    /// An executor for it; by default the one its [`Host`] names.
    fn executor(&self, sink: Option<LineSink>) -> Box<dyn Executor> {
        executor_for(&self.host(), &options(), sink).unwrap()
    }
    /// The repository definition for `minor` its world serves (legacy up to 1.27, one
    /// pkgs.k8s.io-style repository per minor from 1.28).
    fn source(&self, minor: Minor) -> ops::RepoSource;
    /// The kubeadm and systemctl invocations the node recorded, oldest first
    /// (`kubeadm upgrade apply v1.19.16 -y`).
    fn invoked(&self) -> impl Future<Output = Vec<String>> + Send;
}

pub fn options() -> SshOptions {
    SshOptions { connect_timeout: Duration::from_secs(5), ..SshOptions::default() }
}

fn v(text: &str) -> KubeVersion {
    KubeVersion::parse(text).unwrap()
}

pub async fn packages(exec: &dyn Executor) -> Vec<PackageState> {
    ops::parse_packages(APT, &query(exec, &NodeOp::QueryPackages, APT, T).await.unwrap()).unwrap()
}

pub async fn showhold(exec: &dyn Executor) -> Vec<String> {
    let out = exec.run(&["apt-mark".to_owned(), "showhold".to_owned()], T).await.unwrap();
    assert_eq!(out.exit_code, 0, "{out:?}");
    out.stdout.lines().map(str::to_owned).collect()
}

pub async fn install(exec: &dyn Executor, packages: &[KubePackage], version: &str) -> Result<OpOutcome, NodeError> {
    let op = NodeOp::InstallPackages { packages: packages.to_vec(), version: version.to_owned(), change_held: true };
    run_op(exec, &op, APT, T).await
}

async fn cat(exec: &dyn Executor, path: &str) -> String {
    query(exec, &NodeOp::ReadFile { path: path.to_owned() }, APT, T).await.unwrap().stdout
}

/// Configure `minor`'s repository and have every package at `version`, held: done now, or
/// already (a simulated node starts installed).
async fn start_at(node: &impl AptNode, exec: &dyn Executor, minor: Minor, version: &str) {
    run_op(exec, &NodeOp::ConfigureRepository { source: node.source(minor) }, APT, T).await.unwrap();
    let op = NodeOp::InstallPackages { packages: ALL.to_vec(), version: version.to_owned(), change_held: true };
    let first = run_op(exec, &op, APT, T).await.unwrap();
    assert!(matches!(first, OpOutcome::Done(_) | OpOutcome::AlreadyDone), "{first:?}");
    assert_eq!(run_op(exec, &op, APT, T).await.unwrap(), OpOutcome::AlreadyDone, "rerun skips");
}

/// Repository switch (legacy, then per-minor repositories) and exact-version installs,
/// the holds kept throughout.
pub async fn repository_switch_and_exact_installs_keep_holds(node: &impl AptNode) {
    let exec = node.executor(None);
    let exec = exec.as_ref();
    let detected = query(exec, &NodeOp::DetectPackageManager, APT, T).await.unwrap();
    assert_eq!(ops::detect_package_manager(&detected.stdout), Some(APT));

    // Legacy repository: 1.18.20-00, held.
    let legacy = NodeOp::ConfigureRepository { source: node.source(Minor::new(1, 18)) };
    let first = run_op(exec, &legacy, APT, T).await.unwrap();
    assert!(matches!(first, OpOutcome::Done(_)), "{first:?}");
    assert_eq!(run_op(exec, &legacy, APT, T).await.unwrap(), OpOutcome::AlreadyDone, "rerun skips");
    start_at(node, exec, Minor::new(1, 18), "1.18.20-00").await;
    assert_eq!(showhold(exec).await, ["kubeadm", "kubectl", "kubelet"]);
    let report = probe(exec, None, T).await.unwrap();
    assert_eq!(report.next_minor, Some(Minor::new(1, 19)));
    assert_eq!(report.next_minor_available.first().map(String::as_str), Some("1.19.16-00"), "{report:?}");
    assert!(report.next_minor_available.iter().all(|p| p.starts_with("1.19.")), "{report:?}");

    // kubeadm alone to 1.19.16-00: the others stay at 1.18.20-00, everything stays held.
    install(exec, &[KubePackage::Kubeadm], "1.19.16-00").await.unwrap();
    let state = packages(exec).await;
    assert_eq!(state[0].version.as_deref(), Some("1.19.16-00"));
    assert_eq!(state[1].version.as_deref(), Some("1.18.20-00"));
    assert!(state.iter().all(|s| s.held), "{state:?}");
    assert_eq!(showhold(exec).await, ["kubeadm", "kubectl", "kubelet"]);
    let version = exec.run(&["kubeadm".to_owned(), "version".to_owned()], T).await.unwrap();
    assert!(version.stdout.contains("v1.19.16"), "{version:?}");

    // Switch to the per-minor repository for 1.28: the legacy versions are gone from view.
    let v128 = NodeOp::ConfigureRepository { source: node.source(Minor::new(1, 28)) };
    assert!(!v128.is_done(APT, &exec.run(&v128.check(APT).unwrap(), T).await.unwrap()).unwrap());
    run_op(exec, &v128, APT, T).await.unwrap();
    let list = cat(exec, ops::APT_SOURCES_FILE).await;
    assert!(list.contains("v1.28"), "{list}");
    install(exec, &ALL, "1.28.15-1.1").await.unwrap();
    assert!(packages(exec).await.iter().all(|s| s.version.as_deref() == Some("1.28.15-1.1") && s.held));

    // And to 1.29: an exact patch, not the newest (1.29.0 < 1.29.10 in dpkg's order).
    run_op(exec, &NodeOp::ConfigureRepository { source: node.source(Minor::new(1, 29)) }, APT, T).await.unwrap();
    let op = NodeOp::install(&[KubePackage::Kubeadm], &v("1.29.0"), RepoStyle::PKGS_DEB).unwrap();
    run_op(exec, &op, APT, T).await.unwrap();
    assert_eq!(packages(exec).await[0].version.as_deref(), Some("1.29.0-1.1"));
    let op = NodeOp::install(&[KubePackage::Kubeadm], &v("1.29.10"), RepoStyle::PKGS_DEB).unwrap();
    run_op(exec, &op, APT, T).await.unwrap();
    assert_eq!(packages(exec).await[0].version.as_deref(), Some("1.29.10-1.1"));
    assert_eq!(showhold(exec).await, ["kubeadm", "kubectl", "kubelet"]);

    // What `hosts check` reports.
    let report = probe(exec, None, T).await.unwrap();
    assert_eq!(report.package_manager, APT);
    assert_eq!(report.repository, Some(Repository::PkgsK8sIo));
    assert!(report.os.is_some());
    assert!(report.packages.iter().all(|p| p.held));
}

fn failed(result: Result<OpOutcome, NodeError>) -> (i32, String, String) {
    match result {
        Err(NodeError::CommandFailed { exit_code, stderr_tail, command, .. }) => (exit_code, stderr_tail, command),
        other => panic!("expected apt to refuse, got {other:?}"),
    }
}

/// apt's refusals (held package, missing version, downgrade) come back with its exit code
/// and the tail of its stderr, and change nothing.
pub async fn refusals_report_apt_exit_code_and_stderr(node: &impl AptNode) {
    let exec = node.executor(None);
    let exec = exec.as_ref();
    start_at(node, exec, Minor::new(1, 19), "1.18.20-00").await;

    // Held, and asked not to change held packages (apt checks downgrades first, so this
    // is an upgrade).
    let op = NodeOp::InstallPackages {
        packages: vec![KubePackage::Kubeadm],
        version: "1.19.16-00".into(),
        change_held: false,
    };
    let (code, stderr, command) = failed(run_op(exec, &op, APT, T).await);
    assert_eq!(code, 100);
    assert!(
        stderr.contains("Held packages were changed and -y was used without --allow-change-held-packages"),
        "{stderr}"
    );
    assert!(command.contains("kubeadm=1.19.16-00"), "{command}");
    assert!(packages(exec).await.iter().all(|s| s.version.as_deref() == Some("1.18.20-00") && s.held));
    install(exec, &[KubePackage::Kubeadm], "1.19.16-00").await.unwrap();

    // A version the repository does not have.
    let (code, stderr, _) = failed(install(exec, &[KubePackage::Kubeadm], "1.19.99-00").await);
    assert_eq!(code, 100);
    assert!(stderr.contains("Version '1.19.99-00' for 'kubeadm' was not found"), "{stderr}");

    // A downgrade, even with held packages allowed to change.
    let (code, stderr, _) = failed(install(exec, &[KubePackage::Kubeadm], "1.18.20-00").await);
    assert_eq!(code, 100);
    assert!(stderr.contains("Packages were downgraded and -y was used without --allow-downgrades"), "{stderr}");

    // Nothing changed.
    let state = packages(exec).await;
    assert_eq!(state[0].version.as_deref(), Some("1.19.16-00"));
    assert_eq!(state[1].version.as_deref(), Some("1.18.20-00"));
    assert!(state.iter().all(|s| s.held), "{state:?}");
}

/// kubeadm and the kubelet restart reach the node with the right arguments, apply's check
/// reads the apiserver manifest, and apt's output streams line by line with the node name.
pub async fn kubeadm_and_kubelet_commands_reach_the_node_and_stream(node: &impl AptNode) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let seen = lines.clone();
    let sink: LineSink = Arc::new(move |node: &str, stream: Stream, line: &str| {
        seen.lock().unwrap().push(format!("{node} {stream:?} {line}"));
    });
    let exec = node.executor(Some(sink));
    let exec = exec.as_ref();
    let name = node.host().node;
    start_at(node, exec, Minor::new(1, 19), "1.18.20-00").await;
    install(exec, &ALL, "1.19.16-00").await.unwrap();
    let before = node.invoked().await.len();

    let apply = NodeOp::KubeadmUpgradeApply { version: v("v1.19.16") };
    assert!(matches!(run_op(exec, &apply, APT, T).await.unwrap(), OpOutcome::Done(_)));
    run_op(exec, &NodeOp::KubeadmUpgradeNode, APT, T).await.unwrap();
    run_op(exec, &NodeOp::RestartKubelet, APT, T).await.unwrap();
    assert_eq!(
        node.invoked().await[before..],
        [
            "kubeadm upgrade apply v1.19.16 -y",
            "kubeadm upgrade node",
            "systemctl daemon-reload",
            "systemctl restart kubelet"
        ]
    );

    // apply's check: every versioned manifest at the target means done; the apiserver's
    // alone (a kubeadm stopped half-way) does not.
    let write = |pod: StaticPod| NodeOp::WriteFile {
        path: pod.manifest(),
        contents: format!("spec:\n  containers:\n  - image: registry.k8s.io/{}:v1.19.16\n", pod.name()),
        mode: 0o600,
    };
    let is_done = async || apply.is_done(APT, &exec.run(&apply.check(APT).unwrap(), T).await.unwrap()).unwrap();
    run_op(exec, &write(StaticPod::KubeApiserver), APT, T).await.unwrap();
    for pod in [StaticPod::KubeControllerManager, StaticPod::KubeScheduler] {
        let remove = ["rm", "-f", "--", &pod.manifest()].map(str::to_owned);
        assert_eq!(exec.run(&remove, T).await.unwrap().exit_code, 0);
    }
    assert!(!is_done().await, "the apiserver manifest alone is not a finished kubeadm step");
    for pod in StaticPod::VERSIONED {
        run_op(exec, &write(pod), APT, T).await.unwrap();
    }
    assert!(is_done().await);
    assert_eq!(run_op(exec, &apply, APT, T).await.unwrap(), OpOutcome::AlreadyDone);
    assert_eq!(node.invoked().await.len(), before + 4, "nothing ran");

    // apt's output came through the sink, line by line, with the node name.
    let lines = lines.lock().unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("{name} Stdout ")) && l.contains("Setting up kubeadm (1.19.16-00)")),
        "{lines:?}"
    );
}
