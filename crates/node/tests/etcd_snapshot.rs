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

/// The step's procedure against a real etcd over real SSH: no etcd container on this host,
/// so the host's etcdctl is used (the container-less fallback); the snapshot is verified,
/// its size and sha256 recorded, and the copy fetched off the node matches both - and
/// matches the file itself, read here.
#[tokio::test]
async fn take_and_fetch_over_ssh_match_the_recorded_checksum() {
    use kubeladder_node::etcd_snapshot::{self, sha256_hex};
    let tmp = tempfile::tempdir().unwrap();
    let host = SshHost::start("cp-1", "127.0.0.3", &tmp.path().join("cp-1"));
    let pki = host.dir.join("kubernetes/pki/etcd");
    write_pki(&pki);
    let mut etcd = Etcd::new("kubeladder-take", &pki, &tmp.path().join("etcd-data"), &tmp.path().join("etcd.log"));
    etcd.start();
    // Over 4 MiB, so the copy comes in more than one chunk.
    for i in 0..50 {
        etcd.put(&format!("/registry/k{i}"), &format!("{i:03}").repeat(100_000 / 3));
    }
    let exec = SshExecutor::new(host.host(), SshOptions::default());
    let t = Duration::from_secs(60);
    let tls = EtcdTls { endpoint: etcd.endpoint.clone(), ..EtcdTls::default() };
    let record = etcd_snapshot::take(&exec, "/etc/kubernetes/snapshots/run-1/h1.db", &tls, t).await.unwrap();
    assert!(record.taken_with.starts_with("host etcdctl 3.4"), "{record:?}");
    assert_eq!(record.verified_with, "etcdctl snapshot status");
    assert!(record.total_keys >= 50, "{record:?}");
    assert!(record.size > etcd_snapshot::CHUNK_BYTES, "{record:?}");
    let on_disk = std::fs::read(host.dir.join("kubernetes/snapshots/run-1/h1.db")).unwrap();
    assert_eq!(record.size, on_disk.len() as u64);
    assert_eq!(record.sha256, sha256_hex(&on_disk));
    let copy = etcd_snapshot::fetch(&exec, &record.node_path, record.size, t).await.unwrap();
    assert_eq!(sha256_hex(&copy), record.sha256, "the copy is the node's file");
    assert_eq!(
        etcd_snapshot::remote_sha256(&exec, &record.node_path, t).await.unwrap().as_deref(),
        Some(record.sha256.as_str())
    );
}
