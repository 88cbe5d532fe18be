//! One printer for a run's progress, fed with journal records as they become durable.
//!
//! - terminal (stderr is a TTY, `-o auto`): progress bars - the whole run, the current hop,
//!   one row per node with the step it is in and for how long - with only the events an
//!   operator must see printed above them (`live.rs` chooses);
//! - plain (`-o plain`, or no terminal): one line per event on stdout;
//! - JSON (`-o json`): one JSON object per line on stdout, e.g.
//!   `{"ts":"...","event":"step_started","hop":"v1.19.16","node":"worker-2","step":"drain","id":"h1/worker-2/drain"}`,
//!   ending with a `finished` (or `paused` / `failed`) object.

use std::collections::{BTreeMap, HashMap};
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use kubeladder_core::journal::{Event, Record};
use kubeladder_core::plan::Plan;
use serde_json::{Value, json};

/// `-o` of `apply`, `resume` and `demo`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressFormat {
    /// Progress bars on a terminal, plain lines otherwise.
    #[default]
    Auto,
    /// One line per event.
    Plain,
    /// One JSON object per line.
    Json,
}

struct StepInfo {
    hop: String,
    node: String,
    action: &'static str,
}

struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    hop: ProgressBar,
    nodes: BTreeMap<String, ProgressBar>,
    /// A node row while a step runs (with its elapsed time) and between steps.
    running: ProgressStyle,
    idle: ProgressStyle,
    /// Which events get a line above the rows.
    notable: Mutex<crate::live::Notable>,
}

pub struct Printer {
    format: ProgressFormat,
    steps: HashMap<String, StepInfo>,
    hop_sizes: BTreeMap<String, u64>,
    bars: Option<Bars>,
    state: Mutex<PrinterState>,
    started: Instant,
}

#[derive(Default)]
struct PrinterState {
    hop: Option<String>,
    hop_done: u64,
    /// Steps running now, since when.
    running: HashMap<String, Instant>,
    /// Time spent in each node's steps (started to finished), summed.
    node_times: BTreeMap<String, Duration>,
}

impl std::fmt::Debug for Printer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Printer").field("format", &self.format).finish_non_exhaustive()
    }
}

impl Printer {
    /// A printer for `plan`; `done` steps are already finished (resume).
    pub fn new(format: ProgressFormat, plan: &Plan, done: usize) -> Self {
        let mut steps = HashMap::new();
        let mut hop_sizes = BTreeMap::new();
        let mut nodes: Vec<String> = Vec::new();
        for hop in &plan.hops {
            let name = format!("{}", hop.to);
            let all = hop
                .catch_up
                .iter()
                .flat_map(|l| &l.steps)
                .chain(&hop.steps)
                .chain(hop.workers.iter().flat_map(|l| &l.steps));
            for step in all {
                *hop_sizes.entry(name.clone()).or_insert(0) += 1;
                if !nodes.contains(&step.node) {
                    nodes.push(step.node.clone());
                }
                steps.insert(
                    step.id.clone(),
                    StepInfo { hop: name.clone(), node: step.node.clone(), action: step.action.name() },
                );
            }
        }
        let terminal = format == ProgressFormat::Auto && std::io::stderr().is_terminal();
        let format = if format == ProgressFormat::Auto { ProgressFormat::Plain } else { format };
        let bars = terminal.then(|| make_bars(plan.steps().count(), done, &nodes));
        Self { format, steps, hop_sizes, bars, state: Mutex::new(PrinterState::default()), started: Instant::now() }
    }

    /// Print a message that is not an event (plan summary, warnings), above any bars.
    pub fn message(&self, text: &str) {
        if self.format == ProgressFormat::Json {
            return;
        }
        if let Some(bars) = &self.bars {
            bars.multi.suspend(|| eprintln!("{text}"));
        } else {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
        }
    }

    /// Print a JSON object line (JSON mode only).
    pub fn json(&self, value: &Value) {
        if self.format == ProgressFormat::Json {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{value}");
            let _ = out.flush();
        }
    }

    pub fn is_json(&self) -> bool {
        self.format == ProgressFormat::Json
    }

    /// Seconds since the printer started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// How long each node's steps took in this process (their durations summed).
    pub fn node_times(&self) -> BTreeMap<String, Duration> {
        self.state.lock().map(|s| s.node_times.clone()).unwrap_or_default()
    }

