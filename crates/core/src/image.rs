//! Container image references, the one parser for them: `registry:5000/kube-apiserver:v1.19.16`,
//! `k8s.gcr.io/etcd:3.4.13-0@sha256:...`, `registry.k8s.io/pause@sha256:...`.
//!
//! The grammar is the one of `github.com/distribution/reference`: an optional registry
//! host (which may carry a port, so the last `:` of the whole string is not always the
//! tag's), a path, an optional `:tag`, an optional `@digest`.

use crate::version::KubeVersion;

/// An image reference split into its parts (borrowed from the text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageRef<'a> {
    /// Registry and path, without tag and digest: `registry:5000/kube-apiserver`.
    pub name: &'a str,
    pub tag: Option<&'a str>,
    /// `sha256:...`, when pinned by digest.
    pub digest: Option<&'a str>,
}

impl<'a> ImageRef<'a> {
    /// Split `image`; `None` for an empty reference.
    pub fn parse(image: &'a str) -> Option<Self> {
        let image = image.trim();
        if image.is_empty() {
            return None;
        }
        let (rest, digest) = match image.split_once('@') {
            Some((rest, digest)) => (rest, Some(digest)),
            None => (image, None),
        };
        // The tag is after the last `:` of the last path component (a registry port is
        // before a `/`).
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        Some(Self { name, tag: tag.filter(|t| !t.is_empty()), digest })
    }

    /// The last path component: `kube-apiserver` for `registry.k8s.io/kube-apiserver:v1.19.16`.
    pub fn base_name(&self) -> &'a str {
        self.name.rsplit('/').next().unwrap_or(self.name)
    }

    /// The tag read as a Kubernetes version (`v1.19.16`), when it is one.
    pub fn version(&self) -> Option<KubeVersion> {
        KubeVersion::parse(self.tag?).ok()
    }
}

/// The tag of an image reference: `registry:5000/etcd:3.4.13-0@sha256:abc` -> `3.4.13-0`.
pub fn tag(image: &str) -> Option<&str> {
    ImageRef::parse(image)?.tag
}

/// The image of the first container of a static pod manifest's text (kubeadm writes one
/// container per control-plane pod): the value of the first `image:` line, unquoted.
pub fn manifest_image(manifest: &str) -> Option<ImageRef<'_>> {
    manifest_images(manifest).next()
}

/// Every `image:` value in a manifest's text (or in several manifests printed together).
pub fn manifest_images(text: &str) -> impl Iterator<Item = ImageRef<'_>> {
    text.lines().filter_map(|line| {
        let value = line.trim().trim_start_matches("- ").strip_prefix("image:")?;
        ImageRef::parse(value.trim().trim_matches(['"', '\'']))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_registry_ports_tags_and_digests() {
        let r = ImageRef::parse("registry:5000/kube-apiserver:v1.18.20@sha256:abc").unwrap();
        assert_eq!((r.name, r.tag, r.digest), ("registry:5000/kube-apiserver", Some("v1.18.20"), Some("sha256:abc")));
        assert_eq!(r.base_name(), "kube-apiserver");
        assert_eq!(r.version(), Some(KubeVersion::new(1, 18, 20)));
        let r = ImageRef::parse("registry:5000/etcd").unwrap();
        assert_eq!((r.name, r.tag), ("registry:5000/etcd", None));
        let r = ImageRef::parse("registry.k8s.io/pause@sha256:def").unwrap();
        assert_eq!((r.name, r.tag, r.digest), ("registry.k8s.io/pause", None, Some("sha256:def")));
        assert_eq!(tag("k8s.gcr.io/etcd:3.4.13-0"), Some("3.4.13-0"));
        assert_eq!(tag("etcd:3.4.13-0"), Some("3.4.13-0"));
        assert_eq!(ImageRef::parse("  "), None);
        assert_eq!(ImageRef::parse("registry.k8s.io/etcd:3.4.13-0").unwrap().version(), None);
    }

    #[test]
    fn reads_the_image_of_a_manifest() {
        let manifest = "spec:\n  containers:\n  - command:\n    - etcd\n    image: k8s.gcr.io/etcd:3.4.13-0\n";
        assert_eq!(manifest_image(manifest).and_then(|i| i.tag), Some("3.4.13-0"));
        let quoted = "    image: \"registry.k8s.io/kube-apiserver:v1.19.16@sha256:0a\"";
        let image = manifest_image(quoted).unwrap();
        assert_eq!((image.base_name(), image.version()), ("kube-apiserver", Some(KubeVersion::new(1, 19, 16))));
        assert_eq!(manifest_image("kind: Pod"), None);
    }
}
