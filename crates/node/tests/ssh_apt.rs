#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Node operations over real SSH against real sshd instances, each "host" in its own mount
//! namespace with its own apt/dpkg state, installing stand-in packages from real local
//! apt repositories.

mod support;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kubeladder_core::Minor;
use kubeladder_node::exec::{OpOutcome, query, run_op};
use kubeladder_node::hosts::Host;
use kubeladder_node::ops::{NodeOp, RepoSource};
use kubeladder_node::{Executor, NodeError, SshExecutor, SshOptions};
use kubeladder_node::{KubePackage, PackageManager};
use support::apt_scenarios::{self, AptNode, install, packages};
use support::{Repos, SshHost};

const T: Duration = Duration::from_secs(60);
const APT: PackageManager = PackageManager::Apt;
const ALL: [KubePackage; 3] = KubePackage::ALL;

fn options() -> SshOptions {
    SshOptions { connect_timeout: Duration::from_secs(5), ..SshOptions::default() }
}

/// A real sshd host over real apt with the local repositories; the stand-in kubeadm and
/// systemctl record their calls in its `/etc/kubernetes/calls.log`.
struct SshAptNode {
    host: SshHost,
    repos: Repos,
    _tmp: tempfile::TempDir,
}

impl SshAptNode {
    fn start(node: &str, address: &str) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let repos = Repos::build(&tmp.path().join("repos"));
        let host = SshHost::start(node, address, &tmp.path().join(node));
        Self { host, repos, _tmp: tmp }
    }
}

impl AptNode for SshAptNode {
    fn host(&self) -> Host {
        self.host.host()
    }

    fn source(&self, minor: Minor) -> RepoSource {
        self.repos.source(minor)
    }

    fn invoked(&self) -> impl Future<Output = Vec<String>> + Send {
        let calls = self.host.calls();
        async move { calls }
    }
}

#[tokio::test]
async fn repository_switch_and_exact_installs_keep_holds() {
    let node = SshAptNode::start("cp-1", "127.0.0.2");
    apt_scenarios::repository_switch_and_exact_installs_keep_holds(&node).await;
}

#[tokio::test]
async fn refusals_report_apt_exit_code_and_stderr() {
    let node = SshAptNode::start("w-1", "127.0.0.3");
    apt_scenarios::refusals_report_apt_exit_code_and_stderr(&node).await;
}

#[tokio::test]
async fn kubeadm_and_kubelet_commands_reach_the_node_and_stream() {
    let node = SshAptNode::start("cp-1", "127.0.0.2");
    apt_scenarios::kubeadm_and_kubelet_commands_reach_the_node_and_stream(&node).await;
}

#[tokio::test]
async fn files_with_awkward_contents_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let host = SshHost::start("cp-1", "127.0.0.2", &tmp.path().join("cp-1"));
    let exec = SshExecutor::new(host.host(), options());
    let contents = "it's \"quoted\" $HOME `id` \\n\n\ttab\n".to_owned();
    let op =
        NodeOp::WriteFile { path: "/etc/kubernetes/odd/file.conf".into(), contents: contents.clone(), mode: 0o600 };
    run_op(&exec, &op, APT, T).await.unwrap();
    assert_eq!(std::fs::read_to_string(host.dir.join("kubernetes/odd/file.conf")).unwrap(), contents);
    assert_eq!(run_op(&exec, &op, APT, T).await.unwrap(), OpOutcome::AlreadyDone);
    let read = query(&exec, &NodeOp::ReadFile { path: "/etc/kubernetes/odd/file.conf".into() }, APT, T).await.unwrap();
    assert_eq!(read.stdout, contents);
}

#[tokio::test]
async fn host_key_mismatch_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let host = SshHost::start("cp-1", "127.0.0.2", &tmp.path().join("cp-1"));
    let other = SshHost::start("cp-2", "127.0.0.3", &tmp.path().join("cp-2"));
    // cp-1's address recorded with cp-2's key.
    let mut h = host.host();
    let fields: Vec<&str> = other.host_public_key.split_whitespace().collect();
    std::fs::write(&host.known_hosts, format!("[{}]:{} {} {}\n", host.address, host.port, fields[0], fields[1]))
        .unwrap();
    h.known_hosts = Some(host.known_hosts.clone());
    let exec = SshExecutor::new(h, options());
    let e = exec.run(&["true".to_owned()], T).await.unwrap_err();
    assert!(matches!(e, NodeError::HostKeyMismatch { line: 1, .. }), "{e}");
    let message = e.to_string();
    assert!(
        message.contains("REFUSED") && message.contains("does not match") && message.contains("SHA256:"),
        "{message}"
    );
}

