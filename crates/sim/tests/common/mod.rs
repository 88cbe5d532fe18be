//! Shared helpers: start a simulated cluster in-process and run real kubectl against it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use kubeladder_sim::{RunningSim, Scenario, SimCluster, SimConfig, Timings};

pub const KUBECTL_DIR: &str = "/usr/lib/google-cloud-sdk/bin";

/// The versioned kubectl binaries present on this machine (`kubectl.1.27` ... `kubectl.1.33`).
pub fn kubectls() -> Vec<(u32, PathBuf)> {
    (20..=40)
        .map(|minor| (minor, Path::new(KUBECTL_DIR).join(format!("kubectl.1.{minor}"))))
        .filter(|(_, path)| path.exists())
        .collect()
}

/// The newest and the oldest kubectl available (the same one when only one is there).
pub fn newest_and_oldest() -> Vec<(u32, PathBuf)> {
    let all = kubectls();
    let mut picked = Vec::new();
    if let Some(last) = all.last() {
        picked.push(last.clone());
    }
    if let Some(first) = all.first()
        && all.len() > 1
    {
        picked.push(first.clone());
    }
    picked
}

/// A running sim plus a private HOME with its kubeconfig.
pub struct Env {
    pub sim: RunningSim,
    pub home: tempfile::TempDir,
}

impl Env {
    pub async fn start(scenario: Scenario) -> Self {
        let config = SimConfig {
            speed: 20.0,
            timings: Timings { pod_start_secs: 2.0, pod_ready_secs: 2.0, pod_termination_secs: 2.0 },
            ..SimConfig::new(scenario)
        };
        let sim = SimCluster::start(config).await.expect("sim starts");
        let home = tempfile::tempdir().expect("tempdir");
        sim.write_kubeconfig(&home.path().join("kubeconfig")).expect("kubeconfig written");
        Self { sim, home }
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.home.path().join("kubeconfig")
    }

    /// Run kubectl with its own HOME and KUBECONFIG, bounded by `timeout`.
    pub async fn kubectl_timeout(&self, kubectl: &Path, args: &[&str], timeout: Duration) -> Output {
        let child = tokio::process::Command::new(kubectl)
            .args(args)
            .env_clear()
            .env("HOME", self.home.path())
            .env("KUBECONFIG", self.kubeconfig())
            .env("PATH", "/usr/bin:/bin")
            .kill_on_drop(true)
            .output();
        tokio::time::timeout(timeout, child)
            .await
            .unwrap_or_else(|_| panic!("kubectl {args:?} did not finish in {timeout:?}"))
            .expect("kubectl runs")
    }

    pub async fn kubectl(&self, kubectl: &Path, args: &[&str]) -> Output {
        self.kubectl_timeout(kubectl, args, Duration::from_secs(60)).await
    }

    /// Run kubectl and insist on success; returns stdout.
    pub async fn ok(&self, kubectl: &Path, args: &[&str]) -> String {
        let out = self.kubectl(kubectl, args).await;
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}\nstdout: {}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub async fn shutdown(self) {
        self.sim.shutdown().await;
    }
}

/// Split a kubectl table into rows of whitespace-separated cells (header first).
pub fn rows(table: &str) -> Vec<Vec<String>> {
    table.lines().filter(|l| !l.trim().is_empty()).map(|l| l.split_whitespace().map(str::to_owned).collect()).collect()
}

/// Wait (bounded) until `check` holds.
pub async fn eventually(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}
