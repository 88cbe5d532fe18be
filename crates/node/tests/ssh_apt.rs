#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Node operations over real SSH against real sshd instances, each "host" in its own mount
//! namespace with its own apt/dpkg state, installing stand-in packages from real local
//! apt repositories.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kubeladder_core::package::{RepoStyle, Repository};
use kubeladder_core::{KubeVersion, Minor};
use kubeladder_node::exec::{OpOutcome, Stream, query, run_op};
use kubeladder_node::ops::{self, KubePackage, NodeOp, PackageManager, PackageState};
use kubeladder_node::probe::probe;
use kubeladder_node::{Executor, NodeError, SshExecutor, SshOptions};
use support::{Repos, SshHost};

const T: Duration = Duration::from_secs(60);
const APT: PackageManager = PackageManager::Apt;
const ALL: [KubePackage; 3] = KubePackage::ALL;

fn options() -> SshOptions {
    SshOptions { connect_timeout: Duration::from_secs(5), ..SshOptions::default() }
}

fn v(text: &str) -> KubeVersion {
    KubeVersion::parse(text).unwrap()
}

async fn packages(exec: &dyn Executor) -> Vec<PackageState> {
    ops::parse_packages(APT, &query(exec, &NodeOp::QueryPackages, APT, T).await.unwrap()).unwrap()
}

async fn showhold(exec: &dyn Executor) -> Vec<String> {
    let out = exec.run(&["apt-mark".to_owned(), "showhold".to_owned()], T).await.unwrap();
    assert_eq!(out.exit_code, 0, "{out:?}");
    out.stdout.lines().map(str::to_owned).collect()
}

async fn install(exec: &dyn Executor, packages: &[KubePackage], version: &str) -> Result<OpOutcome, NodeError> {
    let op = NodeOp::InstallPackages { packages: packages.to_vec(), version: version.to_owned(), change_held: true };
    run_op(exec, &op, APT, T).await
}

