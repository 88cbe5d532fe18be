//! The one error type of `kubeladder-core`. Every variant names the offending value and,
//! where there is one, what would be accepted instead: these messages reach operators as-is.

use crate::version::{KubeVersion, Minor};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    #[error("invalid Kubernetes version {input:?}: {reason}; expected e.g. v1.19.3, 1.19 or v1.30.0-rc.1")]
    InvalidVersion { input: String, reason: String },

    #[error("invalid package version {input:?}: {reason}")]
    InvalidPackageVersion { input: String, reason: String },

    #[error("package version {input:?} is not a Kubernetes package version: {reason}")]
    NotAKubernetesPackage { input: String, reason: String },

    #[error("release data is invalid: {0}")]
    ReleaseData(String),

    #[error("Kubernetes {minor} is not in kubeladder's release data (known: {known}); {hint}")]
    UnknownMinor { minor: Minor, known: String, hint: String },

    #[error(
        "{version} is not a released patch of {minor} (newest known: {newest}); \
         pick an existing patch or give just {minor} for the newest"
    )]
    UnknownPatch { version: KubeVersion, minor: Minor, newest: KubeVersion },

    #[error("the cluster version must be an exact version like v1.18.4, not {0}")]
    FromNotExact(KubeVersion),

    #[error(
        "target {to} is older than the cluster version {from}; kubeladder does not downgrade \
         (kubeadm allows one minor down, to {allowed}: `kubeladder path --allow-downgrade` shows that hop; \
         plan and apply only upgrade - give a --to of {from} or newer)"
    )]
    Downgrade { from: KubeVersion, to: KubeVersion, allowed: Minor },

    #[error("target {to} is {minors} minors older than {from}; kubeadm can downgrade only one minor at a time")]
    DowngradeTooFar { from: KubeVersion, to: KubeVersion, minors: i64 },

    #[error("target {0} is a pre-release; pass --allow-prerelease to plan an upgrade to alpha, beta or rc versions")]
    PreReleaseNotAllowed(KubeVersion),

    #[error("no kube-apiserver version given: pass at least one, e.g. --apiserver 1.29,1.30")]
    NoApiservers,
}
