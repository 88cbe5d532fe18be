//! Command-line shape (clap derive). Parsing only: no behaviour lives here.

// Flags are booleans by nature here.
#![allow(clippy::struct_excessive_bools)]

use clap::{Args, Parser, Subcommand};
use kubeladder_core::Minor;
use kubeladder_core::path::Target;
use kubeladder_core::version::KubeVersion;

use crate::output::Format;

#[derive(Debug, Parser)]
#[command(
    name = "kubeladder",
    // A flag given twice is refused (exit 2): a careless repeat must not silently win.
    version,
    about = "Upgrade a kubeadm-built Kubernetes cluster safely, one minor at a time, across every node",
    long_about = "kubeladder upgrades a kubeadm-built Kubernetes cluster from the version it runs to a target \
several minors away: one minor per hop (kubeadm never skips one), control plane before workers, inside the \
version skew policy at every moment, draining within PodDisruptionBudgets, driving every node over SSH (or \
locally), with a journal that resumes exactly where a run stopped.\n\n\
Offline, from the release data built in: skew, path, versions. Against a cluster (kubeconfig like kubectl): \
inventory, check, plan, drain, uncordon. Changing the cluster: apply, resume, abort, recover. Nodes: hosts check. \
To try it without a cluster: demo, or sim serve for a simulated one that real kubectl talks to.",
    after_help = "Exit codes: 0 ok; 1 violations found (skew, check), a step or a cluster operation failed (the \
message says how to continue); 2 bad input, nothing changed; 3 the plan has blockers, nothing changed; 4 a run \
paused on request (resume continues).\n\n\
Every subcommand's --help lists its own exit codes and examples.\n\n\
Examples:\n  kubeladder demo\n  kubeladder path --from v1.18.4 --to 1.23\n  \
kubeladder plan --to 1.23 --hosts hosts.yaml\n  kubeladder apply --to 1.23 --hosts hosts.yaml\n  \
kubeladder resume --hosts hosts.yaml"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check component versions against the version skew policy
    Skew(SkewArgs),
    /// Show the hops from a cluster version to a target version
    Path(PathArgs),
    /// List known Kubernetes minors with their support status and component versions
    Versions(VersionsArgs),
    /// Show what the cluster runs, node by node
    Inventory(InventoryArgs),
    /// Cordon a node and evict its pods within PodDisruptionBudgets
    Drain(DrainArgs),
    /// Uncordon a node - only one this tool cordoned, unless --force
    Uncordon(UncordonArgs),
    /// Check the live cluster: skew violations, health gates, removed APIs in use
    Check(CheckArgs),
    /// Show the whole upgrade before doing it: versions per hop and node, checks, forecast
    Plan(PlanArgs),
    /// Upgrade the cluster to a target version across every node (journaled, resumable)
    Apply(ApplyArgs),
    /// Continue a stopped, failed or crashed run exactly where it stopped
    Resume(ResumeArgs),
    /// Give up a stopped run: uncordon only the nodes it cordoned
    Abort(AbortArgs),
    /// Upgrade a simulated kubeadm cluster (1.18 to 1.23 by default) with live progress
    Demo(DemoArgs),
    /// Find kubeadm's backups and kubeladder's etcd snapshots; bring a failed node back
    #[command(subcommand)]
    Recover(RecoverCommand),
    /// Show the progress recorded in a run's journal
    Status(StatusArgs),
    /// Write a run's report from its journal: an HTML timeline, JSON or tables
    Report(crate::operator_args::ReportArgs),
    /// A simulated kubeadm cluster that serves the real Kubernetes HTTPS API
    #[command(subcommand)]
    Sim(SimCommand),
    /// Reach every node the way an upgrade would and report what it runs
    #[command(subcommand)]
    Hosts(HostsCommand),
    /// Print a shell completion script: bash, zsh, fish or powershell
    Completion(crate::operator_args::CompletionArgs),
    /// Write the man pages, one per command, into a directory
    Man(crate::operator_args::ManArgs),
}

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Serve a simulated cluster until SIGINT/SIGTERM; real kubectl works against it
    Serve(SimServeArgs),
}

