//! `KubeError`: failures talking to or understanding the cluster, each naming what was asked.

use serde::Serialize;

/// A budget that kept a pod on the node until the timeout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Blocker {
    pub pod: String,
    pub budget: String,
    pub disruptions_allowed: i64,
    pub current_healthy: i64,
    pub desired_healthy: i64,
}

impl std::fmt::Display for Blocker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pod {} held by PodDisruptionBudget {} (disruptionsAllowed {}, currentHealthy {}/desiredHealthy {})",
            self.pod, self.budget, self.disruptions_allowed, self.current_healthy, self.desired_healthy
        )
    }
}

/// Who holds the lock, as the refusal shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Holder {
    pub identity: String,
    pub acquired: Option<String>,
    pub renewed: Option<String>,
    /// The lease's `leaseDurationSeconds`: stale that long after its last renewal.
    pub lease_seconds: i32,
}

#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error("kubeconfig: {0}")]
    Kubeconfig(String),

    #[error("cannot {what}: {source}")]
    Api { what: String, source: Box<kube::Error> },

    #[error("the cluster has no {0}; is this a kubeadm cluster?")]
    Missing(String),

    #[error("{what}: {error}")]
    BadVersion { what: String, error: kubeladder_core::CoreError },

    #[error(
        "node {node} is cordoned by {}; kubeladder only uncordons nodes it cordoned (pass --force to override)",
        by.as_deref().unwrap_or("someone else (no kubeladder.io/cordoned-by annotation)")
    )]
    ForeignCordon { node: String, by: Option<String> },

    #[error("cannot drain node {node}: {reason}; nothing was evicted and the node stays cordoned")]
    DrainRefused { node: String, reason: String },

    #[error(
        "draining node {node} timed out with {} pod(s) left; the node stays cordoned.{}",
        remaining.len(),
        blockers.iter().map(|b| format!("\n  {b}")).collect::<Vec<_>>().concat()
    )]
    DrainTimeout { node: String, blockers: Vec<Blocker>, remaining: Vec<String> },

    #[error("listing {what} did not end after {pages} pages; is the API server paginating correctly?")]
    EndlessList { what: String, pages: usize },

    #[error("watch failed: {0}")]
    Watch(String),

    #[error("Helm release Secret {secret} cannot be read: {why}")]
    HelmRelease { secret: String, why: String },

    #[error("cannot build request: {0}")]
    Request(String),

    #[error(
        "another kubeladder run holds the lock (Lease kube-system/kubeladder): {} since {}, last renewed {}; \
         wait for it to finish, or if it died, retry after the lease expires ({} s after its last renewal)",
        .0.identity,
        .0.acquired.as_deref().unwrap_or("?"),
        .0.renewed.as_deref().unwrap_or("?"),
        .0.lease_seconds
    )]
    LockHeld(Holder),

    #[error("lost the run lock to {}; stopping before the next step", by.as_deref().unwrap_or("nobody (the Lease was deleted)"))]
    LockLost { by: Option<String> },
}

impl KubeError {
    pub fn api(what: &str, source: kube::Error) -> Self {
        Self::Api { what: what.to_owned(), source: Box::new(source) }
    }
}
