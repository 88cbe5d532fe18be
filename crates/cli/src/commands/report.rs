//! `kubeladder report`: a run's report from its journal alone (the model is
//! `kubeladder_core::report`'s), as a self-contained HTML page, JSON or tables; and the
//! page `apply`, `resume` and `demo` leave next to the journal when they stop.

use std::path::{Path, PathBuf};

use kubeladder_core::report::{self, Report, RunStatus};
use kubeladder_orchestrator::journal_store;

use crate::Outcome;
use crate::error::CliError;
use crate::operator_args::{ReportArgs, ReportFormat};
use crate::output;
use crate::progress::Printer;

/// The page's name in a journal directory.
pub const FILE_NAME: &str = "report.html";

pub fn run(args: &ReportArgs) -> Result<Outcome, CliError> {
    if args.output != ReportFormat::Html && args.out.is_some() {
        return Err(CliError::Usage("--out is for -o html; json and table go to stdout".to_owned()));
    }
    let report = load(&args.state_dir)?;
    match args.output {
        ReportFormat::Html => {
            let path = args.out.clone().unwrap_or_else(|| args.state_dir.join(FILE_NAME));
            write_page(&report, &path)?;
            output::print(&format!("{}\n", path.display()))?;
        }
        ReportFormat::Json => output::print_json(&report)?,
        ReportFormat::Table => output::print(&tables(&report))?,
    }
    Ok(Outcome::Ok)
}

fn load(dir: &Path) -> Result<Report, CliError> {
    let (header, records) = journal_store::read_records(dir)?;
    Ok(report::build(&header, &records))
}

fn write_page(report: &Report, path: &Path) -> Result<(), CliError> {
    // 0600 like the journal beside it: the page names the cluster's nodes and what ran.
    journal_store::write_private_atomically(path, crate::report_html::render(report).as_bytes()).map_err(|(what, e)| {
        CliError::Output(std::io::Error::new(e.kind(), format!("cannot {what} {}: {e}", path.display())))
    })
}

/// After a run stopped (finished, failed, paused): write DIR/report.html, emit a JSON
/// `report` event, and return the line that names it for the end of the text output. A
/// report that cannot be written is a warning; the run's outcome stands.
pub fn after_run(printer: &Printer, dir: &Path) -> Option<String> {
    let path: PathBuf = dir.join(FILE_NAME);
    match load(dir).and_then(|r| write_page(&r, &path)) {
        Ok(()) => {
            printer.json(&serde_json::json!({"event": "report", "path": path}));
            (!printer.is_json()).then(|| format!("report: {}", path.display()))
        }
        Err(e) => {
            printer.message(&format!("warning: no report: {e}"));
            None
        }
    }
}

fn secs(s: f64) -> String {
    // Tenths under a minute, whole seconds above; the JSON keeps milliseconds.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let whole = s.max(0.0).round() as u64;
    if whole >= 3600 {
        format!("{}h{:02}m{:02}s", whole / 3600, whole / 60 % 60, whole % 60)
    } else if whole >= 60 {
        format!("{}m{:02}s", whole / 60, whole % 60)
    } else {
        format!("{:.1}s", s.max(0.0))
    }
}

pub fn status_text(status: &RunStatus) -> String {
    match status {
        RunStatus::Finished => "finished".to_owned(),
        RunStatus::Failed { step, error } => format!("failed at {step}: {error}"),
        RunStatus::Paused { reason } => format!("paused ({reason})"),
        RunStatus::Stopped => "stopped without a record of why (crashed, or still running)".to_owned(),
        RunStatus::NotStarted => "not started".to_owned(),
    }
}

fn optional(n: Option<u64>) -> String {
    n.map_or_else(|| "-".to_owned(), |n| n.to_string())
}

fn tables(report: &Report) -> String {
    let s = &report.summary;
    let mut out = format!(
        "Run {} ({} -> {}, workers {}): {}\nDuration {}; {} of {} steps done ({} already done), {} failed, {} in doubt\n\
         Pods moved {}, budget waits {} (evictions refused), window waits {} ({}), at most {} worker(s) out at once\n\n",
        report.run_id,
        report.from,
        report.to,
        report.strategy,
        status_text(&report.status),
        secs(s.duration),
        s.steps_done,
        s.steps_planned,
        s.steps_skipped,
        s.failures,
        s.in_doubt,
        optional(s.pods_moved),
        optional(s.budget_waits),
        s.window_waits,
        secs(s.window_wait_seconds),
        s.max_unavailable_seen,
    );
    out += &output::table(
        &["NODE", "ROLE", "DRAINS", "PODS MOVED", "BUDGET WAITS", "BUSY"],
        s.nodes.iter().map(|n| {
            vec![
                n.node.clone(),
                if n.control_plane { "control-plane".to_owned() } else { "worker".to_owned() },
                n.drains.to_string(),
                optional(n.pods_moved),
                optional(n.budget_waits),
                secs(n.busy),
            ]
        }),
    );
    out += "\nSlowest steps:\n";
    out += &output::table(
        &["STEP", "NODE", "ACTION", "TIME"],
        s.slowest.iter().map(|x| vec![x.step.clone(), x.node.clone(), x.action.clone(), secs(x.seconds)]),
    );
    out
}
