//! Connecting the way kubectl does: `--kubeconfig` if given, else `KUBECONFIG` (a list of
//! files, merged) or `~/.kube/config`; `--context` picks a context, default the current one.

use std::path::Path;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::error::KubeError;

/// Two clients on one configuration: `api` retries transient failures (429/503/504) the
/// way kube-rs does by default; `no_retry` does not, for loops that back off on their own
/// (evictions, where a 429 is a budget's answer, not congestion).
#[derive(Clone)]
pub struct Clients {
    pub api: Client,
    pub no_retry: Client,
    /// The kubeconfig's `server:`, for errors that never reached it.
    pub server: String,
}

impl std::fmt::Debug for Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clients").finish_non_exhaustive()
    }
}

/// Load the configuration. Fails with the file and the reason on a missing or malformed
/// kubeconfig or an unknown context, before any request is sent.
pub async fn config(kubeconfig: Option<&Path>, context: Option<&str>) -> Result<Config, KubeError> {
    let options = KubeConfigOptions { context: context.map(str::to_owned), ..KubeConfigOptions::default() };
    match kubeconfig {
        Some(path) => {
            let file = Kubeconfig::read_from(path)
                .map_err(|e| KubeError::Kubeconfig(format!("cannot read {}: {e}", path.display())))?;
            Config::from_custom_kubeconfig(file, &options)
                .await
                .map_err(|e| KubeError::Kubeconfig(format!("{}: {e}", path.display())))
        }
        None => Config::from_kubeconfig(&options).await.map_err(|e| KubeError::Kubeconfig(e.to_string())),
    }
}

/// Both clients for a kubeconfig and context.
pub async fn connect(kubeconfig: Option<&Path>, context: Option<&str>) -> Result<Clients, KubeError> {
    let config = config(kubeconfig, context).await?;
    let server = config.cluster_url.to_string();
    let mut quiet = config.clone();
    quiet.default_retry = false;
    let build =
        |c: Config| Client::try_from(c).map_err(|e| KubeError::Kubeconfig(format!("cannot build a client: {e}")));
    Ok(Clients { api: build(config)?, no_retry: build(quiet)?, server })
}
