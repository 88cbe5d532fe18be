//! `kubeladder-orchestrator`: carries out a plan from `kubeladder-core`, recording every
//! step in a crash-safe journal so that a run resumes exactly where it stopped.
//!
//! Invariant: the journal never claims more than happened. A step is recorded as started
//! before it acts and as finished only after its postcondition held; the record is fsynced
//! before the next action.

pub mod error;
pub mod executor;
pub mod journal_store;
pub mod kube_cluster;
pub mod node_ops;

pub use error::OrchestratorError;
pub use journal_store::Journal;
