//! Makespan of `kubeladder apply` through the sliding worker window, in simulated time.
//!
//! One simulated cluster per strategy, the same scenario (`large:38:10`: 3 control planes,
//! 35 workers, 350 workload pods in Deployments with 10% budgets) at v1.28.15, upgraded to
//! 1.33 by the real `kubeladder` binary (a separate process, over loopback) with
//! `--workers follow` and `--workers lag`, both with `--max-unavailable 20%`. Every JSON
//! event is stamped with the simulator's virtual clock as it arrives. Reported per strategy:
//! - makespan: virtual seconds from the first `step_started` to `run_finished`;
//! - the capacity lower bound of that same run: the time outside the worker window
//!   (control-plane steps, hop by hop; makespan minus each hop's worker phase) plus, per
//!   hop, the sum of the measured worker lane durations divided by the window limit;
//! - a fixed 20%-batch baseline, replayed from the same measured lane durations (not a
//!   separate run): batches of ceil(20% of the workers) in the order the window admitted
//!   them, a barrier after each batch, so each batch costs its longest lane;
//! - drains per worker (`step_finished` with `step == "drain"`), min/mean/max.
//!
//! Run: `cargo bench -p kubeladder --bench makespan` (cargo builds the `kubeladder` binary
//! for the bench profile and passes its path as `CARGO_BIN_EXE_kubeladder`). Takes about
//! two and a half minutes on two cores. Virtual time runs `SPEED` times faster than real
//! time, so the tool's own real time (process, API round trips, a busy machine) is
//! stretched too: at 40x it is most of a lane's ~70 simulated seconds, and absolute figures
//! move with `SPEED` and load. Compare the ratios: each compares schedules of the
//! durations measured in one run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_precision_loss, clippy::print_stdout)] // a benchmark: a panic is the report

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use kubeladder_core::KubeVersion;
use kubeladder_core::window::MaxUnavailable;
use kubeladder_sim::{Scenario, SimCluster, SimConfig};
use serde_json::Value;
use tokio::io::AsyncBufReadExt;

const SCENARIO: &str = "large:38:10";
const TO: &str = "1.33";
const MAX_UNAVAILABLE: &str = "20%";
/// Simulated seconds per real second.
const SPEED: f64 = 40.0;
/// Real time between the tool's gate and window reads (1 simulated second at `SPEED`).
const POLL: &str = "25ms";

/// One JSON event and the virtual time it arrived at.
struct Stamped {
    at: f64,
    event: Value,
}

impl Stamped {
    fn field(&self, name: &str) -> &str {
        self.event.get(name).and_then(Value::as_str).unwrap_or("")
    }
}

/// One worker's lane within one hop, in virtual seconds.
#[derive(Debug, Clone)]
struct Lane {
    start: f64,
    end: f64,
}

impl Lane {
    fn duration(&self) -> f64 {
        self.end - self.start
    }
}

struct Measured {
    strategy: &'static str,
    workers: Vec<String>,
    events: Vec<Stamped>,
    /// Spawn to exit of the process (includes reading the cluster, preflight, lock, summary).
    process_s: f64,
}

async fn run(strategy: &'static str) -> Measured {
    let scenario = Scenario::by_name(SCENARIO).unwrap().with_version(KubeVersion::new(1, 28, 15));
    let workers: Vec<String> = scenario.node_names().into_iter().filter(|n| !n.starts_with("cp-")).collect();
    let sim = SimCluster::start(SimConfig::new(scenario).with_speed(SPEED)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig).unwrap();
    let ca = dir.path().join("hosts.yaml.ca.pem");
    std::fs::write(&ca, sim.ca_pem()).unwrap();
    std::fs::write(dir.path().join("hosts.yaml"), sim.hosts_yaml(&ca)).unwrap();
    // Let the controllers settle every pod before the clock starts counting.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let clock = sim.clock();
    let spawned = clock.elapsed_secs();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_kubeladder"))
        .args(["apply", "--to", TO, "--workers", strategy, "--max-unavailable", MAX_UNAVAILABLE, "--yes"])
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .arg("--hosts")
        .arg(dir.path().join("hosts.yaml"))
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .args(["--poll", POLL, "-o", "json"])
        .env_remove("KUBECONFIG")
        .env("XDG_STATE_HOME", dir.path().join("xdg"))
        .kill_on_drop(true)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut events = Vec::new();
    let read = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let at = clock.elapsed_secs();
            if let Ok(event) = serde_json::from_str::<Value>(&line) {
                events.push(Stamped { at, event });
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(240), read).await.expect("apply finishes within 4 minutes");
    let out = child.wait_with_output().await.unwrap();
    let process_s = clock.elapsed_secs() - spawned;
    assert!(out.status.success(), "apply --workers {strategy}: {}", String::from_utf8_lossy(&out.stderr));
    assert!(events.iter().any(|e| e.field("event") == "run_finished"), "apply --workers {strategy} did not finish");
    sim.shutdown().await;
    Measured { strategy, workers, events, process_s }
}