#[derive(Debug, Subcommand)]
pub enum HostsCommand {
    /// Connect to every node and report OS, package manager, repository and packages
    Check(HostsCheckArgs),
    /// Write a hosts file from a kubespray/Ansible inventory (INI or YAML)
    Import(crate::operator_args::HostsImportArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "Connects to every node of the cluster (nodes not in the hosts file are reached at their \
InternalIP with the file's defaults), or, when only --hosts is given (no --kubeconfig or --context), to the hosts the \
file lists. Read-only: per host it reports reachability, the OS (/etc/os-release), the package manager, the \
repository style and minor, installed and held kubeadm/kubelet/kubectl, and the kubeadm versions of the next minor \
the configured repository offers.\n\n\
Exit codes: 0 every host answered, 1 a host is unreachable or refused (each named on stderr with its address and \
the reason), 2 bad input (a malformed hosts file: file:line:column).\n\n\
Examples:\n  kubeladder hosts check --hosts hosts.yaml\n  kubeladder hosts check --hosts hosts.yaml --kubeconfig admin.conf -o json")]
pub struct HostsCheckArgs {
    /// Hosts file (YAML): how to reach each node (see the README)
    #[arg(long, value_name = "FILE")]
    pub hosts: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Budget to connect to one host (TCP, handshake, authentication)
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration)]
    pub connect_timeout: std::time::Duration,
    /// Budget for each command on a host
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = duration)]
    pub timeout: std::time::Duration,
    /// Hosts checked at once
    #[arg(long, default_value = "16", value_parser = positive)]
    pub max_concurrent: usize,
    /// Record unknown SSH host keys instead of refusing them (trust on first use)
    #[arg(long)]
    pub trust_on_first_use: bool,
    /// Output format
    #[arg(short, long, value_enum, default_value_t)]
    pub output: Format,
}

#[derive(Debug, Args)]
#[command(after_help = "Starts a simulated kubeadm cluster (nodes with kubelets, static control-plane pods, \
workloads with PodDisruptionBudgets, controllers, eviction) behind a real HTTPS Kubernetes API with its own CA, \
writes a kubeconfig for it, prints one line `serving https://127.0.0.1:PORT` when ready, and runs until SIGINT or \
SIGTERM. Scenarios: small (1 control plane, 2 workers), ha (3 control planes, 6 workers, budgets, a StatefulSet, \
DaemonSets, an emptyDir pod, a bare pod), large:NODES[:PODS_PER_NODE] (NODES 1..=5000, PODS_PER_NODE 0..=110). \
The kubeconfig and hosts file hold credentials and are written 0600.\n\n\
Exit codes: 0 stopped by SIGINT/SIGTERM, 1 the simulator failed, 2 bad input (nothing written).\n\n\
Examples:\n  kubeladder sim serve --scenario ha --kubeconfig-out /tmp/sim.kubeconfig\n  \
KUBECONFIG=/tmp/sim.kubeconfig kubectl get nodes\n  \
kubeladder sim serve --scenario large:1000:30 --version 1.28.15 --kubeconfig-out /tmp/big.kubeconfig")]
pub struct SimServeArgs {
    /// `small`, `ha`, `large:NODES[:PODS_PER_NODE]`, or a scenario file (YAML)
    #[arg(long, value_name = "NAME|FILE", default_value = "ha")]
    pub scenario: String,
    /// Where to write the kubeconfig for the simulated cluster
    #[arg(long, value_name = "PATH")]
    pub kubeconfig_out: std::path::PathBuf,
    /// Where to write a hosts file reaching the simulated nodes (transport `sim`), for
    /// `apply --hosts`; the CA it trusts is written next to it as PATH.ca.pem
    #[arg(long, value_name = "PATH")]
    pub hosts_out: Option<std::path::PathBuf>,
    /// Address to listen on (loopback only; port 0 picks a free port)
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,
    /// Simulated seconds per real second
    #[arg(long, default_value = "1", value_parser = speed)]
    pub speed: f64,
    /// Cluster version (default v1.18.20)
    #[arg(long, value_parser = version)]
    pub version: Option<KubeVersion>,
}

fn minor(text: &str) -> Result<Minor, String> {
    Minor::parse(text).map_err(|e| e.to_string())
}

fn version(text: &str) -> Result<KubeVersion, String> {
    KubeVersion::parse(text).map_err(|e| e.to_string())
}

fn target(text: &str) -> Result<Target, String> {
    Target::parse(text).map_err(|e| format!("{e} (or `latest`)"))
}

fn date(text: &str) -> Result<jiff::civil::Date, String> {
    text.parse().map_err(|e| format!("{text:?} is not a YYYY-MM-DD date: {e}"))
}

