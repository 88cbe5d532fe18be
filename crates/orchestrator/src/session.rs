//! The composition root of every use case that talks to a cluster: connect like kubectl,
//! read the inventory once, find the run's journal directory, and build one executor per
//! node from the hosts file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kubeladder_core::cluster::Role;
use kubeladder_core::package::PackageManager;
use kubeladder_kube::client::{self, Clients};
use kubeladder_kube::inventory::Inventory;
use kubeladder_node::hosts::Hosts;
use kubeladder_node::{Executor, SshOptions};

use crate::error::OrchestratorError;

/// How to reach the cluster, resolved exactly like kubectl.
#[derive(Debug, Clone, Default)]
pub struct ClusterTarget {
    /// `--kubeconfig` (default: `$KUBECONFIG`, a list of files, or `~/.kube/config`).
    pub kubeconfig: Option<PathBuf>,
    /// `--context` (default: the current context).
    pub context: Option<String>,
}

/// A connected cluster and what it runs, read once.
#[derive(Debug, Clone)]
pub struct Session {
    pub clients: Clients,
    pub inventory: Inventory,
}

impl Session {
    /// Connect and read the inventory.
    pub async fn open(target: &ClusterTarget) -> Result<Self, OrchestratorError> {
        let clients = connect(target).await?;
        let inventory = Inventory::read(&clients.api).await.map_err(|e| e.at_server(&clients.server))?;
        Ok(Self { clients, inventory })
    }

    /// Each node's role.
    pub fn roles(&self) -> BTreeMap<String, Role> {
        self.inventory.nodes.iter().map(|n| (n.name.clone(), n.role)).collect()
    }

    /// The run's journal directory: `given`, else [`default_state_dir`] of this cluster.
    pub fn state_dir(&self, given: Option<&Path>) -> Result<PathBuf, OrchestratorError> {
        match given {
            Some(dir) => Ok(dir.to_owned()),
            None => default_state_dir(&self.inventory.cluster_uid),
        }
    }

    /// Read the inventory again (after a run).
    pub async fn reread(&self) -> Result<Inventory, OrchestratorError> {
        Ok(Inventory::read(&self.clients.api).await?)
    }
}

/// Connect like kubectl, without reading anything yet.
pub async fn connect(target: &ClusterTarget) -> Result<Clients, OrchestratorError> {
    Ok(client::connect(target.kubeconfig.as_deref(), target.context.as_deref()).await?)
}

/// The default journal directory of a cluster: `$XDG_STATE_HOME/kubeladder/<uid>`
/// (`~/.local/state/kubeladder/<uid>` without it).
pub fn default_state_dir(cluster_uid: &str) -> Result<PathBuf, OrchestratorError> {
    let base = if let Some(dir) = std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        PathBuf::from(dir)
    } else {
        let home = std::env::var_os("HOME").ok_or_else(|| {
            OrchestratorError::Refused("neither XDG_STATE_HOME nor HOME is set; pass --state-dir".to_owned())
        })?;
        PathBuf::from(home).join(".local/state")
    };
    Ok(base.join("kubeladder").join(cluster_uid))
}

/// How to reach each node, and the package managers the hosts file names.
#[derive(Debug, Default)]
pub struct Reach {
    pub executors: BTreeMap<String, Arc<dyn Executor>>,
    pub package_managers: BTreeMap<String, PackageManager>,
    /// Each node's package sources (hosts file `package_sources`, host over defaults).
    pub package_sources: BTreeMap<String, kubeladder_node::sources::PackageSources>,
}

impl Reach {
    /// One executor per node of `inventory`: from the hosts file, else the node's
    /// `InternalIP` and the defaults. A malformed hosts file, or a node with neither, is
    /// refused before anything is reached.
    pub fn build(hosts_file: Option<&Path>, inventory: &Inventory) -> Result<Self, OrchestratorError> {
        let hosts = match hosts_file {
            Some(path) => Hosts::load(path)?,
            None => Hosts::default(),
        };
        let names: Vec<&str> = inventory.nodes.iter().map(|n| n.name.as_str()).collect();
        hosts.check_nodes_exist(&names)?;
        let options = SshOptions::default();
        let mut reach = Self::default();
        for node in &inventory.nodes {
            let host = hosts.resolve(&node.name, node.internal_ip.as_deref()).ok_or_else(|| {
                OrchestratorError::Refused(format!(
                    "node {} has no InternalIP and no entry in the hosts file; add `- node: {}` with its address",
                    node.name, node.name
                ))
            })?;
            if let Some(pm) = host.package_manager {
                reach.package_managers.insert(node.name.clone(), pm);
            }
            reach.package_sources.insert(node.name.clone(), host.package_sources.clone());
            let exec: Arc<dyn Executor> = Arc::from(kubeladder_node::executor_for(&host, &options, None)?);
            reach.executors.insert(node.name.clone(), exec);
        }
        Ok(reach)
    }

    /// The executor of `node`.
    pub fn executor(&self, node: &str) -> Result<Arc<dyn Executor>, OrchestratorError> {
        self.executors
            .get(node)
            .cloned()
            .ok_or_else(|| OrchestratorError::Refused(format!("no way to reach {node}: add it to the hosts file")))
    }
}
