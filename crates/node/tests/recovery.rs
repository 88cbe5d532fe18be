#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Recovery operations over real SSH (issue 9): manifests restored from a backup laid out
//! exactly as kubeadm writes it, static pods stopped and started by moving manifests, and a
//! real etcd 3.4 member restored from a snapshot and from kubeadm's copy of its data
//! directory, then serving what it held at that moment.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use kubeladder_core::kubeadm::StaticPod;
use kubeladder_node::PackageManager;
use kubeladder_node::exec::{OpOutcome, query, run_op};
use kubeladder_node::ops::{self, BackupKind, EtcdTls, NodeOp};
use kubeladder_node::recovery::{self, EtcdMember, EtcdSource, RestoreTool};
use kubeladder_node::{Executor, NodeError, SshExecutor, SshOptions};
use support::SshHost;
use support::etcd::{Etcd, write_pki};

const T: Duration = Duration::from_secs(60);
const APT: PackageManager = PackageManager::Apt;

fn manifest(pod: StaticPod, version: &str) -> String {
    let image = if pod == StaticPod::Etcd { "etcd:3.4.13-0".to_owned() } else { format!("{pod}:{version}") };
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {pod}\n  namespace: kube-system\nspec:\n  containers:\n  - image: registry.k8s.io/{image}\n"
    )
}

/// kubeadm's files: manifests 0600; backup directories 0700 under /etc/kubernetes/tmp.
fn write_private(path: &Path, contents: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn private_dir(path: &Path) {
    std::fs::create_dir_all(path).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).unwrap();
}

fn failed(result: Result<OpOutcome, NodeError>) -> (i32, String) {
    match result {
        Err(NodeError::CommandFailed { exit_code, stderr_tail, .. }) => (exit_code, stderr_tail),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn manifests_restore_component_by_component_from_a_kubeadm_backup() {
    let tmp = tempfile::tempdir().unwrap();
    let host = SshHost::start("cp-1", "127.0.0.2", &tmp.path().join("cp-1"));
    let exec = SshExecutor::new(host.host(), SshOptions::default());
    let k8s = host.dir.join("kubernetes");
    // After a failed `kubeadm upgrade apply v1.19.16` that left the new manifests: kubeadm
    // moved the 1.18 manifests of the components it upgraded into its backup (etcd was
    // not upgraded, so it is not there).
    for pod in StaticPod::ALL {
        write_private(&k8s.join("manifests").join(pod.file()), &manifest(pod, "v1.19.16"));
    }
    private_dir(&k8s.join("tmp"));
    let backup = k8s.join("tmp/kubeadm-backup-manifests-2024-05-01-10-00-00");
    private_dir(&backup);
    for pod in [StaticPod::KubeApiserver, StaticPod::KubeControllerManager, StaticPod::KubeScheduler] {
        write_private(&backup.join(pod.file()), &manifest(pod, "v1.18.20"));
    }
    private_dir(&k8s.join("tmp/kubeadm-upgraded-manifests123456"));

    let backups = ops::parse_backups(&query(&exec, &NodeOp::ListBackups, APT, T).await.unwrap()).unwrap();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!((backups[0].kind, backups[0].timestamp.as_str()), (BackupKind::Manifests, "2024-05-01-10-00-00"));
    let listing = query(&exec, &NodeOp::ListDir { path: backups[0].path.clone() }, APT, T).await.unwrap();
    let pods = recovery::manifests_in(&listing);
    assert_eq!(pods, [StaticPod::KubeApiserver, StaticPod::KubeControllerManager, StaticPod::KubeScheduler]);

    let restore = NodeOp::restore_manifests(&backups[0].path, &pods, "2024-05-01-11-30-00");
    for op in &restore {
        assert!(matches!(run_op(&exec, op, APT, T).await.unwrap(), OpOutcome::Done(_)), "{op}");
    }
    let aside = k8s.join("tmp/kubeladder-replaced-manifests-2024-05-01-11-30-00");
    for pod in &pods {
        let path = k8s.join("manifests").join(pod.file());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), manifest(*pod, "v1.18.20"));
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600, "{pod}: mode kept");
        assert_eq!(std::fs::read_to_string(aside.join(pod.file())).unwrap(), manifest(*pod, "v1.19.16"), "kept");
    }
    // Only the components in the backup changed; no temporary file is left anywhere.
    assert_eq!(std::fs::read_to_string(k8s.join("manifests/etcd.yaml")).unwrap(), manifest(StaticPod::Etcd, ""));
    assert_eq!(std::fs::read_dir(k8s.join("manifests")).unwrap().count(), 4);
    assert_eq!(std::fs::read_dir(&aside).unwrap().count(), 3);
    assert_eq!(std::fs::metadata(&aside).unwrap().permissions().mode() & 0o777, 0o700);
    let apiserver = std::fs::read_to_string(k8s.join("manifests/kube-apiserver.yaml")).unwrap();
    assert_eq!(ops::apiserver_manifest_version(&apiserver).unwrap().to_string(), "v1.18.20");
    // The backup is untouched, and a rerun changes nothing.
    assert_eq!(std::fs::read_dir(&backup).unwrap().count(), 3);
    for op in &restore {
        assert_eq!(run_op(&exec, op, APT, T).await.unwrap(), OpOutcome::AlreadyDone, "{op}");
    }

    // No such backup: refused with cp's reason, nothing changed.
    let missing = NodeOp::restore_manifests(
        "/etc/kubernetes/tmp/kubeadm-backup-manifests-2024-05-02-00-00-00",
        &[StaticPod::KubeApiserver],
        "2024-05-02-01-00-00",
    );
    let (code, stderr) = failed(run_op(&exec, &missing[0], APT, T).await);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("kubeadm-backup-manifests-2024-05-02-00-00-00/kube-apiserver.yaml: no such backup file"),
        "{stderr}"
    );
    assert!(!k8s.join("tmp/kubeladder-replaced-manifests-2024-05-02-01-00-00").exists());
    assert_eq!(std::fs::read_to_string(k8s.join("manifests/kube-apiserver.yaml")).unwrap(), apiserver);
}

