//! `kubectl ladder`: the kubeladder binary on PATH as `kubectl-ladder`, run by the real
//! kubectl against a simulated cluster (kubectl finds the plugin, passes the arguments and
//! the environment, KUBECONFIG included), with help that names `kubectl ladder`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is the failure report

mod support;

use std::path::Path;
use std::time::Duration;

use kubeladder_sim::{Scenario, SimCluster, SimConfig};
use serde_json::Value;

/// A PATH directory holding only `kubectl-ladder`, a symlink to the binary under test.
fn plugin_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_kubeladder"), dir.path().join("kubectl-ladder")).unwrap();
    dir
}

async fn kubectl(path: &Path, home: &Path, kubeconfig: Option<&Path>, args: &[&str]) -> (i32, String, String) {
    let mut cmd = tokio::process::Command::new(support::newest_kubectl());
    cmd.args(args)
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", path.display()))
        .env("HOME", home)
        .env("KUBELADDER_RELEASE_URL", "off")
        .kill_on_drop(true);
    if let Some(k) = kubeconfig {
        cmd.env("KUBECONFIG", k);
    }
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output()).await.expect("kubectl finishes").unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_runs_the_plugin_against_the_simulator() {
    let sim = SimCluster::start(SimConfig::new(Scenario::small()).with_speed(20.0)).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = home.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig).unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let plugins = plugin_dir();

    let (code, list, stderr) = kubectl(plugins.path(), home.path(), None, &["plugin", "list"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(list.contains(&format!("{}/kubectl-ladder", plugins.path().display())), "{list}");

    // kubectl hands the plugin its environment: KUBECONFIG reaches the simulator.
    let (code, json, stderr) = kubectl(
        plugins.path(),
        home.path(),
        Some(&kubeconfig),
        &["ladder", "plan", "--to", "1.19", "--date", "2026-11-25", "-o", "json"],
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    let plan: Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert_eq!(plan["kind"], "UpgradePlan");
    let (code, table, stderr) = kubectl(plugins.path(), home.path(), Some(&kubeconfig), &["ladder", "inventory"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(table.contains("cp-1") && table.contains("worker-1"), "{table}");

    // Help, usage errors and examples say `kubectl ladder`.
    let (code, help, _) = kubectl(plugins.path(), home.path(), None, &["ladder", "apply", "--help"]).await;
    assert_eq!(code, 0);
    assert!(help.contains("Usage: kubectl ladder apply"), "{help}");
    assert!(help.contains("  kubectl ladder apply --to 1.23"), "{help}");
    let (code, _, stderr) =
        kubectl(plugins.path(), home.path(), None, &["ladder", "plan", "--workers", "sideways"]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("invalid value 'sideways'"), "{stderr}");
    let (code, _, stderr) = kubectl(plugins.path(), home.path(), None, &["ladder", "plan", "--no-such-flag"]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("Usage: kubectl ladder plan"), "{stderr}");
    sim.shutdown().await;
}

#[test]
fn the_binary_under_its_own_name_still_says_kubeladder() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kubeladder")).args(["apply", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("Usage: kubeladder apply") && !help.contains("kubectl ladder"), "{help}");
}

#[test]
fn the_krew_manifest_names_the_plugin_binary_for_each_platform() {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins/ladder.yaml")).unwrap();
    let doc: Value = serde_saphyr::from_str(&manifest).unwrap();
    assert_eq!(doc["apiVersion"], "krew.googlecontainertools.github.com/v1alpha2");
    assert_eq!(doc["kind"], "Plugin");
    assert_eq!(doc["metadata"]["name"], "ladder");
    let platforms = doc["spec"]["platforms"].as_array().unwrap();
    assert!(!platforms.is_empty());
    for p in platforms {
        assert_eq!(p["bin"], "kubectl-ladder", "{p}");
        assert!(p["uri"].as_str().unwrap().starts_with("https://github.com/kubeladder/kubeladder/releases/download/"));
        assert_eq!(p["files"][0]["to"], "kubectl-ladder", "{p}");
    }
}
