//! `kubeladder apply` / `resume` / `abort` as separate processes against a simulated cluster
//! served in this test, with an invariant checker that reads the simulator's own state after
//! every change it makes (not what the tool claims):
//! - the version skew policy holds (kube-apiservers within one minor; controller-manager and
//!   scheduler not newer than their node's apiserver; kubelets inside the window of every
//!   apiserver; kube-proxy pods not newer than the newest apiserver);
//! - unavailable workers (cordoned or NotReady) never exceed the allowed number;
//! - no PodDisruptionBudget ever has fewer healthy pods than it requires because of us;
//! - a node cordoned by someone else stays cordoned the whole time.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is the failure report

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kubeladder_core::cluster::{ClusterState, NodeState, Role, StaticPods};
use kubeladder_core::{KubeVersion, Minor};
use kubeladder_sim::{RunningSim, Scenario, SimCluster, SimConfig, Timings};
use serde_json::{Value, json};

struct Env {
    sim: RunningSim,
    dir: tempfile::TempDir,
}

fn image_version(image: &str) -> Option<KubeVersion> {
    KubeVersion::parse(image.rsplit(':').next()?).ok()
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn ready(obj: &Value) -> bool {
    obj.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
}

fn is_control_plane(node: &Value) -> bool {
    node.pointer("/metadata/labels").and_then(Value::as_object).is_some_and(|l| {
        l.contains_key("node-role.kubernetes.io/control-plane") || l.contains_key("node-role.kubernetes.io/master")
    })
}

fn cordoned(node: &Value) -> bool {
    node.pointer("/spec/unschedulable").and_then(Value::as_bool).unwrap_or(false)
}

fn labels_match(selector: &Value, pod: &Value) -> bool {
    let Some(wanted) = selector.get("matchLabels").and_then(Value::as_object) else { return false };
    let labels = pod.pointer("/metadata/labels").and_then(Value::as_object);
    !wanted.is_empty() && wanted.iter().all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

/// What the checker found; empty when every invariant held at every observed state.
#[derive(Debug, Default)]
struct Findings {
    violations: Vec<String>,
    states: usize,
    max_unavailable_seen: usize,
}

struct Invariants {
    max_unavailable: usize,
    foreign: BTreeSet<String>,
}

impl Invariants {
    fn check(&self, sim: &RunningSim, out: &mut Findings) {
        let nodes = sim.store().list("nodes", None);
        let pods = sim.store().list("pods", None);
        let pdbs = sim.store().list("poddisruptionbudgets.policy", None);
        out.states += 1;
        // Skew, with the core engine as the oracle over what the simulator runs.
        let mut static_pods: BTreeMap<String, BTreeMap<String, KubeVersion>> = BTreeMap::new();
        for pod in &pods {
            let component = str_at(pod, "/metadata/labels/component");
            if ["kube-apiserver", "kube-controller-manager", "kube-scheduler"].contains(&component)
                && let Some(v) = image_version(str_at(pod, "/spec/containers/0/image"))
            {
                static_pods
                    .entry(str_at(pod, "/spec/nodeName").to_owned())
                    .or_default()
                    .insert(component.to_owned(), v);
            }
        }
        let mut state_nodes = Vec::new();
        for node in &nodes {
            let name = str_at(node, "/metadata/name").to_owned();
            let Ok(kubelet) = KubeVersion::parse(str_at(node, "/status/nodeInfo/kubeletVersion")) else { continue };
            let sp = static_pods.get(&name).and_then(|m| {
                Some(StaticPods {
                    apiserver: *m.get("kube-apiserver")?,
                    controller_manager: *m.get("kube-controller-manager")?,
                    scheduler: *m.get("kube-scheduler")?,
                })
            });
            state_nodes.push(NodeState {
                name: name.clone(),
                role: if is_control_plane(node) { Role::ControlPlane } else { Role::Worker },
                kubelet,
                static_pods: sp,
                ready: ready(node),
                cordoned: cordoned(node),
            });
        }
        let state = ClusterState { cluster_version: KubeVersion::new(1, 0, 0), kube_proxy: None, nodes: state_nodes };
        for v in state.violations() {
            out.violations.push(format!("skew: {}", v.message));
        }
        if let Some(apiservers) = state.apiservers() {
            for pod in pods.iter().filter(|p| str_at(p, "/metadata/labels/k8s-app") == "kube-proxy") {
                if let Some(v) = image_version(str_at(pod, "/spec/containers/0/image"))
                    && v.minor() > apiservers.newest
                {
                    out.violations.push(format!(
                        "skew: kube-proxy {} on {} is newer than every apiserver",
                        v,
                        str_at(pod, "/spec/nodeName")
                    ));
                }
            }
        }
        // Unavailable workers.
        let unavailable: Vec<&str> = nodes
            .iter()
            .filter(|n| !is_control_plane(n) && (cordoned(n) || !ready(n)))
            .map(|n| str_at(n, "/metadata/name"))
            .collect();
        out.max_unavailable_seen = out.max_unavailable_seen.max(unavailable.len());
        if unavailable.len() > self.max_unavailable {
            out.violations.push(format!("{} workers unavailable at once: {unavailable:?}", unavailable.len()));
        }
        // Budgets: healthy pods never below what a budget requires.
        for pdb in &pdbs {
            // minAvailable N, or maxUnavailable N of the pods the budget expects.
            let expected = pdb.pointer("/status/expectedPods").and_then(Value::as_i64).unwrap_or(0);
            let min = match (
                pdb.pointer("/spec/minAvailable").and_then(Value::as_i64),
                pdb.pointer("/spec/maxUnavailable").and_then(Value::as_i64),
            ) {
                (Some(min), _) => min,
                (None, Some(max)) => expected - max,
                (None, None) => continue,
            };
            let selector = pdb.pointer("/spec/selector").cloned().unwrap_or(Value::Null);
            let healthy = pods
                .iter()
                .filter(|p| str_at(p, "/metadata/namespace") == str_at(pdb, "/metadata/namespace"))
                .filter(|p| labels_match(&selector, p))
                .filter(|p| ready(p) && p.pointer("/metadata/deletionTimestamp").is_none_or(Value::is_null))
                .count();
            if i64::try_from(healthy).unwrap() < min {
                out.violations.push(format!(
                    "budget {}/{}: {healthy} healthy pods, minAvailable {min}",
                    str_at(pdb, "/metadata/namespace"),
                    str_at(pdb, "/metadata/name")
                ));
            }
        }
        // Foreign cordons stay.
        for node in nodes.iter().filter(|n| self.foreign.contains(str_at(n, "/metadata/name"))) {
            if !cordoned(node) {
                out.violations.push(format!("foreign cordon of {} was lifted", str_at(node, "/metadata/name")));
            }
        }
        out.violations.dedup();
    }
}

/// Checks the invariants after every change the simulator broadcasts, until stopped.
fn spawn_checker(env: &Arc<Env>, invariants: Invariants) -> (Arc<Mutex<Findings>>, tokio::task::JoinHandle<()>) {
    let findings = Arc::new(Mutex::new(Findings::default()));
    let mut events = env.sim.store().lock().subscribe();
    let env = Arc::clone(env);
    let out = Arc::clone(&findings);
    let task = tokio::spawn(async move {
        while let Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) = events.recv().await {
            let mut f = out.lock().unwrap();
            invariants.check(&env.sim, &mut f);
        }
    });
    (findings, task)
}

impl Env {
    async fn start(scenario: Scenario) -> Arc<Self> {
        let config = SimConfig {
            speed: 40.0,
            timings: Timings { pod_start_secs: 2.0, pod_ready_secs: 2.0, pod_termination_secs: 2.0 },
            ..SimConfig::new(scenario)
        };
        let sim = SimCluster::start(config).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        sim.write_kubeconfig(&dir.path().join("kubeconfig")).unwrap();
        let ca = dir.path().join("hosts.yaml.ca.pem");
        std::fs::write(&ca, sim.ca_pem()).unwrap();
        std::fs::write(dir.path().join("hosts.yaml"), sim.hosts_yaml(&ca)).unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        Arc::new(Self { sim, dir })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_kubeladder"));
        cmd.args(args)
            .arg("--kubeconfig")
            .arg(self.path("kubeconfig"))
            .env_remove("KUBECONFIG")
            .env("XDG_STATE_HOME", self.path("xdg"))
            .kill_on_drop(true)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd
    }

    fn run_args(&self, state: &str) -> Vec<String> {
        vec![
            "--hosts".to_owned(),
            self.path("hosts.yaml").display().to_string(),
            "--state-dir".to_owned(),
            self.path(state).display().to_string(),
            "--poll".to_owned(),
            "100ms".to_owned(),
            // Bounded well below the harness's own limits, so a stuck run fails with its report.
            "--gate-timeout".to_owned(),
            "90s".to_owned(),
            "--drain-timeout".to_owned(),
            "90s".to_owned(),
            "-o".to_owned(),
            "json".to_owned(),
            // The ha scenario carries emptyDir pods and a bare pod; runs that are not about the
            // drain flags move them (kubectl's defaults are tested on their own).
            "--delete-emptydir-data".to_owned(),
            "--force".to_owned(),
        ]
    }

    async fn run(&self, args: &[String]) -> (i32, String, String) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self.command(&args).output();
        let out = tokio::time::timeout(Duration::from_secs(240), out).await.expect("kubeladder finishes").unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }

    fn cordon_foreign(&self, node: &str) {
        let mut inner = self.sim.store().lock();
        inner.modify("nodes", "", node, |n| {
            n["spec"]["unschedulable"] = json!(true);
        });
    }
}

