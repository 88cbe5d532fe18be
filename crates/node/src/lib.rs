//! kubeladder's node operations.
//!
//! - [`ops`]: what to run on a node, as data. Every [`NodeOp`] renders to argv for the
//!   node's package manager (apt, yum, dnf, dnf5) and, where it can, has a check (a query
//!   and a pure function over its output) so that reruns skip finished work. Detection of
//!   the package manager and of the repository style are pure functions over outputs.
//! - [`hosts`]: the hosts file (YAML): how to reach each node; nodes not listed use their
//!   `InternalIP` and the defaults.
//! - [`exec`]: one [`Executor`] trait with a local backend (child processes), an SSH
//!   backend (russh: `known_hosts` verification, key files or ssh-agent, jump host,
//!   `sudo -n`, timeouts, bounded sessions, reconnect) and a simulator backend (its HTTPS
//!   exec endpoint); [`exec::executor_for`] builds the one a [`hosts::Host`] names;
//!   [`exec::run_op`] runs an operation with its check.
//! - [`ansible`]: a kubespray/Ansible inventory (INI or YAML) imported as a hosts file.
//! - [`probe`]: what `hosts check` reports for a node.
//! - [`recovery`]: the recovery operations' vocabulary (static pods stopped and started,
//!   manifests restored from kubeadm's backups, the local etcd member restored).
//!
//! Errors: [`NodeError`], one enum; messages name the node, the address and the reason.

pub mod ansible;
pub mod error;
pub mod exec;
pub mod hosts;
pub mod ops;
pub mod output;
pub mod probe;
pub mod recovery;

pub use error::NodeError;
pub use exec::{Executor, LineSink, LocalExecutor, SimExecutor, SshExecutor, SshOptions, executor_for};
pub use kubeladder_core::package::{KubePackage, PackageManager};
pub use ops::{NodeOp, RepoSource};
pub use output::CommandOutput;
