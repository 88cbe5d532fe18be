#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Every fault kind through `POST /sim/v1/faults` (or `RunningSim::add_fault`), and the
//! recovery steps kubeladder runs after kubeadm failed: restoring manifests from kubeadm's
//! backup, stopping and starting a static pod, restoring etcd's data.

mod common;

use std::time::{Duration, Instant};

use common::{ETCDCTL, eventually, exec, exec_ok, https};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, EvictParams, WatchParams};
use kubeladder_sim::{Fault, HostTimings, RunningSim, Scenario, SimCluster, SimConfig, SimError, Timings, model};
use serde_json::{Value, json};

const INSTALL: [&str; 7] =
    ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q", "--allow-change-held-packages"];
const MOVE: &str = r#"set -e; if [ -e "$2" ]; then echo "$2 already exists; not overwriting it" >&2; exit 1; fi; mkdir -p -- "$(dirname -- "$2")"; mv -- "$1" "$2""#;
const ASIDE: &str = r#"set -e; if [ -e "$1" ]; then if [ -e "$2" ]; then echo "$2 already exists; not overwriting it" >&2; exit 1; fi; mv -- "$1" "$2"; fi"#;
const RESTORE: &str = r#"set -e; if [ ! -f "$1" ]; then echo "$1: no such backup file" >&2; exit 1; fi; n=$(basename -- "$2"); mkdir -p -m 700 -- "$3"; cp -p -- "$1" "$3/.$n.restoring"; if [ -e "$2" ]; then cp -p -- "$2" "$3/$n"; fi; mv -f -- "$3/.$n.restoring" "$2""#;

async fn start(timings: HostTimings) -> RunningSim {
    let config = SimConfig {
        speed: 40.0,
        timings: Timings { pod_start_secs: 2.0, pod_ready_secs: 1.0, pod_termination_secs: 1.0 },
        host_timings: timings,
        ..SimConfig::new(before_2024())
    };
    SimCluster::start(config).await.unwrap()
}

/// The tests install from the repository the nodes were built with: the world before
/// the legacy repositories went away (2024-03-04).
fn before_2024() -> Scenario {
    let mut scenario = Scenario::small();
    scenario.package_world.legacy_upstream = true;
    scenario
}

async fn post_fault(sim: &RunningSim, fault: &Value) -> (u16, String) {
    https(sim, "POST", "/sim/v1/faults", Some(sim.token()), Some(&fault.to_string())).await.unwrap()
}

async fn client(sim: &RunningSim) -> kube::Client {
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&sim.kubeconfig_yaml()).unwrap();
    let mut config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default()).await.unwrap();
    config.default_retry = false;
    kube::Client::try_from(config).unwrap()
}

fn pod(sim: &RunningSim, name: &str) -> Option<Value> {
    sim.store().get("pods", "kube-system", name)
}

fn image_of(pod: &Value) -> String {
    pod["spec"]["containers"][0]["image"].as_str().unwrap_or_default().to_owned()
}