/// What one run's events say.
struct Analysis {
    makespan: f64,
    /// Makespan minus every hop's worker phase: the control-plane steps, serial by design.
    serial: f64,
    /// Per hop with worker lanes (in order): the lanes in the order they started.
    hops: Vec<Vec<Lane>>,
    /// Most lanes running at once, over the whole run.
    peak_lanes: usize,
    /// Lane-seconds divided by worker-phase seconds: how full the window was on average.
    mean_lanes: f64,
    drains: Vec<usize>,
    budget_waits: u64,
}

fn analyse(m: &Measured) -> Analysis {
    let begin = m.events.iter().find(|e| e.field("event") == "step_started").unwrap().at;
    let end = m.events.iter().find(|e| e.field("event") == "run_finished").unwrap().at;
    let is_worker = |node: &str| m.workers.iter().any(|w| w == node);
    // Lanes keyed by (hop, node); catch-up lanes (none here) run serially and stay serial.
    let mut hop_order: Vec<String> = Vec::new();
    let mut lanes: BTreeMap<(String, String), Lane> = BTreeMap::new();
    for e in &m.events {
        let (event, node, hop) = (e.field("event"), e.field("node"), e.field("hop"));
        // Only step events carry a hop; cordon events name the node alone.
        if !matches!(event, "step_started" | "step_finished")
            || !is_worker(node)
            || e.field("id").contains("/catch-up-")
        {
            continue;
        }
        let lane = lanes.entry((hop.to_owned(), node.to_owned())).or_insert(Lane { start: e.at, end: e.at });
        if event == "step_started" {
            lane.start = lane.start.min(e.at);
        } else {
            lane.end = lane.end.max(e.at);
        }
        if !hop_order.iter().any(|h| h == hop) {
            hop_order.push(hop.to_owned());
        }
    }
    let mut hops = Vec::new();
    let mut worker_phases = 0.0;
    let mut lane_seconds = 0.0;
    let mut peak_lanes = 0;
    for hop in &hop_order {
        let mut in_hop: Vec<Lane> = lanes.iter().filter(|((h, _), _)| h == hop).map(|(_, lane)| lane.clone()).collect();
        in_hop.sort_by(|a, b| a.start.total_cmp(&b.start));
        let first = in_hop.iter().map(|l| l.start).fold(f64::INFINITY, f64::min);
        let last = in_hop.iter().map(|l| l.end).fold(f64::NEG_INFINITY, f64::max);
        worker_phases += last - first;
        lane_seconds += in_hop.iter().map(Lane::duration).sum::<f64>();
        for lane in &in_hop {
            let running = in_hop.iter().filter(|o| o.start <= lane.start && lane.start < o.end).count();
            peak_lanes = peak_lanes.max(running);
        }
        hops.push(in_hop);
    }
    let drains = m
        .workers
        .iter()
        .map(|w| {
            m.events
                .iter()
                .filter(|e| e.field("event") == "step_finished" && e.field("step") == "drain" && e.field("node") == w)
                .count()
        })
        .collect();
    let budget_waits = m
        .events
        .iter()
        .filter(|e| e.field("event") == "finished")
        .flat_map(|e| e.event["nodes"].as_array().cloned().unwrap_or_default())
        .filter_map(|n| n["budget_waits"].as_u64())
        .sum();
    Analysis {
        makespan: end - begin,
        serial: (end - begin) - worker_phases,
        hops,
        peak_lanes,
        mean_lanes: if worker_phases > 0.0 { lane_seconds / worker_phases } else { 0.0 },
        drains,
        budget_waits,
    }
}

