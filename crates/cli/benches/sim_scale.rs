//! The simulated cluster at scale: start time and memory for `large` with 1,000 and 5,000
//! nodes (30 pods each), and how long real `kubectl get nodes` and `kubeladder inventory`'s
//! reads take against it. Times are also given as a ratio to `kubectl version` (one tiny
//! request) measured in the same run. Run: `cargo bench -p kubeladder --bench sim_scale`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_precision_loss)] // a benchmark: a panic is the report

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use kubeladder_sim::{Scenario, SimCluster, SimConfig};

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

async fn timed_kubectl(kubectl: &Path, home: &Path, args: &[&str]) -> Duration {
    let t = Instant::now();
    let out = tokio::process::Command::new(kubectl)
        .args(args)
        .env("HOME", home)
        .env("KUBECONFIG", home.join("kubeconfig"))
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "kubectl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    t.elapsed()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let kubectl = support::newest_kubectl();
    println!(
        "{:>6} {:>7} {:>9} {:>9} {:>15} {:>15} {:>13}",
        "nodes", "pods", "start", "RSS MiB", "kubectl nodes", "inventory read", "kubectl ver."
    );
    for nodes in [1_000usize, 5_000] {
        let before = rss_mib();
        let t = Instant::now();
        let sim = SimCluster::start(SimConfig::new(Scenario::large(nodes, 30))).await.unwrap();
        let start = t.elapsed();
        let rss = rss_mib() - before;
        let home = tempfile::tempdir().unwrap();
        sim.write_kubeconfig(&home.path().join("kubeconfig")).unwrap();
        // Warm kubectl's discovery cache, then measure.
        timed_kubectl(&kubectl, home.path(), &["version"]).await;
        let baseline = timed_kubectl(&kubectl, home.path(), &["version"]).await;
        let get_nodes = timed_kubectl(&kubectl, home.path(), &["get", "nodes"]).await;
        let clients = kubeladder_kube::client::connect(Some(&home.path().join("kubeconfig")), None).await.unwrap();
        let t = Instant::now();
        let inventory = kubeladder_kube::inventory::Inventory::read(&clients.api).await.unwrap();
        let read = t.elapsed();
        assert_eq!(inventory.nodes.len(), nodes);
        println!(
            "{nodes:>6} {:>7} {:>8.2}s {rss:>9.0} {:>8.2}s ({:>3.0}x) {:>8.2}s ({:>3.0}x) {:>12.3}s",
            nodes * 30,
            start.as_secs_f64(),
            get_nodes.as_secs_f64(),
            get_nodes.as_secs_f64() / baseline.as_secs_f64(),
            read.as_secs_f64(),
            read.as_secs_f64() / baseline.as_secs_f64(),
            baseline.as_secs_f64()
        );
        sim.shutdown().await;
    }
}
