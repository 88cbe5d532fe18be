#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The simulated hosts through the HTTPS exec endpoint, with the literal argv kubeladder
//! sends (crates/node's `NodeOp::render`): a whole single-node upgrade 1.18.20 -> 1.19.16
//! checked through the Kubernetes API and real kubectl, then every refusal on the way.

mod common;

use std::time::Duration;

use common::{ETCDCTL, eventually, exec, exec_ok, https, newest_and_oldest};
use kubeladder_core::KubeVersion;
use kubeladder_core::package::Repository;
use kubeladder_sim::{HostTimings, PackageManager, RunningSim, Scenario, SimCluster, SimConfig, Timings, model};
use serde_json::Value;

/// `NodeOp::WriteFile`'s script (`$0` = kubeladder-write).
const WRITE: &str = r#"set -e; d=$(dirname -- "$2"); mkdir -p -- "$d"; t="$2.kubeladder.tmp"; printf '%s' "$1" > "$t"; chmod "$3" "$t"; mv -f -- "$t" "$2""#;
/// `NodeOp::ConfigureRepository`'s key script (`$0` = kubeladder-key).
const KEY: &str = r#"set -e; mkdir -p -m 755 "$(dirname -- "$2")"; curl -fsSL -- "$1" | gpg --dearmor --yes -o "$2.kubeladder.tmp"; chmod 644 "$2.kubeladder.tmp"; mv -f -- "$2.kubeladder.tmp" "$2""#;
/// `NodeOp::DetectPackageManager`'s script (`$0` = kubeladder-detect).
const DETECT: &str = r#"for t in apt-get dnf5 dnf yum; do command -v "$t" || true; done; if command -v dnf >/dev/null 2>&1; then echo "dnf-version: $(dnf --version 2>/dev/null | head -n 1)"; fi"#;
const DPKG_FORMAT: &str = r"${Package}\t${Version}\t${Status}\n";
const KEYRING: &str = "/etc/apt/keyrings/kubernetes-apt-keyring.gpg";
const SOURCES: &str = "/etc/apt/sources.list.d/kubernetes.list";
const INSTALL: [&str; 7] =
    ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q", "--allow-change-held-packages"];

pub async fn start(scenario: Scenario, host_timings: HostTimings) -> RunningSim {
    let config = SimConfig {
        speed: 40.0,
        timings: Timings { pod_start_secs: 2.0, pod_ready_secs: 1.0, pod_termination_secs: 1.0 },
        host_timings,
        ..SimConfig::new(scenario)
    };
    SimCluster::start(config).await.unwrap()
}

fn argv<'a>(prefix: &[&'a str], rest: &[&'a str]) -> Vec<&'a str> {
    prefix.iter().chain(rest).copied().collect()
}

/// These tests exercise the tools' semantics over the repository the nodes were built
/// with; they run in the world before the legacy repositories went away (2024-03-04).
/// Today's world is [`the_legacy_repository_is_gone_and_the_mirror_serves_it`].
fn before_2024(mut scenario: Scenario) -> Scenario {
    scenario.package_world.legacy_upstream = true;
    scenario
}

fn legacy_sources(minor: &str) -> String {
    format!(
        "# kubeladder: Kubernetes {minor} packages (legacy)\ndeb [signed-by={KEYRING}] https://apt.kubernetes.io/ kubernetes-xenial main\n"
    )
}

fn pkgs_sources(minor: &str) -> String {
    format!(
        "# kubeladder: Kubernetes {minor} packages (pkgs.k8s.io)\ndeb [signed-by={KEYRING}] https://pkgs.k8s.io/core:/stable:/v{minor}/deb/ /\n"
    )
}

/// `NodeOp::ConfigureRepository` for apt: key, sources file, update.
async fn configure_repository(sim: &RunningSim, node: &str, key_url: &str, sources: &str) {
    exec_ok(sim, node, &["sh", "-c", KEY, "kubeladder-key", key_url, KEYRING]).await;
    exec_ok(sim, node, &["sh", "-c", WRITE, "kubeladder-write", sources, SOURCES, "644"]).await;
    assert_eq!(exec_ok(sim, node, &["cat", "--", SOURCES]).await, sources);
    exec_ok(sim, node, &["apt-get", "update"]).await;
}

fn mirror(sim: &RunningSim, name: &str) -> Value {
    sim.store().get("pods", "kube-system", name).unwrap_or_else(|| panic!("mirror pod {name}"))
}

fn hash(pod: &Value) -> String {
    model::annotation(pod, "kubernetes.io/config.hash").unwrap().to_owned()
}

fn image(obj: &Value, path: &str) -> String {
    obj.pointer(path).and_then(Value::as_str).unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)]
