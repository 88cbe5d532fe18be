//! A run's report, computed from its journal alone (header + records): a timeline (one row
//! per node, a bar per step run, hop boundaries, cordons, budget waits, failures), the
//! window's occupancy over time, and a summary. Pure: the same journal gives the same
//! report, whether the run finished, failed, paused or crashed.
//!
//! Times are seconds since the run's first record. A step started again after a crash or a
//! stop has one bar per attempt; an attempt never recorded as finished is *in doubt* and
//! ends at the last record before the next attempt (or the journal's last record).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::journal::{Event, Header, Progress, Record, StepIds};
use crate::plan::{Action, Phase, Step};

/// How many of the slowest steps the summary names.
pub const SLOWEST: usize = 8;

/// What a step does, for the bar's colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepKind {
    /// Cordon + evictions, and the uncordon that ends them.
    Drain,
    /// `kubeadm upgrade ...` and the etcd snapshot before a hop.
    Kubeadm,
    /// Repository and package installs.
    Packages,
    /// `systemctl restart kubelet`.
    Restart,
    /// Health gates: node Ready, static pods Ready.
    Wait,
}

impl StepKind {
    pub const ALL: [Self; 5] = [Self::Drain, Self::Kubeadm, Self::Packages, Self::Restart, Self::Wait];

    pub fn of(action: &Action) -> Self {
        match action {
            Action::Drain | Action::Uncordon => Self::Drain,
            Action::EtcdSnapshot
            | Action::KubeadmUpgradePlan { .. }
            | Action::KubeadmUpgradeApply { .. }
            | Action::KubeadmUpgradeNode { .. } => Self::Kubeadm,
            Action::ConfigureRepository { .. }
            | Action::InstallKubeadm { .. }
            | Action::InstallKubeletKubectl { .. } => Self::Packages,
            Action::RestartKubelet { .. } => Self::Restart,
            Action::WaitStaticPods { .. } | Action::WaitNodeReady { .. } => Self::Wait,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Drain => "drain",
            Self::Kubeadm => "kubeadm",
            Self::Packages => "packages",
            Self::Restart => "restart",
            Self::Wait => "wait",
        }
    }
}

/// How the run stands, as far as the journal knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum RunStatus {
    Finished,
    /// A step failed and was not finished since; `resume` continues.
    Failed {
        step: String,
        error: String,
    },
    Paused {
        reason: String,
    },
    /// The journal ends without a finish, failure or pause: the run crashed or is running.
    Stopped,
    /// No record yet.
    NotStarted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BarStatus {
    Done,
    /// The postcondition already held; nothing was done.
    Skipped,
    Failed,
    /// Started, never recorded as finished.
    InDoubt,
}

/// One attempt at one step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bar {
    pub step: String,
    pub hop: usize,
    pub action: String,
    pub kind: StepKind,
    pub start: f64,
    pub end: f64,
    pub status: BarStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Bar {
    pub fn seconds(&self) -> f64 {
        self.end - self.start
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub node: String,
    pub control_plane: bool,
    pub bars: Vec<Bar>,
}

/// When a hop's first step started and its last step ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HopSpan {
    pub index: usize,
    pub from: String,
    pub to: String,
    pub start: f64,
    pub end: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MarkKind {
    Cordoned,
    ForeignCordon,
    Uncordoned,
    /// No waiting worker could start; lasts until the next step starts.
    BudgetWait,
    /// A drain whose evictions a budget refused (429) before they went through.
    DrainWaited,
    Failure,
    Paused,
    Recovered,
    Finished,
}

/// Something that happened at an instant (or, for a budget wait, over a span).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mark {
    pub at: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    pub kind: MarkKind,
    pub text: String,
}

