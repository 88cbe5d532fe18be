//! `kubeladder-kube`: kubeladder's view of a live cluster, on kube-rs. It gathers facts and
//! performs API actions; every decision about them is made in `kubeladder-core`.
//!
//! Invariants: a bounded number of requests per node (lists and watches, not polling per
//! object); never uncordon a node this run did not cordon; never evict past a budget.

pub mod budgets;
pub mod client;
pub mod drain;
pub mod error;
pub mod health;
pub mod inventory;
pub mod lock;
pub mod removed_apis;
pub mod workload;

pub use error::KubeError;
