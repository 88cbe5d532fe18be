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
    let by_node: BTreeMap<&str, &Candidate> = candidates.iter().map(|c| (c.node.as_str(), c)).collect();
    let pods_of = |node: &str| by_node.get(node).map_or(0, |c| c.pods.len());
    let role_of = |node: &str| roles.get(node).copied().unwrap_or(Role::Worker);
    let lane_time =
        |steps: &[Step]| -> u64 { steps.iter().map(|s| estimate(s, role_of(&s.node), pods_of(&s.node))).sum() };
    let mut clock = 0u64;
    let mut waves = Vec::new();
    let mut lower_bound = 0u64;
    let mut stuck = BTreeSet::new();
    for (hop_index, hop) in plan.hops.iter().enumerate() {
        // The observed window, kept up to date as lanes start and end (not rebuilt per event).
        let mut state = base.clone();
        let mut in_use: BTreeMap<&str, u32> = BTreeMap::new();
        for lane in &hop.catch_up {
            clock += lane_time(&lane.steps);
        }
        let serial = lane_time(&hop.steps);
        clock += serial;
        let durations: BTreeMap<&str, u64> =
            hop.workers.iter().map(|l| (l.node.as_str(), lane_time(&l.steps))).collect();
        lower_bound += serial + durations.values().copied().max().unwrap_or(0);
        // Event simulation: lanes finish at known times; admit whenever one finishes.
        // Workers with no pods to move have no candidate entry: they wait for the window only.
        let podless: Vec<Candidate> = hop
            .workers
            .iter()
            .filter(|l| !by_node.contains_key(l.node.as_str()))
            .map(|l| Candidate { node: l.node.clone(), pods: vec![] })
            .collect();
        let mut podless_iter = podless.iter();
        // In lane order, resolved once: each event walks this list, so no lookups in it.
        // An admitted worker leaves a hole (`None`); the walk starts at the first worker
        // still waiting, and holes are swept out when they are most of the list, so the
        // usual front-to-back admission costs no more than the window per event.
        let mut pending: Vec<Option<&Candidate>> = hop
            .workers
            .iter()
            .filter_map(|l| by_node.get(l.node.as_str()).copied().or_else(|| podless_iter.next()))
            .map(Some)
            .collect();
        let mut waiting = pending.len();
        let mut head = 0;
        // How many pending workers are unavailable already (cordoned by others, NotReady).
        let mut pending_down = pending.iter().flatten().filter(|c| base.unavailable.contains(&c.node)).count();
        let mut running: Vec<(u64, &str)> = Vec::new();
        let mut now = clock;
        let mut guard = 0;
        while waiting > 0 && guard <= hop.workers.len() * 2 + 2 {
            guard += 1;
            // Pending workers already unavailable can join a full window; when there are
            // none, nothing after the point where the window fills can be admitted.
            let can_skip_full = pending_down > 0;
            let mut admitter = window::Admitter::new(&state);
            let mut admitted = Vec::new();
            for slot in &mut pending[head..] {
                let Some(candidate) = *slot else { continue };
                if admitter.is_full() && !can_skip_full {
                    break;
                }
                if admitter.offer(candidate).is_ok() {
                    admitted.push(candidate.node.clone());
                    *slot = None;
                }
            }
            waiting -= admitted.len();
            if waiting * 2 < pending.len() {
                pending.retain(Option::is_some);
                head = 0;
            }
            head += pending[head..].iter().take_while(|slot| slot.is_none()).count();
            if !admitted.is_empty() {
                let mut budgets: BTreeSet<String> = BTreeSet::new();
                let mut pods_moved = 0;
                for c in admitted.iter().filter_map(|n| by_node.get(n.as_str())) {
                    pods_moved += c.pods.len();
                    budgets.extend(c.pods.iter().flat_map(|p| p.budgets.iter().cloned()));
                }
                for node in &admitted {
                    if let Some((name, time)) = durations.get_key_value(node.as_str()) {
                        running.push((now + time, name));
                        occupy(&mut state, base, &mut in_use, name, by_node.get(name).copied(), true);
                    }
                }
                pending_down -= admitted.iter().filter(|n| base.unavailable.contains(*n)).count();
                waves.push(Wave {
                    hop: hop_index,
                    start_s: now,
                    nodes: admitted,
                    pods_moved,
                    budgets: budgets.into_iter().collect(),
                });
            }
            // Advance to the next lane end.
            running.sort_unstable();
            if running.is_empty() {
                break;
            }
            // Every lane that ends at the earliest end time frees its slot at once.
            let end = running[0].0;
            let ended = running.iter().take_while(|(t, _)| *t == end).count();
            for (_, node) in running.drain(..ended) {
                occupy(&mut state, base, &mut in_use, node, by_node.get(node).copied(), false);
            }
            now = now.max(end);
        }
        stuck.extend(pending.iter().flatten().map(|c| c.node.clone()));
        let last_end = running.iter().map(|(t, _)| *t).max().unwrap_or(now);
        clock = clock.max(now).max(last_end);
    }
    Forecast { waves, total_s: clock, lower_bound_s: lower_bound, stuck: stuck.into_iter().collect() }
}

