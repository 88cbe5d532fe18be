//! The workers' sliding window: which pending workers may start draining now.
//!
//! Not fixed batches: whenever a worker finishes, the executor asks again. A worker is
//! admitted only when
//! - the nodes unavailable (in progress, NotReady, cordoned by others) stay within
//!   `--max-unavailable`;
//! - every PodDisruptionBudget its pods belong to has room left after what already
//!   admitted workers will take;
//! - its evictable pods fit, by requests, on the schedulable nodes that remain.
//!
//! Pure: the executor passes what it observes and gets back the admitted nodes and the
//! reasons the others wait.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// `--max-unavailable`: a count of nodes or a percentage of the workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MaxUnavailable {
    Count(u32),
    Percent(u8),
}

impl Default for MaxUnavailable {
    fn default() -> Self {
        Self::Count(1)
    }
}

impl MaxUnavailable {
    /// The number of nodes for a cluster with `workers` workers: a percentage rounds down
    /// but is never below one, so an upgrade can always progress.
    pub fn limit(self, workers: usize) -> usize {
        match self {
            Self::Count(n) => usize::try_from(n).unwrap_or(usize::MAX).max(1),
            Self::Percent(p) => (workers * usize::from(p) / 100).max(1),
        }
    }
}

impl FromStr for MaxUnavailable {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?} is not a node count (e.g. 2) or a percentage of workers (e.g. 25%)");
        if let Some(p) = s.strip_suffix('%') {
            let p: u8 = p.parse().map_err(|_| bad())?;
            if p == 0 || p > 100 {
                return Err(format!("{s:?}: a percentage must be between 1% and 100%"));
            }
            Ok(Self::Percent(p))
        } else {
            let n: u32 = s.parse().map_err(|_| bad())?;
            if n == 0 {
                return Err(format!("{s:?}: at least one node must be allowed to be unavailable"));
            }
            Ok(Self::Count(n))
        }
    }
}

impl fmt::Display for MaxUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Count(n) => write!(f, "{n}"),
            Self::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// CPU and memory, as requests or allocatable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Resources {
    pub cpu_millis: u64,
    pub memory_bytes: u64,
}

impl Resources {
    fn fits_in(self, free: Self) -> bool {
        self.cpu_millis <= free.cpu_millis && self.memory_bytes <= free.memory_bytes
    }

    fn plus(self, other: Self) -> Self {
        Self {
            cpu_millis: self.cpu_millis.saturating_add(other.cpu_millis),
            memory_bytes: self.memory_bytes.saturating_add(other.memory_bytes),
        }
    }

    fn minus(self, other: Self) -> Self {
        Self {
            cpu_millis: self.cpu_millis.saturating_sub(other.cpu_millis),
            memory_bytes: self.memory_bytes.saturating_sub(other.memory_bytes),
        }
    }
}

/// A pod the drain will move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodDemand {
    /// `namespace/name`.
    pub name: String,
    pub requests: Resources,
    /// Names (`namespace/name`) of the budgets selecting this pod.
    pub budgets: Vec<String>,
}

/// A worker waiting for its turn, with the pods its drain will move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub node: String,
    pub pods: Vec<PodDemand>,
}

/// What the executor observes right now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WindowState {
    /// Allowed unavailable nodes (from [`MaxUnavailable::limit`]).
    pub limit: usize,
    /// Nodes unavailable now: lanes in progress, NotReady, cordoned by someone else.
    pub unavailable: BTreeSet<String>,
    /// `disruptionsAllowed` of every budget, as observed.
    pub budget_room: BTreeMap<String, u32>,
    /// Free allocatable (allocatable minus requests) of every schedulable, Ready node.
    pub free: BTreeMap<String, Resources>,
}

/// Why a candidate waits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum Wait {
    MaxUnavailable { limit: usize, unavailable: usize },
    Budget { node: String, budget: String },
    Capacity { node: String, pod: String },
}

impl fmt::Display for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MaxUnavailable { limit, unavailable } => {
                write!(f, "{unavailable} node(s) unavailable, --max-unavailable allows {limit}")
            }
            Self::Budget { node, budget } => write!(f, "{node}: PodDisruptionBudget {budget} has no room"),
            Self::Capacity { node, pod } => write!(f, "{node}: pod {pod} would not fit on the remaining nodes"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Admission {
    pub admitted: Vec<String>,
    pub waiting: Vec<Wait>,
}

/// Admit candidates in order while the window, the budgets and the capacity allow.
/// A candidate that must wait does not block the ones after it: a later worker may touch
/// no budget, or may already be unavailable (and so fit a full window).
pub fn admit<'a>(state: &WindowState, candidates: impl IntoIterator<Item = &'a Candidate>) -> Admission {
    let mut admitter = Admitter::new(state);
    let mut out = Admission::default();
    for candidate in candidates {
        match admitter.offer(candidate) {
            Ok(()) => out.admitted.push(candidate.node.clone()),
            Err(wait) => out.waiting.push(wait),
        }
    }
    out
}

