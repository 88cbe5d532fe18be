//! A forecast of the run: which workers drain together, what they move, and how long the
//! whole upgrade should take, from documented per-step estimates. The same window rules
//! as the executor ([`crate::window::admit`]) are replayed on a virtual clock; budgets are
//! assumed to recover when the lane that used them finishes.
//!
//! Estimates (seconds), deliberately conservative and printed with the plan:
//! etcd snapshot 30; repository 15; package install 45; `kubeadm upgrade plan` 20;
//! `upgrade apply` 300; `upgrade node` on a control plane 180, on a worker 20;
//! static pods wait 60; kubelet restart + Ready 40; uncordon 2;
//! drain 10 + 3 per pod moved.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::cluster::Role;
use crate::plan::{Action, Plan, Step};
use crate::window::{self, Candidate, WindowState};

/// Seconds a step is expected to take (see the module docs).
pub fn estimate(step: &Step, role: Role, pods_moved: usize) -> u64 {
    match &step.action {
        Action::EtcdSnapshot | Action::WaitNodeReady { .. } => 30,
        Action::ConfigureRepository { .. } => 15,
        Action::InstallKubeadm { .. } | Action::InstallKubeletKubectl { .. } => 45,
        Action::KubeadmUpgradePlan { .. } => 20,
        Action::KubeadmUpgradeApply { .. } => 300,
        Action::KubeadmUpgradeNode { .. } => {
            if role == Role::ControlPlane {
                180
            } else {
                20
            }
        }
        Action::WaitStaticPods { .. } => 60,
        Action::Drain => 10 + 3 * pods_moved as u64,
        Action::RestartKubelet { .. } => 10,
        Action::Uncordon => 2,
    }
}

/// Workers that start together in one hop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Wave {
    pub hop: usize,
    pub start_s: u64,
    pub nodes: Vec<String>,
    pub pods_moved: usize,
    pub budgets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Forecast {
    pub waves: Vec<Wave>,
    pub total_s: u64,
    /// Longest single-worker lane summed over hops: no schedule can beat this.
    pub lower_bound_s: u64,
    /// Workers whose admission never happened (capacity or budgets), if any.
    pub stuck: Vec<String>,
}

