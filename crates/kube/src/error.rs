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
}

impl KubeError {
    pub fn api(what: &str, source: kube::Error) -> Self {
        Self::Api { what: what.to_owned(), source: Box::new(source) }
    }
}
