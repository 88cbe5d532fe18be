//! `kubeladder plan` at scale: the simulator's `large:N:30` at v1.28.15 (1,000 and 5,000
//! nodes: 30,000 and 150,000 pods), target 1.33, `--workers lag` and `follow`. Run:
//! `cargo bench -p kubeladder --bench plan_scale` (`-- 1000` for some node counts only).
//!
//! Each run is the real `kubeladder plan -o json` process (cargo builds the binary for
//! benches and gives its path as `CARGO_BIN_EXE_kubeladder`), reported with:
//! - wall time and peak RSS, the kernel's `ru_maxrss` as GNU time reports it
//!   (`/usr/bin/time`, Debian package `time`);
//! - the split between API reads and planning, from the phase timings the binary itself
//!   prints with `KUBELADDER_TIMINGS=1` (`src/timings.rs`): the reads (inventory,
//!   workload, removed-API scan) and the pure work (planner, forecast, capacity, checks);
//! - the API requests the simulator counted during the process, per node.
//!
//! Every process gets a time limit and is killed past it, so the run stays bounded.
//! Machines are noisy and shared, so times are also given as ratios to baselines measured
//! in the same run against the same simulator: one `kubectl get nodes`, and for the pod
//! read one `kubectl get pods -A -o name` (kubectl pages by 500 as well).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_precision_loss)] // a benchmark: a panic is the report

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use kubeladder_core::KubeVersion;
use kubeladder_sim::{RunningSim, Scenario, SimCluster, SimConfig};

const FROM: &str = "v1.28.15";
const TO: &str = "1.33";
const DATE: &str = "2025-11-01";
/// Time limit of each `kubeladder plan` process (seconds; `PLAN_SCALE_LIMIT` overrides it).
const DEFAULT_LIMIT: u64 = 120;
const READS: [&str; 3] = ["read inventory", "read workload", "read removed APIs"];
const PURE: [&str; 4] = ["plan", "forecast", "capacity", "checks"];

fn secs(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

fn limit() -> Duration {
    Duration::from_secs(std::env::var("PLAN_SCALE_LIMIT").ok().and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_LIMIT))
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

/// What one `kubeladder plan` process did.
struct Run {
    wall: Duration,
    peak_mib: f64,
    /// Exit code, steps and forecast waves; `None` when it was killed at the limit.
    done: Option<(i32, u64, usize)>,
    /// The binary's own phase timings.
    phases: BTreeMap<String, Duration>,
    requests: u64,
}

impl Run {
    fn sum(&self, names: &[&str]) -> Duration {
        names.iter().filter_map(|n| self.phases.get(*n)).sum()
    }

    fn show(&self, name: &str) -> String {
        self.phases.get(name).map_or_else(|| "-".to_owned(), |d| secs(*d))
    }
}

async fn plan_process(sim: &RunningSim, home: &Path, workers: &str, limit: Duration) -> Run {
    let rss_file = home.join(format!("rss-{workers}"));
    let before: u64 = sim.request_counts().values().sum();
    let t = Instant::now();
    // GNU time reports the peak RSS of `timeout` and of what it waited for: the plan process.
    // `timeout` ends it with SIGTERM (which `plan` does not handle) and waits for it; a
    // SIGKILL from `timeout` would kill `timeout` too, and the peak with it.
    let out = tokio::process::Command::new("/usr/bin/time")
        .arg("-o")
        .arg(&rss_file)
        .args(["-f", "%M", "timeout", "-k", "5", &limit.as_secs().to_string()])
        .arg(env!("CARGO_BIN_EXE_kubeladder"))
        .args(["plan", "-o", "json", "--to", TO, "--workers", workers, "--date", DATE])
        .env("HOME", home)
        .env("KUBECONFIG", home.join("kubeconfig"))
        .env("KUBELADDER_TIMINGS", "1")
        // Loopback only: the shipped release data, no dl.k8s.io.
        .env("KUBELADDER_RELEASE_URL", "off")
        .output()
        .await
        .unwrap();
    let wall = t.elapsed();
    let requests = sim.request_counts().values().sum::<u64>() - before;
    // GNU time writes `Command exited with non-zero status N` first when it did.
    let kib: f64 = std::fs::read_to_string(&rss_file)
        .unwrap()
        .lines()
        .rev()
        .find_map(|l| l.trim().parse().ok())
        .expect("GNU time's %M");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let phases = stderr
        .lines()
        .filter_map(|l| {
            let mut parts = l.split('\t');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("timing"), Some(name), Some(s)) => {
                    Some((name.to_owned(), Duration::from_secs_f64(s.parse().ok()?)))
                }
                _ => None,
            }
        })
        .collect();
    let code = out.status.code().unwrap_or(-1);
    let done = if code == 0 || code == 3 {
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("plan -o json");
        let steps = report["steps"].as_u64().unwrap_or(0);
        let waves = report["forecast"]["waves"].as_array().map_or(0, Vec::len);
        Some((code, steps, waves))
    } else {
        assert!(code == 124, "plan --workers {workers}: {stderr}");
        None
    };
    Run { wall, peak_mib: kib / 1024.0, done, phases, requests }
}

