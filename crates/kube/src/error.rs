//! `KubeError`: failures talking to or understanding the cluster, each naming what was asked.

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
    DrainTimeout { node: String, blockers: Vec<crate::drain::Blocker>, remaining: Vec<String> },

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
        crate::lock::LEASE_SECONDS
    )]
    LockHeld(crate::lock::Holder),

    #[error("lost the run lock to {}; stopping before the next step", by.as_deref().unwrap_or("nobody (the Lease was deleted)"))]
    LockLost { by: Option<String> },
}

impl KubeError {
    pub fn api(what: &str, source: kube::Error) -> Self {
        Self::Api { what: what.to_owned(), source: Box::new(source) }
    }
}
