//! Simulated hosts behind every node: installed packages and holds, the package repository
//! definition, a small file system (static pod manifests, kubeadm's backups, kubelet
//! config, apt/yum files), the kubelet service, and the commands kubeladder sends
//! (apt/dpkg, dnf/yum/rpm, kubeadm, systemctl, etcdctl, a few coreutils), answered with the
//! real tools' exit codes and messages.
//!
//! Commands change the host; the host's kubelet (`kubelet::sync`, run with the other
//! controllers) carries the change into the API: mirror pods follow the manifest files,
//! the node's Ready condition and `kubeletVersion` follow the kubelet service.

mod apt;
pub(crate) mod build;
mod control_plane;
mod coreutils;
mod crictl;
mod etcdctl;
pub(crate) mod exec;
pub(crate) mod exec_api;
pub mod files;
mod kubeadm;
pub(crate) mod kubelet;
pub(crate) mod manifests;
pub(crate) mod output;
mod repo;
mod rpm;
mod shell;
mod systemctl;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use kubeladder_core::package::{RepoStyle, Repository};
use kubeladder_core::{KubeVersion, Minor};
use serde::{Deserialize, Serialize};

pub(crate) use control_plane::apiserver_version;
pub use crictl::{HOST_ETCDCTL, HOST_ETCDUTL};
pub use files::{FileData, Files, FsError};
/// kubeadm's layout is core's: the same paths the nodes kubeladder drives have.
pub use kubeladder_core::kubeadm::{KUBEADM_TMP_DIR, MANIFESTS_DIR};
pub use output::CommandOutput;
pub(crate) use repo::RepoSource;
pub use repo::{DEFAULT_MIRROR, PackageWorld};

/// The kubelet configuration `kubeadm upgrade` writes.
pub const KUBELET_CONFIG: &str = "/var/lib/kubelet/config.yaml";
/// The admin kubeconfig; kubeadm's upgrade commands need it (control-plane nodes only).
pub const ADMIN_CONF: &str = "/etc/kubernetes/admin.conf";
/// The apt sources file for the Kubernetes repository.
pub const APT_SOURCES: &str = "/etc/apt/sources.list.d/kubernetes.list";
/// The yum/dnf repository file.
pub const OS_RELEASE: &str = "/etc/os-release";
pub const YUM_REPO: &str = "/etc/yum.repos.d/kubernetes.repo";
/// etcd's data directory on a control-plane node.
pub const ETCD_DATA_DIR: &str = "/var/lib/etcd";
/// The file standing for etcd's data; its contents tell healthy from corrupt.
pub const ETCD_DB: &str = "/var/lib/etcd/member/snap/db";
/// What a corrupt etcd database file starts with.
pub const ETCD_CORRUPT_MARK: &str = "kubeladder-sim: corrupt etcd data";

/// The Kubernetes packages a host has, in this order.
pub const KUBE_PACKAGES: [&str; 3] = ["kubeadm", "kubelet", "kubectl"];

/// A mirror pod this kubelet made for a manifest file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mirror {
    pub namespace: String,
    pub name: String,
    pub hash: String,
}

/// The package manager vocabulary is core's, shared with the nodes kubeladder drives.
pub use kubeladder_core::package::PackageManager;

/// The distribution a host with this package manager runs: its `/etc/os-release`
/// `PRETTY_NAME` and the node's `osImage` (kubelet reports the same string).
pub fn os_image(package_manager: PackageManager) -> &'static str {
    match package_manager {
        PackageManager::Apt => "Ubuntu 20.04.2 LTS",
        PackageManager::Yum => "CentOS Linux 7 (Core)",
        PackageManager::Dnf => "Rocky Linux 8.9 (Green Obsidian)",
        PackageManager::Dnf5 => "Fedora Linux 41 (Server Edition)",
    }
}

/// How long host-side work takes, in simulated seconds (the clock's speed applies).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HostTimings {
    /// `systemctl restart kubelet` until the node reports Ready again.
    pub kubelet_restart_secs: f64,
    /// A static pod from its new manifest until Ready.
    pub static_pod_restart_secs: f64,
    /// How long kubeadm waits for a static pod (kubeadm: 5 minutes).
    pub static_pod_timeout_secs: f64,
    /// kubeadm's image pre-pull.
    pub image_pull_secs: f64,
    /// `apt-get update`, `dnf makecache`.
    pub repo_refresh_secs: f64,
    /// Installing packages.
    pub package_install_secs: f64,
    /// Any other command.
    pub command_secs: f64,
}

