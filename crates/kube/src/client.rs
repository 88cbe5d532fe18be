//! Connecting the way kubectl does: `--kubeconfig` if given, else `KUBECONFIG` (a list of
//! files, merged) or `~/.kube/config`; `--context` picks a context, default the current one.

use std::path::Path;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::error::KubeError;

/// Build a client. Fails with the file and the reason on a missing or malformed kubeconfig
/// or an unknown context, before any request is sent.
pub async fn connect(kubeconfig: Option<&Path>, context: Option<&str>) -> Result<Client, KubeError> {
    let options = KubeConfigOptions { context: context.map(str::to_owned), ..KubeConfigOptions::default() };
    let config = match kubeconfig {
        Some(path) => {
            let file = Kubeconfig::read_from(path)
                .map_err(|e| KubeError::Kubeconfig(format!("cannot read {}: {e}", path.display())))?;
            Config::from_custom_kubeconfig(file, &options)
                .await
                .map_err(|e| KubeError::Kubeconfig(format!("{}: {e}", path.display())))?
        }
        None => Config::from_kubeconfig(&options).await.map_err(|e| KubeError::Kubeconfig(e.to_string()))?,
    };
    Client::try_from(config).map_err(|e| KubeError::Kubeconfig(format!("cannot build a client: {e}")))
}
