//! Drain cost against the simulated cluster: API requests per drained node (from the
//! simulator's counters) and wall time of `kubeladder drain`, as a ratio to real
//! `kubectl drain` on an identical simulated cluster in the same run. Both run as their own
//! processes against the simulator, so neither shares the simulator's process or cores'
//! scheduling with it more than the other. Run: `cargo bench -p kubeladder --bench drain`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_precision_loss)] // a benchmark: a panic is the report

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

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

/// Drain `nodes` one after the other with `program ARGS... NODE` on a fresh simulated
/// cluster: wall time, API requests, and the pods the program said it evicted.
async fn drain_all(program: &Path, args: &[&str], nodes: &[&str]) -> (Duration, u64, usize) {
    let (sim, dir) = start().await;
    let before = total(&sim.request_counts());
    let t = Instant::now();
    let mut pods = 0;
    for node in nodes {
        let out = tokio::process::Command::new(program)
            .args(args)
            .arg(node)
            .env("HOME", dir.path())
            .env("KUBECONFIG", dir.path().join("kubeconfig"))
            .output()
            .await
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        pods += String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.starts_with("evicted pod/")).count();
    }
    let time = t.elapsed();
    let requests = total(&sim.request_counts()) - before;
    sim.shutdown().await;
    (time, requests, pods)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let kubectl = support::newest_kubectl();
    let nodes = ["worker-1", "worker-2", "worker-3"];

    let kubectl_args = ["drain", "--ignore-daemonsets", "--delete-emptydir-data", "--force", "--timeout", "120s"];
    let (kubectl_time, kubectl_requests, _) = drain_all(&kubectl, &kubectl_args, &nodes).await;
    let ours = Path::new(env!("CARGO_BIN_EXE_kubeladder"));
    let ours_args = ["drain", "--delete-emptydir-data", "--force", "--timeout", "120s", "--run-id", "bench"];
    let (ours_time, ours_requests, pods) = drain_all(ours, &ours_args, &nodes).await;

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
