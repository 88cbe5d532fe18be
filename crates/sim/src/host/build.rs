//! The hosts of a freshly built scenario: packages at the node's version (held on apt),
//! the repository its version calls for, the files kubeadm and the kubelet left behind,
//! and for control planes the static pod manifests, certificates and etcd data.
//! Identical file contents are shared between hosts.

use std::collections::BTreeMap;
use std::sync::Arc;

use kubeladder_core::kubeadm::StaticPod;
use kubeladder_core::package::{PackageFormat, RepoStyle, Repository};
use kubeladder_core::{KubeVersion, Minor};

use super::files::Files;
use super::repo;
use super::{
    ADMIN_CONF, APT_SOURCES, ETCD_DB, Host, Hosts, Installed, KUBE_PACKAGES, KUBELET_CONFIG, Kubelet, MANIFESTS_DIR,
    OS_RELEASE, PackageManager, YUM_REPO, manifests,
};

/// The kubelet configuration kubeadm writes (and keeps in the kubelet-config ConfigMap).
pub const KUBELET_CONFIGURATION: &str = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\nclusterDNS:\n- 10.96.0.10\nclusterDomain: cluster.local\n";

/// The repository a host starts with when the scenario does not choose: legacy before
/// 1.29 (as clusters of that time were built), pkgs.k8s.io for the node's minor after.
pub fn default_repository(version: &KubeVersion) -> Repository {
    if version.minor() < Minor::new(1, 29) { Repository::Legacy } else { Repository::PkgsK8sIo }
}

/// One node's host to build.
#[derive(Debug, Clone)]
pub(crate) struct HostSpec<'a> {
    pub node: &'a str,
    pub address: &'a str,
    pub control_plane: bool,
    /// Packages, kubelet and (control planes) static pods.
    pub version: KubeVersion,
    pub package_manager: PackageManager,
    pub repository: Option<Repository>,
    /// No `/sys/fs/cgroup/cgroup.controllers`: the v1 hierarchy.
    pub cgroup_v1: bool,
    /// The package repositories the host's network reaches.
    pub world: Arc<super::PackageWorld>,
}

/// Builds hosts, sharing file contents between them.
#[derive(Debug, Default)]
pub(crate) struct Builder {
    shared: BTreeMap<String, Arc<str>>,
}

impl Builder {
    fn text(&mut self, text: String) -> Arc<str> {
        Hosts::shared(&mut self.shared, text)
    }

