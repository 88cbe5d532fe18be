//! `kubeladder plan` at scale: the simulator's `large:N:30` at v1.28.15 (1,000 and 5,000
//! nodes), target 1.33, `--workers follow` and `lag`. Run:
//! `cargo bench -p kubeladder --bench plan_scale` (or `-- 1000` for some node counts only).
//!
//! Reported:
//! - the real `kubeladder plan -o json` process (cargo builds it for benches and passes its
//!   path as `CARGO_BIN_EXE_kubeladder`): wall time and peak RSS, measured by GNU time
//!   (`/usr/bin/time`, Debian package `time`; the kernel's `ru_maxrss` of the process);
//! - the split the process does in one go, measured in process: API read
//!   (`Inventory::read` + `WorkloadView::read` + `removed_apis::scan`, with the requests the
//!   simulator counted) versus the pure work `commands::plan::build` does (planner,
//!   forecast, the per-worker capacity check, checks), replicated here from core's public
//!   functions since the binary's `build` is private.
//!
//! Machines are noisy and shared, so times are also given as ratios to baselines measured
//! in the same run: API read / one `kubectl get nodes`, pure work / one clone of the
//! `ClusterState`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_precision_loss)] // a benchmark: a panic is the report

use std::collections::{BTreeMap, BTreeSet};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kubeladder_core::KubeVersion;
use kubeladder_core::checks::{self, CheckInput, NodeFacts, RemovedApiUse};
use kubeladder_core::cluster::{ClusterState, Role};
use kubeladder_core::drain::DrainOptions;
use kubeladder_core::forecast;
use kubeladder_core::path::{PathOptions, Target, UpgradePath, upgrade_path};
use kubeladder_core::plan::{self, WorkerStrategy};
use kubeladder_core::release::ReleaseData;
use kubeladder_core::window::{self, MaxUnavailable, Wait};
use kubeladder_kube::inventory::Inventory;
use kubeladder_kube::removed_apis;
use kubeladder_kube::workload::WorkloadView;
use kubeladder_sim::{Scenario, SimCluster, SimConfig};

const FROM: &str = "v1.28.15";
const TO: &str = "1.33";
const DATE: &str = "2025-11-01";
/// A `kubeladder plan` process slower than this is killed and reported as such.
const PROCESS_LIMIT: Duration = Duration::from_secs(90);

