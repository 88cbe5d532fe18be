//! [`ClusterPort`] over the Kubernetes API (`kubeladder-kube`): drain within budgets with
//! cordon ownership, uncordon only our cordons, health gates, and the worker window as
//! observed from nodes, pods and budgets.

use std::sync::Mutex;
use std::time::Duration;

use kubeladder_core::plan::{Action, Step};
use kubeladder_core::window::{Candidate, MaxUnavailable, WindowState};
use kubeladder_kube::client::Clients;
use kubeladder_kube::drain::{self, Cordon, DrainConfig, DrainReport};
use kubeladder_kube::health::{self, Gate};
use kubeladder_kube::workload::WorkloadView;

use crate::error::StepError;
use crate::runner::ClusterPort;

/// How long gates may take and how often they are re-read.
#[derive(Debug, Clone, Copy)]
pub struct GateTimings {
    /// A node Ready at its new kubelet version after a restart.
    pub node_ready: Duration,
    /// Static pods Ready at the new version after `kubeadm upgrade apply|node`.
    pub static_pods: Duration,
    pub poll: Duration,
}

impl Default for GateTimings {
    fn default() -> Self {
        Self {
            node_ready: Duration::from_secs(300),
            static_pods: Duration::from_secs(300),
            poll: Duration::from_secs(2),
        }
    }
}

/// The cluster as the executor sees it.
#[derive(Debug)]
pub struct KubeCluster {
    clients: Clients,
    drain: DrainConfig,
    max_unavailable: MaxUnavailable,
    workers: usize,
    gates: GateTimings,
    reports: Mutex<Vec<DrainReport>>,
}

impl KubeCluster {
    /// `drain.run_id` names the run in the cordon annotation; `workers` is the number of
    /// workers `max_unavailable` is a share of.
    pub fn new(
        clients: Clients,
        drain: DrainConfig,
        max_unavailable: MaxUnavailable,
        workers: usize,
        gates: GateTimings,
    ) -> Self {
        Self { clients, drain, max_unavailable, workers, gates, reports: Mutex::new(Vec::new()) }
    }

    /// Every drain this process performed, in order (for the final summary).
    pub fn drain_reports(&self) -> Vec<DrainReport> {
        self.reports.lock().map(|r| r.clone()).unwrap_or_default()
    }

    async fn gate(&self, step: &Step) -> Result<Gate, StepError> {
        let api = &self.clients.api;
        match &step.action {
            Action::WaitNodeReady { version } => Ok(health::node_ready_with(api, &step.node, *version).await?),
            Action::WaitStaticPods { version } => {
                let pods = health::static_pods_at(api, &step.node, *version, None).await?;
                if !pods.passed {
                    return Ok(pods);
                }
                Ok(health::apiserver_ready(api).await)
            }
            other => Err(StepError::Internal(format!("{other} is not a cluster gate"))),
        }
    }

    fn timeout_of(&self, step: &Step) -> Duration {
        match step.action {
            Action::WaitStaticPods { .. } => self.gates.static_pods,
            _ => self.gates.node_ready,
        }
    }
}

impl ClusterPort for KubeCluster {
    async fn drain(&self, step: &Step) -> Result<bool, StepError> {
        let report = drain::drain(&self.clients, &step.node, &self.drain).await?;
        let ours = matches!(report.cordon, Cordon::ByUs);
        if let Ok(mut reports) = self.reports.lock() {
            reports.push(report);
        }
        Ok(ours)
    }

    fn drained(&self, node: &str) -> Option<(u32, u32)> {
        let reports = self.reports.lock().ok()?;
        let report = reports.iter().rev().find(|r| r.node == node)?;
        Some((u32::try_from(report.evicted.len()).unwrap_or(u32::MAX), report.budget_waits))
    }

    async fn uncordon(&self, step: &Step) -> Result<(), StepError> {
        drain::uncordon(&self.clients.api, &step.node, &self.drain.run_id, false).await?;
        Ok(())
    }

    async fn check(&self, step: &Step) -> Result<bool, StepError> {
        Ok(self.gate(step).await?.passed)
    }

    async fn wait(&self, step: &Step) -> Result<(), StepError> {
        let timeout = self.timeout_of(step);
        // An API error while waiting (the apiserver restarting) is a failing gate, not the end.
        let gate = health::wait_for(timeout, self.gates.poll, || async {
            Ok(self.gate(step).await.unwrap_or_else(|e| Gate {
                name: step.action.name().to_owned(),
                passed: false,
                message: e.to_string(),
            }))
        })
        .await?;
        if gate.passed {
            Ok(())
        } else {
            Err(StepError::Gate { gate: gate.name, seconds: timeout.as_secs(), message: gate.message })
        }
    }

    async fn observe_window(&self, pending: &[String]) -> Result<(WindowState, Vec<Candidate>), StepError> {
        let view = WorkloadView::read(&self.clients.api, self.drain.options).await?;
        let limit = self.max_unavailable.limit(self.workers);
        let state = view.window(limit, view.unavailable_workers.clone());
        let candidates = pending
            .iter()
            .map(|node| {
                view.candidates
                    .iter()
                    .find(|c| &c.node == node)
                    .cloned()
                    .unwrap_or_else(|| Candidate { node: node.clone(), pods: Vec::new() })
            })
            .collect();
        Ok((state, candidates))
    }
}