#[tokio::test]
async fn static_pods_stop_and_start_by_moving_their_manifests() {
    let tmp = tempfile::tempdir().unwrap();
    let host = SshHost::start("cp-1", "127.0.0.3", &tmp.path().join("cp-1"));
    let exec = SshExecutor::new(host.host(), SshOptions::default());
    let k8s = host.dir.join("kubernetes");
    write_private(&k8s.join("manifests/etcd.yaml"), &manifest(StaticPod::Etcd, ""));
    let stop = NodeOp::StopStaticPod { pod: StaticPod::Etcd };
    let start = NodeOp::StartStaticPod { pod: StaticPod::Etcd };
    assert_eq!(run_op(&exec, &start, APT, T).await.unwrap(), OpOutcome::AlreadyDone, "running: nothing to start");
    assert!(matches!(run_op(&exec, &stop, APT, T).await.unwrap(), OpOutcome::Done(_)));
    assert!(!k8s.join("manifests/etcd.yaml").exists());
    assert_eq!(
        std::fs::read_to_string(k8s.join("tmp/kubeladder-stopped/etcd.yaml")).unwrap(),
        manifest(StaticPod::Etcd, "")
    );
    assert_eq!(run_op(&exec, &stop, APT, T).await.unwrap(), OpOutcome::AlreadyDone);

    // Someone wrote a new manifest meanwhile: starting would overwrite it, so it refuses.
    write_private(&k8s.join("manifests/etcd.yaml"), "someone else's\n");
    let (code, stderr) = failed(run_op(&exec, &start, APT, T).await);
    assert_eq!(code, 1);
    assert!(stderr.contains("/etc/kubernetes/manifests/etcd.yaml already exists; not overwriting it"), "{stderr}");
    assert_eq!(std::fs::read_to_string(k8s.join("manifests/etcd.yaml")).unwrap(), "someone else's\n");
    std::fs::remove_file(k8s.join("manifests/etcd.yaml")).unwrap();

    assert!(matches!(run_op(&exec, &start, APT, T).await.unwrap(), OpOutcome::Done(_)));
    assert_eq!(std::fs::read_to_string(k8s.join("manifests/etcd.yaml")).unwrap(), manifest(StaticPod::Etcd, ""));
    assert!(!k8s.join("tmp/kubeladder-stopped/etcd.yaml").exists());
}

/// Stop etcd the kubeladder way (its manifest moved away) and as the kubelet then does.
async fn stop_etcd(exec: &dyn Executor, etcd: &mut Etcd) {
    run_op(exec, &NodeOp::StopStaticPod { pod: StaticPod::Etcd }, APT, T).await.unwrap();
    etcd.stop();
}

async fn start_etcd(exec: &dyn Executor, etcd: &mut Etcd) {
    run_op(exec, &NodeOp::StartStaticPod { pod: StaticPod::Etcd }, APT, T).await.unwrap();
    etcd.start();
}

