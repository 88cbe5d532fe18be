//! `NodeError`, the crate's one error enum. Messages name the node, the address or the
//! file, and what would be accepted; they reach operators verbatim.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong between kubeladder and a node.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("{file}:{line}:{column}: {message}")]
    HostsFile { file: String, line: usize, column: usize, message: String },

    /// An Ansible inventory `hosts import` cannot read (line 0: the whole file).
    #[error("{file}:{line}: {message}")]
    Inventory { file: String, line: usize, message: String },

    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("node {node}: cannot connect to {address}: {reason}")]
    Connect { node: String, address: String, reason: String },

    #[error("node {node}: no answer from {address} within {timeout:?} (connect timeout)")]
    ConnectTimeout { node: String, address: String, timeout: Duration },

    #[error(
        "node {node}: REFUSED: the host key of {address} ({fingerprint}) does not match the one recorded in {known_hosts} line {line}; someone may be intercepting the connection, or the host was reinstalled (remove that line if you know why)"
    )]
    HostKeyMismatch { node: String, address: String, fingerprint: String, known_hosts: String, line: usize },

    #[error(
        "node {node}: REFUSED: {address} is not in {known_hosts} (host key {fingerprint}); add it with ssh-keyscan after checking the fingerprint, or allow trust on first use explicitly"
    )]
    UnknownHostKey { node: String, address: String, fingerprint: String, known_hosts: String },

    #[error("node {node}: authentication as {user} failed at {address}: {reason}")]
    Auth { node: String, user: String, address: String, reason: String },

    #[error("node {node}: simulator at {address}: {reason}")]
    Sim { node: String, address: String, reason: String },

    #[error("node {node}: ssh: {reason}")]
    Ssh { node: String, reason: String },

    #[error("node {node}: `{command}` did not finish within {timeout:?}")]
    CommandTimeout { node: String, command: String, timeout: Duration },

    #[error("node {node}: `{command}` failed with exit code {exit_code}: {stderr_tail}")]
    CommandFailed { node: String, command: String, exit_code: i32, stderr_tail: String },

    #[error("node {node}: cannot run `{command}`: {reason}")]
    Spawn { node: String, command: String, reason: String },

    #[error("cannot understand the output of `{command}`: {reason}")]
    Output { command: String, reason: String },

    #[error(
        "node {node}: REFUSED: installing {package} {target} would downgrade it from {installed}; {package_manager} would do it without asking, kubeladder does not"
    )]
    Downgrade { node: String, package: String, installed: String, target: String, package_manager: String },

    #[error("{0}")]
    Core(#[from] kubeladder_core::CoreError),

    #[error("{operation} is not possible with {package_manager}: {reason}")]
    Unsupported { operation: String, package_manager: String, reason: String },
}