fn apply_args(env: &Env, to: &str, workers: &str, max_unavailable: &str, state: &str) -> Vec<String> {
    let mut args: Vec<String> =
        ["apply", "--to", to, "--workers", workers, "--max-unavailable", max_unavailable, "--yes"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
    args.extend(env.run_args(state));
    args
}

fn events(stdout: &str) -> Vec<Value> {
    stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

/// Everything a finished upgrade to `target` must show, read from the simulator.
fn assert_converged(env: &Env, target: KubeVersion, foreign: &BTreeSet<String>) {
    let store = env.sim.store();
    for node in store.list("nodes", None) {
        let name = str_at(&node, "/metadata/name");
        assert!(ready(&node), "{name} is not Ready");
        assert_eq!(str_at(&node, "/status/nodeInfo/kubeletVersion"), target.to_string(), "{name} kubelet");
        assert_eq!(cordoned(&node), foreign.contains(name), "{name} cordon at the end");
    }
    for pod in store.list("pods", Some("kube-system")) {
        let component = str_at(&pod, "/metadata/labels/component");
        if ["kube-apiserver", "kube-controller-manager", "kube-scheduler"].contains(&component) {
            assert_eq!(
                image_version(str_at(&pod, "/spec/containers/0/image")),
                Some(target),
                "{} image",
                str_at(&pod, "/metadata/name")
            );
        }
    }
    let data = kubeladder_core::release::ReleaseData::embedded().unwrap();
    let release = data.get(target.minor()).unwrap();
    let etcd: Vec<String> = store
        .list("pods", Some("kube-system"))
        .iter()
        .filter(|p| str_at(p, "/metadata/labels/component") == "etcd")
        .map(|p| str_at(p, "/spec/containers/0/image").rsplit(':').next().unwrap().to_owned())
        .collect();
    assert!(!etcd.is_empty());
    for tag in &etcd {
        assert!(tag.starts_with(release.etcd.as_str()), "etcd {tag}, expected {}", release.etcd);
    }
    let coredns = store.get("deployments.apps", "kube-system", "coredns").unwrap();
    let tag = str_at(&coredns, "/spec/template/spec/containers/0/image").rsplit(':').next().unwrap().to_owned();
    assert!(
        tag.trim_start_matches('v') == release.coredns.trim_start_matches('v'),
        "coredns {tag}, expected {}",
        release.coredns
    );
    let config = store.get("configmaps", "kube-system", "kubeadm-config").unwrap();
    let cluster_config = str_at(&config, "/data/ClusterConfiguration");
    assert!(cluster_config.contains(&format!("kubernetesVersion: {target}")), "{cluster_config}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_1_18_to_1_23_keeps_every_invariant() {
    let env = Env::start(Scenario::ha()).await;
    env.cordon_foreign("worker-6");
    let foreign: BTreeSet<String> = ["worker-6".to_owned()].into();
    let (findings, checker) = spawn_checker(&env, Invariants { max_unavailable: 2, foreign: foreign.clone() });
    let (code, stdout, stderr) = env.run(&apply_args(&env, "1.23", "follow", "2", "state")).await;
    checker.abort();
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let evs = events(&stdout);
    let last = evs.last().unwrap();
    assert_eq!(last["event"], "finished", "{last}");
    assert_eq!(last["cluster_version"], "v1.23.17");
    let f = findings.lock().unwrap();
    assert!(f.violations.is_empty(), "invariants broken:\n{}", f.violations.join("\n"));
    assert!(f.states > 100, "the checker saw only {} states", f.states);
    assert!(f.max_unavailable_seen >= 2, "the window never opened beyond the foreign cordon");
    assert_converged(&env, KubeVersion::new(1, 23, 17), &foreign);
    // Every worker was drained once per hop (5 hops), the foreign one too but left cordoned.
    let drains =
        evs.iter().filter(|e| e["event"] == "step_finished" && e["step"] == "drain" && e["node"] == "worker-1").count();
    assert_eq!(drains, 5);
    // The simulated apiserver served what each minor serves: the drains of the 1.19-1.21
    // hops evicted through policy/v1beta1, those of 1.22 and 1.23 through policy/v1.
    let counts = env.sim.request_counts();
    let evictions = |v: &str| counts.get(&("eviction".to_owned(), format!("pods ({v})"))).copied().unwrap_or(0);
    assert!(evictions("policy/v1beta1") > 0 && evictions("policy/v1") > 0, "{counts:?}");
    assert_snapshots_copied(&env, "state", 5);
}

/// Each hop's etcd snapshot is in the state directory: its record, and a copy whose sha256
/// (computed here by the real `sha256sum`) and size are the recorded ones. Returns the
/// records in hop order.
fn assert_snapshots_copied(env: &Env, state: &str, hops: usize) -> Vec<Value> {
    let dir = env.path(state).join("snapshots");
    let mut records: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name, serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap())
        })
        .collect();
    records.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(records.len(), hops, "one snapshot per hop: {records:?}");
    for (name, record) in &records {
        let copy = dir.join(name.replace(".json", ".db"));
        let out = std::process::Command::new("sha256sum").arg(&copy).output().unwrap();
        assert!(out.status.success(), "{}", copy.display());
        let sum = String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap().to_owned();
        assert_eq!(record["sha256"], sum.as_str(), "{name}: the copy's checksum");
        assert_eq!(record["size"].as_u64().unwrap(), std::fs::metadata(&copy).unwrap().len(), "{name}");
        // No host etcdctl on a kubeadm node: taken inside the etcd container.
        assert!(record["taken_with"].as_str().unwrap().contains("crictl exec"), "{record}");
        assert!(record["total_keys"].as_u64().unwrap() > 0, "{record}");
    }
    records.into_iter().map(|(_, r)| r).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_1_33_to_1_35_go_through_the_etcd_container_and_etcdutl_on_3_6() {
    let env = Env::start(Scenario::small().with_version(KubeVersion::new(1, 33, 5))).await;
    for host in env.sim.hosts() {
        let state = env.sim.host_state(&host.node).unwrap();
        assert!(!state.files.iter().any(|f| f.ends_with("/etcdctl")), "{} has a host etcdctl", host.node);
    }
    let (code, stdout, stderr) = env.run(&apply_args(&env, "1.35", "follow", "1", "state")).await;
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let records = assert_snapshots_copied(&env, "state", 2);
    // The 1.33 -> 1.34 hop starts on etcd 3.5 (etcdctl checks), 1.34 -> 1.35 on 3.6 (etcdutl).
    assert!(records[0]["etcd_version"].as_str().unwrap().starts_with("3.5"), "{}", records[0]);
    assert_eq!(records[0]["verified_with"], "etcdctl snapshot status");
    assert!(records[1]["etcd_version"].as_str().unwrap().starts_with("3.6"), "{}", records[1]);
    assert_eq!(records[1]["verified_with"], "etcdutl snapshot status");
    let data = kubeladder_core::release::ReleaseData::embedded().unwrap();
    assert_converged(&env, data.get(Minor::new(1, 35)).unwrap().latest_patch, &BTreeSet::new());
}

/// Under `umask 000`, everything a run writes on the operator's machine is the owner's
/// alone (the journal; the snapshot copies hold every Secret of the cluster), and neither
/// the credentials of the kubeconfig and hosts file nor key material reach the output, the
/// events or the journal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_keeps_its_state_private_and_never_shows_a_credential() {
    use std::os::unix::fs::PermissionsExt as _;
    let env = Env::start(Scenario::small().with_version(KubeVersion::new(1, 33, 5))).await;
    let args = apply_args(&env, "1.34", "follow", "1", "state");
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    let script = format!(
        "umask 000; exec {} {} --kubeconfig '{}'",
        env!("CARGO_BIN_EXE_kubeladder"),
        quoted.join(" "),
        env.path("kubeconfig").display()
    );
    let out = tokio::process::Command::new("sh").arg("-c").arg(script).env_remove("KUBECONFIG").output();
    let out = tokio::time::timeout(Duration::from_secs(240), out).await.expect("kubeladder finishes").unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let kubeconfig = std::fs::read_to_string(env.path("kubeconfig")).unwrap();
    let token = kubeconfig
        .lines()
        .find_map(|l| l.trim().strip_prefix("token: "))
        .expect("a token")
        .trim_matches('"')
        .to_owned();
    assert!(
        std::fs::read_to_string(env.path("hosts.yaml")).unwrap().contains(&token),
        "the hosts file carries the token"
    );
    let secrets = [token.as_str(), "PRIVATE KEY"];
    for secret in secrets {
        assert!(!stdout.contains(secret) && !stderr.contains(secret), "{secret:?} was printed");
    }
    let mut pending = vec![env.path("state")];
    let mut files = 0;
    while let Some(dir) = pending.pop() {
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{} is {mode:o}", dir.display());
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            files += 1;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{} is {mode:o}", path.display());
            // A snapshot copy is etcd's data: it holds the cluster's Secrets by design,
            // which is why it is 0600; everything else must not hold a credential at all.
            if path.extension().is_some_and(|x| x == "db") {
                continue;
            }
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            for secret in secrets {
                assert!(!text.contains(secret), "{} holds {secret:?}", path.display());
            }
        }
    }
    assert!(files >= 4, "the journal, its events and a snapshot record and copy: {files} files");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lag_1_28_to_1_33_drains_each_worker_at_most_twice() {
    let env = Env::start(Scenario::ha().with_version(KubeVersion::new(1, 28, 15))).await;
    let (findings, checker) = spawn_checker(&env, Invariants { max_unavailable: 1, foreign: BTreeSet::new() });
    let (code, stdout, stderr) = env.run(&apply_args(&env, "1.33", "lag", "1", "state")).await;
    checker.abort();
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let f = findings.lock().unwrap();
    assert!(f.violations.is_empty(), "invariants broken:\n{}", f.violations.join("\n"));
    let target =
        kubeladder_core::release::ReleaseData::embedded().unwrap().get(Minor::new(1, 33)).unwrap().latest_patch;
    assert_converged(&env, target, &BTreeSet::new());
    let evs = events(&stdout);
    for worker in 1..=6 {
        let name = format!("worker-{worker}");
        let drains =
            evs.iter().filter(|e| e["event"] == "step_finished" && e["step"] == "drain" && e["node"] == name).count();
        assert!((1..=2).contains(&drains), "{name} drained {drains} times");
    }
}

