//! Planner throughput at thousands of nodes. Run: `cargo bench -p kubeladder-core --bench planner`.
//!
//! Machines are noisy, so every figure is reported as a ratio against a baseline measured in
//! the same run: cloning the cluster state (an O(nodes) walk over the same data). The ratio
//! staying flat from 500 to 5,000 nodes means planning is linear in the cluster size.

#![allow(clippy::expect_used, clippy::cast_precision_loss)] // a benchmark: a panic is the report

use std::hint::black_box;
use std::time::{Duration, Instant};

use kubeladder_core::KubeVersion;
use kubeladder_core::path::{PathOptions, Target, upgrade_path};
use kubeladder_core::plan::{WorkerStrategy, plan, uniform_cluster};
use kubeladder_core::release::ReleaseData;

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

fn main() {
    let data = ReleaseData::embedded().expect("release data");
    let from = KubeVersion::parse("v1.28.15").expect("version");
    let path = upgrade_path(data, from, Target::parse("1.33").expect("target"), PathOptions::default()).expect("path");
    println!("{:>7} {:>8} {:>12} {:>12} {:>10} {:>10}", "nodes", "steps", "plan", "baseline", "ratio", "per node");
    for nodes in [500usize, 1_000, 2_000, 5_000] {
        let state = uniform_cluster(from, 3, nodes - 3);
        let runs = if nodes >= 2_000 { 3 } else { 5 };
        let mut steps = 0;
        let planned = median(runs, || {
            let p = plan(black_box(&state), &path, WorkerStrategy::Follow).expect("plan");
            steps = p.steps().count();
        });
        let baseline = median(runs * 20, || {
            black_box(state.clone());
        });
        println!(
            "{nodes:>7} {steps:>8} {:>10.1}ms {:>10.3}ms {:>10.0} {:>8.1}µs",
            planned.as_secs_f64() * 1e3,
            baseline.as_secs_f64() * 1e3,
            planned.as_secs_f64() / baseline.as_secs_f64(),
            planned.as_secs_f64() * 1e6 / nodes as f64
        );
    }
}
