//! `kubeladder-core`: every decision kubeladder makes, as pure functions over data.
//!
//! Invariant: no I/O, no async, no clock. Callers pass in what they observed (versions,
//! dates, release data) and get back data (paths, violations, allowed sets) that can be
//! printed, snapshotted and replayed.
//!
//! ```
//! use kubeladder_core::path::{upgrade_path, PathOptions, Target};
//! use kubeladder_core::release::ReleaseData;
//! use kubeladder_core::skew::{self, Component, Instance};
//! use kubeladder_core::{KubeVersion, Minor};
//!
//! // One hop per minor, each to the newest known patch.
//! let data = ReleaseData::embedded()?;
//! let path = upgrade_path(data, KubeVersion::parse("v1.18.4")?, Target::parse("1.20")?, PathOptions::default())?;
//! let hops: Vec<String> = path.hops.iter().map(|h| h.to.to_string()).collect();
//! assert_eq!(hops, ["v1.19.16", "v1.20.15"]);
//!
//! // Mid-upgrade HA control plane: a 1.27 kubelet is fine, a 1.26 one is not.
//! let report = skew::evaluate(&[
//!     Instance::new(Component::KubeApiserver, Minor::new(1, 29)),
//!     Instance::new(Component::KubeApiserver, Minor::new(1, 30)),
//!     Instance::on(Component::Kubelet, "worker-1", Minor::new(1, 27)),
//!     Instance::on(Component::Kubelet, "worker-2", Minor::new(1, 26)),
//! ])?;
//! assert_eq!(report.violations.len(), 1);
//! assert_eq!(report.violations[0].node.as_deref(), Some("worker-2"));
//! # Ok::<(), kubeladder_core::CoreError>(())
//! ```

pub mod checks;
pub mod cluster;
pub mod drain;
pub mod error;
pub mod etcd;
pub mod forecast;
pub mod image;
pub mod journal;
pub mod kubeadm;
pub mod package;
pub mod path;
pub mod plan;
pub mod release;
pub mod report;
pub mod sandbox;
pub mod skew;
pub mod version;
pub mod window;

#[cfg(test)]
mod test_support;

pub use error::CoreError;
pub use version::{KubeVersion, Minor};