async fn single_node_upgrade_through_the_exec_endpoint() {
    let timings = HostTimings { kubelet_restart_secs: 20.0, ..HostTimings::default() };
    let sim = start(before_2024(Scenario::small()), timings).await;
    let apiserver_before = mirror(&sim, "kube-apiserver-cp-1");

    // What kubeladder learns first.
    assert_eq!(exec_ok(&sim, "cp-1", &["sh", "-c", DETECT, "kubeladder-detect"]).await, "/usr/bin/apt-get\n");
    let query = ["dpkg-query", "-W", "-f", DPKG_FORMAT, "kubeadm", "kubelet", "kubectl"];
    assert_eq!(
        exec_ok(&sim, "cp-1", &query).await,
        "kubeadm\t1.18.20-00\thold ok installed\nkubelet\t1.18.20-00\thold ok installed\nkubectl\t1.18.20-00\thold ok installed\n"
    );

    // ConfigureRepository (legacy, 1.19) and InstallPackages kubeadm.
    configure_repository(
        &sim,
        "cp-1",
        "https://packages.cloud.google.com/apt/doc/apt-key.gpg",
        &legacy_sources("1.19"),
    )
    .await;
    exec_ok(&sim, "cp-1", &["apt-get", "update", "-q"]).await;
    let out = exec_ok(&sim, "cp-1", &argv(&INSTALL, &["kubeadm=1.19.16-00"])).await;
    assert!(out.contains("The following held packages will be changed:\n  kubeadm"), "{out}");
    assert!(out.contains("Unpacking kubeadm (1.19.16-00) over (1.18.20-00)"), "{out}");
    assert_eq!(exec_ok(&sim, "cp-1", &["apt-mark", "hold", "kubeadm"]).await, "kubeadm was already set on hold.\n");
    assert!(exec_ok(&sim, "cp-1", &query).await.starts_with("kubeadm\t1.19.16-00\thold ok installed\n"));
    assert_eq!(exec_ok(&sim, "cp-1", &["kubeadm", "version", "-o", "short"]).await, "v1.19.16\n");

    // EtcdSnapshot. A kubeadm node has no etcdctl of its own: it is in the etcd container.
    let snapshot = "/var/lib/kubeladder/snapshots/h1.db";
    exec_ok(&sim, "cp-1", &["mkdir", "-p", "--", "/var/lib/kubeladder/snapshots"]).await;
    let (code, _, stderr) = exec(&sim, "cp-1", &["etcdctl", "version"]).await;
    assert_eq!((code, stderr.as_str()), (127, "etcdctl: command not found\n"));
    let id = exec_ok(&sim, "cp-1", &["crictl", "ps", "--name", "^etcd$", "--state", "running", "-q"]).await;
    let id = id.trim();
    assert_eq!(id.len(), 13, "{id:?}");
    let tls = &ETCDCTL[3..];
    let mut save = vec!["crictl", "exec", id, "etcdctl"];
    save.extend_from_slice(tls);
    // Outside the container's mounts the file is not on the host: etcdctl cannot write there.
    let (code, _, stderr) = exec(&sim, "cp-1", &[save.clone(), vec!["snapshot", "save", snapshot]].concat()).await;
    assert_eq!(code, 1, "{stderr}");
    exec_ok(&sim, "cp-1", &[save, vec!["snapshot", "save", "/var/lib/etcd/h1.db"]].concat()).await;
    // etcd 3.4 (kubeadm 1.18): etcdctl checks snapshots, there is no etcdutl yet.
    let status = exec_ok(
        &sim,
        "cp-1",
        &["crictl", "exec", id, "etcdctl", "snapshot", "status", "/var/lib/etcd/h1.db", "-w", "json"],
    )
    .await;
    assert!(status.contains("\"totalKey\""), "{status}");
    let (code, _, stderr) = exec(&sim, "cp-1", &["crictl", "exec", id, "etcdutl", "version"]).await;
    assert!(code == 1 && stderr.contains("executable file not found"), "{stderr}");
    let sum = exec_ok(&sim, "cp-1", &["sha256sum", "--", "/var/lib/etcd/h1.db"]).await;
    assert_eq!(sum.split_whitespace().nth(1), Some("/var/lib/etcd/h1.db"), "{sum}");
    // With host tools installed (as an operator may), the host path works too.
    assert!(sim.install_host_etcd_tools("cp-1", "3.4.13"));
    let etcd = ETCDCTL;
    let saved = exec_ok(&sim, "cp-1", &argv(&etcd, &["snapshot", "save", snapshot])).await;
    assert_eq!(saved, format!("Snapshot saved at {snapshot}\n"));
    let status =
        exec_ok(&sim, "cp-1", &["env", "ETCDCTL_API=3", "etcdctl", "snapshot", "status", snapshot, "-w", "json"]).await;
    let status: Value = serde_json::from_str(&status).unwrap();
    assert!(status["totalKey"].as_u64().unwrap() > 10, "{status}");
    assert!(status["revision"].as_u64().unwrap() > 0, "{status}");

    // Plan and apply.
    let plan = exec_ok(&sim, "cp-1", &["kubeadm", "upgrade", "plan"]).await;
    assert!(plan.contains("[upgrade/versions] Cluster version: v1.18.20"), "{plan}");
    assert!(plan.contains("kubelet     3 x v1.18.20"), "{plan}");
    assert!(plan.contains("\tkubeadm upgrade apply v1.19.16"), "{plan}");
    let apply = exec_ok(&sim, "cp-1", &["kubeadm", "upgrade", "apply", "v1.19.16", "-y"]).await;
    assert!(
        apply.contains("[upgrade/successful] SUCCESS! Your cluster was upgraded to \"v1.19.16\". Enjoy!"),
        "{apply}"
    );
    assert!(apply.contains("[upgrade/staticpods] Component \"etcd\" upgraded successfully!"), "{apply}");
    let manifest = exec_ok(&sim, "cp-1", &["cat", "--", "/etc/kubernetes/manifests/kube-apiserver.yaml"]).await;
    assert!(manifest.contains("    image: k8s.gcr.io/kube-apiserver:v1.19.16\n"), "{manifest}");
    let backups = exec_ok(&sim, "cp-1", &["ls", "-1", "--", "/etc/kubernetes/tmp"]).await;
    let backups: Vec<&str> = backups.lines().collect();
    assert_eq!(backups.len(), 2, "{backups:?}");
    assert!(backups[0].starts_with("kubeadm-backup-etcd-") && backups[1].starts_with("kubeadm-backup-manifests-"));
    let old =
        exec_ok(&sim, "cp-1", &["cat", "--", &format!("/etc/kubernetes/tmp/{}/kube-apiserver.yaml", backups[1])]).await;
    assert!(old.contains("kube-apiserver:v1.18.20"), "{old}");

    // The API shows the upgrade.
    let client = kube_client(&sim).await;
    assert_eq!(client.apiserver_version().await.unwrap().git_version, "v1.19.16");
    let apiserver = mirror(&sim, "kube-apiserver-cp-1");
    assert_eq!(image(&apiserver, "/spec/containers/0/image"), "k8s.gcr.io/kube-apiserver:v1.19.16");
    assert_ne!(hash(&apiserver), hash(&apiserver_before));
    assert_ne!(model::annotation(&apiserver, "kubernetes.io/config.hash"), None);
    assert!(model::is_ready(&apiserver));
    assert_eq!(image(&mirror(&sim, "etcd-cp-1"), "/spec/containers/0/image"), "k8s.gcr.io/etcd:3.4.13-0");
    for component in ["kube-controller-manager", "kube-scheduler"] {
        let pod = mirror(&sim, &format!("{component}-cp-1"));
        assert_eq!(image(&pod, "/spec/containers/0/image"), format!("k8s.gcr.io/{component}:v1.19.16"));
    }
    let config = sim.store().get("configmaps", "kube-system", "kubeadm-config").unwrap();
    assert!(config["data"]["ClusterConfiguration"].as_str().unwrap().contains("kubernetesVersion: v1.19.16"));
    assert!(sim.store().get("configmaps", "kube-system", "kubelet-config-1.19").is_some());
    let coredns = sim.store().get("deployments.apps", "kube-system", "coredns").unwrap();
    assert_eq!(image(&coredns, "/spec/template/spec/containers/0/image"), "k8s.gcr.io/coredns:1.7.0");
    let proxy = sim.store().get("daemonsets.apps", "kube-system", "kube-proxy").unwrap();
    assert_eq!(image(&proxy, "/spec/template/spec/containers/0/image"), "k8s.gcr.io/kube-proxy:v1.19.16");
    eventually("kube-proxy rolled on every node", Duration::from_secs(20), || {
        sim.store().list("nodes", None).iter().all(|n| n["status"]["nodeInfo"]["kubeProxyVersion"] == "v1.19.16")
    })
    .await;
    let node = sim.store().get("nodes", "", "cp-1").unwrap();
    assert_eq!(node["status"]["nodeInfo"]["kubeletVersion"], "v1.18.20", "the kubelet is not upgraded yet");

    // InstallPackages kubelet, kubectl; RestartKubelet.
    exec_ok(&sim, "cp-1", &["apt-get", "update", "-q"]).await;
    exec_ok(&sim, "cp-1", &argv(&INSTALL, &["kubelet=1.19.16-00", "kubectl=1.19.16-00"])).await;
    exec_ok(&sim, "cp-1", &["apt-mark", "hold", "kubelet", "kubectl"]).await;
    exec_ok(&sim, "cp-1", &["systemctl", "daemon-reload"]).await;
    exec_ok(&sim, "cp-1", &["systemctl", "restart", "kubelet"]).await;
    eventually("cp-1 NotReady while the kubelet restarts", Duration::from_secs(5), || {
        !model::is_ready(&sim.store().get("nodes", "", "cp-1").unwrap())
    })
    .await;
    assert_eq!(exec_ok(&sim, "cp-1", &["systemctl", "is-active", "kubelet"]).await, "active\n");
    eventually("cp-1 Ready at v1.19.16", Duration::from_secs(10), || {
        let node = sim.store().get("nodes", "", "cp-1").unwrap();
        model::is_ready(&node) && node["status"]["nodeInfo"]["kubeletVersion"] == "v1.19.16"
    })
    .await;

    // A worker: kubeadm upgrade node only writes the kubelet configuration.
    let state = sim.host_state("worker-1").unwrap();
    let before = state.files.clone();
    exec_ok(&sim, "worker-1", &argv(&INSTALL, &["kubeadm=1.19.16-00"])).await;
    let node_out = exec_ok(&sim, "worker-1", &["kubeadm", "upgrade", "node"]).await;
    assert!(node_out.contains("[upgrade] Skipping phase. Not a control plane node."), "{node_out}");
    assert!(
        node_out.contains("[kubelet-start] Writing kubelet configuration to file \"/var/lib/kubelet/config.yaml\"")
    );
    assert_eq!(sim.host_state("worker-1").unwrap().files, before, "no files appear on a worker");

    // Real kubectl sees the new server version.
    for (_, kubectl) in newest_and_oldest() {
        let home = tempfile::tempdir().unwrap();
        let kubeconfig = home.path().join("kubeconfig");
        sim.write_kubeconfig(&kubeconfig).unwrap();
        let out = tokio::process::Command::new(&kubectl)
            .args(["version", "-o", "json"])
            .env_clear()
            .env("HOME", home.path())
            .env("KUBECONFIG", &kubeconfig)
            .env("PATH", "/usr/bin:/bin")
            .output()
            .await
            .unwrap();
        let parsed: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(parsed["serverVersion"]["gitVersion"], "v1.19.16", "{}", kubectl.display());
    }
    sim.shutdown().await;
}