#[derive(Debug, Args)]
#[command(after_help = "The rules are the upstream Version Skew Policy's, keyed on each component's version \
(kubelet and kube-proxy older than 1.25 may lag two minors behind kube-apiserver, newer ones three). Every \
rule holds against every kube-apiserver instance, so an HA cluster in the middle of an upgrade narrows every \
window from both sides.\n\nJSON: {\"apiservers\":[\"1.29\",\"1.30\"],\"allowed\":{\"kube-apiserver\":[...],...},\
\"violations\":[{\"component\":\"kubelet\",\"node\":...,\"version\":\"1.25\",\"rule\":\"older-than-window\",\
\"message\":\"...\"}]} - minors ascending, not clipped to released versions.\n\n\
Exit codes: 0 no violations, 1 violations, 2 bad input.\n\n\
Examples:\n  \
# What may run while one of two apiservers is already on 1.30?\n  \
kubeladder skew --apiserver 1.29,1.30\n  \
# Is a 1.25 kubelet still fine once the control plane reaches 1.28?\n  \
kubeladder skew --apiserver 1.28 --kubelet 1.25 -o json")]
pub struct SkewArgs {
    /// kube-apiserver versions, one per instance (comma-separated; `1.29` or `v1.29.3`)
    #[arg(long, value_name = "VERSION,...", value_delimiter = ',', required = true, value_parser = minor)]
    pub apiserver: Vec<Minor>,
    /// kubelet versions to check
    #[arg(long, value_name = "VERSION,...", value_delimiter = ',', value_parser = minor)]
    pub kubelet: Vec<Minor>,
    /// kube-proxy versions to check
    #[arg(long = "kube-proxy", value_name = "VERSION,...", value_delimiter = ',', value_parser = minor)]
    pub kube_proxy: Vec<Minor>,
    /// kube-controller-manager versions to check
    #[arg(long = "controller-manager", value_name = "VERSION,...", value_delimiter = ',', value_parser = minor)]
    pub controller_manager: Vec<Minor>,
    /// kube-scheduler versions to check
    #[arg(long, value_name = "VERSION,...", value_delimiter = ',', value_parser = minor)]
    pub scheduler: Vec<Minor>,
    /// cloud-controller-manager versions to check
    #[arg(long = "cloud-controller-manager", value_name = "VERSION,...", value_delimiter = ',', value_parser = minor)]
    pub cloud_controller_manager: Vec<Minor>,
    /// kubectl versions to check
    #[arg(long, value_name = "VERSION,...", value_delimiter = ',', value_parser = minor)]
    pub kubectl: Vec<Minor>,
    /// Output format
    #[arg(short, long, value_enum, default_value_t)]
    pub output: Format,
}

#[derive(Debug, Args)]
#[command(after_help = "kubeadm upgrades one minor at a time, so the path has one hop per minor, each to the \
newest patch kubeladder knows for that minor; when --to names an exact patch, the last hop goes there. A \
target in the cluster's own minor is a patch upgrade.\n\n\
JSON: {\"from\":\"v1.18.4\",\"to\":\"v1.23.17\",\"hops\":[{\"from\":\"v1.18.4\",\"to\":\"v1.19.16\"},...]}\n\n\
Exit codes: 0 ok, 2 bad input (malformed or unknown versions, a target older than --from).\n\n\
Examples:\n  \
kubeladder path --from v1.18.4 --to 1.23\n  \
kubeladder path --from v1.28.15 --to latest -o json\n  \
kubeladder path --from v1.18.4 --to v1.20.3")]
pub struct PathArgs {
    /// The cluster's current version, exactly (`v1.18.4`)
    #[arg(long, value_name = "VERSION", value_parser = version)]
    pub from: KubeVersion,
    /// The target: a minor (`1.23`, newest patch), an exact version (`v1.23.4`), or `latest`
    #[arg(long, value_name = "VERSION", value_parser = target)]
    pub to: Target,
    /// Allow alpha, beta and rc targets
    #[arg(long)]
    pub allow_prerelease: bool,
    /// Allow a target up to one minor below --from (kubeadm's limit)
    #[arg(long)]
    pub allow_downgrade: bool,
    /// Output format
    #[arg(short, long, value_enum, default_value_t)]
    pub output: Format,
}

#[derive(Debug, Args)]
#[command(after_help = "A minor is supported from its release until its end-of-life date (inclusive). The etcd, \
CoreDNS and pause columns are what kubeadm at the newest patch deploys.\n\n\
JSON: a list of {\"minor\",\"latest_patch\",\"released\",\"end_of_life\",\"supported\",\"etcd\",\"coredns\",\
\"pause\",\"repositories\",\"removed_apis\"}.\n\n\
Exit codes: 0 ok, 2 bad input.\n\n\
Examples:\n  kubeladder versions\n  kubeladder versions --date 2024-06-01 -o json")]
pub struct VersionsArgs {
    /// Judge support status on this date (YYYY-MM-DD; default: today, UTC)
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = date)]
    pub date: Option<jiff::civil::Date>,
    /// Output format
    #[arg(short, long, value_enum, default_value_t)]
    pub output: Format,
}