/// A lane on `node` starts (`true`) or ends: the node is unavailable while it runs (unless
/// it already was), and each of its pods takes one disruption from its budgets' room.
fn occupy<'a>(
    state: &mut WindowState,
    base: &WindowState,
    in_use: &mut BTreeMap<&'a str, u32>,
    node: &str,
    candidate: Option<&'a Candidate>,
    starting: bool,
) {
    if starting {
        state.unavailable.insert(node.to_owned());
    } else if !base.unavailable.contains(node) {
        state.unavailable.remove(node);
    }
    for budget in candidate.into_iter().flat_map(|c| &c.pods).flat_map(|p| &p.budgets) {
        let used = in_use.entry(budget.as_str()).or_default();
        *used = if starting { *used + 1 } else { used.saturating_sub(1) };
        if let (Some(room), Some(observed)) = (state.budget_room.get_mut(budget), base.budget_room.get(budget)) {
            *room = observed.saturating_sub(*used);
        }
    }
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

    /// The forecast as first written: the window rebuilt from `base` and the running lanes
    /// at every event, candidates found by scanning. Slow (cubic in the workers), obviously
    /// right; the real one must agree with it.
    fn reference(
        plan: &Plan,
        roles: &BTreeMap<String, Role>,
        candidates: &[Candidate],
        base: &WindowState,
    ) -> Forecast {
        let find = |node: &str| candidates.iter().find(|c| c.node == node);
        let lane_time = |steps: &[Step]| -> u64 {
            steps
                .iter()
                .map(|s| {
                    let role = roles.get(&s.node).copied().unwrap_or(Role::Worker);
                    estimate(s, role, find(&s.node).map_or(0, |c| c.pods.len()))
                })
                .sum()
        };
        let (mut clock, mut lower_bound, mut waves, mut stuck) = (0u64, 0u64, Vec::new(), BTreeSet::new());
        for (hop_index, hop) in plan.hops.iter().enumerate() {
            clock += hop.catch_up.iter().map(|l| lane_time(&l.steps)).sum::<u64>();
            let serial = lane_time(&hop.steps);
            clock += serial;
            lower_bound += serial + hop.workers.iter().map(|l| lane_time(&l.steps)).max().unwrap_or(0);
            let mut pending: Vec<&str> = hop.workers.iter().map(|l| l.node.as_str()).collect();
            let mut running: Vec<(u64, String)> = Vec::new();
            let mut now = clock;
            for _ in 0..=hop.workers.len() * 2 + 2 {
                if pending.is_empty() {
                    break;
                }
                let mut state = base.clone();
                state.unavailable.extend(running.iter().map(|(_, n)| n.clone()));
                for b in running.iter().filter_map(|(_, n)| find(n)).flat_map(|c| &c.pods).flat_map(|p| &p.budgets) {
                    if let Some(room) = state.budget_room.get_mut(b) {
                        *room = room.saturating_sub(1);
                    }
                }
                let wanted: Vec<Candidate> = pending
                    .iter()
                    .map(|n| find(n).cloned().unwrap_or(Candidate { node: (*n).to_owned(), pods: vec![] }))
                    .collect();
                let admitted = window::admit(&state, &wanted).admitted;
                if !admitted.is_empty() {
                    let moved: Vec<&Candidate> = admitted.iter().filter_map(|n| find(n)).collect();
                    let budgets: BTreeSet<String> =
                        moved.iter().flat_map(|c| &c.pods).flat_map(|p| p.budgets.iter().cloned()).collect();
                    for lane in hop.workers.iter().filter(|l| admitted.contains(&l.node)) {
                        running.push((now + lane_time(&lane.steps), lane.node.clone()));
                    }
                    pending.retain(|n| !admitted.iter().any(|a| a == n));
                    waves.push(Wave {
                        hop: hop_index,
                        start_s: now,
                        pods_moved: moved.iter().map(|c| c.pods.len()).sum(),
                        nodes: admitted,
                        budgets: budgets.into_iter().collect(),
                    });
                }
                running.sort();
                let Some(end) = running.first().map(|(t, _)| *t) else { break };
                running.retain(|(t, _)| *t > end);
                now = now.max(end);
            }
            stuck.extend(pending.iter().map(|n| (*n).to_owned()));
            clock = clock.max(now).max(running.iter().map(|(t, _)| *t).max().unwrap_or(now));
        }
        Forecast { waves, total_s: clock, lower_bound_s: lower_bound, stuck: stuck.into_iter().collect() }
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_the_reference_replay(
            workers in 1usize..9,
            limit in 1usize..4,
            rooms in proptest::collection::vec(0u32..3, 2),
            pods in proptest::collection::vec((0usize..9, 0usize..3, 100u64..3000), 0..20),
            free in proptest::collection::vec(500u64..5000, 9),
            cordoned in proptest::option::of(1usize..9),
        ) {
            let (p, roles, _, mut base) = setup(workers, limit);
            let mut candidates: Vec<Candidate> = Vec::new();
            for (i, (node, budget, cpu)) in pods.iter().enumerate() {
                let node = format!("worker-{}", node % workers + 1);
                let pod = PodDemand {
                    name: format!("app/p{i}"),
                    requests: Resources { cpu_millis: *cpu, memory_bytes: cpu << 20 },
                    // Budget 2 is not observed at all: its pods always wait.
                    budgets: vec![format!("app/pdb-{budget}")],
                };
                match candidates.iter_mut().find(|c| c.node == node) {
                    Some(c) => c.pods.push(pod),
                    None => candidates.push(Candidate { node, pods: vec![pod] }),
                }
            }
            base.budget_room = rooms.iter().enumerate().map(|(i, r)| (format!("app/pdb-{i}"), *r)).collect();
            base.free = (1..=workers).map(|i| (format!("worker-{i}"), Resources { cpu_millis: free[i - 1], memory_bytes: free[i - 1] << 20 })).collect();
            if let Some(c) = cordoned.filter(|c| *c <= workers) {
                base.unavailable.insert(format!("worker-{c}"));
            }
            let fast = forecast(&p, &roles, &candidates, &base);
            let slow = reference(&p, &roles, &candidates, &base);
            proptest::prop_assert_eq!(fast.total_s, slow.total_s);
            proptest::prop_assert_eq!(fast.stuck, slow.stuck);
            proptest::prop_assert_eq!(fast.lower_bound_s, slow.lower_bound_s);
            proptest::prop_assert_eq!(format!("{:?}", fast.waves), format!("{:?}", slow.waves));
        }
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