#[tokio::test]
async fn unknown_host_is_refused_unless_trusted_on_first_use() {
    let tmp = tempfile::tempdir().unwrap();
    let host = SshHost::start("cp-1", "127.0.0.2", &tmp.path().join("cp-1"));
    std::fs::write(&host.known_hosts, "").unwrap();
    let e = SshExecutor::new(host.host(), options()).run(&["true".to_owned()], T).await.unwrap_err();
    assert!(matches!(e, NodeError::UnknownHostKey { .. }), "{e}");
    assert!(e.to_string().contains("is not in"), "{e}");

    let tofu = SshExecutor::new(host.host(), SshOptions { trust_on_first_use: true, ..options() });
    assert_eq!(tofu.run(&["true".to_owned()], T).await.unwrap().exit_code, 0);
    let recorded = std::fs::read_to_string(&host.known_hosts).unwrap();
    assert!(recorded.contains(&format!("[{}]:{}", host.address, host.port)), "{recorded}");
    // Now known: the strict executor accepts it.
    assert_eq!(SshExecutor::new(host.host(), options()).run(&["true".to_owned()], T).await.unwrap().exit_code, 0);
}

#[tokio::test]
async fn unreachable_addresses_fail_within_the_connect_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let host = SshHost::start("cp-1", "127.0.0.2", &tmp.path().join("cp-1"));
    let timeout = Duration::from_millis(800);

    // Nothing listening: refused at once.
    let mut h = host.host();
    h.address = "127.0.0.4".into();
    h.port = support::free_port("127.0.0.4");
    let started = Instant::now();
    let e = SshExecutor::new(h, SshOptions { connect_timeout: timeout, ..options() })
        .run(&["true".to_owned()], T)
        .await
        .unwrap_err();
    assert!(matches!(e, NodeError::Connect { .. }), "{e}");
    assert!(started.elapsed() < timeout, "{:?}", started.elapsed());

    // Something accepts TCP but never speaks SSH: the connect timeout fires.
    let silent = std::net::TcpListener::bind(("127.0.0.5", 0)).unwrap();
    let mut h = host.host();
    h.address = "127.0.0.5".into();
    h.port = silent.local_addr().unwrap().port();
    let started = Instant::now();
    let e = SshExecutor::new(h, SshOptions { connect_timeout: timeout, ..options() })
        .run(&["true".to_owned()], T)
        .await
        .unwrap_err();
    assert!(matches!(e, NodeError::ConnectTimeout { .. }), "{e}");
    assert!(started.elapsed() < timeout + Duration::from_millis(500), "{:?}", started.elapsed());
    assert!(e.to_string().contains("127.0.0.5"), "{e}");
}