/// How to reach the cluster, resolved exactly like kubectl.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// Path to the kubeconfig (default: $KUBECONFIG, a list of files, or ~/.kube/config)
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<std::path::PathBuf>,
    /// Kubeconfig context to use (default: the current context)
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
}

#[derive(Debug, Args)]
#[command(after_help = "Roles come from node labels or a kube-apiserver mirror pod; control-plane versions from \
the mirror pods' images; the cluster version from the kubeadm-config ConfigMap.\n\n\
Exit codes: 0 ok, 1 the cluster could not be read (the message says why and what to check), 2 bad input.\n\n\
Examples:\n  kubeladder inventory\n  kubeladder inventory --kubeconfig ./sim.kubeconfig -o json")]
pub struct InventoryArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Output format
    #[arg(short, long, value_enum, default_value_t)]
    pub output: Format,
}

#[derive(Debug, Args)]
#[command(after_help = "Decides like `kubectl drain` (DaemonSet pods are left in place unless \
--no-ignore-daemonsets; pods with emptyDir need --delete-emptydir-data; pods without a controller need --force) \
and refuses before evicting anything if one pod cannot be handled. Evictions respect PodDisruptionBudgets, back \
off per budget, and run --max-concurrent-evictions at a time. The cordon records --run-id in the node annotation \
kubeladder.io/cordoned-by, so `kubeladder uncordon` lifts only cordons it set.\n\n\
On timeout the node stays cordoned and the blocking budgets are named. Exit codes: 0 drained, 1 failed or \
timed out, 2 bad input.\n\n\
Examples:\n  kubeladder drain worker-3\n  kubeladder drain worker-3 --delete-emptydir-data --force --timeout 10m")]
pub struct DrainArgs {
    /// The node to drain
    pub node: String,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Give up after this long (e.g. 90s, 5m)
    #[arg(long, default_value = "5m", value_parser = duration)]
    pub timeout: std::time::Duration,
    /// Delete pods with emptyDir volumes (their data is lost)
    #[arg(long)]
    pub delete_emptydir_data: bool,
    /// Delete pods that no controller will recreate
    #[arg(long)]
    pub force: bool,
    /// Refuse DaemonSet-managed pods instead of leaving them in place
    #[arg(long)]
    pub no_ignore_daemonsets: bool,
    /// Evictions in flight at once
    #[arg(long, default_value = "8", value_parser = positive)]
    pub max_concurrent_evictions: usize,
    /// Delete pods instead of evicting them (ignores PodDisruptionBudgets)
    #[arg(long)]
    pub disable_eviction: bool,
    /// Identity recorded on the cordon
    #[arg(long, default_value = "manual")]
    pub run_id: String,
}

#[derive(Debug, Args)]
#[command(after_help = "A node cordoned by someone else (no kubeladder.io/cordoned-by annotation, or another run \
id) is refused, naming who cordoned it.\n\nExit codes: 0 uncordoned, 1 refused or failed, 2 bad input.\n\nExamples:\n  kubeladder uncordon worker-3\n  \
kubeladder uncordon worker-3 --force")]
pub struct UncordonArgs {
    /// The node to uncordon
    pub node: String,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Uncordon even if this tool did not cordon it
    #[arg(long)]
    pub force: bool,
    /// The run id the cordon must carry
    #[arg(long, default_value = "manual")]
    pub run_id: String,
}

#[derive(Debug, Args)]
#[command(after_help = "Reports skew-policy violations of the live cluster, health gates (apiserver /readyz, \
control-plane nodes Ready), and objects using APIs removed between the cluster version and --to.\n\n\
Exit codes: 0 all clear, 1 problems found, 2 bad input.\n\n\
Examples:\n  kubeladder check\n  kubeladder check --to 1.25 -o json")]
pub struct CheckArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Scan for APIs removed up to this minor (default: the newest known)
    #[arg(long, value_name = "VERSION", value_parser = target)]
    pub to: Option<Target>,
    /// Output format
    #[arg(short, long, value_enum, default_value_t)]
    pub output: Format,
}

