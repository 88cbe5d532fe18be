//! `kubeladder hosts check` as an operator runs it: against a `kubeladder sim serve` process
//! and its `--hosts-out` file, against a real sshd host (node's test support) over real apt,
//! with an unreachable host, and with a malformed hosts file.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is the failure report

#[path = "../../node/tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use kubeladder_core::Minor;
use kubeladder_node::exec::run_op;
use kubeladder_node::ops::NodeOp;
use kubeladder_node::{KubePackage, PackageManager};
use kubeladder_node::{SshExecutor, SshOptions};
use serde_json::Value;
use tokio::io::AsyncBufReadExt as _;

/// Run the real binary (off the async runtime: it has its own).
async fn kubeladder(args: &[&str]) -> (i32, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_kubeladder"))
        .args(args)
        .env_remove("KUBECONFIG")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(120), out).await.expect("kubeladder finishes").unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

/// `kubeladder sim serve --scenario small` with its kubeconfig and hosts file; killed on drop.
struct Served {
    _child: tokio::process::Child,
    kubeconfig: PathBuf,
    hosts: PathBuf,
    dir: tempfile::TempDir,
}

async fn sim_serve() -> Served {
    let dir = tempfile::tempdir().unwrap();
    let (kubeconfig, hosts) = (dir.path().join("sim.kubeconfig"), dir.path().join("hosts.yaml"));
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_kubeladder"))
        .args(["sim", "serve", "--scenario", "small", "--speed", "20"])
        .arg("--kubeconfig-out")
        .arg(&kubeconfig)
        .arg("--hosts-out")
        .arg(&hosts)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await.unwrap().unwrap().unwrap();
    assert!(first.starts_with("serving https://127.0.0.1:"), "{first}");
    Served { _child: child, kubeconfig, hosts, dir }
}

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn host<'a>(report: &'a Value, node: &str) -> &'a Value {
    report["hosts"].as_array().unwrap().iter().find(|h| h["node"] == node).unwrap_or_else(|| panic!("{node}: {report}"))
}

fn package<'a>(host: &'a Value, name: &str) -> &'a Value {
    host["report"]["packages"].as_array().unwrap().iter().find(|p| p["package"] == name).unwrap()
}

