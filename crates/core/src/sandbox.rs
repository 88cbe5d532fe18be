//! The container runtime's sandbox (pause) image against the one kubeadm expects.
//!
//! kubeadm pins a pause image per version (`constants.PauseVersion`, in the release data
//! as `pause`), and since 1.28 its preflight warns when the CRI's configured sandbox image
//! differs. With a mismatch the image the kubelet pulled is not the one containerd uses for
//! sandboxes; once image garbage collection removes it, new pods stay in
//! `ContainerCreating` (kURL#4077). containerd reads it from `/etc/containerd/config.toml`:
//! `sandbox_image` in `[plugins."io.containerd.grpc.v1.cri"]` (config version 2, containerd
//! 1.x) or `sandbox` in `[plugins.'io.containerd.cri.v1.images'.pinned_images]` (version 3,
//! containerd 2.x) - <https://github.com/containerd/containerd/blob/main/docs/cri/config.md>.

use std::collections::BTreeMap;

use crate::checks::{Finding, Severity};
use crate::image;
use crate::version::Minor;

/// Where containerd keeps its configuration.
pub const CONTAINERD_CONFIG: &str = "/etc/containerd/config.toml";

/// The sandbox image a containerd `config.toml` sets, if it sets one.
pub fn configured_sandbox_image(config: &str) -> Option<String> {
    let mut section = String::new();
    let mut found = None;
    for line in config.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if line.starts_with('[') {
            line.clone_into(&mut section);
            continue;
        }
        let Some((key, value)) = line.split_once('=') else { continue };
        let key = key.trim();
        let wanted = (key == "sandbox_image" && section.contains("io.containerd.grpc.v1.cri"))
            || (key == "sandbox" && section.contains("pinned_images"));
        if wanted {
            let value = value.split('#').next().unwrap_or_default().trim();
            let value = value.trim_matches(|c| c == '"' || c == '\'');
            if !value.is_empty() {
                found = Some(value.to_owned());
            }
        }
    }
    found
}

/// A WARNING for each node whose containerd sandbox image has another pause tag than the
/// one kubeadm of `target` uses (`pause`), with the fix.
pub fn findings(configured: &BTreeMap<String, String>, target: Minor, pause: &str) -> Vec<Finding> {
    configured
        .iter()
        .filter(|(_, image_ref)| image::tag(image_ref) != Some(pause))
        .map(|(node, image_ref)| {
            let name = image::ImageRef::parse(image_ref).map_or("registry.k8s.io/pause", |r| r.name);
            let wanted = format!("{name}:{pause}");
            Finding {
                check: "sandbox-image",
                severity: Severity::Warning,
                hop_into: Some(target),
                subject: node.clone(),
                message: format!(
                    "containerd on {node} uses the sandbox image {image_ref}; kubeadm {target} uses pause {pause} (a \
                     mismatch can leave pods in ContainerCreating after image garbage collection)"
                ),
                fix: format!(
                    "set the sandbox image to \"{wanted}\" in {CONTAINERD_CONFIG} (sandbox_image, or sandbox under \
                     pinned_images on containerd 2) and restart containerd while {node} is drained"
                ),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_containerd_1_and_2_configs() {
        let v2 = "version = 2\n[plugins]\n  [plugins.\"io.containerd.grpc.v1.cri\"]\n    sandbox_image = \"registry.k8s.io/pause:3.6\"\n";
        assert_eq!(configured_sandbox_image(v2).as_deref(), Some("registry.k8s.io/pause:3.6"));
        let v3 = "version = 3\n[plugins.'io.containerd.cri.v1.images'.pinned_images]\n  sandbox = 'registry.k8s.io/pause:3.10'\n";
        assert_eq!(configured_sandbox_image(v3).as_deref(), Some("registry.k8s.io/pause:3.10"));
        assert_eq!(configured_sandbox_image("# sandbox_image = \"x\"\nversion = 2\n"), None);
        assert_eq!(configured_sandbox_image("[other]\nsandbox_image = \"x:1\"\n"), None);
    }

    #[test]
    fn warns_only_on_another_pause_tag_keeping_the_registry() {
        let configured: BTreeMap<String, String> = [
            ("w-1".to_owned(), "registry.k8s.io/pause:3.6".to_owned()),
            ("w-2".to_owned(), "mirror.example/pause:3.10".to_owned()),
        ]
        .into();
        let found = findings(&configured, Minor::new(1, 31), "3.10");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].subject.as_str(), found[0].severity), ("w-1", Severity::Warning));
        assert!(found[0].fix.contains("\"registry.k8s.io/pause:3.10\""), "{}", found[0].fix);
    }
}
