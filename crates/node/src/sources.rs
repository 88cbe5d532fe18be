//! Where a node's Kubernetes packages come from: the hosts file's `package_sources`.
//!
//! ```yaml
//! package_sources:
//!   legacy:               # a mirror that kept the layout of apt.kubernetes.io / packages.cloud.google.com
//!     apt: https://mirrors.aliyun.com/kubernetes/apt/
//!     apt_key: https://mirrors.aliyun.com/kubernetes/apt/doc/apt-key.gpg   # default: {apt}doc/apt-key.gpg
//!     yum: https://mirrors.aliyun.com/kubernetes/yum/repos/kubernetes-el7-x86_64/
//!     yum_key: https://mirrors.aliyun.com/kubernetes/yum/doc/rpm-package-key.gpg
//!   pkgs_k8s_io: https://mirrors.aliyun.com/kubernetes-new/core/stable/   # default https://pkgs.k8s.io/core:/stable:/
//! ```
//!
//! The legacy repositories themselves were removed on 2024-03-04
//! (<https://kubernetes.io/blog/2023/08/31/legacy-package-repository-deprecation/>): a minor
//! only they carried (before 1.24) can be installed from a `legacy` mirror only. pkgs.k8s.io
//! (1.24 and later) has one repository per minor: `{pkgs_k8s_io}v1.XX/deb/` (key
//! `Release.key` in it) and `{pkgs_k8s_io}v1.XX/rpm/` (key `repodata/repomd.xml.key`),
//! the layout of <https://kubernetes.io/docs/setup/production-environment/tools/kubeadm/install-kubeadm/>.

use kubeladder_core::Minor;
use kubeladder_core::package::{PackageFormat, Repository};
use serde::{Deserialize, Serialize};

use crate::ops::RepoSource;

/// pkgs.k8s.io's base: what comes before `v1.XX/`.
pub const PKGS_K8S_IO: &str = "https://pkgs.k8s.io/core:/stable:/";

/// A mirror of the legacy repository layout.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegacyMirror {
    /// The apt base URL (`kubernetes-xenial main` below it).
    pub apt: Option<String>,
    /// The apt signing key's URL; default `{apt}doc/apt-key.gpg`.
    pub apt_key: Option<String>,
    /// The yum `baseurl`.
    pub yum: Option<String>,
    /// The yum `gpgkey` URL (needed with `yum`).
    pub yum_key: Option<String>,
}

/// The package sources of one node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageSources {
    pub legacy: Option<LegacyMirror>,
    /// The base of a pkgs.k8s.io mirror (what comes before `v1.XX/`).
    pub pkgs_k8s_io: Option<String>,
}

fn with_slash(url: &str) -> String {
    if url.ends_with('/') { url.to_owned() } else { format!("{url}/") }
}

impl PackageSources {
    /// These sources over `defaults`: each of `legacy` and `pkgs_k8s_io` from here when set.
    #[must_use]
    pub fn over(&self, defaults: &Self) -> Self {
        Self {
            legacy: self.legacy.clone().or_else(|| defaults.legacy.clone()),
            pkgs_k8s_io: self.pkgs_k8s_io.clone().or_else(|| defaults.pkgs_k8s_io.clone()),
        }
    }

    /// What is wrong with these sources, if anything (a URL that is not http(s) or file:,
    /// a yum mirror without its key).
    pub fn problem(&self) -> Option<String> {
        let urls = [
            ("legacy.apt", self.legacy.as_ref().and_then(|l| l.apt.as_deref())),
            ("legacy.apt_key", self.legacy.as_ref().and_then(|l| l.apt_key.as_deref())),
            ("legacy.yum", self.legacy.as_ref().and_then(|l| l.yum.as_deref())),
            ("legacy.yum_key", self.legacy.as_ref().and_then(|l| l.yum_key.as_deref())),
            ("pkgs_k8s_io", self.pkgs_k8s_io.as_deref()),
        ];
        for (key, url) in urls {
            if let Some(url) = url
                && !["https://", "http://", "file:"].iter().any(|p| url.starts_with(p))
            {
                return Some(format!("package_sources.{key} {url:?} is not an https://, http:// or file: URL"));
            }
        }
        if let Some(legacy) = &self.legacy
            && legacy.yum.is_some()
            && legacy.yum_key.is_none()
        {
            return Some(
                "package_sources.legacy.yum needs yum_key (the mirror's rpm-package-key.gpg URL), so that dnf/yum verify the packages"
                    .to_owned(),
            );
        }
        None
    }