/// A duration flag: a positive humantime duration (`0s` would give up before trying).
fn duration(text: &str) -> Result<std::time::Duration, String> {
    let d =
        humantime::parse_duration(text).map_err(|e| format!("{text:?} is not a duration like 90s, 5m or 1h: {e}"))?;
    if d.is_zero() {
        return Err(format!("{text:?} is zero; give a positive duration like 90s, 5m or 1h"));
    }
    Ok(d)
}

/// A count flag that must be at least 1 (`0` would do nothing, or everything at once).
fn positive(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("0 would never start anything; give at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{text:?} is not a whole number of at least 1")),
    }
}

/// Simulated seconds per real second: finite and positive (0 stops time, NaN or inf break it).
fn speed(text: &str) -> Result<f64, String> {
    let v: f64 = text.parse().map_err(|_| format!("{text:?} is not a number like 1, 30 or 0.5"))?;
    if !v.is_finite() || v <= 0.0 || v > 10_000.0 {
        return Err(format!("{text:?}: the speed must be a number above 0 and at most 10000"));
    }
    Ok(v)
}

#[derive(Debug, Args)]
#[command(after_help = "Read-only: no lock is taken and nothing is changed. Shows what `kubeadm upgrade plan` \
shows, for every hop and node; the checks that apply to this cluster (each BLOCKER or WARNING, with what to do): \
skew violations, end of life, Docker before 1.24, containerd < 1.6 before 1.26, etcd < 3.5.20 at the 1.34 hop, \
removed APIs in use (last-applied, managedFields, Helm releases), budgets that allow no disruption, pods that fit \
nowhere, nodes NotReady or already cordoned; and a drain forecast.\n\n\
Duration estimates per step (seconds): etcd snapshot 30, repository 15, package install 45, kubeadm upgrade plan \
20, upgrade apply 300, upgrade node 180 (control plane) / 20 (worker), static pods 60, kubelet restart + Ready 40, \
drain 10 + 3 per pod.\n\n\
JSON/YAML: an object with apiVersion kubeladder.io/v1alpha2, kind UpgradePlan, carrying everything the tables show (camelCase fields; v1alpha1 differed only in hops[].workers_upgraded).\n\n\
Exit codes: 0 no blockers, 3 blockers found, 1 the cluster could not be read, 2 bad input.\n\n\
Examples:\n  kubeladder plan --to 1.23\n  kubeladder plan --to latest --workers lag --max-unavailable 25% -o json")]
pub struct PlanArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Hosts file: also reach every node for what only the host knows (its package
    /// repository; unreachable nodes are blockers). Read-only on the nodes too
    #[arg(long, value_name = "FILE")]
    pub hosts: Option<std::path::PathBuf>,
    /// Target: a minor (newest patch), an exact version, or `latest`
    #[arg(long, value_name = "VERSION", default_value = "latest", value_parser = target)]
    pub to: Target,
    #[command(flatten)]
    pub strategy: StrategyArgs,
    /// The drain `apply` will do: pods it would refuse are BLOCKERs
    #[command(flatten)]
    pub drain: DrainFlagArgs,
    /// Judge end of life on this date (YYYY-MM-DD; default: today, UTC)
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = date)]
    pub date: Option<jiff::civil::Date>,
    /// Where to ask for the latest stable release, as kubeadm does (GET URL/stable.txt and
    /// URL/stable-1.y.txt, 5s each); `off` to use only the release data shipped with
    /// kubeladder. Without an answer the plan says so and uses the shipped data
    #[arg(long, value_name = "URL|off", env = "KUBELADDER_RELEASE_URL", default_value = kubeladder_orchestrator::release_channel::DEFAULT_URL)]
    pub release_url: String,
    /// Output format
    #[arg(short, long, value_enum, default_value_t)]
    pub output: Format,
}

/// `--workers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Workers {
    Follow,
    Lag,
}

impl From<Workers> for kubeladder_core::plan::WorkerStrategy {
    fn from(w: Workers) -> Self {
        match w {
            Workers::Follow => Self::Follow,
            Workers::Lag => Self::Lag,
        }
    }
}

fn max_unavailable(text: &str) -> Result<kubeladder_core::window::MaxUnavailable, String> {
    text.parse()
}

#[derive(Debug, Args)]
#[command(after_help = "Reads the journal without locking or changing it, so it works while a run is going on. \
A step shown as \"in doubt\" was started but never recorded as finished (the run stopped or crashed during it); \
`kubeladder resume --state-dir DIR` re-checks it before doing anything.\n\n\
Exit codes: 0 ok, 1 the journal is damaged (the message names the file and what to do), 2 bad input (no journal \
in DIR).\n\n\
Examples:\n  kubeladder status --state-dir ~/.local/state/kubeladder/<cluster-uid>\n  kubeladder status --state-dir DIR -o json")]
pub struct StatusArgs {
    /// The run's journal directory
    #[arg(long, value_name = "DIR")]
    pub state_dir: std::path::PathBuf,
    /// Output format
    #[arg(short, long, value_enum, default_value_t)]
    pub output: Format,
}

