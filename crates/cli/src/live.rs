//! The live view's choice of lines: on a terminal the node rows under the progress bar show
//! every step as it runs (hop, step, elapsed time, updated in place), so the lines printed
//! above them are only what an operator must see - cordons and uncordons, drains that waited
//! for a budget, waits for the window that lasted, warnings, failures, pauses, recoveries
//! and the end. Plain and JSON output keep one line per event (`progress.rs`).

use std::time::{Duration, Instant};

use kubeladder_core::journal::{Event, Record};

/// A window wait shorter than this is routine (the next lane starts when one ends) and is
/// shown only on the hop line while it lasts.
pub const LASTING_WAIT: Duration = Duration::from_secs(5);

/// The step a record is about, as the rows show it.
#[derive(Debug, Clone, Copy)]
pub struct StepView<'a> {
    pub hop: &'a str,
    pub node: &'a str,
    pub action: &'a str,
}

/// What the live view remembers between records: a window wait in progress.
#[derive(Debug, Default)]
pub struct Notable {
    wait: Option<(Instant, Vec<String>)>,
}

impl Notable {
    /// The line to print above the node rows for `record`, if any.
    pub fn line(&mut self, record: &Record, step: Option<StepView<'_>>) -> Option<String> {
        self.line_at(record, step, Instant::now())
    }

    fn line_at(&mut self, record: &Record, step: Option<StepView<'_>>, now: Instant) -> Option<String> {
        let at = record.at.get(11..19).unwrap_or(&record.at);
        match &record.event {
            Event::StepStarted { .. } => {
                let (since, reasons) = self.wait.take()?;
                let waited = now.saturating_duration_since(since);
                (waited >= LASTING_WAIT)
                    .then(|| format!("{at}  workers waited {}s for room: {}", waited.as_secs(), reasons.join("; ")))
            }
            Event::StepFinished { .. } => None,
            Event::StepFailed { error, .. } => Some(match step {
                Some(s) => format!("{at}  FAILED {} {} {}: {error}", s.hop, s.node, s.action),
                None => format!("{at}  FAILED: {error}"),
            }),
            Event::WindowWaiting { reasons } => {
                self.wait = Some((now, reasons.clone()));
                None
            }
            Event::NodeDrained { node, evicted, budget_waits } => (*budget_waits > 0).then(|| {
                format!(
                    "{at}  node/{node} drained: {evicted} pod(s) moved, {budget_waits} eviction(s) waited for a budget"
                )
            }),
            Event::NodeCordoned { node } => Some(format!("{at}  node/{node} cordoned")),
            Event::NodeForeignCordon { .. }
            | Event::NodeUncordoned { .. }
            | Event::NodeRecovered { .. }
            | Event::RunPaused { .. }
            | Event::RunFinished => crate::progress::node_or_run_line(record),
        }
    }
}

/// A node row: `worker-2   v1.20.15   drain` (the elapsed time is the row's own clock).
pub fn row(node: &str, hop: &str, action: &str, state: &str) -> String {
    if state.is_empty() {
        format!("{node:<16} {hop:<9} {action}")
    } else {
        format!("{node:<16} {hop:<9} {action} {state}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(event: Event) -> Record {
        Record { seq: 1, at: "2026-11-25T10:00:07Z".to_owned(), event }
    }

    #[test]
    fn routine_steps_stay_in_the_rows_and_what_matters_gets_a_line() {
        let mut n = Notable::default();
        let t0 = Instant::now();
        let step = Some(StepView { hop: "v1.19.16", node: "worker-1", action: "drain" });
        assert_eq!(n.line_at(&rec(Event::StepStarted { step: "s".into() }), step, t0), None);
        assert_eq!(n.line_at(&rec(Event::StepFinished { step: "s".into(), skipped: false }), step, t0), None);
        assert_eq!(
            n.line_at(&rec(Event::NodeCordoned { node: "worker-1".into() }), None, t0).as_deref(),
            Some("10:00:07  node/worker-1 cordoned")
        );
        let quiet = Event::NodeDrained { node: "worker-1".into(), evicted: 3, budget_waits: 0 };
        assert_eq!(n.line_at(&rec(quiet), None, t0), None);
        let waited = Event::NodeDrained { node: "worker-1".into(), evicted: 3, budget_waits: 2 };
        assert!(n.line_at(&rec(waited), None, t0).unwrap().contains("2 eviction(s) waited for a budget"));
        let failed = Event::StepFailed { step: "s".into(), error: "exit code 1".into() };
        assert_eq!(
            n.line_at(&rec(failed), step, t0).as_deref(),
            Some("10:00:07  FAILED v1.19.16 worker-1 drain: exit code 1")
        );
    }

    #[test]
    fn only_window_waits_that_last_are_printed_when_they_end() {
        let mut n = Notable::default();
        let t0 = Instant::now();
        let wait =
            Event::WindowWaiting { reasons: vec!["worker-2: PodDisruptionBudget default/web has no room".into()] };
        assert_eq!(n.line_at(&rec(wait.clone()), None, t0), None);
        assert_eq!(n.line_at(&rec(Event::StepStarted { step: "s".into() }), None, t0 + Duration::from_secs(1)), None);
        n.line_at(&rec(wait), None, t0);
        let line =
            n.line_at(&rec(Event::StepStarted { step: "s".into() }), None, t0 + Duration::from_secs(12)).unwrap();
        assert_eq!(
            line,
            "10:00:07  workers waited 12s for room: worker-2: PodDisruptionBudget default/web has no room"
        );
    }
}
