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

/// A `CronJob` in the version the cluster serves (batch/v1beta1 before 1.21, batch/v1 from it).
fn cronjob(api_version: &str) -> String {
    format!(
        "apiVersion: {api_version}\nkind: CronJob\nmetadata:\n  name: nightly\n  namespace: default\nspec:\n  schedule: \"0 3 * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: OnFailure\n          containers:\n          - name: job\n            image: busybox\n"
    )
}

/// The operators' clients of both eras against both ends of the policy/v1beta1 era: Debian's
/// kubectl 1.20 and the newest kubectl here, against a 1.18 cluster (budgets, evictions and
/// `CronJobs` only as v1beta1) and a 1.25 one (only as v1): each reads budgets and `CronJobs` and
/// drains through the version the cluster serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_and_new_kubectl_read_budgets_cronjobs_and_drain_on_1_18_and_1_25() {
    let mut clients = vec![("debian-1.20".to_owned(), debian_kubectl())];
    if let Some((minor, newest)) = common::kubectls().last() {
        clients.push((format!("1.{minor}"), newest.clone()));
    }
    for (version, served) in [
        (kubeladder_core::KubeVersion::new(1, 18, 20), "v1beta1"),
        (kubeladder_core::KubeVersion::new(1, 25, 16), "v1"),
    ] {
        for (client, kubectl) in &clients {
            let env = Env::start(Scenario::small().with_version(version)).await;
            let what = format!("kubectl {client} against {version}");
            // Only the served version answers.
            let gone = if served == "v1" { "v1beta1" } else { "v1" };
            let other = env.kubectl(kubectl, &["get", &format!("poddisruptionbudgets.{gone}.policy"), "-A"]).await;
            assert!(!other.status.success(), "{what}: policy/{gone} answered");
            let pdbs = env.ok(kubectl, &["get", "pdb", "-A"]).await;
            assert!(rows(&pdbs)[0].contains(&"ALLOWED".to_owned()) && pdbs.contains("hello"), "{what}: {pdbs}");
            let served_pdb =
                env.ok(kubectl, &["get", &format!("poddisruptionbudgets.{served}.policy"), "-A", "-o", "name"]).await;
            assert!(served_pdb.contains("hello"), "{what}: {served_pdb}");
            env.create(kubectl, &cronjob(&format!("batch/{served}"))).await;
            let json = env.ok(kubectl, &["get", "cronjobs", "-n", "default", "-o", "json"]).await;
            let list: serde_json::Value = serde_json::from_str(&json).unwrap();
            assert_eq!(list["items"][0]["metadata"]["name"], "nightly", "{what}");
            assert_eq!(list["items"][0]["apiVersion"], format!("batch/{served}"), "{what}");
            let drained = env
                .ok(
                    kubectl,
                    &[
                        "drain",
                        "worker-1",
                        "--ignore-daemonsets",
                        "--delete-emptydir-data",
                        "--force",
                        "--timeout",
                        "60s",
                    ],
                )
                .await;
            assert!(
                drained.contains("node/worker-1 drained") || drained.contains("node/worker-1 evicted"),
                "{what}: {drained}"
            );
            // kubectl 1.20 always posts policy/v1beta1 evictions (accepted throughout,
            // kubernetes/kubernetes#100724); newer kubectl posts the version discovery names.
            let posted =
                if client.starts_with("debian") || served == "v1beta1" { "policy/v1beta1" } else { "policy/v1" };
            let counts = env.sim.request_counts();
            let evictions = |v: &str| counts.get(&("eviction".to_owned(), format!("pods ({v})"))).copied().unwrap_or(0);
            assert!(evictions(posted) > 0, "{what}: evictions as {posted}: {counts:?}");
            let other = if posted == "policy/v1" { "policy/v1beta1" } else { "policy/v1" };
            assert_eq!(evictions(other), 0, "{what}: {counts:?}");
            env.shutdown().await;
        }
    }
}