impl Env {
    /// Start `args`, read its JSON events until `stop_after` says so, then SIGKILL it.
    /// Returns whether the process was killed (false: it ended on its own first).
    async fn kill_when(&self, args: &[String], mut stop_after: impl FnMut(&Value) -> bool) -> bool {
        use tokio::io::AsyncBufReadExt;
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut child = self.command(&args).spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let read = async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Ok(event) = serde_json::from_str::<Value>(&line)
                    && stop_after(&event)
                {
                    return true;
                }
            }
            false
        };
        let killed = tokio::time::timeout(Duration::from_secs(120), read).await.expect("an event in time");
        if killed {
            child.start_kill().unwrap();
        }
        let _ = child.wait().await;
        self.wait_for_orphaned_commands().await;
        killed
    }

    /// After a kill -9: wait (bounded) until the simulator has no command of the dead process
    /// still running. On a real node the SSH session's end kills them (kubeladder's wrapper
    /// kills the process group); the simulator finishes them instead, and a resume racing an
    /// orphaned `kubeadm` would test the simulator, not kubeladder.
    async fn wait_for_orphaned_commands(&self) {
        for _ in 0..600 {
            if self.sim.exec_in_flight() == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("a simulated command of the killed process still runs after 60 s");
    }

    /// Run `args`, putting `fault` in effect when the first step has finished.
    async fn run_injecting(&self, args: &[String], fault: kubeladder_sim::Fault) -> (i32, String, String) {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt};
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut child = self.command(&a).spawn().unwrap();
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut stderr = child.stderr.take().unwrap();
        let mut stdout = String::new();
        let mut fault = Some(fault);
        let read = async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if fault.is_some() && line.contains("\"step_finished\"") {
                    self.sim.add_fault(fault.take().unwrap()).unwrap();
                }
                stdout.push_str(&line);
                stdout.push('\n');
            }
        };
        tokio::time::timeout(Duration::from_secs(300), read).await.expect("the run ends");
        let mut err = String::new();
        stderr.read_to_string(&mut err).await.unwrap();
        let status = child.wait().await.unwrap();
        (status.code().unwrap_or(-1), stdout, err)
    }

    fn resume_args(&self, state: &str, max_unavailable: &str) -> Vec<String> {
        let mut args = vec!["resume".to_owned(), "--max-unavailable".to_owned(), max_unavailable.to_owned()];
        args.extend(self.run_args(state));
        args
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_every_step_boundary_then_resume_converges() {
    let env = Env::start(Scenario::small()).await;
    let (findings, checker) = spawn_checker(&env, Invariants { max_unavailable: 1, foreign: BTreeSet::new() });
    // The first process starts the run; every later one resumes it. Each is killed right
    // after one more step became durable, so the run crosses every step boundary by a kill.
    let mut args = apply_args(&env, "1.19", "follow", "1", "state");
    let mut kills = 0;
    for _ in 0..200 {
        let killed = env.kill_when(&args, |e| e["event"] == "step_finished" || e["event"] == "step_skipped").await;
        if !killed {
            break;
        }
        kills += 1;
        args = env.resume_args("state", "1");
    }
    let (code, stdout, stderr) = env.run(&env.resume_args("state", "1")).await;
    checker.abort();
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(kills >= 15, "only {kills} kills: the plan has more steps than that");
    let f = findings.lock().unwrap();
    assert!(f.violations.is_empty(), "invariants broken:\n{}", f.violations.join("\n"));
    assert_converged(&env, KubeVersion::new(1, 19, 16), &BTreeSet::new());
    // The journal records the whole plan as done.
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_kubeladder"))
        .args(["status", "--state-dir", &env.path("state").display().to_string(), "-o", "json"])
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let status = String::from_utf8(status.stdout).unwrap();
    let status: Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["finished"], true);
    assert_eq!(status["steps_done"], status["steps_total"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_instants_of_an_ha_upgrade_then_resume_converges() {
    let env = Env::start(Scenario::ha()).await;
    let (findings, checker) = spawn_checker(&env, Invariants { max_unavailable: 2, foreign: BTreeSet::new() });
    let mut args = apply_args(&env, "1.20", "follow", "2", "state");
    // A fixed seed: the instants differ from step boundaries but the test is reproducible.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..6 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_millis(300 + seed % 1500);
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut child = env.command(&a).spawn().unwrap();
        let ended = tokio::time::timeout(delay, child.wait()).await;
        if ended.is_ok() {
            break;
        }
        child.start_kill().unwrap();
        let _ = child.wait().await;
        env.wait_for_orphaned_commands().await;
        args = env.resume_args("state", "2");
    }
    let (code, stdout, stderr) = env.run(&env.resume_args("state", "2")).await;
    checker.abort();
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let f = findings.lock().unwrap();
    assert!(f.violations.is_empty(), "invariants broken:\n{}", f.violations.join("\n"));
    assert_converged(&env, KubeVersion::new(1, 20, 15), &BTreeSet::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_apply_during_a_run_is_refused_by_the_lock() {
    let env = Env::start(Scenario::small()).await;
    let first = apply_args(&env, "1.19", "follow", "1", "state-a");
    let a: Vec<&str> = first.iter().map(String::as_str).collect();
    let mut running = env.command(&a).spawn().unwrap();
    // Wait until the first run holds the lock (its Lease exists).
    for _ in 0..200 {
        if env.sim.store().get("leases.coordination.k8s.io", "kube-system", "kubeladder").is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (code, stdout, stderr) = env.run(&apply_args(&env, "1.19", "follow", "1", "state-b")).await;
    assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("another kubeladder run holds the lock"), "{stderr}");
    assert!(!env.path("state-b").join("header.json").exists(), "the refused run wrote a journal");
    let status = tokio::time::timeout(Duration::from_secs(300), running.wait()).await.unwrap().unwrap();
    assert!(status.success());
}

/// Start a run with `fault` in effect, expect it to stop at `node`'s `step` with a report
/// naming them and the command to continue; clear the fault, resume, expect convergence.
async fn fault_stops_then_resume_finishes(
    scenario: Scenario,
    fault: kubeladder_sim::Fault,
    node: impl Into<Option<&str>>,
    step: impl Into<Option<&str>>,
    extra: &[&str],
) -> (String, String) {
    let env = Env::start(scenario).await;
    let (findings, checker) = spawn_checker(&env, Invariants { max_unavailable: 1, foreign: BTreeSet::new() });
    let mut args = apply_args(&env, "1.19", "follow", "1", "state");
    override_flags(&mut args, extra);
    // A budget that never allows is a blocker `apply` refuses up front, so that fault is
    // put in effect once the run has started; the others before it starts.
    let (code, stdout, stderr) = if matches!(fault, kubeladder_sim::Fault::PdbNeverAllows { .. }) {
        env.run_injecting(&args, fault).await
    } else {
        env.sim.add_fault(fault).unwrap();
        env.run(&args).await
    };
    assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let failed = events(&stdout).into_iter().find(|e| e["event"] == "failed").expect("a failure report");
    if let Some(node) = node.into() {
        assert_eq!(failed["node"], node, "{failed}");
    }
    if let Some(step) = step.into() {
        assert_eq!(failed["step"], step, "{failed}");
    }
    assert!(failed["resume"].as_str().unwrap().starts_with("kubeladder resume"), "{failed}");
    // Nothing after the failed step ran: the node's later steps never started.
    assert!(env.sim.faults().len() <= 1);
    env.sim.clear_faults();
    let mut resume = env.resume_args("state", "1");
    override_flags(&mut resume, extra);
    let (code, out, err) = env.run(&resume).await;
    checker.abort();
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let f = findings.lock().unwrap();
    assert!(f.violations.is_empty(), "invariants broken:\n{}", f.violations.join("\n"));
    assert_converged(&env, KubeVersion::new(1, 19, 16), &BTreeSet::new());
    (failed["error"].as_str().unwrap_or("").to_owned(), stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_etcd_member_stops_the_hop_before_anything_changes_then_resume_finishes() {
    let fault = kubeladder_sim::Fault::StaleEtcdMember { name: "cp-old".to_owned(), peer_ip: "127.0.9.9".to_owned() };
    let (error, _) = fault_stops_then_resume_finishes(Scenario::ha(), fault, "cp-1", "etcd-snapshot", &[]).await;
    assert!(
        error.contains("etcd member cp-old (https://127.0.9.9:2380) is not healthy")
            && error.contains("matches no control-plane node"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unhealthy_etcd_member_stops_the_run_before_anything_changes() {
    let env = Env::start(Scenario::ha()).await;
    env.sim.add_fault(kubeladder_sim::Fault::CorruptEtcd { node: "cp-2".to_owned() }).unwrap();
    let (code, stdout, stderr) = env.run(&apply_args(&env, "1.19", "follow", "1", "state")).await;
    assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let failed = events(&stdout).into_iter().find(|e| e["event"] == "failed").expect("a failure report");
    assert_eq!(failed["step"], "etcd-snapshot", "{failed}");
    let error = failed["error"].as_str().unwrap();
    assert!(error.contains("gate etcd") && error.contains("etcd member cp-2 ("), "{error}");
    assert!(!error.contains("cp-1 (") && !error.contains("cp-3 ("), "only cp-2 is named: {error}");
    // Nothing changed: no node cordoned, every kubelet and kubeadm where it was, no snapshot.
    for node in env.sim.store().list("nodes", None) {
        assert!(!cordoned(&node), "{} was cordoned", str_at(&node, "/metadata/name"));
        assert_eq!(str_at(&node, "/status/nodeInfo/kubeletVersion"), "v1.18.20");
    }
    let kubeadm = env.sim.host_state("cp-1").unwrap();
    assert_eq!(kubeadm.package("kubeadm").unwrap().version.as_deref(), Some("1.18.20-00"));
    assert!(!kubeadm.files.iter().any(|f| f.starts_with("/var/lib/kubeladder/snapshots/")), "a snapshot was taken");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubeadm_failing_on_the_second_control_plane_stops_then_resume_finishes() {
    let fault = kubeladder_sim::Fault::Command {
        node: "cp-2".to_owned(),
        argv_prefix: vec!["kubeadm".to_owned(), "upgrade".to_owned(), "node".to_owned()],
        times: None,
        exit_code: 1,
        stdout: String::new(),
        stderr: "[upgrade] FATAL: simulated failure".to_owned(),
    };
    let (error, _) = fault_stops_then_resume_finishes(Scenario::ha(), fault, "cp-2", "kubeadm-upgrade-node", &[]).await;
    assert!(error.contains("simulated failure") && error.contains("kubeadm upgrade node"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_package_install_stops_then_resume_finishes() {
    let fault = kubeladder_sim::Fault::Command {
        node: "worker-1".to_owned(),
        argv_prefix: vec!["apt-get".to_owned(), "install".to_owned()],
        times: None,
        exit_code: 100,
        stdout: String::new(),
        stderr: "E: Could not get lock /var/lib/dpkg/lock-frontend".to_owned(),
    };
    let (error, _) =
        fault_stops_then_resume_finishes(Scenario::small(), fault, "worker-1", "install-kubeadm", &[]).await;
    assert!(error.contains("exit code 100") || error.contains("100"), "{error}");
    assert!(error.contains("lock-frontend"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_stays_not_ready_stops_then_resume_finishes() {
    let fault = kubeladder_sim::Fault::NodeNotReady { node: "worker-2".to_owned(), at_once: false };
    let (error, _) = fault_stops_then_resume_finishes(
        Scenario::small(),
        fault,
        "worker-2",
        "wait-node-ready",
        &["--gate-timeout", "3s"],
    )
    .await;
    assert!(error.contains("worker-2") && error.contains("not Ready"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_that_never_allows_stops_then_resume_finishes() {
    // The window does not start a worker whose budget has no room, so the run stops before
    // evicting anything, naming the budget.
    let fault = kubeladder_sim::Fault::PdbNeverAllows { namespace: "default".to_owned(), name: "hello".to_owned() };
    let (error, _) =
        fault_stops_then_resume_finishes(Scenario::small(), fault, None, None, &["--drain-timeout", "3s"]).await;
    assert!(error.contains("default/hello"), "{error}");
}

/// Replace `--flag value` pairs already in `args` (a flag given twice is refused), append the rest.
fn override_flags(args: &mut Vec<String>, extra: &[&str]) {
    for pair in extra.chunks(2) {
        if let Some(i) = args.iter().position(|a| a == pair[0])
            && pair.len() == 2
        {
            pair[1].clone_into(&mut args[i + 1]);
        } else {
            args.extend(pair.iter().map(|s| (*s).to_owned()));
        }
    }
}

// ---- recovery (`kubeladder recover`) ----

fn recover_args(env: &Env, args: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    out.extend([
        "--hosts".to_owned(),
        env.path("hosts.yaml").display().to_string(),
        "--state-dir".to_owned(),
        env.path("state").display().to_string(),
    ]);
    if args.get(1) == Some(&"node") {
        out.extend(["--gate-timeout".to_owned(), "90s".to_owned()]);
    }
    out
}

async fn recover_list(env: &Env, node: &str) -> Value {
    let (code, stdout, stderr) = env.run(&recover_args(env, &["recover", "list", "--node", node, "-o", "json"])).await;
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str::<Value>(&stdout).unwrap()[0].clone()
}

fn backup_path(listing: &Value, kind: &str) -> String {
    listing["backups"].as_array().unwrap().iter().rev().find(|b| b["kind"] == kind).expect("a backup")["path"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn apiserver_version(env: &Env, node: &str) -> Option<KubeVersion> {
    env.sim
        .store()
        .list("pods", Some("kube-system"))
        .iter()
        .find(|p| str_at(p, "/metadata/labels/component") == "kube-apiserver" && str_at(p, "/spec/nodeName") == node)
        .and_then(|p| image_version(str_at(p, "/spec/containers/0/image")))
}

/// The apiserver version `node` reports once its kubelet has synced the manifests on disk
/// (kubeadm's rollback only moves files; the mirror pod follows at the kubelet's next pass).
/// Waits at most 10 s of real time for `want`, then returns what runs.
async fn settled_apiserver_version(env: &Env, node: &str, want: KubeVersion) -> Option<KubeVersion> {
    for _ in 0..200 {
        if apiserver_version(env, node) == Some(want) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    apiserver_version(env, node)
}

/// Run `apply` to 1.19 while cp-1's new kube-apiserver never becomes Ready: kubeadm fails
/// after its timeout, rolling back (`rollback`) or leaving the new manifest (as if killed).
/// Returns the run's stdout; the run must have failed.
async fn apply_with_cp1_apiserver_never_ready(env: &Env, rollback: bool) -> String {
    let fault = kubeladder_sim::Fault::StaticPodNeverReady {
        node: "cp-1".to_owned(),
        component: "kube-apiserver".to_owned(),
        rollback,
    };
    env.sim.add_fault(fault).unwrap();
    let (code, stdout, stderr) = env.run(&apply_args(env, "1.19", "follow", "1", "state")).await;
    assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_apply_with_kubeadm_rollback_then_rerun_and_resume() {
    let env = Env::start(Scenario::small()).await;
    let stdout = apply_with_cp1_apiserver_never_ready(&env, true).await;
    let failed = events(&stdout).into_iter().find(|e| e["event"] == "failed").unwrap();
    assert_eq!(failed["step"], "kubeadm-upgrade-apply", "{failed}");
    // kubeadm rolled back: the node runs the old version, and the backup is listed.
    let old = KubeVersion::new(1, 18, 20);
    assert_eq!(settled_apiserver_version(&env, "cp-1", old).await, Some(old));
    let listing = recover_list(&env, "cp-1").await;
    assert!(listing["journal"][0].as_str().unwrap().contains("kubeadm-upgrade-apply FAILED"), "{listing}");
    env.sim.clear_faults();
    let (code, stdout, stderr) =
        env.run(&recover_args(&env, &["recover", "node", "cp-1", "--rerun", "--yes", "--poll", "100ms"])).await;
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("kubeadm upgrade apply v1.19.16 -y"), "{stdout}");
    assert_eq!(apiserver_version(&env, "cp-1"), Some(KubeVersion::new(1, 19, 16)));
    let (code, stdout, stderr) = env.run(&env.resume_args("state", "1")).await;
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_converged(&env, KubeVersion::new(1, 19, 16), &BTreeSet::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_apply_without_rollback_then_restore_manifests_and_resume() {
    let env = Env::start(Scenario::small()).await;
    apply_with_cp1_apiserver_never_ready(&env, false).await;
    let listing = recover_list(&env, "cp-1").await;
    assert_eq!(listing["manifests"]["kube-apiserver"], "v1.19.16", "the new manifest stayed: {listing}");
    let backup = backup_path(&listing, "manifests");
    assert!(backup.starts_with("/etc/kubernetes/tmp/kubeadm-backup-manifests-"), "{backup}");
    env.sim.clear_faults();
    // Bad input first: nothing changes.
    let before = env.sim.host_state("cp-1").unwrap();
    let (code, _, stderr) = env
        .run(&recover_args(
            &env,
            &["recover", "node", "cp-1", "--restore-manifests", "/etc/kubernetes/tmp/nope", "--yes"],
        ))
        .await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not a kubeadm backup on cp-1"), "{stderr}");
    assert_eq!(format!("{before:?}"), format!("{:?}", env.sim.host_state("cp-1").unwrap()));
    // A backup of another version (an old upgrade's, or another cluster's) is refused too.
    let old = "/etc/kubernetes/tmp/kubeadm-backup-manifests-2020-01-02-03-04-05";
    let manifest = "spec:\n  containers:\n  - image: k8s.gcr.io/kube-apiserver:v1.16.15\n";
    let write = ["sh", "-c", "write", "kubeladder-write", manifest, &format!("{old}/kube-apiserver.yaml"), "600"];
    let out = env.sim.exec("cp-1", &write.map(str::to_owned)).await.unwrap();
    assert_eq!(out.exit_code, 0, "{out:?}");
    let before = env.sim.host_state("cp-1").unwrap();
    let (code, _, stderr) =
        env.run(&recover_args(&env, &["recover", "node", "cp-1", "--restore-manifests", old, "--yes"])).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not a backup of this upgrade"), "{stderr}");
    assert_eq!(format!("{before:?}"), format!("{:?}", env.sim.host_state("cp-1").unwrap()));
    let (code, stdout, stderr) = env
        .run(&recover_args(
            &env,
            &["recover", "node", "cp-1", "--restore-manifests", &backup, "--yes", "--poll", "100ms"],
        ))
        .await;
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(apiserver_version(&env, "cp-1"), Some(KubeVersion::new(1, 18, 20)), "back at the old version");
    assert!(stdout.contains("checked again on resume"), "{stdout}");
    let (code, stdout, stderr) = env.run(&env.resume_args("state", "1")).await;
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_converged(&env, KubeVersion::new(1, 19, 16), &BTreeSet::new());
}

/// A kubeadm that stopped half-way (its SSH session gone with a crashed kubeladder, or
/// killed) leaves the apiserver manifest new and the controller-manager and scheduler old.
/// The kubeadm step is not done then: `resume` must run kubeadm again (not skip it because
/// the apiserver alone looks upgraded) and converge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubeadm_stopped_half_way_is_run_again_by_resume() {
    let env = Env::start(Scenario::small()).await;
    apply_with_cp1_apiserver_never_ready(&env, false).await;
    let listing = recover_list(&env, "cp-1").await;
    assert_eq!(listing["manifests"]["kube-apiserver"], "v1.19.16", "half-way: {listing}");
    assert_eq!(listing["manifests"]["kube-controller-manager"], "v1.18.20", "half-way: {listing}");
    assert_eq!(listing["manifests"]["kube-scheduler"], "v1.18.20", "half-way: {listing}");
    env.sim.clear_faults();
    let (code, stdout, stderr) = env.run(&env.resume_args("state", "1")).await;
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let apply = events(&stdout)
        .into_iter()
        .filter(|e| e["id"] == "h1/cp-1/kubeadm-upgrade-apply")
        .map(|e| e["event"].as_str().unwrap_or_default().to_owned())
        .collect::<Vec<_>>();
    assert_eq!(apply, ["step_started", "step_finished"], "kubeadm ran again on resume (not skipped): {stdout}");
    let listing = recover_list(&env, "cp-1").await;
    for component in ["kube-apiserver", "kube-controller-manager", "kube-scheduler"] {
        assert_eq!(listing["manifests"][component], "v1.19.16", "{component}: {listing}");
    }
    assert_converged(&env, KubeVersion::new(1, 19, 16), &BTreeSet::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_restores_from_kubeadm_backup_and_from_snapshot_on_a_single_member() {
    let env = Env::start(Scenario::small()).await;
    let (code, stdout, stderr) = env.run(&apply_args(&env, "1.19", "follow", "1", "state")).await;
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let listing = recover_list(&env, "cp-1").await;
    let etcd_backup = backup_path(&listing, "etcd");
    let etcd_entry = listing["backups"].as_array().unwrap().iter().find(|b| b["path"] == etcd_backup.as_str()).unwrap();
    assert!(etcd_entry["bytes"].as_u64().is_some_and(|b| b > 0), "the etcd backup's size is listed: {listing}");
    let snapshot = listing["snapshots"][0]["path"].as_str().expect("the run's etcd snapshot").to_owned();
    assert!(
        listing["snapshots"][0]["bytes"].as_u64().is_some_and(|b| b > 0),
        "the snapshot's size is listed: {listing}"
    );
    // Restoring runs while etcd is stopped, so there is no etcd container to exec into:
    // like a real operator, install etcd's tools on the host first.
    assert!(env.sim.install_host_etcd_tools("cp-1", "3.4.13"));
    // Missing member certificates: refused before anything moves.
    let sim = &env.sim;
    let exec = |argv: &[&str]| {
        let argv: Vec<String> = argv.iter().map(|a| (*a).to_owned()).collect();
        async move { sim.exec("cp-1", &argv).await.unwrap() }
    };
    let key = "/etc/kubernetes/pki/etcd/server.key";
    assert_eq!(exec(&["mv", "--", key, "/etc/kubernetes/pki/etcd-server.key.aside"]).await.exit_code, 0);
    let before = env.sim.host_state("cp-1").unwrap();
    let (code, _, stderr) =
        env.run(&recover_args(&env, &["recover", "node", "cp-1", "--restore-etcd", &etcd_backup, "--yes"])).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("lacks the etcd certificates") && stderr.contains("server.key"), "{stderr}");
    assert_eq!(format!("{before:?}"), format!("{:?}", env.sim.host_state("cp-1").unwrap()));
    assert_eq!(exec(&["mv", "--", "/etc/kubernetes/pki/etcd-server.key.aside", key]).await.exit_code, 0);
    for source in [etcd_backup, snapshot] {
        env.sim.add_fault(kubeladder_sim::Fault::CorruptEtcd { node: "cp-1".to_owned() }).unwrap();
        // The corruption is visible before the recovery: etcd on cp-1 is not Ready.
        let etcd_ready = || {
            env.sim.store().list("pods", Some("kube-system")).iter().any(|p| {
                str_at(p, "/metadata/labels/component") == "etcd" && str_at(p, "/spec/nodeName") == "cp-1" && ready(p)
            })
        };
        for _ in 0..100 {
            if !etcd_ready() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(!etcd_ready(), "corrupting etcd did not show");
        let (code, stdout, stderr) = env
            .run(&recover_args(
                &env,
                &["recover", "node", "cp-1", "--restore-etcd", &source, "--yes", "--poll", "100ms"],
            ))
            .await;
        assert_eq!(code, 0, "{source}\nstdout:\n{stdout}\nstderr:\n{stderr}");
        assert!(stdout.contains("recovered and verified"), "{stdout}");
        env.sim.clear_faults();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_refuses_what_it_must_not_do() {
    let env = Env::start(Scenario::ha()).await;
    let (code, _, stderr) =
        env.run(&recover_args(&env, &["recover", "node", "cp-1", "--restore-etcd", "/var/lib/x.db", "--yes"])).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("etcd has 3 members") && stderr.contains("--allow-quorum-risk"), "{stderr}");
    let (code, _, stderr) =
        env.run(&recover_args(&env, &["recover", "node", "worker-1", "--force-reconverge", "--yes"])).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not a control-plane node"), "{stderr}");
    let (code, _, stderr) = env.run(&recover_args(&env, &["recover", "node", "cp-1", "--yes"])).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("exactly one of"), "{stderr}");
    let (code, _, stderr) = env.run(&recover_args(&env, &["recover", "node", "cp-2", "--rerun", "--yes"])).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("journal"), "{stderr}");
    // Without --yes nothing runs.
    let (code, stdout, stderr) = env.run(&recover_args(&env, &["recover", "node", "cp-1", "--force-reconverge"])).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.contains("kubeadm upgrade apply v1.18.20 --force -y") && stderr.contains("nothing was changed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_finishes_the_running_step_then_pauses_and_resume_finishes() {
    use tokio::io::AsyncBufReadExt;
    let env = Env::start(Scenario::small()).await;
    let args = apply_args(&env, "1.19", "follow", "1", "state");
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut child = env.command(&a).spawn().unwrap();
    let pid = child.id().unwrap().to_string();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let mut signalled = false;
    let read = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let event: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            if !signalled && event["event"] == "step_started" && event["step"] == "drain" {
                std::process::Command::new("kill").args(["-INT", &pid]).status().unwrap();
                signalled = true;
            }
            seen.push(event);
        }
    };
    tokio::time::timeout(Duration::from_secs(120), read).await.unwrap();
    let status = child.wait().await.unwrap();
    assert_eq!(status.code(), Some(4), "paused runs exit 4: {seen:#?}");
    // Every step that started also finished (the running one was completed, none left in
    // doubt), and the run stopped before its end.
    let started: BTreeSet<&str> =
        seen.iter().filter(|e| e["event"] == "step_started").filter_map(|e| e["id"].as_str()).collect();
    let finished: BTreeSet<&str> = seen
        .iter()
        .filter(|e| e["event"] == "step_finished" || e["event"] == "step_skipped")
        .filter_map(|e| e["id"].as_str())
        .collect();
    assert_eq!(started, finished, "a step was left in doubt: {seen:#?}");
    assert_eq!(seen.last().unwrap()["event"], "paused", "{seen:#?}");
    assert!(!seen.iter().any(|e| e["event"] == "run_finished"), "the run finished instead of pausing");
    let (code, stdout, stderr) = env.run(&env.resume_args("state", "1")).await;
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_converged(&env, KubeVersion::new(1, 19, 16), &BTreeSet::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_node_is_refused_before_anything_changes() {
    let env = Env::start(Scenario::small()).await;
    // worker-2 over SSH at a loopback port where nothing listens.
    let hosts = std::fs::read_to_string(env.path("hosts.yaml")).unwrap();
    let hosts = hosts.replace(
        "  - node: worker-2\n",
        "  - node: worker-2\n    transport: ssh\n    port: 1\n    known_hosts: /dev/null\n",
    );
    let hosts = hosts.replacen("    address: 127.0.1.3\n", "    address: 127.0.0.1\n", 1);
    assert!(hosts.contains("port: 1"), "{hosts}");
    std::fs::write(env.path("hosts.yaml"), hosts).unwrap();
    let (code, stdout, stderr) = env.run(&apply_args(&env, "1.19", "follow", "1", "state")).await;
    assert_eq!(code, 2, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("cannot reach every node") && stderr.contains("worker-2"), "{stderr}");
    assert!(!env.path("state").join("header.json").exists(), "a journal was written");
    assert!(
        env.sim.store().get("leases.coordination.k8s.io", "kube-system", "kubeladder").is_none(),
        "the lock was taken"
    );
    for node in env.sim.store().list("nodes", None) {
        assert!(!cordoned(&node), "{} was cordoned", str_at(&node, "/metadata/name"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cgroup_v1_hosts_are_refused_before_the_hop_into_1_35() {
    let mut scenario = Scenario::small().with_version(KubeVersion::new(1, 34, 11));
    scenario.cgroup_v1 = true;
    let env = Env::start(scenario).await;
    let (code, stdout, stderr) = env.run(&apply_args(&env, "1.35", "follow", "1", "state")).await;
    assert_eq!(code, 3, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("refusing to start") && stderr.contains("uses cgroup v1"), "{stderr}");
    assert!(!env.path("state").join("header.json").exists(), "a journal was written");
    for node in env.sim.store().list("nodes", None) {
        assert!(!cordoned(&node), "{} was cordoned", str_at(&node, "/metadata/name"));
        assert_eq!(str_at(&node, "/status/nodeInfo/kubeletVersion"), "v1.34.11");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_runs_a_scenario_file_and_refuses_a_malformed_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mixed.yaml");
    std::fs::write(&file, "shape: small\nversion: v1.28.15\nnode_versions:\n  worker-1: v1.27.16\n").unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_kubeladder"))
        .args(["demo", "--scenario", &file.display().to_string(), "--to", "1.29", "-o", "json", "--speed", "60"])
        .env("XDG_STATE_HOME", dir.path())
        .output();
    let out = tokio::time::timeout(Duration::from_secs(240), out).await.unwrap().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let last: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "finished");
    assert!(last["nodes"].as_array().unwrap().iter().all(|n| n["kubelet"] == "v1.29.15"), "{last}");

    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "shape: small\nversoin: v1.28.15\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kubeladder"))
        .args(["demo", "--scenario", &bad.display().to_string()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("versoin") && stderr.contains("line 2"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_uncordons_only_what_the_run_cordoned() {
    let env = Env::start(Scenario::ha()).await;
    env.cordon_foreign("worker-6");
    // Crash the run while a worker it cordoned is being upgraded.
    let args = apply_args(&env, "1.19", "follow", "2", "state");
    let killed = env.kill_when(&args, |e| e["event"] == "node_cordoned" && e["node"] == "worker-1").await;
    assert!(killed, "the run ended before cordoning worker-1");
    let cordoned = |name: &str| cordoned(&env.sim.store().get("nodes", "", name).unwrap());
    assert!(cordoned("worker-1"));
    let abort = vec!["abort".to_owned(), "--state-dir".to_owned(), env.path("state").display().to_string()];
    let (code, stdout, stderr) = env.run(&abort).await;
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("worker-1"), "{stdout}");
    assert!(!cordoned("worker-1"), "abort left worker-1 cordoned");
    assert!(cordoned("worker-6"), "abort lifted a cordon it did not set");
    assert!(env.sim.store().list("nodes", None).iter().filter(|n| cordoned(str_at(n, "/metadata/name"))).count() == 1);
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_kubeladder"))
        .args(["status", "--state-dir", &env.path("state").display().to_string(), "-o", "json"])
        .output()
        .unwrap();
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["paused"], "aborted by the operator", "{status}");
    assert_eq!(status["cordoned_by_this_run"], json!([]), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_legacy_mirror_the_hops_before_1_24_are_a_blocker_and_nothing_changes() {
    let mut scenario = Scenario::small();
    scenario.package_world.mirror = None;
    let env = Env::start(scenario).await;
    let hosts = std::fs::read_to_string(env.path("hosts.yaml")).unwrap();
    assert!(!hosts.contains("package_sources"), "{hosts}");
    let (code, stdout, stderr) = env.run(&apply_args(&env, "1.19", "follow", "1", "state")).await;
    assert_eq!(code, 3, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("refusing to start") && stderr.contains("no configured package source"), "{stderr}");
    assert!(!env.path("state").join("header.json").exists(), "a journal was written");
    for node in env.sim.store().list("nodes", None) {
        assert!(!cordoned(&node), "{} was cordoned", str_at(&node, "/metadata/name"));
        assert_eq!(str_at(&node, "/status/nodeInfo/kubeletVersion"), "v1.18.20");
    }
    for node in ["cp-1", "worker-1"] {
        let sources = env.sim.host_file(node, "/etc/apt/sources.list.d/kubernetes.list").unwrap();
        assert!(sources.contains("https://apt.kubernetes.io/"), "{node} sources changed: {sources}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_mirror_1_18_to_1_19_installs_from_the_legacy_layout() {
    let env = Env::start(Scenario::small()).await;
    let (code, stdout, stderr) = env.run(&apply_args(&env, "1.19", "follow", "1", "state")).await;
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_converged(&env, KubeVersion::new(1, 19, 16), &BTreeSet::new());
    let mirror = kubeladder_sim::host::DEFAULT_MIRROR;
    for node in ["cp-1", "worker-1"] {
        let sources = env.sim.host_file(node, "/etc/apt/sources.list.d/kubernetes.list").unwrap();
        assert!(sources.contains(&format!("https://{mirror}/kubernetes/apt/ kubernetes-xenial main")), "{sources}");
        let state = env.sim.host_state(node).unwrap();
        assert_eq!(state.package("kubeadm").unwrap().version.as_deref(), Some("1.19.16-00"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pkgs_k8s_io_1_28_to_1_33_installs_the_rebuilt_revisions() {
    // From pkgs.k8s.io itself (no pkgs.k8s.io mirror); 1.31.14 and 1.33.11 exist only at -2.1.
    let mut scenario = Scenario::small().with_version(KubeVersion::new(1, 28, 15));
    scenario.package_world.rebuilt.insert(KubeVersion::new(1, 31, 14), "2.1".to_owned());
    scenario.package_world.rebuilt.insert(KubeVersion::new(1, 33, 11), "2.1".to_owned());
    let env = Env::start(scenario).await;
    let hosts = std::fs::read_to_string(env.path("hosts.yaml")).unwrap();
    let hosts: Vec<&str> = hosts.lines().filter(|l| !l.contains("pkgs_k8s_io")).collect();
    let hosts = hosts.join("\n") + "\n";
    std::fs::write(env.path("hosts.yaml"), hosts).unwrap();
    let (code, stdout, stderr) = env.run(&apply_args(&env, "1.33", "lag", "1", "state")).await;
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_converged(&env, KubeVersion::new(1, 33, 11), &BTreeSet::new());
    for node in ["cp-1", "worker-1"] {
        let state = env.sim.host_state(node).unwrap();
        for package in ["kubeadm", "kubelet", "kubectl"] {
            assert_eq!(state.package(package).unwrap().version.as_deref(), Some("1.33.11-2.1"), "{node} {package}");
        }
        let sources = env.sim.host_file(node, "/etc/apt/sources.list.d/kubernetes.list").unwrap();
        assert!(sources.contains("https://pkgs.k8s.io/core:/stable:/v1.33/deb/"), "{sources}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_without_the_version_fails_the_install_before_anything_is_installed() {
    // The hosts file points the legacy layout at a host that does not resolve: apt-get
    // update only warns, and the repository offers nothing when the install asks.
    let env = Env::start(Scenario::small()).await;
    let hosts = std::fs::read_to_string(env.path("hosts.yaml")).unwrap();
    let hosts = hosts.replace(
        &format!("apt: https://{}/kubernetes/apt/", kubeladder_sim::host::DEFAULT_MIRROR),
        "apt: https://mirror.invalid/kubernetes/apt/",
    );
    std::fs::write(env.path("hosts.yaml"), hosts).unwrap();
    let (code, stdout, stderr) = env.run(&apply_args(&env, "1.19", "follow", "1", "state")).await;
    assert_ne!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let all = format!("{stdout}\n{stderr}");
    assert!(all.contains("has no kubeadm v1.19.16") && all.contains("nothing was installed"), "{all}");
    let state = env.sim.host_state("cp-1").unwrap();
    assert_eq!(state.package("kubeadm").unwrap().version.as_deref(), Some("1.18.20-00"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_prune_keeps_the_newest_and_refuses_during_a_run() {
    let env = Env::start(Scenario::small()).await;
    // An unfinished run (stopped by the etcd gate): prune refuses, nothing removed.
    let stale = kubeladder_sim::Fault::StaleEtcdMember { name: "cp-old".to_owned(), peer_ip: "127.0.9.9".to_owned() };
    env.sim.add_fault(stale).unwrap();
    let (code, _, _) = env.run(&apply_args(&env, "1.20", "follow", "1", "state")).await;
    assert_eq!(code, 1);
    let (code, stdout, stderr) = env.run(&recover_args(&env, &["recover", "prune", "--yes"])).await;
    assert_eq!(code, 2, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("is unfinished") && stdout.is_empty(), "{stderr}");
    env.sim.clear_faults();
    let (code, stdout, stderr) = env.run(&env.resume_args("state", "1")).await;
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");

    // Two hops: two kubeadm etcd backups, two manifests backups, two snapshots on cp-1.
    let files = || env.sim.host_state("cp-1").unwrap().files;
    let count = |prefix: &str| {
        let mut dirs: Vec<String> = files()
            .into_iter()
            .filter(|f| f.starts_with(prefix))
            .map(|f| f[..prefix.len() + f[prefix.len()..].find('/').unwrap_or(f.len() - prefix.len())].to_owned())
            .collect();
        dirs.dedup();
        dirs
    };
    let etcd_backups = count("/etc/kubernetes/tmp/kubeadm-backup-etcd-");
    assert_eq!(etcd_backups.len(), 2, "{etcd_backups:?}");
    let (code, stdout, stderr) = env.run(&recover_args(&env, &["recover", "prune", "-o", "json"])).await;
    assert_eq!(code, 0, "{stderr}");
    let entries: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    let would: Vec<&str> =
        entries.iter().filter(|e| e["action"] == "would remove").map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(would.len(), 3, "one of each kind: {entries:#?}");
    assert!(would.contains(&etcd_backups[0].as_str()), "the older etcd backup: {would:?}");
    assert!(would.iter().any(|p| p.contains("/h1_cp-1_etcd-snapshot.db")), "{would:?}");
    assert_eq!(count("/etc/kubernetes/tmp/kubeadm-backup-etcd-").len(), 2, "a listing removes nothing");

    let (code, stdout, stderr) = env.run(&recover_args(&env, &["recover", "prune", "--yes"])).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("removed"), "{stdout}");
    assert_eq!(count("/etc/kubernetes/tmp/kubeadm-backup-etcd-"), vec![etcd_backups[1].clone()], "the newest stays");
    assert_eq!(count("/etc/kubernetes/tmp/kubeadm-backup-manifests-").len(), 1);
    let snapshots: Vec<String> = files().into_iter().filter(|f| f.ends_with("etcd-snapshot.db")).collect();
    assert!(snapshots.len() == 1 && snapshots[0].contains("/h2_cp-1_"), "{snapshots:?}");
    let (code, _, stderr) = env.run(&recover_args(&env, &["recover", "prune", "--keep", "0"])).await;
    assert!(code == 2 && stderr.contains("--keep 0"), "{stderr}");
}

/// A bare pod pinned to worker-1 and a Deployment whose pod has an emptyDir volume.
fn with_bare_and_emptydir_pods(mut scenario: Scenario) -> Scenario {
    scenario.objects.push(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "scratchpad", "namespace": "default"},
        "spec": {"nodeName": "worker-1", "containers": [{"name": "sh", "image": "busybox:1.36"}],
                 "terminationGracePeriodSeconds": 1},
    }));
    let labels = json!({"app": "tmp"});
    scenario.objects.push(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "tmp", "namespace": "default", "labels": labels},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {
                     "containers": [{"name": "c", "image": "busybox:1.36", "volumeMounts": [{"name": "s", "mountPath": "/s"}]}],
                     "volumes": [{"name": "s", "emptyDir": {}}], "terminationGracePeriodSeconds": 1}}},
    }));
    scenario
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_drains_like_kubectl_unless_given_force_and_delete_emptydir_data() {
    let env = Env::start(with_bare_and_emptydir_pods(Scenario::small())).await;
    let without: Vec<String> = apply_args(&env, "1.19", "follow", "1", "state")
        .into_iter()
        .filter(|a| a != "--force" && a != "--delete-emptydir-data")
        .collect();
    let (code, stdout, stderr) = env.run(&without).await;
    assert_eq!(code, 3, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("refusing to start"), "{stderr}");
    assert!(
        stderr.contains("cannot delete Pods that declare no controller (use --force to override): default/scratchpad"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Pods with local storage (use --delete-emptydir-data to override): default/tmp-"),
        "{stderr}"
    );
    assert!(!env.path("state").join("header.json").exists(), "a journal was written");
    assert!(env.sim.store().get("pods", "default", "scratchpad").is_some(), "the bare pod was deleted");
    for node in env.sim.store().list("nodes", None) {
        assert!(!cordoned(&node), "{} was cordoned", str_at(&node, "/metadata/name"));
    }
    // With the flags the same cluster upgrades, and the bare pod is gone for good.
    let (code, stdout, stderr) = env.run(&apply_args(&env, "1.19", "follow", "1", "state")).await;
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(env.sim.store().get("pods", "default", "scratchpad").is_none(), "the bare pod survived a forced drain");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_drains_like_kubectl_with_its_own_flags() {
    let env = Env::start(with_bare_and_emptydir_pods(Scenario::small())).await;
    // The run starts with both flags and stops on worker-1 before draining it.
    env.sim
        .add_fault(kubeladder_sim::Fault::Command {
            node: "worker-1".to_owned(),
            argv_prefix: vec!["apt-get".to_owned(), "install".to_owned()],
            times: None,
            exit_code: 100,
            stdout: String::new(),
            stderr: "E: Could not get lock /var/lib/dpkg/lock-frontend".to_owned(),
        })
        .unwrap();
    let (code, stdout, stderr) = env.run(&apply_args(&env, "1.19", "follow", "1", "state")).await;
    assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let failed = events(&stdout).into_iter().find(|e| e["event"] == "failed").expect("a failure report");
    assert_eq!((failed["node"].as_str(), failed["step"].as_str()), (Some("worker-1"), Some("install-kubeadm")));
    // The printed resume command carries the drain flags the run was given.
    let resume_hint = failed["resume"].as_str().unwrap();
    assert!(resume_hint.contains("--delete-emptydir-data") && resume_hint.contains("--force"), "{resume_hint}");
    env.sim.clear_faults();
    // Resumed without --force, worker-1's drain refuses its bare pod before evicting anything.
    let without: Vec<String> = env.resume_args("state", "1").into_iter().filter(|a| a != "--force").collect();
    let (code, stdout, stderr) = env.run(&without).await;
    assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let failed = events(&stdout).into_iter().find(|e| e["event"] == "failed").expect("a failure report");
    assert_eq!(failed["node"], "worker-1", "{failed}");
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("cannot delete Pods that declare no controller (use --force to override): default/scratchpad"),
        "{failed}"
    );
    assert!(env.sim.store().get("pods", "default", "scratchpad").is_some(), "the bare pod was deleted");
    // With --force the run finishes.
    let (code, stdout, stderr) = env.run(&env.resume_args("state", "1")).await;
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_converged(&env, KubeVersion::new(1, 19, 16), &BTreeSet::new());
    assert!(env.sim.store().get("pods", "default", "scratchpad").is_none(), "the bare pod survived a forced drain");
}
