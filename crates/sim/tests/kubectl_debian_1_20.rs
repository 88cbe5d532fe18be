//! Debian's own kubectl 1.20 (package `kubernetes-client`, the client of a 1.18-1.21
//! operator) against the simulator: it speaks policy/v1beta1 evictions and older
//! discovery. `scripts/test.sh` extracts the package into
//! `target/debian-kubernetes-client/` (it conflicts with the `kubectl` package, so it is
//! not installed); `KUBELADDER_DEBIAN_KUBECTL` points elsewhere.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{Env, rows};
use kubeladder_sim::Scenario;

fn debian_kubectl() -> PathBuf {
    let path = std::env::var_os("KUBELADDER_DEBIAN_KUBECTL").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/debian-kubernetes-client/usr/bin/kubectl"),
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "{} is missing: run ./scripts/test.sh, which extracts Debian's kubernetes-client package there",
        path.display()
    );
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debian_kubectl_1_20_reads_drains_and_uncordons() {
    let kubectl = debian_kubectl();
    let env = Env::start(Scenario::small()).await;
    let version = env.ok(&kubectl, &["version"]).await;
    assert!(version.contains("GitVersion:\"v1.20.") && version.contains("GitVersion:\"v1.18.20\""), "{version}");
    let nodes = rows(&env.ok(&kubectl, &["get", "nodes"]).await);
    assert_eq!(nodes[0], ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]);
    assert!(nodes[1..].iter().all(|r| r[1] == "Ready" && r[4] == "v1.18.20"), "{nodes:?}");
    let pdbs = env.ok(&kubectl, &["get", "pdb", "-A"]).await;
    assert!(pdbs.contains("hello"), "{pdbs}");
    let drained = env
        .ok(
            &kubectl,
            &["drain", "worker-1", "--ignore-daemonsets", "--delete-local-data", "--force", "--timeout", "60s"],
        )
        .await;
    assert!(drained.contains("node/worker-1 evicted") || drained.contains("node/worker-1 drained"), "{drained}");
    common::eventually("no workload pod left on worker-1", Duration::from_secs(20), || {
        env.sim.store().list("pods", None).iter().all(|p| {
            p.pointer("/spec/nodeName").and_then(|v| v.as_str()) != Some("worker-1")
                || p.pointer("/metadata/ownerReferences/0/kind").and_then(|v| v.as_str()) == Some("DaemonSet")
        })
    })
    .await;
    env.ok(&kubectl, &["uncordon", "worker-1"]).await;
    let node = env.sim.store().get("nodes", "", "worker-1").unwrap();
    assert_ne!(node.pointer("/spec/unschedulable").and_then(serde_json::Value::as_bool), Some(true));
    env.shutdown().await;
}
