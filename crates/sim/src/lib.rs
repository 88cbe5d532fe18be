//! kubeladder-sim: a simulated kubeadm cluster that serves the real Kubernetes HTTPS API,
//! so that kubectl, kube-rs and kubeladder itself cannot tell it from a real cluster for
//! everything an upgrade touches.
//!
//! Behind every node is a simulated host ([`host`]) answering the commands kubeladder sends
//! (apt/dnf, kubeadm, systemctl, etcdctl, a few coreutils) through
//! `POST /sim/v1/hosts/{node}/exec` or [`RunningSim::exec`]; [`faults`] make things go
//! wrong on demand; [`Scenario::from_yaml`] reads scenario files.
//!
//! ```no_run
//! # async fn demo() -> Result<(), kubeladder_sim::SimError> {
//! use kubeladder_sim::{Scenario, SimCluster, SimConfig};
//! let sim = SimCluster::start(SimConfig::new(Scenario::ha()).with_speed(10.0)).await?;
//! sim.write_kubeconfig(std::path::Path::new("/tmp/sim.kubeconfig"))?;
//! println!("serving {}", sim.url());
//! sim.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub mod api;
pub mod clock;
pub mod cluster;
pub mod controllers;
pub mod convert;
pub mod error;
pub mod faults;
pub mod host;
pub mod lifecycle;
pub mod model;
pub mod resources;
pub mod scenario;
pub mod scenario_file;
pub mod status;
pub mod store;
pub mod tls;
mod util;

pub use cluster::{RunningSim, SimCluster, SimConfig};
pub use controllers::Timings;
pub use error::SimError;
pub use faults::Fault;
pub use host::{
    CommandOutput, HostInfo, HostState, HostTimings, KubeletState, PackageManager, PackageState, RepositoryState,
};
pub use scenario::{Scenario, ScenarioKind};
pub use store::Store;
