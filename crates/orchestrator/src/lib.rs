//! `kubeladder-orchestrator`: every use case of kubeladder, and the composition root that
//! wires the cluster ([`kubeladder_kube`]) and the nodes ([`kubeladder_node`]) to the
//! decisions of `kubeladder-core`. The cli only turns flags into the options here, calls a
//! use case and renders its result.
//!
//! - [`prepare`]: read the cluster, compute the path and ONE plan, build the
//!   [`plan_report::UpgradePlan`] report (shared by `plan` and `apply`);
//! - [`run`]: start (`apply`), resume, abort, and drive a run with the journal, the run lock
//!   and the [`runner::PlanRunner`];
//! - [`recover`]: list backups and snapshots, plan and execute one recovery;
//! - [`cluster_ops`] (`inventory`, `drain`, `uncordon`, `check`), [`hosts_check`] and
//!   [`inventory_import`] (`hosts import --from-ansible`);
//! - [`session`]: connecting, the state directory, one executor per node (the composition
//!   root);
//! - the runner's ports and their adapters: [`kube_cluster::KubeCluster`] and
//!   [`node_fleet::NodeFleet`]; the journal on disk: [`journal_store`].
//!
//! Invariant: the journal never claims more than happened. A step is recorded as started
//! before it acts and as finished only after its postcondition held; the record is fsynced
//! before the next action.

pub mod cluster_ops;
pub mod error;
pub mod hosts_check;
pub mod inventory_import;
pub mod journal_store;
pub mod kube_cluster;
pub mod node_fleet;
pub mod plan_report;
pub mod prepare;
pub mod recover;
pub mod release_channel;
pub mod run;
pub mod runner;
pub mod session;
pub mod timings;

pub use error::{FailureKind, OrchestratorError, StepError};
pub use journal_store::Journal;

/// The facts the use cases return, as the cli renders them. Defined by the adapters; named
/// here so that the cli depends on this crate alone.
pub mod facts {
    pub use kubeladder_kube::drain::{Cordon, DrainConfig, DrainReport, Uncordon};
    pub use kubeladder_kube::health::Gate;
    pub use kubeladder_kube::inventory::{ControlPlanePods, Inventory, NodeInfo};
    pub use kubeladder_kube::removed_apis::Finding as RemovedApiFinding;
    pub use kubeladder_node::hosts::Transport;
    pub use kubeladder_node::ops::BackupKind;
    pub use kubeladder_node::probe::HostReport;
}