#[tokio::test]
async fn repository_switch_and_exact_installs_keep_holds() {
    let tmp = tempfile::tempdir().unwrap();
    let repos = Repos::build(&tmp.path().join("repos"));
    let host = SshHost::start("cp-1", "127.0.0.2", &tmp.path().join("cp-1"));
    let exec = SshExecutor::new(host.host(), options());

    let detected = query(&exec, &NodeOp::DetectPackageManager, APT, T).await.unwrap();
    assert_eq!(ops::detect_package_manager(&detected.stdout), Some(APT));

    // Legacy repository, first install: 1.18.20-00, held.
    let legacy = NodeOp::ConfigureRepository { source: repos.source(Minor::new(1, 18)) };
    assert!(matches!(run_op(&exec, &legacy, APT, T).await.unwrap(), OpOutcome::Done(_)));
    assert_eq!(run_op(&exec, &legacy, APT, T).await.unwrap(), OpOutcome::AlreadyDone, "rerun skips");
    let first = NodeOp::install(&ALL, &v("1.18.20"), RepoStyle::LEGACY_APT).unwrap();
    assert!(matches!(run_op(&exec, &first, APT, T).await.unwrap(), OpOutcome::Done(_)));
    assert_eq!(run_op(&exec, &first, APT, T).await.unwrap(), OpOutcome::AlreadyDone, "rerun skips");
    assert_eq!(showhold(&exec).await, ["kubeadm", "kubectl", "kubelet"]);
    let report = probe(&exec, None, T).await.unwrap();
    assert_eq!(report.next_minor, Some(Minor::new(1, 19)));
    assert_eq!(report.next_minor_available, ["1.19.16-00"], "{report:?}");

    // kubeadm alone to 1.19.16-00: the others stay at 1.18.20-00, everything stays held.
    install(&exec, &[KubePackage::Kubeadm], "1.19.16-00").await.unwrap();
    let state = packages(&exec).await;
    assert_eq!(state[0].version.as_deref(), Some("1.19.16-00"));
    assert_eq!(state[1].version.as_deref(), Some("1.18.20-00"));
    assert!(state.iter().all(|s| s.held), "{state:?}");
    assert_eq!(showhold(&exec).await, ["kubeadm", "kubectl", "kubelet"]);
    let version = exec.run(&["kubeadm".to_owned(), "version".to_owned()], T).await.unwrap();
    assert_eq!(version.stdout.trim(), "kubeadm version v1.19.16");

    // Switch to the per-minor repository for 1.28: the legacy versions are gone from view.
    let v128 = NodeOp::ConfigureRepository { source: repos.source(Minor::new(1, 28)) };
    assert!(!v128.is_done(APT, &exec.run(&v128.check(APT).unwrap(), T).await.unwrap()).unwrap());
    run_op(&exec, &v128, APT, T).await.unwrap();
    let list = std::fs::read_to_string(host.dir.join("etc-apt/sources.list.d/kubernetes.list")).unwrap();
    assert!(list.contains("v1.28 ./"), "{list}");
    install(&exec, &ALL, "1.28.15-1.1").await.unwrap();
    assert!(packages(&exec).await.iter().all(|s| s.version.as_deref() == Some("1.28.15-1.1") && s.held));

    // And to 1.29: an exact patch, not the newest (1.29.0 < 1.29.10 in dpkg's order).
    run_op(&exec, &NodeOp::ConfigureRepository { source: repos.source(Minor::new(1, 29)) }, APT, T).await.unwrap();
    let op = NodeOp::install(&[KubePackage::Kubeadm], &v("1.29.0"), RepoStyle::PKGS_DEB).unwrap();
    run_op(&exec, &op, APT, T).await.unwrap();
    let op = NodeOp::install(&[KubePackage::Kubeadm], &v("1.29.10"), RepoStyle::PKGS_DEB).unwrap();
    run_op(&exec, &op, APT, T).await.unwrap();
    assert_eq!(packages(&exec).await[0].version.as_deref(), Some("1.29.10-1.1"));
    assert_eq!(showhold(&exec).await, ["kubeadm", "kubectl", "kubelet"]);

    // What `hosts check` reports: the file: mirror names no repository, the installed
    // kubeadm's version does.
    let report = probe(&exec, None, T).await.unwrap();
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

#[tokio::test]
async fn refusals_report_apt_exit_code_and_stderr() {
    let tmp = tempfile::tempdir().unwrap();
    let repos = Repos::build(&tmp.path().join("repos"));
    let host = SshHost::start("w-1", "127.0.0.3", &tmp.path().join("w-1"));
    let exec = SshExecutor::new(host.host(), options());
    run_op(&exec, &NodeOp::ConfigureRepository { source: repos.source(Minor::new(1, 19)) }, APT, T).await.unwrap();
    install(&exec, &ALL, "1.18.20-00").await.unwrap();

    // Held, and asked not to change held packages (apt checks downgrades first, so this
    // is an upgrade).
    let op = NodeOp::InstallPackages {
        packages: vec![KubePackage::Kubeadm],
        version: "1.19.16-00".into(),
        change_held: false,
    };
    let (code, stderr, command) = failed(run_op(&exec, &op, APT, T).await);
    assert_eq!(code, 100);
    assert!(
        stderr.contains("Held packages were changed and -y was used without --allow-change-held-packages"),
        "{stderr}"
    );
    assert!(command.contains("kubeadm=1.19.16-00"), "{command}");
    assert!(packages(&exec).await.iter().all(|s| s.version.as_deref() == Some("1.18.20-00") && s.held));
    install(&exec, &[KubePackage::Kubeadm], "1.19.16-00").await.unwrap();

    // A version the repository does not have.
    let (code, stderr, _) = failed(install(&exec, &[KubePackage::Kubeadm], "1.19.99-00").await);
    assert_eq!(code, 100);
    assert!(stderr.contains("Version '1.19.99-00' for 'kubeadm' was not found"), "{stderr}");

    // A downgrade, even with held packages allowed to change.
    let (code, stderr, _) = failed(install(&exec, &[KubePackage::Kubeadm], "1.18.20-00").await);
    assert_eq!(code, 100);
    assert!(stderr.contains("Packages were downgraded and -y was used without --allow-downgrades"), "{stderr}");

    // Nothing changed.
    let state = packages(&exec).await;
    assert_eq!(state[0].version.as_deref(), Some("1.19.16-00"));
    assert_eq!(state[1].version.as_deref(), Some("1.18.20-00"));
    assert!(state.iter().all(|s| s.held), "{state:?}");
}

#[tokio::test]
async fn kubeadm_and_kubelet_commands_reach_the_node_and_stream() {
    let tmp = tempfile::tempdir().unwrap();
    let repos = Repos::build(&tmp.path().join("repos"));
    let host = SshHost::start("cp-1", "127.0.0.2", &tmp.path().join("cp-1"));
    let lines = Arc::new(Mutex::new(Vec::new()));
    let seen = lines.clone();
    let exec =
        SshExecutor::new(host.host(), options()).with_sink(Arc::new(move |node: &str, stream: Stream, line: &str| {
            seen.lock().unwrap().push(format!("{node} {stream:?} {line}"));
        }));
    run_op(&exec, &NodeOp::ConfigureRepository { source: repos.source(Minor::new(1, 19)) }, APT, T).await.unwrap();
    install(&exec, &ALL, "1.19.16-00").await.unwrap();

    let apply = NodeOp::KubeadmUpgradeApply { version: v("v1.19.16") };
    assert!(matches!(run_op(&exec, &apply, APT, T).await.unwrap(), OpOutcome::Done(_)));
    run_op(&exec, &NodeOp::KubeadmUpgradeNode, APT, T).await.unwrap();
    run_op(&exec, &NodeOp::RestartKubelet, APT, T).await.unwrap();
    assert_eq!(
        host.calls(),
        [
            "kubeadm upgrade apply v1.19.16 -y",
            "kubeadm upgrade node",
            "systemctl daemon-reload",
            "systemctl restart kubelet"
        ]
    );

    // apply's check: the apiserver manifest at the target means done.
    std::fs::create_dir_all(host.dir.join("kubernetes/manifests")).unwrap();
    std::fs::write(
        host.dir.join("kubernetes/manifests/kube-apiserver.yaml"),
        "spec:\n  containers:\n  - image: registry.k8s.io/kube-apiserver:v1.19.16\n",
    )
    .unwrap();
    assert_eq!(run_op(&exec, &apply, APT, T).await.unwrap(), OpOutcome::AlreadyDone);
    assert_eq!(host.calls().len(), 4);

    // Backups: listed through ls over ssh.
    let tmpdir = host.dir.join("kubernetes/tmp");
    std::fs::create_dir_all(tmpdir.join("kubeadm-backup-manifests-2024-05-01-10-00-00")).unwrap();
    std::fs::create_dir_all(tmpdir.join("kubeadm-backup-etcd-2024-05-01-10-00-00")).unwrap();
    std::fs::write(
        tmpdir.join("kubeadm-backup-manifests-2024-05-01-10-00-00/kube-apiserver.yaml"),
        "spec:\n  containers:\n  - image: registry.k8s.io/kube-apiserver:v1.18.20\n",
    )
    .unwrap();
    let backups = ops::parse_backups(&query(&exec, &NodeOp::ListBackups, APT, T).await.unwrap()).unwrap();
    assert_eq!(backups.len(), 2);
    let manifests = backups.iter().find(|b| b.kind == ops::BackupKind::Manifests).unwrap();
    let listing = query(&exec, &NodeOp::ListDir { path: manifests.path.clone() }, APT, T).await.unwrap();
    let pods = kubeladder_node::recovery::manifests_in(&listing);
    for op in NodeOp::restore_manifests(&manifests.path, &pods, "2024-05-01-11-00-00") {
        run_op(&exec, &op, APT, T).await.unwrap();
    }
    let restored = std::fs::read_to_string(host.dir.join("kubernetes/manifests/kube-apiserver.yaml")).unwrap();
    assert_eq!(ops::manifest_image_version(&restored), Some(v("v1.18.20")));
    assert!(matches!(run_op(&exec, &apply, APT, T).await.unwrap(), OpOutcome::Done(_)), "restored: apply runs again");

    // apt's output came through the sink, line by line, with the node name.
    let lines = lines.lock().unwrap();
    assert!(
        lines.iter().any(|l| l.starts_with("cp-1 Stdout ") && l.contains("Setting up kubeadm (1.19.16-00)")),
        "{lines:?}"
    );
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