    /// Show one record.
    pub fn record(&self, record: &Record) {
        let (name, step) = match &record.event {
            Event::StepStarted { step } => ("step_started", Some(step)),
            Event::StepFinished { step, skipped: true } => ("step_skipped", Some(step)),
            Event::StepFinished { step, skipped: false } => ("step_finished", Some(step)),
            Event::StepFailed { step, .. } => ("step_failed", Some(step)),
            Event::NodeCordoned { .. } => ("node_cordoned", None),
            Event::NodeForeignCordon { .. } => ("node_foreign_cordon", None),
            Event::NodeUncordoned { .. } => ("node_uncordoned", None),
            Event::NodeRecovered { .. } => ("node_recovered", None),
            Event::RunPaused { .. } => ("run_paused", None),
            Event::RunFinished => ("run_finished", None),
            Event::NodeDrained { .. } => ("node_drained", None),
            Event::WindowWaiting { .. } => ("window_waiting", None),
        };
        let info = step.and_then(|s| self.steps.get(s));
        self.track(record, info);
        if self.format == ProgressFormat::Json {
            self.json(&json_event(record, name, info));
            return;
        }
        if let Some(bars) = &self.bars {
            self.update_bars(bars, record, info);
            // The rows show every step; above them only what an operator must see.
            let view = info.map(|i| crate::live::StepView { hop: &i.hop, node: &i.node, action: i.action });
            if let Some(line) = bars.notable.lock().ok().and_then(|mut n| n.line(record, view)) {
                self.message(&line);
            }
            return;
        }
        if let Some(line) = plain_line(record, info) {
            self.message(&line);
        }
    }

    fn track(&self, record: &Record, info: Option<&StepInfo>) {
        let Ok(mut state) = self.state.lock() else { return };
        let Some(info) = info else { return };
        match &record.event {
            Event::StepStarted { step } => {
                state.running.insert(step.clone(), Instant::now());
            }
            Event::StepFinished { step, .. } | Event::StepFailed { step, .. } => {
                if let Some(started) = state.running.remove(step) {
                    *state.node_times.entry(info.node.clone()).or_default() += started.elapsed();
                }
            }
            _ => {}
        }
        if state.hop.as_deref() != Some(info.hop.as_str()) {
            state.hop = Some(info.hop.clone());
            state.hop_done = 0;
        }
        if matches!(record.event, Event::StepFinished { .. }) {
            state.hop_done += 1;
        }
    }

    fn update_bars(&self, bars: &Bars, record: &Record, info: Option<&StepInfo>) {
        if let Event::WindowWaiting { reasons } = &record.event {
            bars.hop.set_message(format!("workers waiting: {}", reasons.join("; ")));
        }
        let Some(info) = info else { return };
        let hop_done = self.state.lock().map_or(0, |s| s.hop_done);
        bars.hop.set_length(self.hop_sizes.get(&info.hop).copied().unwrap_or(0));
        bars.hop.set_position(hop_done);
        bars.hop.set_message(format!("hop to {}", info.hop));
        let row = bars.nodes.get(&info.node);
        match &record.event {
            Event::StepStarted { .. } => {
                if let Some(row) = row {
                    row.set_style(bars.running.clone());
                    row.reset_elapsed();
                    row.set_message(crate::live::row(&info.node, &info.hop, info.action, ""));
                }
            }
            Event::StepFinished { .. } => {
                bars.overall.inc(1);
                if let Some(row) = row {
                    row.set_style(bars.idle.clone());
                    row.set_message(crate::live::row(&info.node, &info.hop, info.action, "done"));
                }
            }
            Event::StepFailed { .. } => {
                if let Some(row) = row {
                    row.set_style(bars.idle.clone());
                    row.set_message(crate::live::row(&info.node, &info.hop, info.action, "FAILED"));
                }
            }
            _ => {}
        }
    }

    /// Remove the bars (before the summary).
    pub fn finish(&self) {
        if let Some(bars) = &self.bars {
            for row in bars.nodes.values() {
                row.finish_and_clear();
            }
            bars.hop.finish_and_clear();
            bars.overall.finish_and_clear();
            let _ = bars.multi.clear();
        }
    }
}