/// How an upgrade drains its nodes: like `kubectl drain --ignore-daemonsets` (the kubeadm
/// docs' drain) unless told otherwise.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct DrainFlagArgs {
    /// Drain pods with emptyDir volumes too (their emptyDir data is lost); without it such a
    /// pod stops its node's drain before anything is evicted, as with `kubectl drain`
    #[arg(long)]
    pub delete_emptydir_data: bool,
    /// Drain pods no controller recreates too (they are deleted for good); without it such a
    /// pod stops its node's drain before anything is evicted, as with `kubectl drain`
    #[arg(long)]
    pub force: bool,
}

/// How a run reaches nodes, where it keeps its journal, how long it waits.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Hosts file (YAML): how to reach each node (see the README). Without it every node is
    /// reached over SSH as root at its `InternalIP` with `~/.ssh` keys and `known_hosts`
    #[arg(long, value_name = "FILE")]
    pub hosts: Option<std::path::PathBuf>,
    /// Journal directory (default: `$XDG_STATE_HOME/kubeladder/<cluster-uid>`)
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<std::path::PathBuf>,
    /// Give up draining one node after this long (the node stays cordoned, the run stops)
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = duration)]
    pub drain_timeout: std::time::Duration,
    /// Give up waiting for a node or static pods to become Ready after this long
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = duration)]
    pub gate_timeout: std::time::Duration,
    /// How often gates and the worker window are re-read
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = duration)]
    pub poll: std::time::Duration,
    /// Progress output: bars on a terminal (auto), plain lines, or JSON lines
    #[arg(short, long, value_enum, default_value_t)]
    pub output: crate::progress::ProgressFormat,
    /// Keep each hop's etcd snapshot on the node only (by default it is also copied into
    /// the state directory's `snapshots/` and checked against the node's sha256)
    #[arg(long)]
    pub no_snapshot_copy: bool,
    #[command(flatten)]
    pub drain: DrainFlagArgs,
}

#[derive(Debug, Args)]
#[command(after_help = "What happens, per hop (one minor at a time): an etcd snapshot on the first control-plane \
node; on it: repository for the minor, kubeadm, drain, `kubeadm upgrade plan`, `kubeadm upgrade apply vX -y`, kubelet \
and kubectl, kubelet restart, wait Ready with static pods at vX, uncordon; the other control-plane nodes one at a \
time with `kubeadm upgrade node`; then workers through a sliding window (--max-unavailable, PodDisruptionBudget room, \
spare capacity). Every intermediate state is proven against the version skew policy before anything runs.\n\n\
Before changing anything: the checks of `kubeladder plan` (blockers refuse the run), every node reached once, the \
run lock (Lease kube-system/kubeladder) taken. Every step is journaled; after a failure, Ctrl-C or a crash, \
`kubeladder resume` continues exactly where the run stopped.\n\n\
Exit codes: 0 finished, 1 a step failed (the report names the node, the step and the command to continue), \
2 bad input (nothing changed), 3 blockers (nothing changed), 4 paused (resume continues).\n\n\
Examples:\n  kubeladder apply --to 1.23 --hosts hosts.yaml --dry-run\n  \
kubeladder apply --to 1.33 --workers lag --max-unavailable 20% --hosts hosts.yaml --yes -o json")]
pub struct ApplyArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub run: RunArgs,
    /// Target: a minor (newest patch), an exact version, or `latest`
    #[arg(long, value_name = "VERSION", value_parser = target)]
    pub to: Target,
    #[command(flatten)]
    pub strategy: StrategyArgs,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print the plan and the checks, change nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Opens the journal (refusing one written for another cluster), takes the run lock, re-checks \
the step that was running when the run stopped, and continues. Finished steps are never redone; a step whose \
postcondition already holds is recorded as already done.\n\n\
Exit codes: 0 finished, 1 a step failed or the journal is damaged, 2 bad input (nothing changed), 4 paused.\n\n\
Examples:\n  kubeladder resume --hosts hosts.yaml\n  kubeladder resume --state-dir DIR --kubeconfig admin.conf")]
pub struct ResumeArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub run: RunArgs,
    /// Workers unavailable at once (not stored in the journal; give the same as `apply`)
    #[arg(long, value_name = "N|N%", default_value = "1", value_parser = max_unavailable)]
    pub max_unavailable: kubeladder_core::window::MaxUnavailable,
}

