//! The cluster's moving parts, run as one level-triggered pass over the store: workload
//! controllers, the scheduler, a kubelet per node and the budget status controller.

mod kubelet;
mod pdb;
mod scheduler;
mod workloads;

use std::collections::HashMap;

use crate::store::StoreInner;

/// How long things take, in simulated seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timings {
    /// From scheduled to Running (image pull, container start).
    pub pod_start_secs: f64,
    /// From Running to Ready (readiness probe).
    pub pod_ready_secs: f64,
    /// From deletion to gone (capped by the pod's grace period).
    pub pod_termination_secs: f64,
}

impl Default for Timings {
    fn default() -> Self {
        Self { pod_start_secs: 2.0, pod_ready_secs: 1.0, pod_termination_secs: 2.0 }
    }
}

/// Per-pod progress the kubelets remember between passes (simulated seconds since start).
#[derive(Debug, Default)]
pub struct Controllers {
    timings: Timings,
    /// Pod uid -> when its kubelet started it.
    started: HashMap<String, f64>,
    /// Pod uid -> when its kubelet will have finished terminating it.
    terminating: HashMap<String, f64>,
    /// Next pod IP per node.
    next_ip: HashMap<String, u32>,
    last_rv: u64,
    next_due: f64,
}

impl Controllers {
    pub fn new(timings: Timings) -> Self {
        Self { timings, ..Self::default() }
    }

    /// Whether a pass could change anything: the store changed or a timer is due.
    pub fn needs_pass(&self, inner: &StoreInner) -> bool {
        inner.resource_version() != self.last_rv
            || inner.clock().elapsed_secs() >= self.next_due
            || inner.wake
            || inner.hosts.has_dirty()
    }

    /// One pass of every controller. With `instant`, every delay is treated as elapsed.
    /// A pass that changed something is followed by another (a later controller's change
    /// may concern an earlier one, as a DaemonSet pod becoming Ready concerns its rollout);
    /// a pass that changes nothing ends the series.
    pub fn reconcile(&mut self, inner: &mut StoreInner, instant: bool) {
        let start_rv = inner.resource_version();
        self.next_due = f64::INFINITY;
        inner.wake = false;
        if let Some(at) = crate::host::kubelet::sync(inner, instant) {
            self.due(at);
        }
        workloads::deployments(inner);
        workloads::replicasets(inner);
        workloads::statefulsets(inner);
        workloads::daemonsets(inner);
        scheduler::schedule(inner);
        kubelet::run(self, inner, instant);
        pdb::update(inner);
        workloads::statuses(inner);
        self.last_rv = start_rv;
    }

    /// Run passes until nothing changes (bounded), everything instant: a settled cluster.
    pub fn settle(&mut self, inner: &mut StoreInner) {
        for _ in 0..50 {
            let before = inner.resource_version();
            self.reconcile(inner, true);
            if inner.resource_version() == before && !inner.hosts.has_dirty() {
                break;
            }
        }
    }

    fn due(&mut self, at: f64) {
        if at < self.next_due {
            self.next_due = at;
        }
    }
}