#[tokio::test]
async fn command_timeout_and_reconnect_after_the_connection_drops() {
    let tmp = tempfile::tempdir().unwrap();
    let host = SshHost::start("cp-1", "127.0.0.2", &tmp.path().join("cp-1"));
    let exec = SshExecutor::new(host.host(), options());
    let seconds = format!("17.{:03}", std::process::id() % 1000);
    let e = exec.run(&["sleep".to_owned(), seconds.clone()], Duration::from_millis(500)).await.unwrap_err();
    assert!(matches!(e, NodeError::CommandTimeout { .. }), "{e}");
    // The timed-out command does not keep running on the node (sshd refuses `signal`
    // requests for root sessions; the executor kills the command's process group).
    let pattern = format!("^sleep {seconds}$");
    let mut gone = false;
    for _ in 0..60 {
        if exec.run(&["pgrep".to_owned(), "-f".to_owned(), pattern.clone()], T).await.unwrap().exit_code == 1 {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(gone, "sleep {seconds} still runs after the timeout");

    // Kill this connection's sshd process from inside the session: the next command reconnects.
    let _ = exec.run(&["sh".to_owned(), "-c".to_owned(), "kill -9 $PPID".to_owned()], Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let out = exec.run(&["echo".to_owned(), "back".to_owned()], T).await.unwrap();
    assert_eq!(out.stdout, "back\n");
}

#[tokio::test]
async fn sessions_run_concurrently_within_the_bound() {
    let tmp = tempfile::tempdir().unwrap();
    let host = SshHost::start("cp-1", "127.0.0.2", &tmp.path().join("cp-1"));
    let exec = Arc::new(SshExecutor::new(host.host(), SshOptions { max_sessions: 3, ..options() }));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..6 {
        let exec = exec.clone();
        tasks.push(tokio::spawn(async move {
            exec.run(&["sh".to_owned(), "-c".to_owned(), format!("sleep 0.5; echo {i}")], T).await.unwrap()
        }));
    }
    for (i, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.await.unwrap().stdout, format!("{i}\n"));
    }
    // 6 commands of 0.5 s, 3 at a time: two rounds, not one and not six.
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_secs(1) && elapsed < Duration::from_millis(2900), "{elapsed:?}");
}

#[tokio::test]
async fn two_hosts_upgrade_concurrently_without_touching_each_other() {
    let tmp = tempfile::tempdir().unwrap();
    let repos = Repos::build(&tmp.path().join("repos"));
    let a = SshHost::start("w-1", "127.0.0.2", &tmp.path().join("w-1"));
    let b = SshHost::start("w-2", "127.0.0.3", &tmp.path().join("w-2"));
    let (ea, eb) = (SshExecutor::new(a.host(), options()), SshExecutor::new(b.host(), options()));
    let repo = NodeOp::ConfigureRepository { source: repos.source(Minor::new(1, 19)) };
    let (ra, rb) = tokio::join!(run_op(&ea, &repo, APT, T), run_op(&eb, &repo, APT, T));
    ra.unwrap();
    rb.unwrap();
    let (ra, rb) = tokio::join!(install(&ea, &ALL, "1.19.16-00"), install(&eb, &ALL, "1.18.20-00"));
    ra.unwrap();
    rb.unwrap();
    assert!(packages(&ea).await.iter().all(|s| s.version.as_deref() == Some("1.19.16-00")));
    assert!(packages(&eb).await.iter().all(|s| s.version.as_deref() == Some("1.18.20-00")));
}

#[tokio::test]
async fn an_upgrade_keeps_a_locally_modified_conffile_without_prompting() {
    let node = SshAptNode::start("w-1", "127.0.0.4");
    let exec = node.executor(None);
    let exec = exec.as_ref();
    let legacy = NodeOp::ConfigureRepository { source: node.source(Minor::new(1, 18)) };
    run_op(exec, &legacy, APT, T).await.unwrap();
    install(exec, &[KubePackage::Kubeadm], "1.18.20-00").await.unwrap();
    // The operator edits the drop-in kubeadm's package ships as a conffile; the new
    // version ships another. Without `--force-confold` dpkg would prompt on stdin (at EOF:
    // the install fails).
    let dropin = support::KUBEADM_DROPIN;
    let write = ["sh", "-c", "echo '# edited by the operator' > \"$0\"", dropin].map(str::to_owned);
    assert_eq!(exec.run(&write, T).await.unwrap().exit_code, 0);
    let started = Instant::now();
    let done = install(exec, &[KubePackage::Kubeadm], "1.19.16-00").await;
    assert!(matches!(done, Ok(OpOutcome::Done(_))), "{done:?}");
    assert!(started.elapsed() < Duration::from_secs(30), "the install waited on stdin");
    let kept = exec.run(&["cat".to_owned(), dropin.to_owned()], T).await.unwrap().stdout;
    assert_eq!(kept, "# edited by the operator\n");
    let state = packages(exec).await;
    assert!(
        state.iter().any(|p| p.package == KubePackage::Kubeadm && p.version.as_deref() == Some("1.19.16-00")),
        "{state:?}"
    );
}