#[derive(Debug, Args)]
#[command(after_help = "Stop the running `apply`/`resume` first (Ctrl-C finishes its current step). abort takes the \
run lock, uncordons the nodes this run cordoned (never one cordoned by someone else) and records the run as \
paused. The cluster stays at the versions reached, which the plan kept inside the skew policy.\n\n\
Exit codes: 0 aborted, 1 failed (e.g. the journal is damaged), 2 bad input.\n\n\
Examples:\n  kubeladder abort\n  kubeladder abort --state-dir DIR --kubeconfig admin.conf")]
pub struct AbortArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Journal directory (default: `$XDG_STATE_HOME/kubeladder/<cluster-uid>`)
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
#[command(after_help = "Starts a simulated kubeadm cluster in this process (3 control planes and 6 workers at \
v1.18.20 with Deployments behind PodDisruptionBudgets, a StatefulSet, DaemonSets), and upgrades it with exactly the \
code path `apply` uses on a real cluster: HTTPS Kubernetes API, simulated hosts running apt-get, kubeadm and \
systemctl, journal, lock, drains within budgets. --from and --to take a minor (its newest patch) or an exact \
patch. The demo's directory is private (0700); its credentials are removed at the end, the journal stays for \
`kubeladder report`.\n\n\
Exit codes: 0 finished, 1 a step failed, 2 bad input, 4 paused (Ctrl-C).\n\n\
Examples:\n  kubeladder demo\n  kubeladder demo --to 1.21 --scenario small -o json\n  \
kubeladder demo --from 1.28 --to 1.33 --workers lag")]
pub struct DemoArgs {
    /// Target version
    #[arg(long, value_name = "VERSION", default_value = "1.23", value_parser = target)]
    pub to: Target,
    /// Starting version of the simulated cluster (default: the scenario's, v1.18.20 for the built-ins)
    #[arg(long, value_name = "VERSION", value_parser = version)]
    pub from: Option<KubeVersion>,
    /// `small`, `ha`, `large:NODES[:PODS_PER_NODE]`, or a scenario file (YAML)
    #[arg(long, value_name = "NAME|FILE", default_value = "ha")]
    pub scenario: String,
    /// follow: upgrade workers every hop; lag: leave them while the skew policy allows
    #[arg(long, value_enum, default_value_t = Workers::Follow)]
    pub workers: Workers,
    /// Workers unavailable at once: a count or a percentage of workers
    #[arg(long, value_name = "N|N%", default_value = "2", value_parser = max_unavailable)]
    pub max_unavailable: kubeladder_core::window::MaxUnavailable,
    /// Simulated seconds per real second
    #[arg(long, default_value = "30", value_parser = speed)]
    pub speed: f64,
    /// Progress output: bars on a terminal (auto), plain lines, or JSON lines
    #[arg(short, long, value_enum, default_value_t)]
    pub output: crate::progress::ProgressFormat,
}

#[derive(Debug, Subcommand)]
pub enum RecoverCommand {
    /// On each control-plane node: kubeadm backups, etcd snapshots, manifests in place, journal
    List(RecoverListArgs),
    /// Rerun kubeadm, reconverge with --force, restore manifests or etcd on one node
    Node(RecoverNodeArgs),
    /// Remove old kubeadm backups and kubeladder snapshots, keeping the newest N of each kind
    Prune(RecoverPruneArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "Per control-plane node, for each kind - kubeadm's etcd backups \
(/etc/kubernetes/tmp/kubeadm-backup-etcd-*, a full copy of /var/lib/etcd that kubeadm makes on every `upgrade apply` \
and never removes), kubeadm's manifests backups, kubeladder's etcd snapshots (/var/lib/kubeladder/snapshots) - the \
newest --keep are kept and the older ones listed; --yes removes them. The newest of each kind is never removed, and \
nothing is pruned while a run is unfinished (its backups are what `recover node` needs).\n\n\
Examples:\n  kubeladder recover prune --hosts hosts.yaml\n  kubeladder recover prune --hosts hosts.yaml --keep 2 --yes")]
pub struct RecoverPruneArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub reach: ReachArgs,
    /// How many of each kind to keep per node (at least 1)
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub keep: usize,
    /// Remove them (without it, only list what would be removed)
    #[arg(long)]
    pub yes: bool,
    /// Output format
    #[arg(short, long, value_enum, default_value_t)]
    pub output: Format,
}