/// The `defaults:` lines of the simulator's hosts file (transport, URL, token, CA).
fn sim_defaults(hosts_file: &Path) -> String {
    let text = std::fs::read_to_string(hosts_file).unwrap();
    let mut defaults = String::new();
    for line in text.lines().take_while(|l| !l.starts_with("hosts:")) {
        defaults.push_str(line);
        defaults.push('\n');
    }
    defaults
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_of_a_simulated_cluster_through_its_hosts_file() {
    let sim = sim_serve().await;
    let (kubeconfig, hosts) = (sim.kubeconfig.to_str().unwrap(), sim.hosts.to_str().unwrap());
    let (code, stdout, stderr) =
        kubeladder(&["hosts", "check", "--hosts", hosts, "--kubeconfig", kubeconfig, "-o", "json"]).await;
    assert_eq!(code, 0, "{stderr}\n{stdout}");
    let report = json(&stdout);
    assert_eq!(report["source"], "cluster");
    assert_eq!(report["unreachable"], 0);
    assert_eq!(report["hosts"].as_array().unwrap().len(), 3, "{report}");
    // The host's /etc/os-release and the kubelet's osImage name the same distribution.
    let (code, inventory, stderr) = kubeladder(&["inventory", "--kubeconfig", kubeconfig, "-o", "json"]).await;
    assert_eq!(code, 0, "{stderr}");
    let inventory = json(&inventory);
    for node in ["cp-1", "worker-1", "worker-2"] {
        let h = host(&report, node);
        let listed = inventory["nodes"].as_array().unwrap().iter().find(|n| n["name"] == node).unwrap();
        assert_eq!(h["report"]["os"], listed["os_image"], "{h}\n{listed}");
        assert_eq!((h["reachable"].as_bool(), h["transport"].as_str()), (Some(true), Some("sim")), "{h}");
        let r = &h["report"];
        assert_eq!(r["package_manager"], "apt", "{h}");
        assert_eq!(r["repository"], "legacy", "{h}");
        assert_eq!(package(h, "kubeadm")["version"], "1.18.20-00", "{h}");
        assert_eq!(package(h, "kubelet")["held"], true, "{h}");
        assert_eq!(r["next_minor"], "1.19", "{h}");
        // The node still points at apt.kubernetes.io, gone since 2024-03-04: nothing on offer
        // there (kubeladder installs 1.19 from the hosts file's mirror instead).
        assert_eq!(r["next_minor_available"].as_array().map(Vec::len), Some(0), "{h}");
    }

    // The same as a table; and the file's hosts alone, without asking the cluster.
    let (code, table, stderr) = kubeladder(&["hosts", "check", "--hosts", hosts, "--kubeconfig", kubeconfig]).await;
    assert_eq!(code, 0, "{stderr}");
    let header = table.lines().next().unwrap();
    assert!(header.starts_with("NODE") && header.contains("NEXT MINOR AVAILABLE"), "{table}");
    let cp = table.lines().find(|l| l.starts_with("cp-1 ")).unwrap();
    assert!(cp.contains(" yes ") && cp.contains("1.18.20-00 (held)") && cp.contains("1.19: none"), "{table}");
    let port = sim_defaults(&sim.hosts).lines().find_map(|l| l.trim().strip_prefix("sim_url: ")).unwrap().to_owned();
    insta::assert_snapshot!("hosts_check_small_sim_table", table.replace(&port, "https://127.0.0.1:PORT"));
    let (code, stdout, stderr) = kubeladder(&["hosts", "check", "--hosts", hosts, "-o", "json"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(json(&stdout)["source"], "hosts-file");
    assert_eq!(json(&stdout)["hosts"].as_array().unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_node_fails_the_check_naming_host_address_and_reason() {
    let sim = sim_serve().await;
    // Nodes not listed reach the simulator with the defaults; worker-2 is sent to a port
    // where nothing listens.
    let port = support::free_port("127.0.0.1");
    let hosts = sim.dir.path().join("partial.yaml");
    std::fs::write(
        &hosts,
        format!(
            "{}hosts:\n  - node: worker-2\n    transport: ssh\n    address: 127.0.0.1\n    port: {port}\n  - node: retired-1\n    address: 10.9.9.9\n",
            sim_defaults(&sim.hosts)
        ),
    )
    .unwrap();
    let args = ["hosts", "check", "--hosts", hosts.to_str().unwrap(), "--kubeconfig", sim.kubeconfig.to_str().unwrap()];
    let (code, stdout, stderr) = kubeladder(&[&args[..], &["-o", "json"]].concat()).await;
    assert_eq!(code, 1, "{stderr}\n{stdout}");
    let report = json(&stdout);
    assert_eq!(report["unreachable"], 1);
    assert_eq!(report["not_in_cluster"], serde_json::json!(["retired-1"]));
    assert_eq!(host(&report, "cp-1")["reachable"], true, "InternalIP and the defaults: {report}");
    let down = host(&report, "worker-2");
    assert_eq!(
        (down["reachable"].as_bool(), down["address"].as_str()),
        (Some(false), Some(&*format!("127.0.0.1:{port}")))
    );
    let expected = format!("node worker-2: cannot connect to 127.0.0.1:{port}: Connection refused");
    assert!(down["error"].as_str().unwrap().starts_with(&expected), "{down}");
    assert!(stderr.contains(&expected) && stderr.contains("1 of 3 hosts unreachable or refused"), "{stderr}");

    let (code, table, _) = kubeladder(&args).await;
    assert_eq!(code, 1);
    assert!(table.lines().any(|l| l.starts_with("worker-2 ") && l.contains(" NO ")), "{table}");
    assert!(table.contains(&format!("worker-2: UNREACHABLE: {expected}")), "{table}");
    assert!(table.contains("In the hosts file but not in the cluster (not checked): retired-1"), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_hosts_file_is_bad_input_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let hosts = dir.path().join("hosts.yaml");
    std::fs::write(&hosts, "defaults:\n  user: root\nhosts:\n  - node: cp-1\n    adress: 10.0.0.1\n").unwrap();
    let (code, stdout, stderr) = kubeladder(&["hosts", "check", "--hosts", hosts.to_str().unwrap()]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.starts_with(&format!("error: {}:5:", hosts.display())) && stderr.contains("adress"), "{stderr}");

    std::fs::write(&hosts, "defaults:\n  transport: sim\n  sim_url: https://127.0.0.1:1\n").unwrap();
    let (code, _, stderr) = kubeladder(&["hosts", "check", "--hosts", hosts.to_str().unwrap()]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(":2:") && stderr.contains("transport sim needs sim_token"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_sshd_host_over_real_apt_and_one_nobody_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let repos = support::Repos::build(&tmp.path().join("repos"));
    let ssh = support::SshHost::start("cp-1", "127.0.0.2", &tmp.path().join("cp-1"));
    let exec = SshExecutor::new(ssh.host(), SshOptions::default());
    let (pm, t) = (PackageManager::Apt, Duration::from_secs(60));
    run_op(&exec, &NodeOp::ConfigureRepository { source: repos.source(Minor::new(1, 18)) }, pm, t).await.unwrap();
    let install = NodeOp::InstallPackages {
        packages: KubePackage::ALL.to_vec(),
        version: "1.18.20-00".into(),
        change_held: true,
    };
    run_op(&exec, &install, pm, t).await.unwrap();

    let port = support::free_port("127.0.0.1");
    let hosts = tmp.path().join("hosts.yaml");
    std::fs::write(
        &hosts,
        format!(
            "defaults:\n  identity_file: {}\n  known_hosts: {}\nhosts:\n  - node: cp-1\n    address: {}\n    port: {}\n  - node: gone\n    address: 127.0.0.1\n    port: {port}\n",
            ssh.client_key.display(),
            ssh.known_hosts.display(),
            ssh.address,
            ssh.port
        ),
    )
    .unwrap();
    let (code, stdout, stderr) =
        kubeladder(&["hosts", "check", "--hosts", hosts.to_str().unwrap(), "-o", "json"]).await;
    assert_eq!(code, 1, "{stderr}\n{stdout}");
    let report = json(&stdout);
    assert_eq!(report["source"], "hosts-file");
    let cp = host(&report, "cp-1");
    assert_eq!((cp["reachable"].as_bool(), cp["transport"].as_str()), (Some(true), Some("ssh")), "{cp}");
    assert!(cp["report"]["os"].as_str().unwrap().contains("Debian"), "{cp}");
    // Over real SSH, the host's cgroup hierarchy as this machine sees it.
    let v2 = Path::new(kubeladder_node::probe::CGROUP_V2_MARKER).exists();
    assert_eq!(cp["report"]["cgroup"], if v2 { "v2" } else { "v1" }, "{cp}");
    assert_eq!(package(cp, "kubeadm")["version"], "1.18.20-00");
    assert_eq!(package(cp, "kubectl")["held"], true);
    assert_eq!(cp["report"]["repository"], "legacy", "from the installed version: {cp}");
    assert_eq!(cp["report"]["next_minor_available"], serde_json::json!(["1.19.16-00"]), "{cp}");
    let gone = host(&report, "gone");
    assert_eq!(gone["reachable"], false);
    assert!(stderr.contains(&format!("node gone: cannot connect to 127.0.0.1:{port}")), "{stderr}");
}
