#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The sim transport: the apt scenarios `ssh_apt.rs` runs over real SSH, here against the
//! simulator's hosts through its HTTPS exec endpoint, reached from the hosts file the
//! simulator writes; and the transport's own failures (token, unknown host, dropped
//! connection) named with node, address and reason.

mod support;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kubeladder_core::Minor;
use kubeladder_node::CommandOutput;
use kubeladder_node::PackageManager;
use kubeladder_node::exec::{BoxFuture, executor_for, run_op};
use kubeladder_node::hosts::{Host, Hosts, Transport};
use kubeladder_node::ops::{NodeOp, RepoSource};
use kubeladder_node::{Executor, LineSink, NodeError};
use kubeladder_sim::{Fault, RunningSim, Scenario, SimCluster, SimConfig};
use support::apt_scenarios::{self, AptNode};

/// Debian's os-release, as a real node's image has it (the simulated hosts have none).
const OS_RELEASE: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nID=debian\n";

/// A running simulator and the hosts file it wrote (with its CA next to it).
struct Sim {
    running: RunningSim,
    hosts: Hosts,
    _dir: tempfile::TempDir,
}

async fn start() -> Sim {
    let sim = SimCluster::start(SimConfig { speed: 50.0, ..SimConfig::new(Scenario::small()) }).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("hosts.yaml.ca.pem");
    std::fs::write(&ca, sim.ca_pem()).unwrap();
    let path = dir.path().join("hosts.yaml");
    std::fs::write(&path, sim.hosts_yaml(&ca)).unwrap();
    let hosts = Hosts::load(&path).unwrap();
    Sim { running: sim, hosts, _dir: dir }
}

/// Records the kubeadm, kubelet, kubectl and systemctl commands the simulated host ran
/// (exit 0), as the stand-ins on the sshd hosts record theirs.
#[derive(Debug)]
struct Recording {
    inner: Box<dyn Executor>,
    calls: Arc<Mutex<Vec<String>>>,
}

impl Executor for Recording {
    fn node(&self) -> &str {
        self.inner.node()
    }

    fn run<'a>(&'a self, argv: &'a [String], timeout: Duration) -> BoxFuture<'a, Result<CommandOutput, NodeError>> {
        Box::pin(async move {
            let out = self.inner.run(argv, timeout).await?;
            let program = argv.first().map(String::as_str).unwrap_or_default();
            if out.exit_code == 0 && ["kubeadm", "kubelet", "kubectl", "systemctl"].contains(&program) {
                self.calls.lock().unwrap().push(argv.join(" "));
            }
            Ok(out)
        })
    }
}

/// One simulated host as an apt node: the same repository layout as the sshd tests'
/// mirrors (a legacy one, one per minor from 1.28), which the simulator serves.
struct SimAptNode<'a> {
    sim: &'a Sim,
    node: &'static str,
    calls: Arc<Mutex<Vec<String>>>,
}

impl<'a> SimAptNode<'a> {
    async fn new(sim: &'a Sim, node: &'static str) -> Self {
        let this = Self { sim, node, calls: Arc::default() };
        let exec = this.executor(None);
        let write = NodeOp::WriteFile { path: "/etc/os-release".into(), contents: OS_RELEASE.into(), mode: 0o644 };
        run_op(exec.as_ref(), &write, PackageManager::Apt, apt_scenarios::T).await.unwrap();
        this
    }
}

impl AptNode for SimAptNode<'_> {
    fn host(&self) -> Host {
        self.sim.hosts.resolve(self.node, None).unwrap()
    }

    fn executor(&self, sink: Option<LineSink>) -> Box<dyn Executor> {
        let inner = executor_for(&self.host(), &apt_scenarios::options(), sink).unwrap();
        Box::new(Recording { inner, calls: self.calls.clone() })
    }

    fn source(&self, minor: Minor) -> RepoSource {
        support::apt_mirror_source("file:/srv/mirror", minor)
    }

    fn invoked(&self) -> impl Future<Output = Vec<String>> + Send {
        let calls = self.calls.lock().unwrap().clone();
        async move { calls }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repository_switch_and_exact_installs_keep_holds() {
    let sim = start().await;
    let node = SimAptNode::new(&sim, "worker-1").await;
    assert_eq!(node.host().transport, Transport::Sim);
    apt_scenarios::repository_switch_and_exact_installs_keep_holds(&node).await;
    // The simulator's own view agrees.
    let state = sim.running.host_state("worker-1").unwrap();
    assert!(state.packages.iter().all(|p| p.held), "{state:?}");
    assert_eq!(state.package("kubeadm").unwrap().version.as_deref(), Some("1.29.10-1.1"));
    sim.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_report_apt_exit_code_and_stderr() {
    let sim = start().await;
    let node = SimAptNode::new(&sim, "worker-2").await;
    apt_scenarios::refusals_report_apt_exit_code_and_stderr(&node).await;
    sim.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubeadm_and_kubelet_commands_reach_the_node_and_stream() {
    let sim = start().await;
    let node = SimAptNode::new(&sim, "cp-1").await;
    apt_scenarios::kubeadm_and_kubelet_commands_reach_the_node_and_stream(&node).await;
    // The simulated kubeadm really upgraded the control plane's static pods.
    let manifest = sim.running.host_file("cp-1", "/etc/kubernetes/manifests/kube-apiserver.yaml").unwrap();
    assert_eq!(kubeladder_node::ops::apiserver_manifest_version(&manifest).unwrap().to_string(), "v1.19.16");
    sim.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transport_failures_name_node_address_and_reason() {
    let sim = start().await;
    let argv = ["true".to_owned()];
    let t = Duration::from_secs(10);

    let mut host = sim.hosts.resolve("cp-1", None).unwrap();
    let url = host.sim.as_ref().unwrap().url.clone();
    host.sim.as_mut().unwrap().token = "not-the-token".into();
    let e = executor_for(&host, &apt_scenarios::options(), None).unwrap().run(&argv, t).await.unwrap_err();
    assert!(matches!(e, NodeError::Auth { .. }), "{e}");
    assert!(e.to_string().contains("cp-1") && e.to_string().contains(&url) && e.to_string().contains("401"), "{e}");

    let ghost = sim.hosts.resolve("cp-9", Some("10.9.9.9")).unwrap();
    let e = executor_for(&ghost, &apt_scenarios::options(), None).unwrap().run(&argv, t).await.unwrap_err();
    assert!(e.to_string().contains("no host named cp-9"), "{e}");

    sim.running.add_fault(Fault::DropExec { node: "cp-1".into(), times: Some(1) }).unwrap();
    let cp = sim.hosts.resolve("cp-1", None).unwrap();
    let e = executor_for(&cp, &apt_scenarios::options(), None).unwrap().run(&argv, t).await.unwrap_err();
    assert!(matches!(e, NodeError::Sim { .. }), "{e}");
    assert!(e.to_string().contains("closed without an answer"), "{e}");
    // Once: the next command runs.
    let exec = executor_for(&cp, &apt_scenarios::options(), None).unwrap();
    assert_eq!(exec.run(&argv, t).await.unwrap().exit_code, 0);
    sim.running.shutdown().await;
}