impl Default for HostTimings {
    fn default() -> Self {
        Self {
            kubelet_restart_secs: 5.0,
            static_pod_restart_secs: 8.0,
            static_pod_timeout_secs: 300.0,
            image_pull_secs: 6.0,
            repo_refresh_secs: 2.0,
            package_install_secs: 4.0,
            command_secs: 0.05,
        }
    }
}

/// A host as `GET /sim/v1/hosts` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostInfo {
    pub node: String,
    /// The node's `InternalIP`.
    pub address: String,
    pub package_manager: PackageManager,
}

/// One installed (or absent) Kubernetes package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageState {
    pub name: String,
    /// The installed package version (`1.19.16-00`), `None` when not installed.
    pub version: Option<String>,
    /// apt: held (`apt-mark hold`). yum/dnf never hold (the repository excludes instead).
    pub held: bool,
}

/// The repository a host's definition file points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryState {
    pub repository: Repository,
    /// pkgs.k8s.io's minor; `None` for the legacy repository.
    pub minor: Option<Minor>,
    pub url: String,
    /// apt: whether `apt-get update` read this definition (what `apt-get install` sees).
    pub refreshed: bool,
}

/// The kubelet service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KubeletState {
    /// Running and reporting.
    Active,
    /// Restarted; reports Ready once the restart delay has passed.
    Restarting,
    Stopped,
}

/// A snapshot of one host, for tests and for callers that want to look behind the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostState {
    pub node: String,
    pub address: String,
    pub package_manager: PackageManager,
    /// kubeadm, kubelet, kubectl in that order.
    pub packages: Vec<PackageState>,
    pub repository: Option<RepositoryState>,
    pub kubelet: KubeletState,
    /// Every file path, sorted.
    pub files: Vec<String>,
}

impl HostState {
    /// The installed version of `package` (`kubeadm`, `kubelet`, `kubectl`).
    pub fn package(&self, package: &str) -> Option<&PackageState> {
        self.packages.iter().find(|p| p.name == package)
    }
}

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Installed {
    pub version: String,
    pub held: bool,
}

/// The kubelet service's state in simulated seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Kubelet {
    Running,
    Restarting { until: f64 },
    Stopped,
}

/// Everything one host holds.
#[derive(Debug, Clone)]
pub(crate) struct Host {
    pub address: String,
    pub package_manager: PackageManager,
    /// kubeadm, kubelet, kubectl (see [`KUBE_PACKAGES`]).
    pub packages: [Option<Installed>; 3],
    pub files: Files,
    /// apt: the repository as the last `apt-get update` read it.
    pub index: Option<RepoSource>,
    /// The package repositories this host's network reaches.
    pub world: Arc<PackageWorld>,
    pub kubelet: Kubelet,
    /// Static pods waiting to become Ready: manifest file name -> when.
    pub pod_timers: BTreeMap<String, f64>,
    /// Mirror pods the kubelet made: manifest file name -> pod.
    pub mirrors: BTreeMap<String, Mirror>,
}

impl Host {
    /// The index of a Kubernetes package name.
    pub fn package_index(name: &str) -> Option<usize> {
        KUBE_PACKAGES.iter().position(|p| *p == name)
    }

    pub fn installed(&self, name: &str) -> Option<&Installed> {
        Self::package_index(name).and_then(|i| self.packages[i].as_ref())
    }

    /// The Kubernetes version of an installed package (`1.19.16-00` -> v1.19.16).
    pub fn package_kube_version(&self, name: &str) -> Option<KubeVersion> {
        let installed = self.installed(name)?;
        RepoStyle::parse_package(self.package_manager.format(), &installed.version).ok().map(|(v, _)| v)
    }

    /// Whether this host runs a control plane (kubeadm's test: the apiserver manifest).
    pub fn is_control_plane(&self) -> bool {
        self.files.is_file(&format!("{MANIFESTS_DIR}/kube-apiserver.yaml"))
    }