fn median<F: FnMut()>(runs: usize, mut f: F) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn secs(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
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

/// What one `kubeladder plan -o json` process did.
struct ProcessRun {
    wall: Duration,
    /// `None` when it was killed at [`PROCESS_LIMIT`].
    peak_rss_mib: Option<f64>,
    steps: Option<u64>,
    waves: Option<usize>,
    exit: Option<i32>,
}

async fn plan_process(home: &Path, workers: &str) -> ProcessRun {
    let rss_file = home.join(format!("rss-{workers}"));
    let t = Instant::now();
    // GNU time reports the peak RSS of `timeout` and what it waited for: the plan process.
    let out = tokio::process::Command::new("/usr/bin/time")
        .arg("-o")
        .arg(&rss_file)
        .args(["-f", "%M", "timeout", "-s", "KILL", &PROCESS_LIMIT.as_secs().to_string()])
        .arg(env!("CARGO_BIN_EXE_kubeladder"))
        .args(["plan", "-o", "json", "--to", TO, "--workers", workers, "--date", DATE])
        .env("HOME", home)
        .env("KUBECONFIG", home.join("kubeconfig"))
        .output()
        .await
        .unwrap();
    let wall = t.elapsed();
    let code = out.status.code();
    if code != Some(0) && code != Some(3) {
        // 124 / 137: killed at the limit.
        return ProcessRun { wall, peak_rss_mib: None, steps: None, waves: None, exit: code };
    }
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("plan -o json");
    let rss_text = std::fs::read_to_string(&rss_file).unwrap();
    let kib: f64 = rss_text.lines().rev().find_map(|l| l.trim().parse().ok()).expect("GNU time's %M");
    ProcessRun {
        wall,
        peak_rss_mib: Some(kib / 1024.0),
        steps: report["steps"].as_u64(),
        waves: report["forecast"]["waves"].as_array().map(Vec::len),
        exit: code,
    }
}

/// What the cluster read gives the report.
struct Read {
    inventory: Inventory,
    workload: WorkloadView,
    removed: Vec<removed_apis::Finding>,
    path: UpgradePath,
}

/// Timings of the pure work, per part.
#[derive(Default)]
struct Pure {
    plan: Duration,
    forecast: Duration,
    capacity: Duration,
    checks: Duration,
    steps: usize,
    waves: usize,
}

impl Pure {
    fn total(&self) -> Duration {
        self.plan + self.forecast + self.capacity + self.checks
    }
}

/// What `commands::plan::build` computes, step by step as it does (the same core calls).
fn pure_work(data: &ReleaseData, r: &Read, strategy: WorkerStrategy, today: jiff::civil::Date) -> Pure {
    let mut out = Pure::default();
    let t = Instant::now();
    let state = r.inventory.cluster_state();
    let workers = state.workers().count();
    // `--max-unavailable`'s default.
    let limit = "1".parse::<MaxUnavailable>().expect("max unavailable").limit(workers);
    let planned = plan::plan(&state, &r.path, strategy).expect("plan");
    out.steps = planned.steps().count();
    black_box(planned.drains_per_node());
    out.plan = t.elapsed();

    let t = Instant::now();
    let unavailable: BTreeSet<String> =
        state.nodes.iter().filter(|n| n.cordoned || !n.ready).map(|n| n.name.clone()).collect();
    let window = r.workload.window(limit, unavailable);
    let roles: BTreeMap<String, Role> = state.nodes.iter().map(|n| (n.name.clone(), n.role)).collect();
    let fc = forecast::forecast(&planned, &roles, &r.workload.candidates, &window);
    out.waves = fc.waves.len();
    out.forecast = t.elapsed();

    // `cluster_findings`: each worker alone against the window (capacity misfits).
    let t = Instant::now();
    let misfits: Vec<(String, String)> = r
        .workload
        .candidates
        .iter()
        .filter(|c| roles.get(&c.node) == Some(&Role::Worker))
        .filter_map(|c| {
            let mut alone = window.clone();
            alone.unavailable.clear();
            alone.limit = 1;
            window::admit(&alone, std::slice::from_ref(c)).waiting.into_iter().find_map(|w| match w {
                Wait::Capacity { node, pod } => Some((node, pod)),
                _ => None,
            })
        })
        .collect();
    out.capacity = t.elapsed();

    let t = Instant::now();
    let node_facts: Vec<NodeFacts> = r
        .inventory
        .nodes
        .iter()
        .map(|n| NodeFacts {
            name: n.name.clone(),
            container_runtime: n.container_runtime.clone(),
            cgroup_v1: None,
            repository: None,
            etcd: n.control_plane.as_ref().and_then(|c| c.etcd.clone()),
        })
        .collect();
    let removed: Vec<RemovedApiUse> = r
        .removed
        .iter()
        .map(|f| RemovedApiUse {
            removed_in: f.removed_in,
            object: format!("{} {}", f.kind, f.name),
            api_version: f.api_version.clone(),
            source: f.source.to_string(),
            replacement: f.replacement.clone(),
        })
        .collect();
    black_box(checks::run(&CheckInput {
        data,
        today,
        state: &state,
        path: &r.path,
        nodes: &node_facts,
        budgets: &r.workload.budget_facts,
        removed_apis: &removed,
        capacity_misfits: &misfits,
    }));
    out.checks = t.elapsed();
    out
}

fn kubectl() -> PathBuf {
    (27..=40)
        .rev()
        .map(|m| Path::new("/usr/lib/google-cloud-sdk/bin").join(format!("kubectl.1.{m}")))
        .find(|p| p.exists())
        .expect("a versioned kubectl")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    assert!(Path::new("/usr/bin/time").exists(), "GNU time (Debian package `time`) measures the peak RSS");
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![1_000, 5_000] } else { sizes };
    let kubectl = kubectl();
    let data = ReleaseData::embedded().unwrap();
    let from = KubeVersion::parse(FROM).unwrap();
    let today: jiff::civil::Date = DATE.parse().unwrap();
    for nodes in sizes {
        let t = Instant::now();
        let sim = SimCluster::start(SimConfig::new(Scenario::large(nodes, 30).with_version(from))).await.unwrap();
        println!("\nlarge:{nodes}:30 at {FROM} -> {TO} (simulator started in {})", secs(t.elapsed()));
        let home = tempfile::tempdir().unwrap();
        sim.write_kubeconfig(&home.path().join("kubeconfig")).unwrap();
        timed_kubectl(&kubectl, home.path(), &["version"]).await; // warm the discovery cache
        let get_nodes = timed_kubectl(&kubectl, home.path(), &["get", "nodes"]).await;

        // The real process, both strategies.
        for workers in ["follow", "lag"] {
            let run = plan_process(home.path(), workers).await;
            match run.peak_rss_mib {
                Some(rss) => println!(
                    "  process --workers {workers:<6} wall {:>8} ({:>5.1}x kubectl get nodes)  peak RSS {rss:>6.0} MiB  exit {}  steps {}  waves {}",
                    secs(run.wall),
                    ratio(run.wall, get_nodes),
                    run.exit.unwrap_or(-1),
                    run.steps.unwrap_or(0),
                    run.waves.unwrap_or(0),
                ),
                None => println!(
                    "  process --workers {workers:<6} did not finish: killed after {} (exit {:?})",
                    secs(run.wall),
                    run.exit
                ),
            }
        }

        // The same work in process, split: API read, then pure work.
        let before = sim.request_counts();
        let clients = kubeladder_kube::client::connect(Some(&home.path().join("kubeconfig")), None).await.unwrap();
        let t = Instant::now();
        let inventory = Inventory::read(&clients.api).await.unwrap();
        let t_inventory = t.elapsed();
        let path =
            upgrade_path(data, inventory.cluster_version, Target::parse(TO).unwrap(), PathOptions::default()).unwrap();
        let t = Instant::now();
        let drain = DrainOptions { ignore_daemonsets: true, delete_emptydir_data: true, force: true };
        let workload = WorkloadView::read(&clients.api, drain).await.unwrap();
        let t_workload = t.elapsed();
        let t = Instant::now();
        let removed = removed_apis::scan(&clients.api, data, path.from.minor(), path.to.minor()).await.unwrap();
        let t_removed = t.elapsed();
        let api_read = t_inventory + t_workload + t_removed;
        let after = sim.request_counts();
        let requests: BTreeMap<&(String, String), u64> =
            after.iter().map(|(k, v)| (k, v - before.get(k).copied().unwrap_or(0))).filter(|(_, v)| *v > 0).collect();
        let total: u64 = requests.values().sum();
        assert_eq!(inventory.nodes.len(), nodes);
        println!(
            "  API read {:>8} ({:>5.1}x kubectl get nodes {}): inventory {}, workload {}, removed APIs {}",
            secs(api_read),
            ratio(api_read, get_nodes),
            secs(get_nodes),
            secs(t_inventory),
            secs(t_workload),
            secs(t_removed)
        );
        let per: Vec<String> = requests.iter().map(|((verb, res), n)| format!("{verb} {res}: {n}")).collect();
        println!("  requests {total} ({:.4} per node): {}", total as f64 / nodes as f64, per.join(", "));

        let read = Read { inventory, workload, removed, path };
        let state: ClusterState = read.inventory.cluster_state();
        let clone = median(21, || {
            black_box(state.clone());
        });
        for strategy in [WorkerStrategy::Follow, WorkerStrategy::Lag] {
            let p = pure_work(data, &read, strategy, today);
            println!(
                "  pure --workers {:<6} {:>8} ({:>7.0}x ClusterState clone {:.2}ms): plan {}, forecast {}, capacity {}, checks {}; steps {}, waves {}",
                strategy.to_string(),
                secs(p.total()),
                ratio(p.total(), clone),
                clone.as_secs_f64() * 1e3,
                secs(p.plan),
                secs(p.forecast),
                secs(p.capacity),
                secs(p.checks),
                p.steps,
                p.waves
            );
        }
        drop(read);
        sim.shutdown().await;
    }
}