/// [`admit`] one candidate at a time, for a caller that can stop early (the forecast stops
/// once the window is full and no later candidate is already unavailable).
#[derive(Debug)]
pub struct Admitter<'a> {
    state: &'a WindowState,
    unavailable: BTreeSet<&'a str>,
    /// Disruptions the admitted candidates take from each budget's observed room.
    used: BTreeMap<&'a str, u32>,
    /// What the admitted candidates' pods took from `state.free`, by node: `free` itself is
    /// never copied, so admission costs no allocation per node of the cluster.
    taken: BTreeMap<&'a str, Resources>,
}

impl<'a> Admitter<'a> {
    pub fn new(state: &'a WindowState) -> Self {
        Self {
            state,
            unavailable: state.unavailable.iter().map(String::as_str).collect(),
            used: BTreeMap::new(),
            taken: BTreeMap::new(),
        }
    }

    /// No slot left for a node that is available now.
    pub fn is_full(&self) -> bool {
        self.unavailable.len() >= self.state.limit
    }

    /// Admit `candidate` (its node becomes unavailable, its pods take budget room and
    /// capacity), or say why it waits.
    pub fn offer(&mut self, candidate: &'a Candidate) -> Result<(), Wait> {
        // Draining a node that is already unavailable makes nothing more unavailable.
        let adds_one = !self.unavailable.contains(candidate.node.as_str());
        if adds_one && self.is_full() {
            return Err(Wait::MaxUnavailable { limit: self.state.limit, unavailable: self.unavailable.len() });
        }
        let left = |budget: &str| {
            let room = self.state.budget_room.get(budget).copied().unwrap_or(0);
            room.saturating_sub(self.used.get(budget).copied().unwrap_or(0))
        };
        if let Some(budget) = candidate.pods.iter().flat_map(|p| p.budgets.iter()).find(|b| left(b.as_str()) == 0) {
            return Err(Wait::Budget { node: candidate.node.clone(), budget: budget.clone() });
        }
        self.taken = place(self.state, &self.unavailable, &self.taken, candidate)
            .map_err(|pod| Wait::Capacity { node: candidate.node.clone(), pod })?;
        for budget in candidate.pods.iter().flat_map(|p| &p.budgets) {
            *self.used.entry(budget.as_str()).or_default() += 1;
        }
        self.unavailable.insert(candidate.node.as_str());
        Ok(())
    }
}

