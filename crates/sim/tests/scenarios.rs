#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Scenario shapes, the large scenario, and the virtual clock's speed factor.

mod common;

use std::time::{Duration, Instant};

use common::{Env, eventually, newest_and_oldest, rows};
use kubeladder_core::KubeVersion;
use kubeladder_sim::{Scenario, SimCluster, SimConfig, Timings, model};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_scenario_has_kubeadm_objects() {
    let sim = SimCluster::start(SimConfig::new(Scenario::small())).await.unwrap();
    let store = sim.store();
    let nodes: Vec<String> =
        store.list("nodes", None).iter().map(|n| n["metadata"]["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(nodes, ["cp-1", "worker-1", "worker-2"]);
    for node in store.list("nodes", None) {
        let ip = model::internal_ip(&node);
        assert!(ip.starts_with("127.0."), "{ip}");
    }
    let cp = store.get("nodes", "", "cp-1").unwrap();
    assert!(cp["metadata"]["labels"].get("node-role.kubernetes.io/master").is_some());
    assert_eq!(cp["spec"]["taints"][0]["key"], "node-role.kubernetes.io/master");
    let config = store.get("configmaps", "kube-system", "kubeadm-config").unwrap();
    assert!(config["data"]["ClusterConfiguration"].as_str().unwrap().contains("kubernetesVersion: v1.18.20"));
    assert!(store.get("configmaps", "kube-system", "kubelet-config-1.18").is_some());
    assert!(store.get("configmaps", "kube-system", "kube-proxy").is_some());
    assert!(store.get("deployments.apps", "kube-system", "coredns").is_some());
    assert!(store.get("daemonsets.apps", "kube-system", "kube-proxy").is_some());
    for component in ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"] {
        let pod = store.get("pods", "kube-system", &format!("{component}-cp-1")).unwrap();
        assert!(model::is_mirror_pod(&pod));
        assert_eq!(model::annotation(&pod, "kubernetes.io/config.hash").unwrap().len(), 32);
        assert_eq!(pod["metadata"]["labels"]["tier"], "control-plane");
        let image = pod["spec"]["containers"][0]["image"].as_str().unwrap();
        let expected = if component == "etcd" {
            "k8s.gcr.io/etcd:3.4.3-0".to_owned()
        } else {
            format!("k8s.gcr.io/{component}:v1.18.20")
        };
        assert_eq!(image, expected);
    }
    // coredns runs (tolerating the control-plane taint), kube-proxy runs everywhere.
    let pods = store.list("pods", Some("kube-system"));
    assert_eq!(
        pods.iter().filter(|p| p["metadata"]["labels"]["k8s-app"] == "kube-proxy" && model::pod_healthy(p)).count(),
        3
    );
    assert_eq!(
        pods.iter().filter(|p| p["metadata"]["labels"]["k8s-app"] == "kube-dns" && model::pod_healthy(p)).count(),
        2
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newer_versions_use_newer_kubeadm_conventions() {
    let scenario = Scenario::small().with_version(KubeVersion::new(1, 28, 15));
    let sim = SimCluster::start(SimConfig::new(scenario)).await.unwrap();
    let store = sim.store();
    let cp = store.get("nodes", "", "cp-1").unwrap();
    assert!(cp["metadata"]["labels"].get("node-role.kubernetes.io/master").is_none());
    assert!(cp["metadata"]["labels"].get("node-role.kubernetes.io/control-plane").is_some());
    assert_eq!(cp["spec"]["taints"], json!([{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]));
    assert!(store.get("configmaps", "kube-system", "kubelet-config").is_some());
    let apiserver = store.get("pods", "kube-system", "kube-apiserver-cp-1").unwrap();
    assert_eq!(apiserver["spec"]["containers"][0]["image"], "registry.k8s.io/kube-apiserver:v1.28.15");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_scenario_settles_and_serves_kubectl() {
    let started = Instant::now();
    let env = Env::start(Scenario::large(60, 10)).await;
    let store = env.sim.store();
    assert_eq!(store.list("nodes", None).len(), 60);
    let pods = store.list("pods", Some("shop"));
    assert_eq!(pods.len(), 57 * 10);
    assert!(pods.iter().all(model::pod_healthy));
    assert!(started.elapsed() < Duration::from_secs(30), "start took {:?}", started.elapsed());
    for pdb in store.list("poddisruptionbudgets.policy", Some("shop")) {
        assert_eq!(pdb["status"]["expectedPods"], pdb["status"]["currentHealthy"], "{pdb}");
    }
    if let Some((_, kubectl)) = newest_and_oldest().into_iter().next() {
        let table = env.ok(&kubectl, &["get", "nodes"]).await;
        assert_eq!(rows(&table).len(), 61);
    }
    env.shutdown().await;
}

#[test]
fn scenario_names_parse() {
    assert_eq!(Scenario::by_name("ha").unwrap(), Scenario::ha());
    assert_eq!(Scenario::by_name("large:2000:5").unwrap(), Scenario::large(2000, 5));
    assert!(Scenario::by_name("huge").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_speed_factor_shortens_simulated_delays() {
    // 20 s of simulated pod start-up at 100x take about 0.2 s of real time.
    let config = SimConfig {
        speed: 100.0,
        timings: Timings { pod_start_secs: 10.0, pod_ready_secs: 10.0, pod_termination_secs: 10.0 },
        ..SimConfig::new(Scenario::small())
    };
    let sim = SimCluster::start(config).await.unwrap();
    let victim = sim
        .store()
        .list("pods", Some("default"))
        .into_iter()
        .find(|p| p["metadata"]["labels"]["app"] == "hello")
        .unwrap();
    let name = victim["metadata"]["name"].as_str().unwrap().to_owned();
    let before = Instant::now();
    kubeladder_sim::lifecycle::delete_pod(&mut sim.store().lock(), "default", &name, None);
    assert!(model::is_terminating(&sim.store().get("pods", "default", &name).unwrap()));
    eventually("the replacement is ready and the old pod gone", Duration::from_secs(10), || {
        let pods = sim.store().list("pods", Some("default"));
        pods.iter().filter(|p| model::pod_healthy(p)).count() == 2 && pods.iter().all(|p| p["metadata"]["name"] != name)
    })
    .await;
    let took = before.elapsed();
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(took >= Duration::from_millis(150), "delays must not be skipped: {took:?}");
    let elapsed_virtual = sim.clock().elapsed_secs();
    assert!(elapsed_virtual >= 20.0, "{elapsed_virtual}");
    sim.shutdown().await;
}
