//! The `hosts import` use case: a kubespray/Ansible inventory turned into a kubeladder hosts
//! file (the mapping is `kubeladder_node::ansible`'s), checked by reading it back the way
//! `apply --hosts` will.

use std::path::Path;

use kubeladder_node::ansible;
use kubeladder_node::hosts::Hosts;

use crate::error::OrchestratorError;

/// A hosts file made from an inventory.
#[derive(Debug)]
pub struct ImportedHosts {
    /// The hosts file's text.
    pub file: String,
    pub nodes: usize,
    pub control_planes: usize,
    /// What the inventory said that has no place in a hosts file.
    pub unmapped: Vec<String>,
}

/// Read `inventory` (INI or YAML) and build the hosts file. A malformed inventory is bad
/// input with its file and line; nothing is written here.
pub fn import_ansible(inventory: &Path) -> Result<ImportedHosts, OrchestratorError> {
    let source = inventory.display().to_string();
    let text = std::fs::read_to_string(inventory)
        .map_err(|e| OrchestratorError::Refused(format!("cannot read the inventory {source}: {e}")))?;
    let import = ansible::import(&source, &text)?;
    let file = import.to_hosts_file(&source);
    // What we write must be what `apply --hosts` reads.
    Hosts::parse("imported hosts file", &file)?;
    Ok(ImportedHosts {
        nodes: import.hosts.len(),
        control_planes: import.hosts.iter().filter(|h| h.control_plane).count(),
        unmapped: import.unmapped,
        file,
    })
}