#[tokio::test]
async fn etcd_restores_from_a_snapshot_and_from_kubeadms_data_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let host = SshHost::start("cp-1", "127.0.0.4", &tmp.path().join("cp-1"));
    let exec = SshExecutor::new(host.host(), SshOptions::default());
    let k8s = host.dir.join("kubernetes");
    write_pki(&k8s.join("pki/etcd"));
    write_private(&k8s.join("manifests/etcd.yaml"), &manifest(StaticPod::Etcd, ""));
    // The member's data directory, seen by the node as /etc/kubernetes/etcd (a path the
    // test host's namespace owns; kubeadm's is /var/lib/etcd).
    let data_dir = "/etc/kubernetes/etcd";
    let mut etcd = Etcd::new("cp-1", &k8s.join("pki/etcd"), &k8s.join("etcd"), &tmp.path().join("etcd.log"));
    etcd.start();
    etcd.put("/registry/kubeladder", "before-the-snapshot");

    let snapshot = NodeOp::EtcdSnapshot {
        path: "/etc/kubernetes/snapshots/pre-hop.db".into(),
        tls: EtcdTls { endpoint: etcd.endpoint.clone(), ..EtcdTls::default() },
        etcdctl: "etcdctl".into(),
    };
    run_op(&exec, &snapshot, APT, T).await.unwrap();
    etcd.put("/registry/kubeladder", "after-the-snapshot");
    etcd.put("/registry/later", "written-later");

    let member = EtcdMember { name: etcd.name.clone(), peer_url: etcd.peer_url.clone() };
    let source = |path: &str| EtcdSource::Snapshot { path: path.to_owned(), tool: RestoreTool::for_etcd("3.4.23") };
    let restore = |source: EtcdSource, stamp: &str| NodeOp::RestoreEtcd {
        source,
        data_dir: data_dir.to_owned(),
        aside: recovery::etcd_aside(data_dir, stamp),
        member: member.clone(),
    };

    // A snapshot that does not exist: refused by etcdctl before anything changed.
    stop_etcd(&exec, &mut etcd).await;
    let bad = restore(source("/etc/kubernetes/snapshots/missing.db"), "2024-05-01-11-00-00");
    let (code, stderr) = failed(run_op(&exec, &bad, APT, T).await);
    assert_ne!(code, 0);
    assert!(stderr.contains("missing.db"), "{stderr}");
    assert!(k8s.join("etcd/member").exists() && !k8s.join("etcd-kubeladder-aside-2024-05-01-11-00-00").exists());
    start_etcd(&exec, &mut etcd).await;
    assert_eq!(etcd.get("/registry/kubeladder").as_deref(), Some("after-the-snapshot"), "nothing changed");

    // From the snapshot: the key as it was, the later one gone, the old data kept aside.
    stop_etcd(&exec, &mut etcd).await;
    let from_snapshot = restore(source("/etc/kubernetes/snapshots/pre-hop.db"), "2024-05-01-11-10-00");
    assert!(matches!(run_op(&exec, &from_snapshot, APT, T).await.unwrap(), OpOutcome::Done(_)));
    assert_eq!(run_op(&exec, &from_snapshot, APT, T).await.unwrap(), OpOutcome::AlreadyDone);
    assert!(k8s.join("etcd-kubeladder-aside-2024-05-01-11-10-00/member/snap/db").exists());
    assert!(!k8s.join("etcd.kubeladder-restoring").exists());
    let mode = std::fs::metadata(k8s.join("etcd")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    start_etcd(&exec, &mut etcd).await;
    assert_eq!(etcd.get("/registry/kubeladder").as_deref(), Some("before-the-snapshot"));
    assert_eq!(etcd.get("/registry/later"), None);

    // kubeadm's own backup of the data directory: `cp -r /var/lib/etcd <backup dir>` with
    // the member stopped, laid out as kubeadm does it (the data under `<backup>/etcd`).
    etcd.put("/registry/kubeladder", "in-kubeadms-backup");
    stop_etcd(&exec, &mut etcd).await;
    let backup = "/etc/kubernetes/tmp/kubeadm-backup-etcd-2024-05-01-12-00-00";
    let copy = ["sh", "-c", r#"mkdir -p -m 700 "$1" && cp -r "$2" "$1""#, "kubeadm", backup, data_dir];
    let out = exec.run(&copy.map(str::to_owned), T).await.unwrap();
    assert_eq!(out.exit_code, 0, "{out:?}");
    start_etcd(&exec, &mut etcd).await;
    etcd.put("/registry/kubeladder", "after-kubeadms-backup");
    stop_etcd(&exec, &mut etcd).await;
    // `recover list` shows the backup's size with real `du -sb`: at least the bbolt file.
    let usage = query(&exec, &NodeOp::DiskUsage { path: backup.to_owned() }, APT, T).await.unwrap();
    let db = std::fs::metadata(k8s.join("tmp/kubeadm-backup-etcd-2024-05-01-12-00-00/etcd/member/snap/db")).unwrap();
    assert!(ops::parse_disk_usage(&usage).unwrap() >= db.len(), "{usage:?}");
    let data = recovery::kubeadm_etcd_backup_data(backup, data_dir);
    assert!(host.dir.join("kubernetes/tmp/kubeadm-backup-etcd-2024-05-01-12-00-00/etcd/member").exists(), "{data}");
    let from_copy = restore(EtcdSource::DataCopy { path: data }, "2024-05-01-12-10-00");
    assert!(matches!(run_op(&exec, &from_copy, APT, T).await.unwrap(), OpOutcome::Done(_)));
    start_etcd(&exec, &mut etcd).await;
    assert_eq!(etcd.get("/registry/kubeladder").as_deref(), Some("in-kubeadms-backup"));
    assert!(k8s.join("tmp/kubeadm-backup-etcd-2024-05-01-12-00-00/etcd/member/snap/db").exists(), "backup kept");
}
