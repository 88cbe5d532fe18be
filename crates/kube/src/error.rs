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

    /// kube-rs/hyper/rustls errors, told in plain words with what to do ([`explain`]).
    #[error("cannot {what}: {}", explain(source))]
    Api { what: String, source: Box<kube::Error> },

    /// A request that never got an answer (refused, timed out, TLS, DNS), with the server
    /// it was sent to: the first thing to check is whether that is the right address.
    #[error("cannot reach the API server at {server} to {what}: {}", explain(source))]
    Unreachable { server: String, what: String, source: Box<kube::Error> },

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
        "draining node {node} timed out with {} pod(s) left ({}); the node stays cordoned.{}",
        remaining.len(),
        first_few(remaining),
        if blockers.is_empty() {
            " No PodDisruptionBudget blocks them: they were still being evicted or terminating when \
             the timeout ended; give them longer (--timeout), then drain again".to_owned()
        } else {
            blockers.iter().map(|b| format!("\n  {b}")).collect::<Vec<_>>().concat()
        }
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

/// Up to five names, then how many more.
fn first_few(names: &[String]) -> String {
    let shown = names.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    match names.len().saturating_sub(5) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

impl KubeError {
    pub fn api(what: &str, source: kube::Error) -> Self {
        Self::Api { what: what.to_owned(), source: Box::new(source) }
    }

    /// Name `server` in an error that never reached it; answers from the server (HTTP
    /// statuses) and every other error stay as they are.
    #[must_use]
    pub fn at_server(self, server: &str) -> Self {
        match self {
            Self::Api { what, source } if !matches!(*source, kube::Error::Api(_)) => {
                Self::Unreachable { server: server.to_owned(), what, source }
            }
            other => other,
        }
    }
}

/// The one translation from kube-rs, hyper and rustls errors to what an operator reads:
/// what went wrong in plain words (unauthorized, certificate not trusted, connection
/// refused, timed out, not found) and what to do. Unknown errors keep their own text.
pub fn explain(error: &kube::Error) -> String {
    if let kube::Error::Api(status) = error {
        let message = status.message.trim();
        return match status.code {
            401 => "unauthorized (HTTP 401): the API server rejected the kubeconfig's credentials; \
                    check the user's token or client certificate in the kubeconfig, or get a fresh kubeconfig"
                .to_owned(),
            403 => format!(
                "forbidden (HTTP 403): {message}; the kubeconfig's user needs RBAC permission for this \
                 (kubeladder needs cluster-admin, like kubeadm's admin.conf)"
            ),
            404 => format!("not found (HTTP 404): {message}; check the name"),
            code => format!("the API server answered {} (HTTP {code}): {message}", status.reason),
        };
    }
    // Walk the source chain: hyper wraps the connector's error, which wraps io or rustls.
    let mut chain = Vec::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    return "connection refused: nothing listens at the kubeconfig's server address; \
                            check `server:` in the kubeconfig (or --context) and that the API server runs"
                        .to_owned();
                }
                std::io::ErrorKind::TimedOut => {
                    return "timed out connecting to the API server; check the kubeconfig's server address, \
                            the network and any firewall in between"
                        .to_owned();
                }
                _ => {}
            }
        }
        chain.push(e.to_string());
        source = e.source();
    }
    let all = chain.join(": ");
    if all.contains("UnknownIssuer") || all.contains("invalid peer certificate") || all.contains("certificate") {
        return format!(
            "the API server's certificate is not trusted: it is not signed by the kubeconfig's \
             certificate-authority(-data), or does not name the server address ({}); use the cluster's own \
             kubeconfig (kubeadm's /etc/kubernetes/admin.conf)",
            chain.last().map_or("", String::as_str)
        );
    }
    if all.contains("dns error") || all.contains("failed to lookup address") {
        return format!("cannot resolve the API server's host name; check `server:` in the kubeconfig ({all})");
    }
    if all.contains("Connect") {
        return format!("cannot connect to the API server; check `server:` in the kubeconfig ({all})");
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drain_timeout_without_a_blocking_budget_says_so_and_names_the_pods() {
        let remaining: Vec<String> = (1..=7).map(|i| format!("ns/p{i}")).collect();
        let text = KubeError::DrainTimeout { node: "w-1".to_owned(), blockers: vec![], remaining }.to_string();
        assert!(text.contains("7 pod(s) left (ns/p1, ns/p2, ns/p3, ns/p4, ns/p5 and 2 more)"), "{text}");
        assert!(text.contains("No PodDisruptionBudget blocks them") && text.contains("--timeout"), "{text}");
        assert!(!text.contains("disruptionsAllowed"), "{text}");
    }
}
