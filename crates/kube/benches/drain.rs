//! Drain cost against the simulated cluster: API requests per drained node (from the
//! simulator's counters) and wall time, as a ratio to real `kubectl drain` on an identical
//! simulated cluster in the same run. Run: `cargo bench -p kubeladder-kube --bench drain`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_precision_loss)] // a benchmark: a panic is the report

use std::path::Path;
use std::time::{Duration, Instant};

use kubeladder_core::drain::DrainOptions;
use kubeladder_kube::client;
use kubeladder_kube::drain::{self, DrainConfig};
use kubeladder_sim::{Scenario, SimCluster, SimConfig, Timings};

fn total(c: &kubeladder_sim::api::RequestCounts) -> u64 {
    c.values().sum()
}

async fn start() -> (kubeladder_sim::RunningSim, tempfile::TempDir) {
    let config = SimConfig {
        speed: 20.0,
        timings: Timings { pod_start_secs: 2.0, pod_ready_secs: 2.0, pod_termination_secs: 2.0 },
        ..SimConfig::new(Scenario::large(40, 20))
    };
    let sim = SimCluster::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    sim.write_kubeconfig(&dir.path().join("kubeconfig")).unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    (sim, dir)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let kubectl = (27..=40)
        .rev()
        .map(|m| Path::new("/usr/lib/google-cloud-sdk/bin").join(format!("kubectl.1.{m}")))
        .find(|p| p.exists())
        .expect("a versioned kubectl");
    let nodes = ["worker-1", "worker-2", "worker-3"];

    let (sim, dir) = start().await;
    let before = total(&sim.request_counts());
    let t = Instant::now();
    for node in nodes {
        let out = tokio::process::Command::new(&kubectl)
            .args(["drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--force", "--timeout", "120s"])
            .env("HOME", dir.path())
            .env("KUBECONFIG", dir.path().join("kubeconfig"))
            .output()
            .await
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let kubectl_time = t.elapsed();
    let kubectl_requests = total(&sim.request_counts()) - before;
    sim.shutdown().await;

    let (sim, dir) = start().await;
    let clients = client::connect(Some(&dir.path().join("kubeconfig")), None).await.unwrap();
    let config = DrainConfig {
        run_id: "bench".to_owned(),
        options: DrainOptions { ignore_daemonsets: true, delete_emptydir_data: true, force: true },
        timeout: Duration::from_secs(120),
        ..DrainConfig::default()
    };
    let before = total(&sim.request_counts());
    let t = Instant::now();
    let mut pods = 0;
    for node in nodes {
        pods += drain::drain(&clients, node, &config).await.unwrap().evicted.len();
    }
    let ours_time = t.elapsed();
    let ours_requests = total(&sim.request_counts()) - before;
    sim.shutdown().await;

    let per_node = |r: u64| r as f64 / nodes.len() as f64;
    println!("drain of {} nodes, {pods} pods moved (large:40:20 scenario, speed 20)", nodes.len());
    println!("{:<12} {:>10} {:>14} {:>14}", "", "wall", "requests", "per node");
    println!(
        "{:<12} {:>8.2}s {:>14} {:>14.1}",
        "kubectl",
        kubectl_time.as_secs_f64(),
        kubectl_requests,
        per_node(kubectl_requests)
    );
    println!(
        "{:<12} {:>8.2}s {:>14} {:>14.1}",
        "kubeladder",
        ours_time.as_secs_f64(),
        ours_requests,
        per_node(ours_requests)
    );
    println!(
        "ratio kubeladder/kubectl: wall {:.2}, requests {:.2}",
        ours_time.as_secs_f64() / kubectl_time.as_secs_f64(),
        ours_requests as f64 / kubectl_requests as f64
    );
}
