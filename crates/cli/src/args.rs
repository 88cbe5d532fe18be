//! Command-line shape (clap derive). Parsing only: no behaviour lives here.

use clap::{Args, Parser, Subcommand};
use kubeladder_core::Minor;
use kubeladder_core::path::Target;
use kubeladder_core::version::KubeVersion;

use crate::output::Format;

#[derive(Debug, Parser)]
#[command(
    name = "kubeladder",
    version,
    about = "Upgrade a kubeadm-built Kubernetes cluster safely, one minor at a time, across every node",
    long_about = "kubeladder upgrades a kubeadm-built Kubernetes cluster from the version it runs to a target \
several minors away: one minor per hop (kubeadm never skips one), control plane before workers, inside the \
version skew policy at every moment.\n\nThe commands below answer the planning questions offline, from the \
release data built into kubeladder.",
    after_help = "Exit codes: 0 ok, 1 violations found (skew), 2 bad input.\n\n\
Examples:\n  kubeladder path --from v1.18.4 --to 1.23\n  kubeladder skew --apiserver 1.29,1.30 --kubelet 1.26\n  \
kubeladder versions --date 2024-06-01"
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
Examples:\n  kubeladder versions\n  kubeladder versions --date 2024-06-01 -o json")]
pub struct VersionsArgs {
    /// Judge support status on this date (YYYY-MM-DD; default: today, UTC)
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = date)]
    pub date: Option<jiff::civil::Date>,
    /// Output format
    #[arg(short, long, value_enum, default_value_t)]
    pub output: Format,
}