/// From `at` on, this many workers are out of service (drain started, not yet uncordoned).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Occupancy {
    pub at: f64,
    pub unavailable: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeSummary {
    pub node: String,
    pub control_plane: bool,
    pub drains: usize,
    /// `None`: the journal predates drain records.
    pub pods_moved: Option<u64>,
    pub budget_waits: Option<u64>,
    /// Time spent in this node's steps.
    pub busy: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlowStep {
    pub step: String,
    pub node: String,
    pub action: String,
    pub seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub duration: f64,
    pub steps_planned: usize,
    pub steps_done: usize,
    pub steps_skipped: usize,
    pub failures: usize,
    pub in_doubt: usize,
    pub pods_moved: Option<u64>,
    /// Eviction attempts budgets refused (429), over all drains.
    pub budget_waits: Option<u64>,
    /// Times no waiting worker could start, and how long they lasted in total.
    pub window_waits: usize,
    pub window_wait_seconds: f64,
    pub max_unavailable_seen: usize,
    pub nodes: Vec<NodeSummary>,
    pub slowest: Vec<SlowStep>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub run_id: String,
    pub cluster_uid: String,
    pub from: String,
    pub to: String,
    pub strategy: String,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_record_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_record_at: Option<String>,
    pub status: RunStatus,
    pub hops: Vec<HopSpan>,
    pub rows: Vec<Row>,
    pub marks: Vec<Mark>,
    pub occupancy: Vec<Occupancy>,
    pub summary: Summary,
}

/// Seconds of `at` since `origin`; an unparsable time counts as `fallback`.
fn offset(origin: Option<jiff::Timestamp>, at: &str, fallback: f64) -> f64 {
    match (origin, at.parse::<jiff::Timestamp>()) {
        (Some(origin), Ok(t)) => {
            let nanos = t.as_nanosecond() - origin.as_nanosecond();
            // Whole milliseconds are plenty for a report; the cast is exact in that range.
            #[allow(clippy::cast_precision_loss)]
            let secs = (nanos / 1_000_000) as f64 / 1000.0;
            secs.max(0.0)
        }
        _ => fallback,
    }
}

struct Open {
    start: f64,
}

/// The report of the run `header` describes, from its `records` (in `seq` order).
#[allow(clippy::too_many_lines)] // one pass over the records, kept in one place
pub fn build(header: &Header, records: &[Record]) -> Report {
    let plan = &header.plan;
    let steps: HashMap<&str, &Step> = plan.steps().map(|s| (s.id.as_str(), s)).collect();
    let origin = records.first().and_then(|r| r.at.parse::<jiff::Timestamp>().ok());

    let mut order: Vec<String> = Vec::new();
    let mut control_planes: Vec<String> = Vec::new();
    for step in plan.steps() {
        if !order.contains(&step.node) {
            order.push(step.node.clone());
        }
        if step.phase != Phase::Workers && !control_planes.contains(&step.node) {
            control_planes.push(step.node.clone());
        }
    }
    let is_cp = |node: &str| control_planes.iter().any(|n| n == node);

    let mut bars: BTreeMap<String, Vec<Bar>> = BTreeMap::new();
    let mut open: HashMap<String, Open> = HashMap::new();
    let mut marks: Vec<Mark> = Vec::new();
    let mut changes: Vec<(f64, i64)> = Vec::new();
    let mut pods: BTreeMap<String, u64> = BTreeMap::new();
    let mut waits: BTreeMap<String, u64> = BTreeMap::new();
    let mut drained_any = false;
    let mut window_wait: Option<usize> = None;
    let mut progress = Progress::default();
    let ids = StepIds::of(plan);
    let mut now = 0.0_f64;

    let close = |bars: &mut BTreeMap<String, Vec<Bar>>, step: &Step, start: f64, end: f64, status, error| {
        bars.entry(step.node.clone()).or_default().push(Bar {
            step: step.id.clone(),
            hop: step.hop,
            action: step.action.name().to_owned(),
            kind: StepKind::of(&step.action),
            start,
            end: end.max(start),
            status,
            error,
        });
    };

    for record in records {
        let previous = now;
        now = offset(origin, &record.at, now);
        // Progress only for the run's status; a journal that does not fold is reported as far as it goes.
        let _ = progress.apply(&ids, record);
        match &record.event {
            Event::StepStarted { step } => {
                let Some(s) = steps.get(step.as_str()) else { continue };
                if let Some(earlier) = open.remove(step) {
                    close(&mut bars, s, earlier.start, previous, BarStatus::InDoubt, None);
                }
                open.insert(step.clone(), Open { start: now });
                if let Some(at) = window_wait.take()
                    && let Some(mark) = marks.get_mut(at)
                {
                    mark.until = Some(now);
                }
                if s.action == Action::Drain && !is_cp(&s.node) {
                    changes.push((now, 1));
                }
            }
            Event::StepFinished { step, skipped } => {
                let Some(s) = steps.get(step.as_str()) else { continue };
                let start = open.remove(step).map_or(now, |o| o.start);
                let status = if *skipped { BarStatus::Skipped } else { BarStatus::Done };
                close(&mut bars, s, start, now, status, None);
                if s.action == Action::Uncordon && !is_cp(&s.node) {
                    changes.push((now, -1));
                }
            }
            Event::StepFailed { step, error } => {
                let Some(s) = steps.get(step.as_str()) else { continue };
                let start = open.remove(step).map_or(now, |o| o.start);
                close(&mut bars, s, start, now, BarStatus::Failed, Some(error.clone()));
                marks.push(Mark {
                    at: now,
                    until: None,
                    node: Some(s.node.clone()),
                    kind: MarkKind::Failure,
                    text: format!("{} failed: {error}", s.id),
                });
            }
            Event::NodeCordoned { node } => {
                marks.push(node_mark(now, node, MarkKind::Cordoned, "cordoned by this run"));
            }
            Event::NodeForeignCordon { node } => {
                marks.push(node_mark(now, node, MarkKind::ForeignCordon, "already cordoned by someone else"));
            }
            Event::NodeUncordoned { node } => marks.push(node_mark(now, node, MarkKind::Uncordoned, "uncordoned")),
            Event::NodeRecovered { node, action, reopened } => marks.push(node_mark(
                now,
                node,
                MarkKind::Recovered,
                &format!("recovered ({action}); {} step(s) to check again", reopened.len()),
            )),
            Event::NodeDrained { node, evicted, budget_waits } => {
                drained_any = true;
                if *budget_waits > 0 {
                    marks.push(node_mark(
                        now,
                        node,
                        MarkKind::DrainWaited,
                        &format!("drained: {evicted} pod(s), {budget_waits} eviction(s) waited for a budget"),
                    ));
                }
                *pods.entry(node.clone()).or_default() += u64::from(*evicted);
                *waits.entry(node.clone()).or_default() += u64::from(*budget_waits);
            }
            Event::WindowWaiting { reasons } => {
                window_wait = Some(marks.len());
                marks.push(Mark {
                    at: now,
                    until: None,
                    node: None,
                    kind: MarkKind::BudgetWait,
                    text: format!("no waiting worker could start: {}", reasons.join("; ")),
                });
            }
            Event::RunPaused { reason } => marks.push(Mark {
                at: now,
                until: None,
                node: None,
                kind: MarkKind::Paused,
                text: format!("paused: {reason}"),
            }),
            Event::RunFinished => {
                marks.push(Mark {
                    at: now,
                    until: None,
                    node: None,
                    kind: MarkKind::Finished,
                    text: "finished".to_owned(),
                });
            }
        }
    }
    let end = now;
    // Attempts still open at the end are in doubt (crashed, or still running).
    let mut still_open: Vec<(String, Open)> = open.into_iter().collect();
    still_open.sort_by(|a, b| a.0.cmp(&b.0));
    for (step, o) in still_open {
        if let Some(s) = steps.get(step.as_str()) {
            close(&mut bars, s, o.start, end, BarStatus::InDoubt, None);
        }
    }
    if let Some(at) = window_wait
        && let Some(mark) = marks.get_mut(at)
    {
        mark.until = Some(end);
    }

    let rows: Vec<Row> = {
        let mut cps: Vec<Row> = Vec::new();
        let mut workers: Vec<Row> = Vec::new();
        for node in &order {
            let mut node_bars = bars.remove(node).unwrap_or_default();
            node_bars.sort_by(|a, b| a.start.total_cmp(&b.start));
            let row = Row { node: node.clone(), control_plane: is_cp(node), bars: node_bars };
            if row.control_plane { cps.push(row) } else { workers.push(row) }
        }
        cps.into_iter().chain(workers).collect()
    };

    let hops = plan
        .hops
        .iter()
        .enumerate()
        .filter_map(|(index, hop)| {
            let spans = rows.iter().flat_map(|r| &r.bars).filter(|b| b.hop == index);
            let (start, stop) =
                spans.fold((f64::INFINITY, f64::NEG_INFINITY), |(s, e), b| (s.min(b.start), e.max(b.end)));
            start.is_finite().then(|| HopSpan {
                index,
                from: hop.from.to_string(),
                to: hop.to.to_string(),
                start,
                end: stop,
            })
        })
        .collect();

    changes.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut occupancy = vec![Occupancy { at: 0.0, unavailable: 0 }];
    let mut level: i64 = 0;
    for (at, delta) in changes {
        level = (level + delta).max(0);
        let unavailable = usize::try_from(level).unwrap_or(0);
        match occupancy.last_mut() {
            Some(last) if (last.at - at).abs() < f64::EPSILON => last.unavailable = unavailable,
            _ => occupancy.push(Occupancy { at, unavailable }),
        }
    }

    let all_bars = || rows.iter().flat_map(|r| &r.bars);
    let mut slowest: Vec<SlowStep> = all_bars()
        .filter(|b| b.status != BarStatus::Skipped)
        .map(|b| SlowStep {
            step: b.step.clone(),
            node: steps.get(b.step.as_str()).map(|s| s.node.clone()).unwrap_or_default(),
            action: b.action.clone(),
            seconds: b.seconds(),
        })
        .collect();
    slowest.sort_by(|a, b| b.seconds.total_cmp(&a.seconds).then_with(|| a.step.cmp(&b.step)));
    slowest.truncate(SLOWEST);

    let nodes = rows
        .iter()
        .map(|r| NodeSummary {
            node: r.node.clone(),
            control_plane: r.control_plane,
            drains: r.bars.iter().filter(|b| b.action == "drain" && b.status == BarStatus::Done).count(),
            pods_moved: drained_any.then(|| pods.get(&r.node).copied().unwrap_or(0)),
            budget_waits: drained_any.then(|| waits.get(&r.node).copied().unwrap_or(0)),
            busy: r.bars.iter().map(Bar::seconds).sum(),
        })
        .collect();
    let budget_marks = marks.iter().filter(|m| m.kind == MarkKind::BudgetWait);
    let summary = Summary {
        duration: end,
        steps_planned: plan.steps().count(),
        steps_done: progress.done_count(),
        steps_skipped: progress
            .steps
            .values()
            .filter(|s| matches!(s, crate::journal::StepStatus::Done { skipped: true }))
            .count(),
        failures: all_bars().filter(|b| b.status == BarStatus::Failed).count(),
        in_doubt: all_bars().filter(|b| b.status == BarStatus::InDoubt).count(),
        pods_moved: drained_any.then(|| pods.values().sum()),
        budget_waits: drained_any.then(|| waits.values().sum()),
        window_waits: budget_marks.clone().count(),
        window_wait_seconds: budget_marks.map(|m| m.until.unwrap_or(m.at) - m.at).sum(),
        max_unavailable_seen: occupancy.iter().map(|o| o.unavailable).max().unwrap_or(0),
        nodes,
        slowest,
    };

    let status = if records.is_empty() {
        RunStatus::NotStarted
    } else if progress.finished {
        RunStatus::Finished
    } else if let Some((step, error)) = progress.steps.iter().rev().find_map(|(id, s)| match s {
        crate::journal::StepStatus::Failed { error } => Some((id.clone(), error.clone())),
        _ => None,
    }) {
        RunStatus::Failed { step, error }
    } else if let Some(reason) = &progress.paused {
        RunStatus::Paused { reason: reason.clone() }
    } else {
        RunStatus::Stopped
    };

    Report {
        run_id: header.run_id.clone(),
        cluster_uid: header.cluster_uid.clone(),
        from: plan.from.to_string(),
        to: plan.to.to_string(),
        strategy: plan.strategy.to_string(),
        created_at: header.created_at.clone(),
        first_record_at: records.first().map(|r| r.at.clone()),
        last_record_at: records.last().map(|r| r.at.clone()),
        status,
        hops,
        rows,
        marks,
        occupancy,
        summary,
    }
}

fn node_mark(at: f64, node: &str, kind: MarkKind, text: &str) -> Mark {
    Mark { at, until: None, node: Some(node.to_owned()), kind, text: format!("node/{node} {text}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::FORMAT;
    use crate::plan::{WorkerStrategy, plan, uniform_cluster};
    use crate::test_support::path;

    fn header() -> Header {
        let path = path("v1.28.15", "1.30");
        let plan = plan(&uniform_cluster(path.from, 1, 3), &path, WorkerStrategy::Follow).unwrap();
        Header {
            format: FORMAT,
            run_id: "run-1".to_owned(),
            cluster_uid: "uid".to_owned(),
            created_at: "2026-11-25T10:00:00Z".to_owned(),
            plan,
        }
    }

    /// A journal of `header`'s plan, one second per record, with drains recorded.
    fn journal(header: &Header, stop_after: Option<usize>, fail: Option<&str>) -> Vec<Record> {
        let mut records = Vec::new();
        let mut push = |event: Event| {
            let seq = records.len() as u64 + 1;
            records.push(Record { seq, at: format!("2026-11-25T10:{:02}:{:02}Z", seq / 60, seq % 60), event });
        };
        for (i, step) in header.plan.steps().enumerate() {
            if stop_after == Some(i) {
                push(Event::StepStarted { step: step.id.clone() });
                return records;
            }
            push(Event::StepStarted { step: step.id.clone() });
            if fail == Some(step.id.as_str()) {
                push(Event::StepFailed { step: step.id.clone(), error: "exit code 1".to_owned() });
                return records;
            }
            if step.action == Action::Drain {
                push(Event::NodeCordoned { node: step.node.clone() });
                push(Event::NodeDrained { node: step.node.clone(), evicted: 4, budget_waits: 1 });
            }
            if step.action == Action::Uncordon {
                push(Event::NodeUncordoned { node: step.node.clone() });
            }
            push(Event::StepFinished { step: step.id.clone(), skipped: false });
        }
        push(Event::RunFinished);
        records
    }

    #[test]
    fn a_finished_run_has_a_row_per_node_and_a_bar_per_step() {
        let header = header();
        let report = build(&header, &journal(&header, None, None));
        assert_eq!(report.status, RunStatus::Finished);
        let nodes: Vec<&str> = report.rows.iter().map(|r| r.node.as_str()).collect();
        assert_eq!(nodes, ["cp-1", "worker-1", "worker-2", "worker-3"]);
        let bars: usize = report.rows.iter().map(|r| r.bars.len()).sum();
        assert_eq!(bars, header.plan.steps().count());
        assert!(report.rows.iter().flat_map(|r| &r.bars).all(|b| b.status == BarStatus::Done && b.end > b.start));
        assert_eq!(report.hops.len(), 2);
        assert!(report.hops[0].end <= report.hops[1].start);
        // Two hops, each drains every node once: 4 pods and 1 budget wait per drain.
        let waited = report.marks.iter().filter(|m| m.kind == MarkKind::DrainWaited).count();
        assert_eq!(waited, 8, "one mark per drain a budget held up");
        let w1 = &report.summary.nodes[1];
        assert_eq!((w1.drains, w1.pods_moved, w1.budget_waits), (2, Some(8), Some(2)));
        assert_eq!(report.summary.pods_moved, Some(32));
        assert_eq!(report.summary.steps_done, header.plan.steps().count());
        // Workers went one at a time in this journal.
        assert_eq!(report.summary.max_unavailable_seen, 1);
        assert_eq!(report.occupancy.last().map(|o| o.unavailable), Some(0));
        assert!(report.summary.slowest.len() <= SLOWEST && !report.summary.slowest.is_empty());
        assert!(report.summary.duration > 0.0);
    }

    #[test]
    fn a_failed_run_marks_the_failure_and_a_crash_leaves_a_step_in_doubt() {
        let header = header();
        let failing = header.plan.steps().nth(5).unwrap().id.clone();
        let report = build(&header, &journal(&header, None, Some(&failing)));
        assert_eq!(report.status, RunStatus::Failed { step: failing.clone(), error: "exit code 1".to_owned() });
        assert!(report.marks.iter().any(|m| m.kind == MarkKind::Failure && m.text.contains(&failing)));
        assert_eq!(report.summary.failures, 1);

        let crashed = build(&header, &journal(&header, Some(7), None));
        assert_eq!(crashed.status, RunStatus::Stopped);
        assert_eq!(crashed.summary.in_doubt, 1);
        let empty = build(&header, &[]);
        assert_eq!(empty.status, RunStatus::NotStarted);
        assert!(empty.rows.iter().all(|r| r.bars.is_empty()));
    }

    #[test]
    fn a_restarted_step_has_one_bar_per_attempt_and_window_waits_last_until_a_step_starts() {
        let header = header();
        let step = header.plan.steps().next().unwrap().id.clone();
        let at = |s: u32| format!("2026-11-25T10:00:{s:02}Z");
        let records = vec![
            Record { seq: 1, at: at(0), event: Event::StepStarted { step: step.clone() } },
            Record { seq: 2, at: at(5), event: Event::WindowWaiting { reasons: vec!["pdb web".to_owned()] } },
            Record { seq: 3, at: at(20), event: Event::StepStarted { step: step.clone() } },
            Record { seq: 4, at: at(30), event: Event::StepFinished { step: step.clone(), skipped: true } },
        ];
        let report = build(&header, &records);
        let bars = &report.rows[0].bars;
        assert_eq!(bars.len(), 2);
        assert_eq!((bars[0].status, bars[0].start, bars[0].end), (BarStatus::InDoubt, 0.0, 5.0));
        assert_eq!((bars[1].status, bars[1].start, bars[1].end), (BarStatus::Skipped, 20.0, 30.0));
        let wait = report.marks.iter().find(|m| m.kind == MarkKind::BudgetWait).unwrap();
        assert_eq!((wait.at, wait.until), (5.0, Some(20.0)));
        assert_eq!((report.summary.window_waits, report.summary.window_wait_seconds), (1, 15.0));
        // A journal from before drain records: pods moved unknown, not zero.
        assert_eq!(report.summary.pods_moved, None);
    }
}
