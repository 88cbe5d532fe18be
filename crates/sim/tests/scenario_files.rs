#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A scenario file with every knob: a cluster caught mid-upgrade (one control plane and one
//! worker a minor behind), preloaded objects, and `kubeadm upgrade node` finishing the job.

mod common;

use std::time::Duration;

use common::{eventually, exec_ok};
use kubeladder_sim::{Scenario, SimCluster, SimConfig, model};

const FILE: &str = "\
shape: ha
version: v1.19.16
container_runtime: containerd://1.4.13
package_manager: apt
repository: legacy
legacy_repositories: available   # the nodes install from it: the world before 2024-03-04
node_versions:
  cp-3: v1.18.20
  worker-1: v1.18.20
objects:
  - apiVersion: v1
    kind: Namespace
    metadata: {name: tools}
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: settings, namespace: tools}
    data: {mode: fast}
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_caught_mid_upgrade_from_a_scenario_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scenario.yaml");
    std::fs::write(&path, FILE).unwrap();
    let scenario = Scenario::from_file(&path).unwrap();
    let sim = SimCluster::start(SimConfig::new(scenario).with_speed(40.0)).await.unwrap();
    let store = sim.store();

    let kubelet = |node: &str| store.get("nodes", "", node).unwrap()["status"]["nodeInfo"]["kubeletVersion"].clone();
    assert_eq!(kubelet("cp-1"), "v1.19.16");
    assert_eq!(kubelet("cp-3"), "v1.18.20");
    assert_eq!(kubelet("worker-1"), "v1.18.20");
    assert_eq!(kubelet("worker-2"), "v1.19.16");
    let runtime = store.get("nodes", "", "worker-1").unwrap()["status"]["nodeInfo"]["containerRuntimeVersion"].clone();
    assert_eq!(runtime, "containerd://1.4.13");
    let image = |pod: &str| store.get("pods", "kube-system", pod).unwrap()["spec"]["containers"][0]["image"].clone();
    assert_eq!(image("kube-apiserver-cp-1"), "k8s.gcr.io/kube-apiserver:v1.19.16");
    assert_eq!(image("kube-apiserver-cp-3"), "k8s.gcr.io/kube-apiserver:v1.18.20");
    assert_eq!(image("etcd-cp-3"), "k8s.gcr.io/etcd:3.4.3-0");
    let worker = sim.host_state("worker-1").unwrap();
    assert_eq!(worker.package("kubelet").unwrap().version.as_deref(), Some("1.18.20-00"));
    assert_eq!(store.get("configmaps", "tools", "settings").unwrap()["data"]["mode"], "fast");

    // kubeadm upgrade node brings cp-3 to the cluster's version.
    let install = [
        "env",
        "DEBIAN_FRONTEND=noninteractive",
        "apt-get",
        "install",
        "-y",
        "-q",
        "--allow-change-held-packages",
        "kubeadm=1.19.16-00",
    ];
    exec_ok(&sim, "cp-3", &install).await;
    let out = exec_ok(&sim, "cp-3", &["kubeadm", "upgrade", "node"]).await;
    assert!(
        out.contains("[upgrade] Upgrading your Static Pod-hosted control plane instance to version \"v1.19.16\""),
        "{out}"
    );
    eventually("cp-3's static pods at v1.19.16 and Ready", Duration::from_secs(10), || {
        ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"].iter().all(|c| {
            let pod = store.get("pods", "kube-system", &format!("{c}-cp-3")).unwrap();
            let tag = pod["spec"]["containers"][0]["image"].as_str().unwrap().rsplit(':').next().unwrap().to_owned();
            model::is_ready(&pod) && (tag == "v1.19.16" || tag == "3.4.13-0")
        })
    })
    .await;
    sim.shutdown().await;
}

#[test]
fn a_bad_scenario_file_names_the_place() {
    let err = Scenario::from_yaml("shape: ha\nnode_versions:\n  cp-4: v1.18.20\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "scenario file, line 3, column 9: node_versions: the ha shape has no node \"cp-4\" (it has cp-1, cp-2, cp-3, worker-1, worker-2, worker-3, ...)"
    );
}