    /// The repository that serves `minor` from `repository` in `format`, or `None` when
    /// no configured source can (a legacy-only minor without a legacy mirror).
    pub fn repository(&self, minor: Minor, repository: Repository, format: PackageFormat) -> Option<RepoSource> {
        match repository {
            Repository::PkgsK8sIo => {
                let base = with_slash(self.pkgs_k8s_io.as_deref().unwrap_or(PKGS_K8S_IO));
                let (url, suite, key) = match format {
                    PackageFormat::Deb => {
                        let url = format!("{base}v{minor}/deb/");
                        (url.clone(), "/".to_owned(), format!("{url}Release.key"))
                    }
                    PackageFormat::Rpm => {
                        let url = format!("{base}v{minor}/rpm/");
                        (url.clone(), String::new(), format!("{url}repodata/repomd.xml.key"))
                    }
                };
                Some(RepoSource { minor, repository, url, suite, key_url: Some(key) })
            }
            Repository::Legacy => {
                let legacy = self.legacy.as_ref()?;
                match format {
                    PackageFormat::Deb => {
                        let url = with_slash(legacy.apt.as_deref()?);
                        let key = legacy.apt_key.clone().unwrap_or_else(|| format!("{url}doc/apt-key.gpg"));
                        Some(RepoSource {
                            minor,
                            repository,
                            url,
                            suite: "kubernetes-xenial main".to_owned(),
                            key_url: Some(key),
                        })
                    }
                    PackageFormat::Rpm => Some(RepoSource {
                        minor,
                        repository,
                        url: legacy.yum.clone()?,
                        suite: String::new(),
                        key_url: legacy.yum_key.clone(),
                    }),
                }
            }
        }
    }

    /// The URL a legacy mirror would be read from for `format`, if one is set.
    pub fn legacy_url(&self, format: PackageFormat) -> Option<&str> {
        let legacy = self.legacy.as_ref()?;
        match format {
            PackageFormat::Deb => legacy.apt.as_deref(),
            PackageFormat::Rpm => legacy.yum.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkgs_k8s_io_by_default_and_legacy_only_through_a_mirror() {
        let none = PackageSources::default();
        let r = none.repository(Minor::new(1, 30), Repository::PkgsK8sIo, PackageFormat::Deb).unwrap();
        assert_eq!(r.url, "https://pkgs.k8s.io/core:/stable:/v1.30/deb/");
        assert_eq!(r.key_url.as_deref(), Some("https://pkgs.k8s.io/core:/stable:/v1.30/deb/Release.key"));
        assert_eq!(r, RepoSource::upstream(Minor::new(1, 30), Repository::PkgsK8sIo, PackageFormat::Deb));
        assert!(none.repository(Minor::new(1, 19), Repository::Legacy, PackageFormat::Deb).is_none());

        let mirror = PackageSources {
            legacy: Some(LegacyMirror {
                apt: Some("https://mirrors.aliyun.com/kubernetes/apt".to_owned()),
                ..LegacyMirror::default()
            }),
            pkgs_k8s_io: Some("https://mirrors.aliyun.com/kubernetes-new/core/stable/".to_owned()),
        };
        let r = mirror.repository(Minor::new(1, 19), Repository::Legacy, PackageFormat::Deb).unwrap();
        assert_eq!(r.url, "https://mirrors.aliyun.com/kubernetes/apt/");
        assert_eq!(r.suite, "kubernetes-xenial main");
        assert_eq!(r.key_url.as_deref(), Some("https://mirrors.aliyun.com/kubernetes/apt/doc/apt-key.gpg"));
        assert!(mirror.repository(Minor::new(1, 19), Repository::Legacy, PackageFormat::Rpm).is_none());
        let r = mirror.repository(Minor::new(1, 31), Repository::PkgsK8sIo, PackageFormat::Rpm).unwrap();
        assert_eq!(r.url, "https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.31/rpm/");
        assert_eq!(mirror.problem(), None);
    }

    #[test]
    fn refuses_what_cannot_work() {
        let bad = PackageSources { pkgs_k8s_io: Some("mirror.example/k8s".to_owned()), ..PackageSources::default() };
        assert!(bad.problem().unwrap().contains("package_sources.pkgs_k8s_io"));
        let keyless = PackageSources {
            legacy: Some(LegacyMirror { yum: Some("https://m/yum/".to_owned()), ..LegacyMirror::default() }),
            pkgs_k8s_io: None,
        };
        assert!(keyless.problem().unwrap().contains("yum_key"));
    }
}
