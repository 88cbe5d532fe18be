#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A real etcd 3.4 member on loopback with TLS (rcgen-made certificates at kubeadm's paths
//! under the host's `/etc/kubernetes/pki/etcd`): the snapshot operation, run over real SSH,
//! produces a file `etcdctl snapshot status` accepts, and a rerun is skipped.

mod support;

use std::process::Command;
use std::time::Duration;

use kubeladder_node::PackageManager;
use kubeladder_node::exec::{OpOutcome, run_op};
use kubeladder_node::ops::{EtcdTls, NodeOp};
use kubeladder_node::{SshExecutor, SshOptions};
use support::SshHost;
use support::etcd::{Etcd, write_pki};

#[tokio::test]
async fn snapshot_over_ssh_is_accepted_by_etcdctl() {
    let tmp = tempfile::tempdir().unwrap();
    let host = SshHost::start("cp-1", "127.0.0.2", &tmp.path().join("cp-1"));
    let pki = host.dir.join("kubernetes/pki/etcd");
    write_pki(&pki);
    let mut etcd = Etcd::new("kubeladder-test", &pki, &tmp.path().join("etcd-data"), &tmp.path().join("etcd.log"));
    etcd.start();
    etcd.put("/registry/kubeladder", "before-the-hop");

    let exec = SshExecutor::new(host.host(), SshOptions::default());
    // kubeadm's certificate paths (the defaults), through the host's /etc/kubernetes.
    let op = NodeOp::EtcdSnapshot {
        path: "/etc/kubernetes/snapshots/h1.db".into(),
        tls: EtcdTls { endpoint: etcd.endpoint.clone(), ..EtcdTls::default() },
        etcdctl: "etcdctl".into(),
    };
    let pm = PackageManager::Apt;
    let t = Duration::from_secs(60);
    assert!(matches!(run_op(&exec, &op, pm, t).await.unwrap(), OpOutcome::Done(_)));
    let file = host.dir.join("kubernetes/snapshots/h1.db");
    let status = Command::new("etcdctl")
        .env("ETCDCTL_API", "3")
        .args(["snapshot", "status", "-w", "json"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert!(status["totalKey"].as_u64().unwrap() >= 1, "{status}");
    assert_eq!(run_op(&exec, &op, pm, t).await.unwrap(), OpOutcome::AlreadyDone, "a valid snapshot is not retaken");

    // A corrupt file is not "done".
    std::fs::write(&file, b"not a snapshot").unwrap();
    assert!(matches!(run_op(&exec, &op, pm, t).await.unwrap(), OpOutcome::Done(_)));
}