/// Place `candidate`'s pods, largest first, each on the first node (in name order) that
/// stays available and still has room after `taken`. `Ok` with `taken` plus these pods, or
/// `Err` with the first pod that fits nowhere.
fn place<'a>(
    state: &'a WindowState,
    unavailable: &BTreeSet<&str>,
    taken: &BTreeMap<&'a str, Resources>,
    candidate: &Candidate,
) -> Result<BTreeMap<&'a str, Resources>, String> {
    let mut trial = taken.clone();
    let mut pods: Vec<&PodDemand> = candidate.pods.iter().collect();
    pods.sort_by(|a, b| b.requests.cpu_millis.cmp(&a.requests.cpu_millis).then(a.name.cmp(&b.name)));
    for pod in pods {
        let target = state.free.iter().find_map(|(node, free)| {
            let node = node.as_str();
            if node == candidate.node || unavailable.contains(node) {
                return None;
            }
            let left = free.minus(trial.get(node).copied().unwrap_or_default());
            pod.requests.fits_in(left).then_some(node)
        });
        let Some(node) = target else { return Err(pod.name.clone()) };
        let used = trial.entry(node).or_default();
        *used = used.plus(pod.requests);
    }
    Ok(trial)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn res(cpu: u64) -> Resources {
        Resources { cpu_millis: cpu, memory_bytes: cpu * 1024 }
    }

    fn pod(name: &str, cpu: u64, budgets: &[&str]) -> PodDemand {
        PodDemand {
            name: name.to_owned(),
            requests: res(cpu),
            budgets: budgets.iter().map(|b| (*b).to_owned()).collect(),
        }
    }

    fn candidate(node: &str, pods: Vec<PodDemand>) -> Candidate {
        Candidate { node: node.to_owned(), pods }
    }

    fn state(limit: usize, free: &[(&str, u64)]) -> WindowState {
        WindowState {
            limit,
            free: free.iter().map(|(n, c)| ((*n).to_owned(), res(*c))).collect(),
            ..WindowState::default()
        }
    }

    #[test]
    fn max_unavailable_parses_and_rounds() {
        assert_eq!("2".parse::<MaxUnavailable>(), Ok(MaxUnavailable::Count(2)));
        assert_eq!("25%".parse::<MaxUnavailable>(), Ok(MaxUnavailable::Percent(25)));
        for bad in ["0", "0%", "101%", "x", "-1", "2.5", ""] {
            assert!(bad.parse::<MaxUnavailable>().is_err(), "{bad}");
        }
        assert_eq!(MaxUnavailable::Percent(25).limit(10), 2);
        assert_eq!(MaxUnavailable::Percent(10).limit(3), 1);
        assert_eq!(MaxUnavailable::Count(3).limit(2), 3);
    }

    #[test]
    fn window_limit_counts_already_unavailable_nodes() {
        let mut s = state(2, &[("w1", 1000), ("w2", 1000), ("w3", 1000), ("w4", 1000)]);
        s.unavailable.insert("w4".to_owned()); // NotReady on its own
        let cands = [candidate("w1", vec![]), candidate("w2", vec![]), candidate("w3", vec![])];
        let a = admit(&s, &cands);
        assert_eq!(a.admitted, ["w1"]);
        assert_eq!(
            a.waiting,
            [Wait::MaxUnavailable { limit: 2, unavailable: 2 }, Wait::MaxUnavailable { limit: 2, unavailable: 2 }]
        );
    }

    #[test]
    fn an_already_unavailable_worker_does_not_take_a_window_slot() {
        // w3 is cordoned by someone else: it counts against the window, but upgrading it
        // adds no unavailability, so it may start even when the window is full.
        let mut s = state(1, &[("w1", 1000), ("w2", 1000), ("w3", 1000)]);
        s.unavailable.insert("w3".to_owned());
        let a = admit(&s, &[candidate("w1", vec![]), candidate("w3", vec![])]);
        assert_eq!(a.admitted, ["w3"]);
        assert_eq!(a.waiting, [Wait::MaxUnavailable { limit: 1, unavailable: 1 }]);
    }

    #[test]
    fn a_budget_without_room_holds_its_workers_but_not_others() {
        let mut s = state(3, &[("w1", 1000), ("w2", 1000), ("w3", 1000), ("w4", 1000)]);
        s.budget_room.insert("web/pdb".to_owned(), 1);
        let cands = [
            candidate("w1", vec![pod("web/a", 100, &["web/pdb"])]),
            candidate("w2", vec![pod("web/b", 100, &["web/pdb"])]),
            candidate("w3", vec![pod("db/c", 100, &[])]),
        ];
        let a = admit(&s, &cands);
        assert_eq!(a.admitted, ["w1", "w3"]);
        assert_eq!(a.waiting, [Wait::Budget { node: "w2".to_owned(), budget: "web/pdb".to_owned() }]);
    }

    #[test]
    fn pods_must_fit_on_the_nodes_that_remain() {
        let s = state(3, &[("w1", 100), ("w2", 100), ("w3", 500)]);
        let cands = [
            candidate("w1", vec![pod("a/big", 400, &[])]),  // fits on w3
            candidate("w2", vec![pod("a/big2", 400, &[])]), // w3 now has 100 left, w1 is draining
        ];
        let a = admit(&s, &cands);
        assert_eq!(a.admitted, ["w1"]);
        assert_eq!(a.waiting, [Wait::Capacity { node: "w2".to_owned(), pod: "a/big2".to_owned() }]);
    }

    /// Admission as first written: copies of the free capacity and the budget room per
    /// candidate. The real one keeps only what changed; both must decide alike.
    fn reference(state: &WindowState, candidates: &[Candidate]) -> Admission {
        let mut out = Admission::default();
        let (mut unavailable, mut room, mut free) =
            (state.unavailable.clone(), state.budget_room.clone(), state.free.clone());
        for c in candidates {
            if !unavailable.contains(&c.node) && unavailable.len() >= state.limit {
                out.waiting.push(Wait::MaxUnavailable { limit: state.limit, unavailable: unavailable.len() });
                continue;
            }
            if let Some(b) = c.pods.iter().flat_map(|p| &p.budgets).find(|b| room.get(*b).copied().unwrap_or(0) == 0) {
                out.waiting.push(Wait::Budget { node: c.node.clone(), budget: b.clone() });
                continue;
            }
            let mut trial = free.clone();
            trial.remove(&c.node);
            for node in &unavailable {
                trial.remove(node);
            }
            let mut pods: Vec<&PodDemand> = c.pods.iter().collect();
            pods.sort_by(|a, b| b.requests.cpu_millis.cmp(&a.requests.cpu_millis).then(a.name.cmp(&b.name)));
            let misfit = pods.into_iter().find(|pod| match trial.iter_mut().find(|(_, f)| pod.requests.fits_in(**f)) {
                Some((_, f)) => {
                    *f = f.minus(pod.requests);
                    false
                }
                None => true,
            });
            if let Some(pod) = misfit {
                out.waiting.push(Wait::Capacity { node: c.node.clone(), pod: pod.name.clone() });
                continue;
            }
            for b in c.pods.iter().flat_map(|p| &p.budgets) {
                if let Some(r) = room.get_mut(b) {
                    *r = r.saturating_sub(1);
                }
            }
            free = trial;
            unavailable.insert(c.node.clone());
            out.admitted.push(c.node.clone());
        }
        out
    }

    proptest! {
        /// Same decisions as the copying reference, capacity included.
        #[test]
        fn admission_agrees_with_the_reference(
            limit in 1usize..6,
            down in proptest::collection::vec(0usize..8, 0..3),
            rooms in proptest::collection::vec(0u32..4, 3),
            nodes in proptest::collection::vec((proptest::collection::vec((0usize..4, 50u64..900), 0..5), 100u64..2000), 1..8),
        ) {
            let mut s = state(limit, &[]);
            s.unavailable.extend(down.iter().map(|d| format!("w{d}")));
            s.budget_room = rooms.iter().enumerate().map(|(i, r)| (format!("pdb-{i}"), *r)).collect();
            let mut cands = Vec::new();
            for (i, (pods, free)) in nodes.iter().enumerate() {
                s.free.insert(format!("w{i}"), res(*free));
                let pods = pods.iter().enumerate().map(|(p, (budget, cpu))| {
                    // pdb-3 is never observed: its pods always wait.
                    pod(&format!("ns/p{i}-{p}"), *cpu, &[format!("pdb-{budget}").as_str()])
                });
                cands.push(candidate(&format!("w{i}"), pods.collect()));
            }
            prop_assert_eq!(admit(&s, &cands), reference(&s, &cands));
        }

        /// Whatever is observed, admission never exceeds the window, never admits a worker
        /// whose budget has no room, and never takes a budget below zero.
        #[test]
        fn admission_respects_the_window_and_budgets(
            limit in 1usize..5,
            already in 0usize..4,
            rooms in proptest::collection::vec(0u32..3, 3),
            nodes in proptest::collection::vec((0usize..3, 0u64..4, 100u64..1000), 1..8),
        ) {
            let mut s = state(limit, &[]);
            for i in 0..already {
                s.unavailable.insert(format!("down-{i}"));
            }
            for (i, r) in rooms.iter().enumerate() {
                s.budget_room.insert(format!("pdb-{i}"), *r);
            }
            let mut cands = Vec::new();
            for (i, (budget, pods, free)) in nodes.iter().enumerate() {
                s.free.insert(format!("w{i}"), res(*free));
                let budget = format!("pdb-{budget}");
                cands.push(candidate(&format!("w{i}"), (0..*pods).map(|p| pod(&format!("ns/p{i}-{p}"), 50, &[budget.as_str()])).collect()));
            }
            let a = admit(&s, &cands);
            prop_assert!(a.admitted.len() + already <= limit.max(already));
            // Each admitted worker found room in every budget it touches, after what the
            // workers admitted before it reserved.
            let mut reserved: BTreeMap<String, u32> = BTreeMap::new();
            for node in &a.admitted {
                let c = cands.iter().find(|c| &c.node == node).unwrap();
                for p in &c.pods {
                    for b in &p.budgets {
                        prop_assert!(s.budget_room[b] > reserved.get(b).copied().unwrap_or(0), "{} admitted past {}", node, b);
                    }
                }
                for p in &c.pods {
                    for b in &p.budgets {
                        *reserved.entry(b.clone()).or_insert(0) += 1;
                    }
                }
            }
        }
    }
}