async fn kube_client(sim: &RunningSim) -> kube::Client {
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&sim.kubeconfig_yaml()).unwrap();
    let config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default()).await.unwrap();
    kube::Client::try_from(config).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)]
async fn refusals_have_the_real_tools_exit_codes_and_messages() {
    let sim = start(before_2024(Scenario::small()), HostTimings::default()).await;
    let install = |spec: &'static str| argv(&INSTALL, &[spec]);

    // A held package is not changed without --allow-change-held-packages.
    let plain = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q", "kubeadm=1.19.16-00"];
    let (code, stdout, stderr) = exec(&sim, "cp-1", &plain).await;
    assert_eq!(code, 100, "{stdout}");
    assert_eq!(stderr, "E: Held packages were changed and -y was used without --allow-change-held-packages.\n");
    // A version the repository does not have.
    let (code, _, stderr) = exec(&sim, "cp-1", &install("kubeadm=1.19.99-00")).await;
    assert_eq!((code, stderr.as_str()), (100, "E: Version '1.19.99-00' for 'kubeadm' was not found\n"));
    // A downgrade needs --allow-downgrades.
    let (code, stdout, stderr) = exec(&sim, "cp-1", &install("kubeadm=1.18.19-00")).await;
    assert_eq!(code, 100);
    assert!(stdout.contains("The following packages will be DOWNGRADED:\n  kubeadm"), "{stdout}");
    assert_eq!(stderr, "E: Packages were downgraded and -y was used without --allow-downgrades.\n");
    // Without -y apt asks and, with nobody to answer, aborts.
    let (code, stdout, _) =
        exec(&sim, "cp-1", &["apt-get", "install", "--allow-change-held-packages", "kubeadm=1.19.16-00"]).await;
    assert_eq!(code, 1);
    assert!(stdout.ends_with("Do you want to continue? [Y/n] Abort.\n"), "{stdout}");

    // pkgs.k8s.io for 1.29 offers 1.29 only, and only after `apt-get update` reads it.
    let legacy_key = "https://packages.cloud.google.com/apt/doc/apt-key.gpg";
    exec_ok(&sim, "worker-1", &["sh", "-c", KEY, "kubeladder-key", legacy_key, KEYRING]).await;
    exec_ok(&sim, "worker-1", &["sh", "-c", WRITE, "kubeladder-write", &pkgs_sources("1.29"), SOURCES, "644"]).await;
    exec_ok(&sim, "worker-1", &install("kubeadm=1.19.16-00")).await;
    let (code, _, stderr) = exec(&sim, "worker-1", &["apt-get", "update"]).await;
    assert_eq!(code, 100, "the legacy keyring does not sign pkgs.k8s.io");
    assert!(stderr.contains("NO_PUBKEY 234654DA9A296436"), "{stderr}");
    exec_ok(
        &sim,
        "worker-1",
        &["sh", "-c", KEY, "kubeladder-key", "https://pkgs.k8s.io/core:/stable:/v1.29/deb/Release.key", KEYRING],
    )
    .await;
    exec_ok(&sim, "worker-1", &["apt-get", "update"]).await;
    let (code, _, stderr) = exec(&sim, "worker-1", &install("kubelet=1.19.16-00")).await;
    assert_eq!((code, stderr.as_str()), (100, "E: Version '1.19.16-00' for 'kubelet' was not found\n"));
    let madison = exec_ok(&sim, "worker-1", &["apt-cache", "madison", "kubeadm"]).await;
    assert!(
        madison.starts_with("   kubeadm | 1.29.15-1.1 | https://pkgs.k8s.io/core:/stable:/v1.29/deb  Packages\n"),
        "{madison}"
    );
    let state = sim.host_state("worker-1").unwrap();
    let repo = state.repository.clone().unwrap();
    assert_eq!(
        (repo.repository, repo.minor, repo.refreshed),
        (Repository::PkgsK8sIo, Some("1.29".parse().unwrap()), true)
    );
    assert!(state.package("kubeadm").unwrap().held, "holds survive an upgrade");

    // kubeadm's version policy.
    let (code, _, stderr) = exec(&sim, "cp-1", &["kubeadm", "upgrade", "apply", "v1.19.16", "-y"]).await;
    assert_eq!(code, 1);
    assert!(
        stderr.contains("Specified version to upgrade to \"v1.19.16\" is at least one minor release higher than the kubeadm minor release (19 > 18). Such an upgrade is not supported"),
        "{stderr}"
    );
    exec_ok(&sim, "cp-1", &install("kubeadm=1.20.15-00")).await;
    let (code, _, stderr) = exec(&sim, "cp-1", &["kubeadm", "upgrade", "apply", "v1.20.15", "-y"]).await;
    assert_eq!(code, 1);
    assert!(stderr.contains("is too high; kubeadm can upgrade only 1 minor version at a time"), "{stderr}");
    assert!(stderr.contains("FATAL: the --version argument is invalid due to these fatal errors"), "{stderr}");
    exec_ok(&sim, "cp-1", &argv(&INSTALL, &["--allow-downgrades", "kubeadm=1.19.10-00"])).await;
    let (code, _, stderr) = exec(&sim, "cp-1", &["kubeadm", "upgrade", "apply", "v1.19.16", "-y"]).await;
    assert_eq!(code, 1);
    assert!(stderr.contains("is higher than the kubeadm version \"v1.19.10\""), "{stderr}");
    assert!(stderr.contains("Can be bypassed if you pass the --force flag"), "{stderr}");
    let (code, stdout, stderr) = exec(&sim, "cp-1", &["kubeadm", "upgrade", "apply", "v1.19.10"]).await;
    assert_eq!(code, 1, "no -y: kubeadm asks and nobody answers");
    assert!(
        stdout.ends_with("[upgrade/confirm] Are you sure you want to proceed with the upgrade? [y/N]: "),
        "{stdout}"
    );
    assert!(stderr.starts_with("won't proceed"), "{stderr}");
    let (code, _, stderr) = exec(&sim, "worker-1", &["kubeadm", "upgrade", "plan"]).await;
    assert_eq!(code, 1, "a worker has no admin.conf");
    assert!(stderr.contains("open /etc/kubernetes/admin.conf: no such file or directory"), "{stderr}");
    let (code, _, stderr) = exec(&sim, "cp-1", &["kubeadm", "upgrade", "apply", "v1.19.10", "--yess"]).await;
    assert_eq!((code, stderr.lines().next().unwrap()), (2, "unknown flag: --yess"));

    // Unknown programs, unknown options, other scripts, missing files.
    let (code, _, stderr) = exec(&sim, "cp-1", &["kubeadmm", "version"]).await;
    assert_eq!((code, stderr.as_str()), (127, "kubeadmm: command not found\n"));
    let (code, _, stderr) =
        exec(&sim, "cp-1", &["apt-get", "install", "--allow-change-helds-packages", "kubeadm"]).await;
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = exec(&sim, "cp-1", &["sh", "-c", "echo hi", "other"]).await;
    assert_eq!(code, 127, "{stderr}");
    assert!(stderr.contains("kubeladder-write"), "{stderr}");
    let (code, _, stderr) = exec(&sim, "cp-1", &["cat", "--", "/etc/nothing"]).await;
    assert_eq!((code, stderr.as_str()), (1, "cat: /etc/nothing: No such file or directory\n"));
    let (code, _, stderr) = exec(&sim, "cp-1", &["dpkg-query", "-W", "-f", DPKG_FORMAT, "kubeadm", "cri-tools"]).await;
    assert_eq!((code, stderr.as_str()), (1, "dpkg-query: no packages found matching cri-tools\n"));
    let (code, _, _) = exec(&sim, "cp-1", &["rpm", "-q", "kubeadm"]).await;
    assert_eq!(code, 127, "no rpm on an apt host");
    exec_ok(&sim, "cp-1", &["sudo", "-n", "--", "apt-mark", "showhold"]).await;

    // The endpoint itself: 401, 404, 400.
    let body = r#"{"argv": ["true"]}"#;
    let (status, text) = https(&sim, "POST", "/sim/v1/hosts/cp-1/exec", None, Some(body)).await.unwrap();
    assert_eq!(status, 401);
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["kind"], "Status");
    let (status, _) = https(&sim, "POST", "/sim/v1/hosts/cp-1/exec", Some("wrong"), Some(body)).await.unwrap();
    assert_eq!(status, 401);
    let (status, text) = https(&sim, "POST", "/sim/v1/hosts/cp-9/exec", Some(sim.token()), Some(body)).await.unwrap();
    assert_eq!((status, text.as_str()), (404, r#"{"error":"no host named cp-9"}"#));
    let (status, _) =
        https(&sim, "POST", "/sim/v1/hosts/cp-1/exec", Some(sim.token()), Some("{\"argv\": 3}")).await.unwrap();
    assert_eq!(status, 400);
    let (status, text) = https(&sim, "GET", "/sim/v1/hosts", Some(sim.token()), None).await.unwrap();
    assert_eq!(status, 200);
    let hosts: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(hosts[0], serde_json::json!({"node": "cp-1", "address": "127.0.1.1", "package_manager": "apt"}));
    assert_eq!(hosts.as_array().unwrap().len(), 3);
    let (status, text) = https(
        &sim,
        "POST",
        "/sim/v1/hosts/cp-1/exec",
        Some(sim.token()),
        Some(r#"{"argv": ["kubeadm", "upgrade", "apply", "v1.19.10", "-y"], "timeout_ms": 5}"#),
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["exit_code"], 124, "{text}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dnf_hosts_install_with_disableexcludes() {
    let scenario =
        Scenario::small().with_version(KubeVersion::new(1, 29, 10)).with_package_manager(PackageManager::Dnf);
    let sim = start(scenario, HostTimings::default()).await;
    let detect = exec_ok(&sim, "cp-1", &["sh", "-c", DETECT, "kubeladder-detect"]).await;
    assert_eq!(detect, "/usr/bin/dnf\n/usr/bin/yum\ndnf-version: 4.14.0\n");
    let query = ["rpm", "-q", "--qf", r"%{NAME}\t%{VERSION}-%{RELEASE}\tinstalled\n", "kubeadm", "kubelet", "kubectl"];
    assert_eq!(
        exec_ok(&sim, "cp-1", &query).await,
        "kubeadm\t1.29.10-150500.1.1\tinstalled\nkubelet\t1.29.10-150500.1.1\tinstalled\nkubectl\t1.29.10-150500.1.1\tinstalled\n"
    );
    let repo = "# kubeladder: Kubernetes 1.30 packages (pkgs.k8s.io)\n[kubernetes]\nname=Kubernetes 1.30\nbaseurl=https://pkgs.k8s.io/core:/stable:/v1.30/rpm/\nenabled=1\ngpgcheck=1\ngpgkey=https://pkgs.k8s.io/core:/stable:/v1.30/rpm/repodata/repomd.xml.key\nexclude=kubelet kubeadm kubectl cri-tools kubernetes-cni\n";
    exec_ok(&sim, "cp-1", &["sh", "-c", WRITE, "kubeladder-write", repo, "/etc/yum.repos.d/kubernetes.repo", "644"])
        .await;
    exec_ok(&sim, "cp-1", &["dnf", "makecache", "-y"]).await;
    let (code, stdout, stderr) = exec(&sim, "cp-1", &["dnf", "install", "-y", "kubeadm-1.30.14-150500.1.1"]).await;
    assert_eq!(code, 1);
    assert!(
        stdout.contains("All matches were filtered out by exclude filtering for argument: kubeadm-1.30.14-150500.1.1")
    );
    assert_eq!(stderr, "Error: Unable to find a match: kubeadm-1.30.14-150500.1.1\n");
    exec_ok(&sim, "cp-1", &["dnf", "install", "-y", "kubeadm-1.30.14-150500.1.1", "--disableexcludes=kubernetes"])
        .await;
    let (code, stdout, _) = exec(&sim, "cp-1", &query).await;
    assert_eq!(code, 0);
    assert!(stdout.starts_with("kubeadm\t1.30.14-150500.1.1\tinstalled\n"), "{stdout}");
    let (code, _, _) = exec(
        &sim,
        "cp-1",
        &["dnf", "install", "-y", "kubeadm-1.30.14-150500.1.1", "--setopt=disable_excludes=kubernetes", "--bogus"],
    )
    .await;
    assert_eq!(code, 2);
    let (code, _, _) = exec(&sim, "cp-1", &["apt-get", "update"]).await;
    assert_eq!(code, 127, "no apt on a dnf host");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_yaml_lists_every_node_for_the_sim_transport() {
    let sim = start(Scenario::ha(), HostTimings::default()).await;
    let yaml = sim.hosts_yaml(std::path::Path::new("/tmp/x/hosts.yaml.ca.pem"));
    let parsed: Value = serde_saphyr::from_str(&yaml).unwrap();
    assert_eq!(parsed["defaults"]["transport"], "sim");
    assert_eq!(parsed["defaults"]["sim_url"], sim.url());
    assert_eq!(parsed["defaults"]["sim_token"], sim.token());
    assert_eq!(parsed["defaults"]["sim_ca_file"], "/tmp/x/hosts.yaml.ca.pem");
    let hosts = parsed["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 9);
    assert_eq!(hosts[0], serde_json::json!({"node": "cp-1", "address": "127.0.1.1", "package_manager": "apt"}));
    for host in hosts {
        let node = sim.store().get("nodes", "", host["node"].as_str().unwrap()).unwrap();
        assert_eq!(model::internal_ip(&node), host["address"].as_str().unwrap());
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubeadm_refuses_a_downgrade_without_force() {
    let sim = start(Scenario::small().with_version(KubeVersion::new(1, 19, 16)), HostTimings::default()).await;
    let (code, stdout, stderr) = exec(&sim, "cp-1", &["kubeadm", "upgrade", "apply", "v1.18.20", "-y"]).await;
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stderr.contains("Kubeadm version v1.19.16 can only be used to upgrade to Kubernetes version 1.19"),
        "{stderr}"
    );
    assert!(stderr.contains("Can be bypassed if you pass the --force flag"), "{stderr}");
    let forced = exec_ok(&sim, "cp-1", &["kubeadm", "upgrade", "apply", "v1.18.20", "-y", "--force"]).await;
    assert!(forced.contains("skipping since the --force flag is set"), "{forced}");
    assert!(forced.contains("SUCCESS! Your cluster was upgraded to \"v1.18.20\""), "{forced}");
    assert_eq!(kube_client(&sim).await.apiserver_version().await.unwrap().git_version, "v1.18.20");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_legacy_repository_is_gone_and_the_mirror_serves_it() {
    let sim = start(Scenario::small(), HostTimings::default()).await;
    // The node still points at apt.kubernetes.io, as its install guide left it.
    let (code, stdout, stderr) = exec(&sim, "cp-1", &["apt-get", "update"]).await;
    assert_eq!(code, 100, "{stdout}");
    assert!(stdout.contains("404  Not Found"), "{stdout}");
    assert!(
        stderr.contains(
            "E: The repository 'https://apt.kubernetes.io kubernetes-xenial InRelease' does not have a Release file."
        ),
        "{stderr}"
    );
    let (code, _, stderr) = exec(&sim, "cp-1", &argv(&INSTALL, &["kubeadm=1.19.16-00"])).await;
    assert_eq!((code, stderr.as_str()), (100, "E: Version '1.19.16-00' for 'kubeadm' was not found\n"));
    // The scenario's mirror keeps the legacy layout.
    let mirror = kubeladder_sim::host::DEFAULT_MIRROR;
    let sources = format!("deb [signed-by={KEYRING}] https://{mirror}/kubernetes/apt/ kubernetes-xenial main\n");
    configure_repository(&sim, "cp-1", &format!("https://{mirror}/kubernetes/apt/doc/apt-key.gpg"), &sources).await;
    let madison = exec_ok(&sim, "cp-1", &["apt-cache", "madison", "kubeadm"]).await;
    assert!(madison.contains(" 1.19.16-00 | "), "{madison}");
    exec_ok(&sim, "cp-1", &argv(&INSTALL, &["kubeadm=1.19.16-00"])).await;
    // A host that does not resolve: apt warns and exits 0, and offers nothing.
    let elsewhere =
        format!("deb [signed-by={KEYRING}] https://mirror.invalid/kubernetes/apt/ kubernetes-xenial main\n");
    exec_ok(&sim, "worker-1", &["sh", "-c", WRITE, "kubeladder-write", &elsewhere, SOURCES, "644"]).await;
    let (code, _, stderr) = exec(&sim, "worker-1", &["apt-get", "update"]).await;
    assert_eq!(code, 0);
    assert!(stderr.contains("Could not resolve 'mirror.invalid'"), "{stderr}");
    assert_eq!(exec_ok(&sim, "worker-1", &["apt-cache", "madison", "kubeadm"]).await, "");
}