fn make_bars(total: usize, done: usize, nodes: &[String]) -> Bars {
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{prefix:>8} [{bar:40}] {pos}/{len} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    let overall = multi.add(ProgressBar::new(total as u64).with_style(style.clone()).with_prefix("steps"));
    overall.set_position(done as u64);
    let hop = multi.add(ProgressBar::new(0).with_style(style).with_prefix("hop"));
    let row_style =
        ProgressStyle::with_template("  {spinner} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner());
    let running = ProgressStyle::with_template("  {spinner} {msg} {elapsed_precise}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let nodes = nodes
        .iter()
        .map(|n| {
            let row = multi.add(ProgressBar::new_spinner().with_style(row_style.clone()));
            row.set_message(format!("{n:<16} waiting"));
            row.enable_steady_tick(Duration::from_millis(200));
            (n.clone(), row)
        })
        .collect();
    Bars { multi, overall, hop, nodes, running, idle: row_style, notable: Mutex::default() }
}

fn json_event(record: &Record, name: &str, info: Option<&StepInfo>) -> Value {
    let mut value = json!({"ts": record.at, "seq": record.seq, "event": name});
    if let Some(info) = info {
        value["hop"] = json!(info.hop);
        value["node"] = json!(info.node);
        value["step"] = json!(info.action);
    }
    match &record.event {
        Event::StepStarted { step } | Event::StepFinished { step, .. } => value["id"] = json!(step),
        Event::StepFailed { step, error } => {
            value["id"] = json!(step);
            value["error"] = json!(error);
        }
        Event::NodeCordoned { node } | Event::NodeForeignCordon { node } | Event::NodeUncordoned { node } => {
            value["node"] = json!(node);
        }
        Event::NodeRecovered { node, action, reopened } => {
            value["node"] = json!(node);
            value["action"] = json!(action);
            value["reopened"] = json!(reopened);
        }
        Event::RunPaused { reason } => value["reason"] = json!(reason),
        Event::RunFinished => {}
        Event::NodeDrained { node, evicted, budget_waits } => {
            value["node"] = json!(node);
            value["evicted"] = json!(evicted);
            value["budget_waits"] = json!(budget_waits);
        }
        Event::WindowWaiting { reasons } => value["reasons"] = json!(reasons),
    }
    value
}

/// The line of an event about a node or the run that both the plain output and the live
/// view print the same way.
pub(crate) fn node_or_run_line(record: &Record) -> Option<String> {
    let at = record.at.get(11..19).unwrap_or(&record.at);
    match &record.event {
        Event::NodeForeignCordon { node } => {
            Some(format!("{at}  node/{node} was already cordoned by someone else; it will stay cordoned"))
        }
        Event::NodeUncordoned { node } => Some(format!("{at}  node/{node} uncordoned")),
        Event::NodeRecovered { node, action, reopened } => {
            Some(format!("{at}  node/{node} recovered ({action}); {} step(s) to check again", reopened.len()))
        }
        Event::RunPaused { reason } => Some(format!("{at}  run paused: {reason}")),
        Event::RunFinished => Some(format!("{at}  run finished")),
        _ => None,
    }
}

fn plain_line(record: &Record, info: Option<&StepInfo>) -> Option<String> {
    let at = record.at.get(11..19).unwrap_or(&record.at);
    let step = |what: &str| info.map(|i| format!("{at}  {:<9} {:<16} {:<24} {what}", i.hop, i.node, i.action));
    match &record.event {
        Event::StepStarted { .. } => step("started"),
        Event::StepFinished { skipped: false, .. } => step("done"),
        Event::StepFinished { skipped: true, .. } => step("already done"),
        Event::StepFailed { error, .. } => step(&format!("FAILED: {error}")),
        Event::NodeCordoned { node } => Some(format!("{at}  node/{node} cordoned by this run")),
        Event::NodeForeignCordon { .. }
        | Event::NodeUncordoned { .. }
        | Event::NodeRecovered { .. }
        | Event::RunPaused { .. }
        | Event::RunFinished => node_or_run_line(record),
        Event::NodeDrained { node, evicted, budget_waits } => {
            Some(format!("{at}  node/{node} drained: {evicted} pod(s) evicted, {budget_waits} budget wait(s)"))
        }
        Event::WindowWaiting { reasons } => Some(format!("{at}  workers waiting: {}", reasons.join("; "))),
    }
}

impl kubeladder_orchestrator::run::RunObserver for Printer {
    fn record(&self, record: &Record) {
        Printer::record(self, record);
    }

    fn message(&self, text: &str) {
        Printer::message(self, text);
    }
}