    /// A host as kubeadm and the install guides leave it. `at` stamps the files.
    pub fn host(&mut self, spec: &HostSpec<'_>, at: f64) -> Host {
        let mut files = Files::default();
        let put = |files: &mut Files, path: &str, text: Arc<str>, mode: u32| {
            let _ = files.write_all(path, text, mode, at);
        };
        let repository = spec.repository.unwrap_or_else(|| default_repository(&spec.version));
        let pkgs_minor = (repository == Repository::PkgsK8sIo).then(|| spec.version.minor());
        let format = spec.package_manager.format();
        let index = if spec.package_manager == PackageManager::Apt {
            let sources = repo::initial_apt_sources(pkgs_minor);
            let (keyring, key) = repo::initial_keyring(pkgs_minor);
            let index = repo::parse_apt_sources(&sources).ok().flatten();
            let sources = self.text(sources);
            put(&mut files, APT_SOURCES, sources, 0o644);
            let key = self.text(key);
            put(&mut files, keyring, key, 0o644);
            index
        } else {
            let text = self.text(repo::initial_yum_repo(pkgs_minor));
            put(&mut files, YUM_REPO, text, 0o644);
            None
        };
        let os_release = self.text(os_release(spec.package_manager));
        put(&mut files, OS_RELEASE, os_release, 0o644);
        if !spec.cgroup_v1 {
            // The unified hierarchy's root lists its controllers.
            let controllers = self.text("cpuset cpu io memory hugetlb pids rdma misc\n".to_owned());
            put(&mut files, "/sys/fs/cgroup/cgroup.controllers", controllers, 0o444);
        }
        let kubelet_config = self.text(KUBELET_CONFIGURATION.to_owned());
        put(&mut files, KUBELET_CONFIG, kubelet_config, 0o644);
        let kubelet_conf = self.text(kubeconfig("system:node", "https://127.0.1.1:6443"));
        put(&mut files, "/etc/kubernetes/kubelet.conf", kubelet_conf, 0o600);
        let ca = self.text(pem("kubernetes-ca"));
        put(&mut files, "/etc/kubernetes/pki/ca.crt", ca, 0o644);
        if spec.control_plane {
            let etcd = manifests::etcd_version(&spec.version);
            for component in StaticPod::ALL.map(StaticPod::name) {
                let text = Arc::from(manifests::render(component, spec.address, &spec.version, &etcd));
                put(&mut files, &format!("{MANIFESTS_DIR}/{component}.yaml"), text, 0o600);
            }
            let admin = self.text(kubeconfig("kubernetes-admin", "https://127.0.1.1:6443"));
            put(&mut files, ADMIN_CONF, admin, 0o600);
            // What `kubeadm init phase certs etcd-*` writes.
            for (name, mode) in [
                ("ca.crt", 0o644),
                ("ca.key", 0o600),
                ("healthcheck-client.crt", 0o644),
                ("healthcheck-client.key", 0o600),
                ("peer.crt", 0o644),
                ("peer.key", 0o600),
                ("server.crt", 0o644),
                ("server.key", 0o600),
            ] {
                let text = self.text(pem(&format!("etcd-{name}")));
                put(&mut files, &format!("/etc/kubernetes/pki/etcd/{name}"), text, mode);
            }
            let db = Arc::from(format!("kubeladder-sim etcd data of {}\n", spec.node));
            put(&mut files, ETCD_DB, db, 0o600);
            let _ = files.mkdir_p(super::KUBEADM_TMP_DIR);
        }
        let style = RepoStyle { repository, format };
        let held = spec.package_manager == PackageManager::Apt;
        let version = style.package_version(&spec.version).map(|v| v.to_string()).unwrap_or_default();
        let packages = KUBE_PACKAGES.map(|_| Some(Installed { version: version.clone(), held }));
        Host {
            address: spec.address.to_owned(),
            package_manager: spec.package_manager,
            packages,
            files,
            index: index.filter(|_| format == PackageFormat::Deb),
            world: Arc::clone(&spec.world),
            kubelet: Kubelet::Running,
            pod_timers: BTreeMap::new(),
            mirrors: BTreeMap::new(),
        }
    }
}

/// `/etc/os-release` of the distribution the package manager belongs to.
fn os_release(package_manager: PackageManager) -> String {
    let (id, version_id) = match package_manager {
        PackageManager::Apt => ("ubuntu", "20.04"),
        PackageManager::Yum => ("centos", "7"),
        PackageManager::Dnf => ("rocky", "8.9"),
        PackageManager::Dnf5 => ("fedora", "41"),
    };
    format!("ID={id}\nVERSION_ID=\"{version_id}\"\nPRETTY_NAME=\"{}\"\n", super::os_image(package_manager))
}

/// A kubeconfig as kubeadm writes it (certificate data elided).
fn kubeconfig(user: &str, server: &str) -> String {
    format!(
        "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: LS0t\n    server: {server}\n  name: kubernetes\ncontexts:\n- context:\n    cluster: kubernetes\n    user: {user}\n  name: {user}@kubernetes\ncurrent-context: {user}@kubernetes\nkind: Config\nusers:\n- name: {user}\n  user:\n    client-certificate-data: LS0t\n    client-key-data: LS0t\n"
    )
}

fn pem(label: &str) -> String {
    format!("-----BEGIN CERTIFICATE-----\nkubeladder-sim {label}\n-----END CERTIFICATE-----\n")
}