/// Serial time plus, per hop, the lane-seconds spread over the whole window.
fn lower_bound(a: &Analysis, window: usize) -> f64 {
    a.serial + a.hops.iter().map(|h| h.iter().map(Lane::duration).sum::<f64>() / window as f64).sum::<f64>()
}

/// The same, with each hop's longest lane as a floor (a hop cannot end before it).
fn lower_bound_with_longest(a: &Analysis, window: usize) -> f64 {
    a.serial
        + a.hops
            .iter()
            .map(|h| {
                let spread = h.iter().map(Lane::duration).sum::<f64>() / window as f64;
                h.iter().map(Lane::duration).fold(spread, f64::max)
            })
            .sum::<f64>()
}

/// Fixed batches of `batch` lanes with a barrier after each: every batch costs its longest lane.
fn fixed_batches(a: &Analysis, batch: usize) -> f64 {
    a.serial
        + a.hops
            .iter()
            .map(|h| h.chunks(batch).map(|c| c.iter().map(Lane::duration).fold(0.0, f64::max)).sum::<f64>())
            .sum::<f64>()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    println!(
        "kubeladder apply 1.28.15 -> {TO}, scenario {SCENARIO}, --max-unavailable {MAX_UNAVAILABLE}, \
         simulator at {SPEED}x; all times are simulated seconds"
    );
    let mut rows = Vec::new();
    for strategy in ["follow", "lag"] {
        let measured = run(strategy).await;
        let analysis = analyse(&measured);
        rows.push((measured, analysis));
    }
    let workers = rows[0].0.workers.len();
    let window = MaxUnavailable::Percent(20).limit(workers);
    let batch = (workers * 20).div_ceil(100);
    println!("{workers} workers: window limit {window} (20% rounded down), baseline batch {batch} (20% rounded up)\n");
    println!(
        "{:<7} {:>5} {:>9} {:>9} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>13}",
        "workers",
        "w.hops",
        "process",
        "makespan",
        "serial",
        "lower bd",
        "lb+long",
        "20% batch",
        "mk/lower",
        "batch/mk",
        "lanes pk/avg"
    );
    for (m, a) in &rows {
        let lb = lower_bound(a, window);
        let lbl = lower_bound_with_longest(a, window);
        let base = fixed_batches(a, batch);
        println!(
            "{:<7} {:>5} {:>9.0} {:>9.0} {:>8.0} {:>9.0} {:>9.0} {:>9.0} {:>9.2} {:>9.2} {:>9}/{:.1}",
            m.strategy,
            a.hops.len(),
            m.process_s,
            a.makespan,
            a.serial,
            lb,
            lbl,
            base,
            a.makespan / lb,
            base / a.makespan,
            a.peak_lanes,
            a.mean_lanes,
        );
    }
    println!();
    for (m, a) in &rows {
        let min = a.drains.iter().min().copied().unwrap_or(0);
        let max = a.drains.iter().max().copied().unwrap_or(0);
        let mean = a.drains.iter().sum::<usize>() as f64 / a.drains.len().max(1) as f64;
        println!(
            "{:<7} drains per worker min {min} / mean {mean:.2} / max {max}; budget waits {}; worker lanes {} \
             (mean {:.1} s)",
            m.strategy,
            a.budget_waits,
            a.hops.iter().map(Vec::len).sum::<usize>(),
            a.hops.iter().flatten().map(Lane::duration).sum::<f64>() / a.hops.iter().flatten().count().max(1) as f64,
        );
    }
    let (follow, lag) = (&rows[0].1, &rows[1].1);
    println!(
        "\nlag / follow makespan: {:.2}\n\
         lower bound: serial (control-plane) time + per hop sum(worker lane durations) / {window}; \
         lb+long also floors each hop at its longest lane.\n\
         20% batch: a replay of the lane durations measured in the same run, in fixed batches of {batch} \
         with a barrier after each - not a separate run.",
        lag.makespan / follow.makespan
    );
}