fn node_ready(sim: &RunningSim, node: &str) -> bool {
    model::is_ready(&sim.store().get("nodes", "", node).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_faults_and_dropped_exec_connections() {
    let sim = start(HostTimings::default()).await;
    let fault = json!({"kind": "command", "node": "cp-1", "argv_prefix": ["kubeadm", "upgrade", "node"], "times": 1,
                       "exit_code": 1, "stderr": "error execution phase control-plane: boom"});
    assert_eq!(post_fault(&sim, &fault).await.0, 201);
    let (status, listed) = https(&sim, "GET", "/sim/v1/faults", Some(sim.token()), None).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<Value>(&listed).unwrap()[0]["kind"], "command");
    let (code, stdout, stderr) = exec(&sim, "cp-1", &["kubeadm", "upgrade", "node"]).await;
    assert_eq!((code, stdout.as_str(), stderr.as_str()), (1, "", "error execution phase control-plane: boom"));
    let again = exec_ok(&sim, "cp-1", &["kubeadm", "upgrade", "node"]).await;
    assert!(again.contains("Current and new manifests of kube-apiserver are equal, skipping upgrade"), "{again}");

    // A prefix matches after `env VAR=...` too; `times: null` is every time.
    let always = json!({"kind": "command", "node": "cp-1", "argv_prefix": ["apt-get", "install"], "times": null,
                        "exit_code": 100, "stderr": "E: Could not get lock /var/lib/dpkg/lock-frontend"});
    assert_eq!(post_fault(&sim, &always).await.0, 201);
    for _ in 0..2 {
        let (code, _, stderr) = exec(&sim, "cp-1", &[&INSTALL[..], &["kubeadm=1.18.20-00"]].concat()).await;
        assert_eq!((code, stderr.as_str()), (100, "E: Could not get lock /var/lib/dpkg/lock-frontend"));
    }

    // A dropped connection: no answer at all, then normal service.
    assert_eq!(post_fault(&sim, &json!({"kind": "drop_exec", "node": "worker-1", "times": 1})).await.0, 201);
    let body = json!({"argv": ["true"]}).to_string();
    let dropped = https(&sim, "POST", "/sim/v1/hosts/worker-1/exec", Some(sim.token()), Some(&body)).await;
    assert!(dropped.unwrap_err().starts_with("no answer"), "the client sees the connection close");
    exec_ok(&sim, "worker-1", &["true"]).await;
    sim.add_fault(Fault::DropExec { node: "worker-2".into(), times: Some(1) }).unwrap();
    let err = sim.exec("worker-2", &["true".to_owned()]).await.unwrap_err();
    assert!(matches!(err, SimError::ExecDropped(ref n) if n == "worker-2"), "{err}");

    // Refusals, then clearing.
    let (status, text) = post_fault(&sim, &json!({"kind": "drop_exec", "node": "cp-9"})).await;
    assert_eq!(status, 400, "{text}");
    let (status, _) = post_fault(&sim, &json!({"kind": "api_errors", "status": 200, "count": 1})).await;
    assert_eq!(status, 400);
    let (status, _) =
        post_fault(&sim, &json!({"kind": "command", "node": "cp-1", "argv_prefix": ["x"], "oops": 1})).await;
    assert_eq!(status, 400);
    let (status, text) = https(&sim, "DELETE", "/sim/v1/faults", Some(sim.token()), None).await.unwrap();
    assert_eq!((status, serde_json::from_str::<Value>(&text).unwrap()["cleared"].as_u64()), (200, Some(1)));
    assert!(sim.faults().is_empty());
    exec_ok(&sim, "cp-1", &[&INSTALL[..], &["kubeadm=1.18.20-00"]].concat()).await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_that_never_become_ready() {
    let sim = start(HostTimings { kubelet_restart_secs: 2.0, ..HostTimings::default() }).await;
    sim.add_fault(Fault::NodeNotReady { node: "worker-1".into(), at_once: false }).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(node_ready(&sim, "worker-1"), "in effect only after the kubelet's next restart");
    exec_ok(&sim, "worker-1", &["systemctl", "restart", "kubelet"]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!node_ready(&sim, "worker-1"), "still NotReady long after the restart delay");
    let node = sim.store().get("nodes", "", "worker-1").unwrap();
    let ready = node["status"]["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "Ready").unwrap().clone();
    assert_eq!(ready["reason"], "KubeletNotReady");

    assert_eq!(post_fault(&sim, &json!({"kind": "node_not_ready", "node": "worker-2", "at_once": true})).await.0, 201);
    eventually("worker-2 NotReady at once", Duration::from_secs(5), || !node_ready(&sim, "worker-2")).await;
    assert_eq!(sim.clear_faults(), 2);
    eventually("both Ready again", Duration::from_secs(5), || {
        node_ready(&sim, "worker-1") && node_ready(&sim, "worker-2")
    })
    .await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_and_budgets_that_never_allow() {
    let sim = start(HostTimings::default()).await;
    let client = client(&sim).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let hello: Vec<String> = sim
        .store()
        .list("pods", Some("default"))
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(hello.len(), 2);

    assert_eq!(
        post_fault(&sim, &json!({"kind": "pdb_never_allows", "namespace": "default", "name": "hello"})).await.0,
        201
    );
    eventually("the budget allows nothing", Duration::from_secs(5), || {
        sim.store().get("poddisruptionbudgets.policy", "default", "hello").unwrap()["status"]["disruptionsAllowed"] == 0
    })
    .await;
    let refused = pods.evict(&hello[0], &EvictParams::default()).await.unwrap_err();
    assert!(matches!(refused, kube::Error::Api(ref e) if e.code == 429), "{refused:?}");

    sim.clear_faults();
    sim.add_fault(Fault::PodNeverReady { namespace: "default".into(), name_prefix: "hello-".into() }).unwrap();
    eventually("the budget allows one again", Duration::from_secs(5), || {
        sim.store().get("poddisruptionbudgets.policy", "default", "hello").unwrap()["status"]["disruptionsAllowed"] == 1
    })
    .await;
    pods.evict(&hello[0], &EvictParams::default()).await.unwrap();
    eventually("a replacement runs but never becomes Ready", Duration::from_secs(10), || {
        sim.store().list("pods", Some("default")).iter().any(|p| {
            !hello.contains(&p["metadata"]["name"].as_str().unwrap().to_owned())
                && model::pod_phase(p) == "Running"
                && !model::is_ready(p)
        })
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ready = sim.store().list("pods", Some("default")).iter().filter(|p| model::is_ready(p)).count();
    assert_eq!(ready, 1, "the replacement stays unready");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_errors_slowness_and_dropped_watches() {
    let sim = start(HostTimings::default()).await;
    assert_eq!(post_fault(&sim, &json!({"kind": "api_errors", "status": 503, "count": 2})).await.0, 201);
    for _ in 0..2 {
        let (status, text) = https(&sim, "GET", "/api/v1/nodes", Some(sim.token()), None).await.unwrap();
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            (status, body["kind"].as_str(), body["reason"].as_str()),
            (503, Some("Status"), Some("ServiceUnavailable"))
        );
    }
    assert_eq!(https(&sim, "GET", "/api/v1/nodes", Some(sim.token()), None).await.unwrap().0, 200);
    sim.add_fault(Fault::ApiErrors { status: 429, count: 1 }).unwrap();
    let (status, text) = https(&sim, "GET", "/api/v1/nodes", Some(sim.token()), None).await.unwrap();
    assert_eq!(status, 429);
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["reason"], "TooManyRequests");

    sim.add_fault(Fault::SlowApi { delay_ms: 400, count: 1 }).unwrap();
    let started = Instant::now();
    assert_eq!(https(&sim, "GET", "/api/v1/nodes", Some(sim.token()), None).await.unwrap().0, 200);
    assert!(started.elapsed() >= Duration::from_millis(400), "{:?}", started.elapsed());
    let started = Instant::now();
    https(&sim, "GET", "/api/v1/nodes", Some(sim.token()), None).await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(400), "only once");

    let nodes: Api<Node> = Api::all(client(&sim).await);
    let mut stream = nodes.watch(&WatchParams::default().timeout(60), "0").await.unwrap().boxed();
    let first = tokio::time::timeout(Duration::from_secs(5), stream.next()).await.unwrap();
    assert!(first.is_some(), "the watch delivers its initial events");
    assert_eq!(post_fault(&sim, &json!({"kind": "drop_watches"})).await.0, 201);
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        let mut seen = 0;
        while stream.next().await.is_some() {
            seen += 1;
            assert!(seen < 100, "the watch keeps going");
        }
    })
    .await;
    assert!(ended.is_ok(), "the watch ended");
    assert!(sim.faults().is_empty(), "dropping watches is a one-off");
    sim.shutdown().await;
}

/// Install kubeadm 1.19.16 on cp-1 and run `kubeadm upgrade apply v1.19.16 -y`.
async fn failing_apply(sim: &RunningSim) -> (i32, String, String) {
    exec_ok(sim, "cp-1", &[&INSTALL[..], &["kubeadm=1.19.16-00"]].concat()).await;
    exec(sim, "cp-1", &["kubeadm", "upgrade", "apply", "v1.19.16", "-y"]).await
}

/// cp-1's kube-apiserver and etcd run their 1.18.20 images again and are Ready.
fn old_control_plane_ready(sim: &RunningSim) -> bool {
    let (Some(api), Some(etcd)) = (pod(sim, "kube-apiserver-cp-1"), pod(sim, "etcd-cp-1")) else { return false };
    image_of(&api) == "k8s.gcr.io/kube-apiserver:v1.18.20"
        && image_of(&etcd) == "k8s.gcr.io/etcd:3.4.3-0"
        && model::is_ready(&api)
        && model::is_ready(&etcd)
}

fn backup_dirs(listing: &str) -> (String, String) {
    let lines: Vec<&str> = listing.lines().collect();
    let find = |prefix: &str| format!("/etc/kubernetes/tmp/{}", lines.iter().find(|l| l.starts_with(prefix)).unwrap());
    (find("kubeadm-backup-manifests-"), find("kubeadm-backup-etcd-"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubeadm_rolls_back_a_static_pod_that_never_becomes_ready() {
    let sim = start(HostTimings { static_pod_timeout_secs: 20.0, ..HostTimings::default() }).await;
    let fault =
        json!({"kind": "static_pod_never_ready", "node": "cp-1", "component": "kube-apiserver", "rollback": true});
    assert_eq!(post_fault(&sim, &fault).await.0, 201);
    let (code, stdout, stderr) = failing_apply(&sim).await;
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("[upgrade/staticpods] Component \"etcd\" upgraded successfully!"), "{stdout}");
    assert!(
        stderr.starts_with("[upgrade/apply] FATAL: couldn't upgrade control plane. kubeadm has tried to recover everything into the earlier state. Errors faced: timed out waiting for the condition"),
        "{stderr}"
    );
    eventually("the old control plane runs again", Duration::from_secs(10), || old_control_plane_ready(&sim)).await;
    assert_eq!(client(&sim).await.apiserver_version().await.unwrap().git_version, "v1.18.20");
    let config = sim.store().get("configmaps", "kube-system", "kubeadm-config").unwrap();
    assert!(config["data"]["ClusterConfiguration"].as_str().unwrap().contains("kubernetesVersion: v1.18.20"));
    let listing = exec_ok(&sim, "cp-1", &["ls", "-1", "--", "/etc/kubernetes/tmp"]).await;
    let (manifests, etcd) = backup_dirs(&listing);
    assert_eq!(exec_ok(&sim, "cp-1", &["ls", "-1", "--", &manifests]).await, "", "kubeadm moved them back");
    assert_eq!(exec_ok(&sim, "cp-1", &["ls", "-1", "--", &etcd]).await, "etcd\n");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifests_restored_from_the_backup_bring_the_old_pods_back() {
    let sim = start(HostTimings { static_pod_timeout_secs: 20.0, ..HostTimings::default() }).await;
    sim.add_fault(Fault::StaticPodNeverReady {
        node: "cp-1".into(),
        component: "kube-apiserver".into(),
        rollback: false,
    })
    .unwrap();
    let (code, _, stderr) = failing_apply(&sim).await;
    assert_eq!(code, 1);
    assert!(stderr.contains("kubeadm was stopped before it could recover"), "{stderr}");
    let api = pod(&sim, "kube-apiserver-cp-1").unwrap();
    assert_eq!(image_of(&api), "k8s.gcr.io/kube-apiserver:v1.19.16", "the new manifest stays");
    assert!(!model::is_ready(&api));
    let listing = exec_ok(&sim, "cp-1", &["ls", "-1", "--", "/etc/kubernetes/tmp"]).await;
    let (backup, _) = backup_dirs(&listing);
    let files = exec_ok(&sim, "cp-1", &["ls", "-1", "--", &backup]).await;
    assert_eq!(files, "etcd.yaml\nkube-apiserver.yaml\n");

    // NodeOp::RestoreManifest for each component the backup holds (the fault stays set:
    // the earlier manifest is the one it spares).
    let aside = "/etc/kubernetes/tmp/kubeladder-replaced-manifests-2026-01-01-00-00-00";
    for file in files.lines() {
        let manifest = format!("/etc/kubernetes/manifests/{file}");
        let source = format!("{backup}/{file}");
        exec_ok(&sim, "cp-1", &["sh", "-c", RESTORE, "kubeladder-restore", &source, &manifest, aside]).await;
        exec_ok(&sim, "cp-1", &["cmp", "-s", "--", &source, &manifest]).await;
    }
    assert_eq!(exec_ok(&sim, "cp-1", &["ls", "-1", "--", aside]).await, "etcd.yaml\nkube-apiserver.yaml\n");
    eventually("the old apiserver and etcd are back and Ready", Duration::from_secs(10), || {
        old_control_plane_ready(&sim)
    })
    .await;
    let (code, _, _) =
        exec(&sim, "cp-1", &["cmp", "-s", "--", &format!("{aside}/etcd.yaml"), "/etc/kubernetes/manifests/etcd.yaml"])
            .await;
    assert_eq!(code, 1, "the replaced manifest differs");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_etcd_until_its_data_is_restored() {
    let sim = start(HostTimings::default()).await;
    // Restoring runs with etcd stopped (no container to exec into): host tools.
    assert!(sim.install_host_etcd_tools("cp-1", "3.4.13"));
    let etcd = ETCDCTL;
    let snapshot = "/var/lib/kubeladder/h1.db";
    exec_ok(&sim, "cp-1", &["mkdir", "-p", "--", "/var/lib/kubeladder"]).await;
    exec_ok(&sim, "cp-1", &[&etcd[..], &["snapshot", "save", snapshot]].concat()).await;

    assert_eq!(post_fault(&sim, &json!({"kind": "corrupt_etcd", "node": "cp-1"})).await.0, 201);
    eventually("etcd not Ready", Duration::from_secs(5), || !model::is_ready(&pod(&sim, "etcd-cp-1").unwrap())).await;
    let (code, _, stderr) =
        exec(&sim, "cp-1", &[&etcd[..], &["snapshot", "save", "/var/lib/kubeladder/h2.db"]].concat()).await;
    assert_eq!((code, stderr.as_str()), (1, "Error: context deadline exceeded\n"));
    sim.clear_faults();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!model::is_ready(&pod(&sim, "etcd-cp-1").unwrap()), "clearing faults does not repair data");

    // Stop etcd (NodeOp::StopStaticPod), restore its data (NodeOp::RestoreEtcd), start it.
    let manifest = "/etc/kubernetes/manifests/etcd.yaml";
    let stopped = "/etc/kubernetes/tmp/kubeladder-stopped/etcd.yaml";
    exec_ok(&sim, "cp-1", &["sh", "-c", MOVE, "kubeladder-move", manifest, stopped]).await;
    eventually("the etcd mirror pod is gone", Duration::from_secs(5), || pod(&sim, "etcd-cp-1").is_none()).await;
    let (code, stdout, _) = exec(&sim, "cp-1", &["ls", "-1", "-d", "--", manifest, stopped]).await;
    assert_eq!((code, stdout.as_str()), (2, format!("{stopped}\n").as_str()));
    let building = "/var/lib/etcd.kubeladder-restoring";
    let aside = "/var/lib/etcd-kubeladder-aside-2026-01-01-00-00-00";
    exec_ok(&sim, "cp-1", &["rm", "-rf", "--", building]).await;
    exec_ok(
        &sim,
        "cp-1",
        &[
            "env",
            "ETCDCTL_API=3",
            "etcdctl",
            "snapshot",
            "restore",
            snapshot,
            &format!("--data-dir={building}"),
            "--name=cp-1",
            "--initial-cluster=cp-1=https://127.0.1.1:2380",
            "--initial-advertise-peer-urls=https://127.0.1.1:2380",
        ],
    )
    .await;
    exec_ok(&sim, "cp-1", &["chmod", "700", "--", building]).await;
    exec_ok(&sim, "cp-1", &["sh", "-c", ASIDE, "kubeladder-aside", "/var/lib/etcd", aside]).await;
    exec_ok(&sim, "cp-1", &["mv", "--", building, "/var/lib/etcd"]).await;
    let (_, listed, _) = exec(&sim, "cp-1", &["ls", "-1", "-d", "--", "/var/lib/etcd/member", aside, building]).await;
    assert_eq!(listed, format!("/var/lib/etcd/member\n{aside}\n"));
    let kept = exec_ok(&sim, "cp-1", &["cat", "--", &format!("{aside}/member/snap/db")]).await;
    assert!(kept.starts_with("kubeladder-sim: corrupt etcd data"), "{kept}");
    exec_ok(&sim, "cp-1", &["sh", "-c", MOVE, "kubeladder-move", stopped, manifest]).await;
    eventually("etcd Ready again", Duration::from_secs(10), || {
        pod(&sim, "etcd-cp-1").is_some_and(|p| model::is_ready(&p))
    })
    .await;
    exec_ok(&sim, "cp-1", &[&etcd[..], &["snapshot", "save", "/var/lib/kubeladder/h3.db"]].concat()).await;
    sim.shutdown().await;
}