fn report(run: &Run, workers: &str, nodes: usize, get_nodes: Duration, get_pods: Duration) {
    let x = |d: Duration| format!("{:.0}x", ratio(d, get_nodes));
    let Some((code, steps, waves)) = run.done else {
        println!(
            "  --workers {workers:<6} killed at {} ({} kubectl get nodes), peak RSS until then {:.0} MiB; phases done: {:?}",
            secs(run.wall),
            x(run.wall),
            run.peak_mib,
            run.phases.keys().collect::<Vec<_>>()
        );
        return;
    };
    let (reads, pure) = (run.sum(&READS), run.sum(&PURE));
    println!(
        "  --workers {workers:<6} {} ({} kubectl get nodes), peak RSS {:.0} MiB, exit {code}, {steps} steps, {waves} waves",
        secs(run.wall),
        x(run.wall),
        run.peak_mib
    );
    println!(
        "    API reads {} ({}): inventory {}, workload {} ({:.2}x kubectl get pods), removed APIs {}; {} requests ({:.4} per node)",
        secs(reads),
        x(reads),
        run.show(READS[0]),
        run.show(READS[1]),
        run.phases.get(READS[1]).map_or(f64::NAN, |d| ratio(*d, get_pods)),
        run.show(READS[2]),
        run.requests,
        run.requests as f64 / nodes as f64
    );
    println!(
        "    planning {} ({}): plan {}, forecast {}, capacity {}, checks {}; reads / planning {:.1}",
        secs(pure),
        x(pure),
        run.show(PURE[0]),
        run.show(PURE[1]),
        run.show(PURE[2]),
        run.show(PURE[3]),
        ratio(reads, pure)
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    assert!(Path::new("/usr/bin/time").exists(), "GNU time (Debian package `time`) measures the peak RSS");
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![1_000, 5_000] } else { sizes };
    let limit = limit();
    let kubectl = support::newest_kubectl();
    let from = KubeVersion::parse(FROM).unwrap();
    let bench = Instant::now();
    for nodes in sizes {
        let t = Instant::now();
        let sim = SimCluster::start(SimConfig::new(Scenario::large(nodes, 30).with_version(from))).await.unwrap();
        println!(
            "\nlarge:{nodes}:30 at {FROM} -> {TO}, limit {} per process (simulator started in {})",
            secs(limit),
            secs(t.elapsed())
        );
        let home = tempfile::tempdir().unwrap();
        sim.write_kubeconfig(&home.path().join("kubeconfig")).unwrap();
        timed_kubectl(&kubectl, home.path(), &["version"]).await; // warm the discovery cache
        let get_nodes = timed_kubectl(&kubectl, home.path(), &["get", "nodes"]).await;
        // kubectl lists in pages of 500 too (`--chunk-size`): the same transfer as our read.
        let get_pods = timed_kubectl(&kubectl, home.path(), &["get", "pods", "-A", "-o", "name"]).await;
        println!("  baselines: kubectl get nodes {}, kubectl get pods -A -o name {}", secs(get_nodes), secs(get_pods));
        for workers in ["lag", "follow"] {
            let run = plan_process(&sim, home.path(), workers, limit).await;
            report(&run, workers, nodes, get_nodes, get_pods);
        }
        sim.shutdown().await;
    }
    println!("\nbench wall {}", secs(bench.elapsed()));
}
