//! Benchmark (not a test): start time, memory and `kubectl get nodes` time for the `large`
//! scenario. Usage: `cargo run --release -p kubeladder-sim --example large_start -- 1000 30`.

use std::time::Instant;

use kubeladder_sim::{Scenario, SimCluster, SimConfig};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let nodes: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let pods: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(30);
    let started = Instant::now();
    let sim = SimCluster::start(SimConfig::new(Scenario::large(nodes, pods))).await?;
    let start_time = started.elapsed();
    let store = sim.store();
    println!(
        "large {nodes} nodes x {pods} pods: started in {start_time:.2?}, {} nodes, {} pods, rv {}, RSS {} MiB",
        store.list("nodes", None).len(),
        store.list("pods", None).len(),
        store.resource_version(),
        rss_kib() / 1024
    );
    let mut controllers = kubeladder_sim::controllers::Controllers::new(kubeladder_sim::Timings::default());
    for _ in 0..2 {
        let pass = Instant::now();
        controllers.reconcile(&mut store.lock(), false);
        println!("one controller pass over the settled cluster: {:.2?}", pass.elapsed());
    }
    let dir = tempfile::tempdir()?;
    let kubeconfig = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig)?;
    for kubectl in ["kubectl.1.33", "kubectl.1.27"] {
        let path = std::path::Path::new("/usr/lib/google-cloud-sdk/bin").join(kubectl);
        if !path.exists() {
            continue;
        }
        let t = Instant::now();
        let out = tokio::process::Command::new(&path)
            .args(["get", "nodes"])
            .env("HOME", dir.path())
            .env("KUBECONFIG", &kubeconfig)
            .output()
            .await?;
        println!(
            "{kubectl} get nodes: {:.2?}, {} lines, success {}",
            t.elapsed(),
            String::from_utf8_lossy(&out.stdout).lines().count(),
            out.status.success()
        );
    }
    sim.shutdown().await;
    Ok(())
}