#[derive(Debug, Args)]
#[command(after_help = "Lists, per control-plane node: the image tag of each static pod manifest in \
/etc/kubernetes/manifests, kubeadm's backups in /etc/kubernetes/tmp (kubeadm-backup-manifests-YYYY-MM-DD-HH-MM-SS \
with the components each holds, kubeadm-backup-etcd-...), kubeladder's etcd snapshots (/var/lib/kubeladder/snapshots) \
and what the journal says last happened on the node. Read-only.\n\n\
Exit codes: 0 ok, 1 a node or the cluster could not be read, 2 bad input.\n\n\
Examples:\n  kubeladder recover list --hosts hosts.yaml\n  kubeladder recover list --node cp-2 -o json")]
pub struct RecoverListArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub reach: ReachArgs,
    /// Only this control-plane node
    #[arg(long, value_name = "NODE")]
    pub node: Option<String>,
    /// Output format
    #[arg(short, long, value_enum, default_value_t)]
    pub output: Format,
}

/// How recovery reaches nodes and finds the journal.
#[derive(Debug, Args)]
pub struct ReachArgs {
    /// Hosts file (YAML): how to reach each node (see the README)
    #[arg(long, value_name = "FILE")]
    pub hosts: Option<std::path::PathBuf>,
    /// Journal directory (default: `$XDG_STATE_HOME/kubeladder/<cluster-uid>`)
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
#[command(after_help = "Exactly one action:\n  \
--rerun                    run the journal's unfinished kubeadm step on the node again (kubeadm is idempotent)\n  \
--force-reconverge         kubeadm upgrade apply <the version the node runs> --force -y\n  \
--restore-manifests DIR    copy back the manifests a kubeadm-backup-manifests-* dir holds (only those; replaced \
files kept in /etc/kubernetes/tmp/kubeladder-replaced-manifests-*)\n  \
--restore-etcd DIR|FILE    stop etcd, restore /var/lib/etcd from a kubeadm-backup-etcd-* dir or a snapshot (old \
data kept aside), start etcd; refused on a multi-member etcd without --allow-quorum-risk\n\n\
The commands are shown first; --dry-run stops there, --yes runs them. Afterwards the node is verified (static pods \
Ready at the expected version, or etcd Ready) and the journal, if a run is unfinished, marks the node's steps of the \
current hop to be checked again by `kubeladder resume`.\n\n\
Exit codes: 0 recovered (or shown with --dry-run), 1 a command or the verification failed, 2 bad input.\n\n\
Examples:\n  kubeladder recover node cp-1 --rerun --yes\n  \
kubeladder recover node cp-1 --restore-manifests /etc/kubernetes/tmp/kubeadm-backup-manifests-2026-11-25-10-01-02 --dry-run")]
pub struct RecoverNodeArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub reach: ReachArgs,
    /// Give up waiting for the node to come back after this long
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = duration)]
    pub gate_timeout: std::time::Duration,
    /// How often the node is re-read while waiting
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = duration)]
    pub poll: std::time::Duration,
    /// The control-plane node to recover
    pub node: String,
    /// Rerun the journal's unfinished kubeadm step on the node
    #[arg(long)]
    pub rerun: bool,
    /// `kubeadm upgrade apply <running version> --force -y`
    #[arg(long)]
    pub force_reconverge: bool,
    /// Restore manifests from this kubeadm backup directory
    #[arg(long, value_name = "DIR")]
    pub restore_manifests: Option<String>,
    /// Restore the local etcd member from this kubeadm etcd backup directory or snapshot file
    #[arg(long, value_name = "DIR|SNAPSHOT")]
    pub restore_etcd: Option<String>,
    /// Allow restoring etcd on a cluster with more than one etcd member
    #[arg(long)]
    pub allow_quorum_risk: bool,
    /// Run the commands without asking
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Show the commands, change nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// How the plan moves workers: shared by `plan` and `apply`.
#[derive(Debug, Args)]
pub struct StrategyArgs {
    /// follow: upgrade workers every hop; lag: leave them while the skew policy allows
    #[arg(long, value_enum, default_value_t = Workers::Follow)]
    pub workers: Workers,
    /// Workers unavailable at once: a count or a percentage of workers
    #[arg(long, value_name = "N|N%", default_value = "1", value_parser = max_unavailable)]
    pub max_unavailable: kubeladder_core::window::MaxUnavailable,
    /// Allow alpha, beta and rc targets
    #[arg(long)]
    pub allow_prerelease: bool,
}