    /// The repository definition file's path for this host's package manager.
    pub fn repo_file(&self) -> &'static str {
        match self.package_manager {
            PackageManager::Apt => APT_SOURCES,
            _ => YUM_REPO,
        }
    }

    fn state(&self, node: &str) -> HostState {
        let packages = KUBE_PACKAGES
            .iter()
            .zip(&self.packages)
            .map(|(name, p)| PackageState {
                name: (*name).to_owned(),
                version: p.as_ref().map(|p| p.version.clone()),
                held: p.as_ref().is_some_and(|p| p.held),
            })
            .collect();
        let current = self.files.text(self.repo_file()).and_then(|text| match self.package_manager {
            PackageManager::Apt => repo::parse_apt_sources(text).ok().flatten(),
            _ => repo::parse_yum_repo(text),
        });
        let repository = current.map(|source| RepositoryState {
            repository: source.repository(),
            minor: source.minor(),
            url: source.url.to_string(),
            refreshed: self.package_manager != PackageManager::Apt
                || self.index.as_ref().is_some_and(|index| index.same_repository(&source)),
        });
        HostState {
            node: node.to_owned(),
            address: self.address.clone(),
            package_manager: self.package_manager,
            packages,
            repository,
            kubelet: match self.kubelet {
                Kubelet::Running => KubeletState::Active,
                Kubelet::Restarting { .. } => KubeletState::Restarting,
                Kubelet::Stopped => KubeletState::Stopped,
            },
            files: self.files.paths(),
        }
    }
}

/// All hosts, keyed by node name, plus what the host kubelets have to look at next.
#[derive(Debug, Default)]
pub struct Hosts {
    by_node: BTreeMap<String, Host>,
    /// Hosts whose files or services changed since their kubelet last looked.
    dirty: BTreeSet<String>,
    /// Hosts the kubelet pass visits every time: control planes and pending timers.
    watched: BTreeSet<String>,
    pub(crate) timings: HostTimings,
}

impl Hosts {
    pub(crate) fn insert(&mut self, node: String, host: Host) {
        self.dirty.insert(node.clone());
        self.by_node.insert(node, host);
    }

    pub(crate) fn get(&self, node: &str) -> Option<&Host> {
        self.by_node.get(node)
    }

    /// A host to change; marks it for its kubelet's next look.
    pub(crate) fn get_mut(&mut self, node: &str) -> Option<&mut Host> {
        let host = self.by_node.get_mut(node)?;
        if !self.dirty.contains(node) {
            self.dirty.insert(node.to_owned());
        }
        Some(host)
    }

    /// A host to change without asking its kubelet to look (the kubelet's own bookkeeping).
    pub(crate) fn get_mut_quiet(&mut self, node: &str) -> Option<&mut Host> {
        self.by_node.get_mut(node)
    }

    pub(crate) fn mark_dirty(&mut self, node: &str) {
        if self.by_node.contains_key(node) {
            self.dirty.insert(node.to_owned());
        }
    }

    pub fn contains(&self, node: &str) -> bool {
        self.by_node.contains_key(node)
    }

    pub fn len(&self) -> usize {
        self.by_node.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_node.is_empty()
    }

    /// Whether some host waits for its kubelet's look.
    pub(crate) fn has_dirty(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// The hosts to look at now (dirty ones and watched ones); clears the dirty set.
    pub(crate) fn take_work(&mut self) -> Vec<String> {
        let mut work: BTreeSet<String> = std::mem::take(&mut self.dirty);
        work.extend(self.watched.iter().cloned());
        work.into_iter().collect()
    }

    /// Keep visiting `node` every pass (or stop).
    pub(crate) fn watch(&mut self, node: &str, keep: bool) {
        if keep {
            if !self.watched.contains(node) {
                self.watched.insert(node.to_owned());
            }
        } else {
            self.watched.remove(node);
        }
    }

    /// Every host as listed by `GET /sim/v1/hosts`.
    pub fn infos(&self) -> Vec<HostInfo> {
        self.by_node
            .iter()
            .map(|(node, host)| HostInfo {
                node: node.clone(),
                address: host.address.clone(),
                package_manager: host.package_manager,
            })
            .collect()
    }

    /// A snapshot of one host.
    pub fn state(&self, node: &str) -> Option<HostState> {
        self.by_node.get(node).map(|h| h.state(node))
    }

    /// Shared text for identical file contents (used while building many hosts).
    pub(crate) fn shared(cache: &mut BTreeMap<String, Arc<str>>, text: String) -> Arc<str> {
        cache.entry(text).or_insert_with_key(|k| Arc::from(k.as_str())).clone()
    }
}