/// Replay `plan` with the window: `candidates` are every worker's pods (the same each hop),
/// `base` the observed window (limit, budget room, free capacity).
pub fn forecast(plan: &Plan, roles: &BTreeMap<String, Role>, candidates: &[Candidate], base: &WindowState) -> Forecast {
    let pods_of = |node: &str| candidates.iter().find(|c| c.node == node).map_or(0, |c| c.pods.len());
    let role_of = |node: &str| roles.get(node).copied().unwrap_or(Role::Worker);
    let lane_time =
        |steps: &[Step]| -> u64 { steps.iter().map(|s| estimate(s, role_of(&s.node), pods_of(&s.node))).sum() };
    let mut clock = 0u64;
    let mut waves = Vec::new();
    let mut lower_bound = 0u64;
    let mut stuck = BTreeSet::new();
    for (hop_index, hop) in plan.hops.iter().enumerate() {
        for lane in &hop.catch_up {
            clock += lane_time(&lane.steps);
        }
        let serial = lane_time(&hop.steps);
        clock += serial;
        lower_bound += serial + hop.workers.iter().map(|l| lane_time(&l.steps)).max().unwrap_or(0);
        // Event simulation: lanes finish at known times; admit whenever one finishes.
        let mut pending: Vec<&str> = hop.workers.iter().map(|l| l.node.as_str()).collect();
        let mut running: Vec<(u64, String)> = Vec::new();
        let mut now = clock;
        let mut guard = 0;
        while !pending.is_empty() && guard <= hop.workers.len() * 2 + 2 {
            guard += 1;
            let mut state = base.clone();
            state.unavailable.extend(running.iter().map(|(_, n)| n.clone()));
            // Budgets used by running lanes are still in use.
            for (_, node) in &running {
                if let Some(c) = candidates.iter().find(|c| &c.node == node) {
                    for b in c.pods.iter().flat_map(|p| p.budgets.iter()) {
                        if let Some(room) = state.budget_room.get_mut(b) {
                            *room = room.saturating_sub(1);
                        }
                    }
                }
            }
            let wanted: Vec<Candidate> = pending
                .iter()
                .map(|n| {
                    candidates
                        .iter()
                        .find(|c| c.node == *n)
                        .cloned()
                        .unwrap_or(Candidate { node: (*n).to_owned(), pods: vec![] })
                })
                .collect();
            let admitted = window::admit(&state, &wanted).admitted;
            if !admitted.is_empty() {
                let lanes: Vec<_> = hop.workers.iter().filter(|l| admitted.contains(&l.node)).collect();
                let mut budgets: BTreeSet<String> = BTreeSet::new();
                let mut pods_moved = 0;
                for node in &admitted {
                    if let Some(c) = candidates.iter().find(|c| &c.node == node) {
                        pods_moved += c.pods.len();
                        budgets.extend(c.pods.iter().flat_map(|p| p.budgets.iter().cloned()));
                    }
                }
                waves.push(Wave {
                    hop: hop_index,
                    start_s: now,
                    nodes: admitted.clone(),
                    pods_moved,
                    budgets: budgets.into_iter().collect(),
                });
                for lane in lanes {
                    running.push((now + lane_time(&lane.steps), lane.node.clone()));
                }
                pending.retain(|n| !admitted.iter().any(|a| a == n));
            }
            // Advance to the next lane end.
            running.sort();
            if running.is_empty() {
                break;
            }
            // Every lane that ends at the earliest end time frees its slot at once.
            let end = running[0].0;
            running.retain(|(t, _)| *t > end);
            now = now.max(end);
        }
        stuck.extend(pending.iter().map(|n| (*n).to_owned()));
        let last_end = running.iter().map(|(t, _)| *t).max().unwrap_or(now);
        clock = clock.max(now).max(last_end);
    }
    Forecast { waves, total_s: clock, lower_bound_s: lower_bound, stuck: stuck.into_iter().collect() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{WorkerStrategy, plan, uniform_cluster};
    use crate::test_support::path;
    use crate::window::{PodDemand, Resources};

    fn setup(workers: usize, limit: usize) -> (Plan, BTreeMap<String, Role>, Vec<Candidate>, WindowState) {
        let path = path("v1.28.15", "1.29");
        let from = path.from;
        let state = uniform_cluster(from, 1, workers);
        let p = plan(&state, &path, WorkerStrategy::Follow).unwrap();
        let roles = state.nodes.iter().map(|n| (n.name.clone(), n.role)).collect();
        let candidates = (1..=workers)
            .map(|i| Candidate {
                node: format!("worker-{i}"),
                pods: vec![PodDemand {
                    name: format!("app/p{i}"),
                    requests: Resources { cpu_millis: 100, memory_bytes: 1 << 20 },
                    budgets: vec!["app/pdb".to_owned()],
                }],
            })
            .collect();
        let mut base = WindowState { limit, ..WindowState::default() };
        base.budget_room.insert("app/pdb".to_owned(), 10);
        for i in 1..=workers {
            base.free.insert(format!("worker-{i}"), Resources { cpu_millis: 4000, memory_bytes: 1 << 33 });
        }
        (p, roles, candidates, base)
    }

    #[test]
    fn a_wider_window_is_faster_but_never_beats_the_lower_bound() {
        let (p, roles, cands, base1) = setup(6, 1);
        let one = forecast(&p, &roles, &cands, &base1);
        let base3 = WindowState { limit: 3, ..base1 };
        let three = forecast(&p, &roles, &cands, &base3);
        assert!(three.total_s < one.total_s, "{} !< {}", three.total_s, one.total_s);
        assert!(three.total_s >= three.lower_bound_s);
        assert_eq!(one.waves.len(), 6);
        assert_eq!(three.waves.len(), 2);
        assert!(three.waves.iter().all(|w| w.nodes.len() == 3 && w.budgets == ["app/pdb"]));
        assert!(one.stuck.is_empty());
    }

    #[test]
    fn a_budget_without_room_serialises_its_workers() {
        let (p, roles, cands, mut base) = setup(4, 4);
        base.budget_room.insert("app/pdb".to_owned(), 1);
        let f = forecast(&p, &roles, &cands, &base);
        assert!(f.waves.iter().all(|w| w.nodes.len() == 1), "{:?}", f.waves);
        assert_eq!(f.waves.len(), 4);
    }
}
