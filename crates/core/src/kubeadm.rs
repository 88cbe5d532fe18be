//! What kubeadm lays out on a control-plane node, as data: its static pods (the one list of
//! control-plane components), where it keeps their manifests and backups, and how to tell
//! from the manifests whether `kubeadm upgrade apply|node` finished on a node.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::image;
use crate::version::KubeVersion;

/// The static pod manifests directory (`kubeadm/app/constants`: `ManifestsSubDirName`).
pub const MANIFESTS_DIR: &str = "/etc/kubernetes/manifests";
/// Where kubeadm writes its backups (`kubeadm-backup-manifests-*`, `kubeadm-backup-etcd-*`)
/// and temporary files (`kubeadm/app/constants`: `TempDirForKubeadm`).
pub const KUBEADM_TMP_DIR: &str = "/etc/kubernetes/tmp";

/// A static pod kubeadm runs on a control-plane node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StaticPod {
    Etcd,
    KubeApiserver,
    KubeControllerManager,
    KubeScheduler,
}

impl StaticPod {
    /// Every static pod of a stacked-etcd control plane, in kubeadm's upgrade order.
    pub const ALL: [Self; 4] = [Self::Etcd, Self::KubeApiserver, Self::KubeControllerManager, Self::KubeScheduler];

    /// The components `kubeadm upgrade apply|node` moves to the new Kubernetes version, in
    /// its order (etcd follows its own versions, which not every hop changes).
    pub const VERSIONED: [Self; 3] = [Self::KubeApiserver, Self::KubeControllerManager, Self::KubeScheduler];

    /// The component's name: its manifest's file stem, its mirror pod's `component` label
    /// and its image's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Etcd => "etcd",
            Self::KubeApiserver => "kube-apiserver",
            Self::KubeControllerManager => "kube-controller-manager",
            Self::KubeScheduler => "kube-scheduler",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// `kube-apiserver.yaml`
    pub fn file(self) -> String {
        format!("{}.yaml", self.name())
    }

    /// `/etc/kubernetes/manifests/kube-apiserver.yaml`
    pub fn manifest(self) -> String {
        format!("{MANIFESTS_DIR}/{}", self.file())
    }
}

impl fmt::Display for StaticPod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether the manifests' text (one or several manifests, as `cat` prints them) names
/// `version` for every component kubeadm versions. A kubeadm killed half-way leaves the
/// apiserver new and the others old, so the apiserver alone proves nothing.
pub fn manifests_at(text: &str, version: KubeVersion) -> bool {
    let images: Vec<image::ImageRef<'_>> = image::manifest_images(text).collect();
    StaticPod::VERSIONED
        .into_iter()
        .all(|pod| images.iter().any(|i| i.base_name() == pod.name() && i.version() == Some(version)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(pod: StaticPod, tag: &str) -> String {
        format!("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: registry.k8s.io/{}:{tag}\n", pod.name())
    }

    #[test]
    fn all_three_components_must_name_the_version() {
        let v = KubeVersion::new(1, 19, 16);
        let all_new: String = StaticPod::VERSIONED.iter().map(|p| manifest(*p, "v1.19.16")).collect();
        assert!(manifests_at(&all_new, v));
        let half_way = manifest(StaticPod::KubeApiserver, "v1.19.16")
            + &manifest(StaticPod::KubeControllerManager, "v1.18.20")
            + &manifest(StaticPod::KubeScheduler, "v1.18.20");
        assert!(!manifests_at(&half_way, v));
        assert!(!manifests_at(&manifest(StaticPod::KubeApiserver, "v1.19.16"), v));
        assert!(!manifests_at("", v));
    }

    #[test]
    fn names_round_trip() {
        for pod in StaticPod::ALL {
            assert_eq!(StaticPod::parse(pod.name()), Some(pod));
        }
        assert_eq!(StaticPod::KubeScheduler.manifest(), "/etc/kubernetes/manifests/kube-scheduler.yaml");
    }
}
