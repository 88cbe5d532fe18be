//! The run report as one self-contained HTML page: inline CSS, an inline SVG timeline drawn
//! here (the page needs no script to show it), and a small inline script for hovering that
//! marks `<body data-report-ready="ok">` once it ran without throwing. Nothing is fetched:
//! no external scripts, styles, fonts or images.

use std::fmt::Write as _;

use kubeladder_core::report::{BarStatus, MarkKind, Report, StepKind};

use crate::commands::report::status_text;

const LABEL: f64 = 170.0;
const PLOT: f64 = 1000.0;
const ROW: f64 = 22.0;
const TOP: f64 = 44.0;
const OCCUPANCY: f64 = 80.0;

fn colour(kind: StepKind) -> &'static str {
    match kind {
        StepKind::Drain => "#d1495b",
        StepKind::Kubeadm => "#2e86ab",
        StepKind::Packages => "#8e6cc9",
        StepKind::Restart => "#edae49",
        StepKind::Wait => "#66a182",
    }
}

/// `&`, `<`, `>`, `"`, `'` escaped for text and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn clock(seconds: f64) -> String {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let s = seconds.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// A duration: `4.2s` under a minute, else like [`clock`].
fn took(seconds: f64) -> String {
    if seconds < 59.95 { format!("{seconds:.1}s") } else { clock(seconds) }
}

fn tick_step(duration: f64) -> f64 {
    const STEPS: [f64; 14] =
        [1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0];
    STEPS.iter().copied().find(|s| duration / s <= 12.0).unwrap_or(14_400.0)
}

fn optional(n: Option<u64>) -> String {
    n.map_or_else(|| "-".to_owned(), |n| n.to_string())
}

/// The page.
#[allow(clippy::too_many_lines, clippy::many_single_char_names)] // one template; x, y, a, b are coordinates
pub fn render(report: &Report) -> String {
    let duration = report.summary.duration.max(1.0);
    let x = |t: f64| LABEL + t / duration * PLOT;
    let rows = report.rows.len();
    #[allow(clippy::cast_precision_loss)]
    let rows_height = rows as f64 * ROW;
    let occ_top = TOP + rows_height + 30.0;
    let height = occ_top + OCCUPANCY + 30.0;
    let width = LABEL + PLOT + 20.0;
    let worker_rows = report.rows.iter().filter(|r| !r.control_plane).count();
    #[allow(clippy::cast_precision_loss)]
    let workers_top = TOP + (rows - worker_rows) as f64 * ROW;

    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg id="timeline" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="timeline">"#
    );
    // Hops: alternating bands, a boundary line and the hop's target on top.
    for hop in &report.hops {
        let (a, b) = (x(hop.start), x(hop.end));
        let fill = if hop.index % 2 == 0 { "#f3f5f8" } else { "#e9edf2" };
        let _ = write!(
            svg,
            r#"<g class="hop" data-hop="{}"><rect x="{a:.1}" y="18" width="{:.1}" height="{:.1}" fill="{fill}"/><line x1="{a:.1}" y1="18" x2="{a:.1}" y2="{:.1}" class="hop-line"/><text x="{:.1}" y="30" class="hop-label">{} &#8594; {}</text></g>"#,
            hop.index,
            (b - a).max(1.0),
            rows_height + TOP - 18.0,
            TOP + rows_height,
            a + 4.0,
            esc(&hop.from),
            esc(&hop.to)
        );
    }
    // Time axis.
    let step = tick_step(duration);
    let mut t = 0.0;
    while t <= duration + 0.001 {
        let _ = write!(
            svg,
            r#"<line x1="{0:.1}" y1="{1:.1}" x2="{0:.1}" y2="{2:.1}" class="tick"/><text x="{0:.1}" y="{3:.1}" class="tick-label">{4}</text>"#,
            x(t),
            TOP + rows_height,
            TOP + rows_height + 5.0,
            TOP + rows_height + 17.0,
            clock(t)
        );
        t += step;
    }
    // Budget waits: a band over the workers' rows while no worker could start.
    for mark in report.marks.iter().filter(|m| m.kind == MarkKind::BudgetWait) {
        let (a, b) = (x(mark.at), x(mark.until.unwrap_or(mark.at)));
        #[allow(clippy::cast_precision_loss)]
        let h = (worker_rows.max(1)) as f64 * ROW;
        let _ = write!(
            svg,
            r#"<rect class="mark budget-wait" x="{a:.1}" y="{workers_top:.1}" width="{:.1}" height="{h:.1}"><title>{} ({}s)</title></rect>"#,
            (b - a).max(2.0),
            esc(&mark.text),
            clock(mark.until.unwrap_or(mark.at) - mark.at)
        );
    }
    // One row per node, a bar per step attempt.
    for (i, row) in report.rows.iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let y = TOP + i as f64 * ROW;
        let role = if row.control_plane { "control plane" } else { "worker" };
        let _ = write!(
            svg,
            r#"<g class="row" data-node="{0}"><rect class="row-bg" x="0" y="{y:.1}" width="{width}" height="{ROW}"/><text x="8" y="{1:.1}" class="node">{0}</text><text x="{2:.1}" y="{1:.1}" class="role">{role}</text>"#,
            esc(&row.node),
            y + 15.0,
            LABEL - 8.0,
        );
        for bar in &row.bars {
            let (a, b) = (x(bar.start), x(bar.end));
            let status = match bar.status {
                BarStatus::Done => "done",
                BarStatus::Skipped => "skipped",
                BarStatus::Failed => "failed",
                BarStatus::InDoubt => "in-doubt",
            };
            let error = bar.error.as_deref().map(|e| format!(" - {e}")).unwrap_or_default();
            let _ = write!(
                svg,
                r#"<rect class="bar {status}" data-kind="{kind}" x="{a:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{} ({}) {status}, {:.1}s{}</title></rect>"#,
                y + 4.0,
                (b - a).max(1.5),
                ROW - 8.0,
                colour(bar.kind),
                esc(&bar.step),
                esc(&bar.action),
                bar.seconds(),
                esc(&error),
                kind = bar.kind.name(),
            );
        }
        for mark in report.marks.iter().filter(|m| m.node.as_deref() == Some(row.node.as_str())) {
            let class = match mark.kind {
                MarkKind::Cordoned => "cordoned",
                MarkKind::ForeignCordon => "foreign-cordon",
                MarkKind::Uncordoned => "uncordoned",
                MarkKind::Failure => "failure",
                MarkKind::Recovered => "recovered",
                MarkKind::DrainWaited => "drain-waited",
                MarkKind::BudgetWait | MarkKind::Paused | MarkKind::Finished => continue,
            };
            let a = x(mark.at);
            if mark.kind == MarkKind::DrainWaited {
                let _ = write!(
                    svg,
                    r#"<circle class="mark drain-waited" cx="{a:.1}" cy="{:.1}" r="4"><title>{}</title></circle>"#,
                    y + ROW - 5.0,
                    esc(&mark.text)
                );
            } else if mark.kind == MarkKind::Failure {
                let _ = write!(
                    svg,
                    r#"<g class="mark failure"><circle cx="{a:.1}" cy="{:.1}" r="7"/><text x="{a:.1}" y="{:.1}" class="failure-x">&#215;</text><title>{}</title></g>"#,
                    y + ROW / 2.0,
                    y + ROW / 2.0 + 4.0,
                    esc(&mark.text)
                );
            } else {
                let _ = write!(
                    svg,
                    r#"<path class="mark {class}" d="M{a:.1},{:.1} l-4,-5 h8 z"><title>{}</title></path>"#,
                    y + 5.0,
                    esc(&mark.text)
                );
            }
        }
        svg.push_str("</g>");
    }
    // Run-wide marks: pause, finish.
    for mark in report.marks.iter().filter(|m| matches!(m.kind, MarkKind::Paused | MarkKind::Finished)) {
        let class = if mark.kind == MarkKind::Paused { "paused" } else { "finished" };
        let _ = write!(
            svg,
            r#"<line class="mark {class}" x1="{0:.1}" y1="{TOP}" x2="{0:.1}" y2="{1:.1}"><title>{2}</title></line>"#,
            x(mark.at),
            TOP + rows_height,
            esc(&mark.text)
        );
    }
    // Occupancy: workers out of service over time, as a step line.
    let max = report.summary.max_unavailable_seen.max(1);
    #[allow(clippy::cast_precision_loss)]
    let y_of = |n: usize| occ_top + OCCUPANCY - (n as f64 / max as f64) * (OCCUPANCY - 10.0);
    let mut path = format!("M{:.1},{:.1}", x(0.0), y_of(0));
    for o in &report.occupancy {
        let _ = write!(path, " H{:.1} V{:.1}", x(o.at), y_of(o.unavailable));
    }
    let _ = write!(path, " H{:.1}", x(duration));
    let _ = write!(
        svg,
        r#"<g id="occupancy"><text x="8" y="{:.1}" class="node">workers out</text><text x="8" y="{:.1}" class="role-left">of service (max {max})</text><line x1="{LABEL}" y1="{:.1}" x2="{:.1}" y2="{:.1}" class="tick"/><text x="{:.1}" y="{:.1}" class="tick-label">{max}</text><path d="{path}" class="occupancy"/></g>"#,
        occ_top + 30.0,
        occ_top + 46.0,
        y_of(0),
        LABEL + PLOT,
        y_of(0),
        LABEL - 6.0,
        y_of(max) + 4.0,
    );
    svg.push_str("</svg>");

    let s = &report.summary;
    let mut nodes = String::new();
    for n in &s.nodes {
        let _ = write!(
            nodes,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&n.node),
            if n.control_plane { "control plane" } else { "worker" },
            n.drains,
            optional(n.pods_moved),
            optional(n.budget_waits),
            took(n.busy)
        );
    }
    let mut slowest = String::new();
    for step in &s.slowest {
        let _ = write!(
            slowest,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&step.step),
            esc(&step.node),
            esc(&step.action),
            took(step.seconds)
        );
    }
    let mut events = String::new();
    for mark in report.marks.iter().filter(|m| {
        matches!(
            m.kind,
            MarkKind::BudgetWait
                | MarkKind::DrainWaited
                | MarkKind::Failure
                | MarkKind::Paused
                | MarkKind::Recovered
                | MarkKind::ForeignCordon
        )
    }) {
        let _ = write!(events, "<li><span class=\"at\">{}</span> {}</li>", clock(mark.at), esc(&mark.text));
    }
    if events.is_empty() {
        events.push_str("<li>No budget waits, failures, pauses or recoveries.</li>");
    }
    let mut legend = String::new();
    for kind in StepKind::ALL {
        let _ =
            write!(legend, r#"<span class="key"><i style="background:{}"></i>{}</span>"#, colour(kind), kind.name());
    }
    let status_class = match report.status {
        kubeladder_core::report::RunStatus::Finished => "ok",
        kubeladder_core::report::RunStatus::Failed { .. } => "bad",
        _ => "warn",
    };

    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>kubeladder report {run_id}</title>
<style>
body {{ font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #1d2733; background: #fff; }}
h1 {{ font-size: 20px; margin: 0 0 4px; }}
h2 {{ font-size: 16px; margin: 24px 0 8px; }}
.status {{ display: inline-block; padding: 2px 10px; border-radius: 10px; font-weight: 600; }}
.status.ok {{ background: #dff3e4; color: #17612d; }} .status.bad {{ background: #fbe0e0; color: #9b1c1c; }} .status.warn {{ background: #fff1d6; color: #8a5a00; }}
.facts {{ display: flex; flex-wrap: wrap; gap: 8px 28px; margin: 12px 0; }}
.facts div b {{ display: block; font-size: 18px; }}
.legend {{ margin: 8px 0; }} .key {{ margin-right: 16px; }} .key i {{ display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -1px; border-radius: 2px; }}
.scroll {{ overflow-x: auto; border: 1px solid #d8dee6; border-radius: 6px; }}
svg text {{ font: 12px system-ui, sans-serif; fill: #1d2733; }}
svg .role {{ text-anchor: end; fill: #6b7785; font-size: 10px; }} svg .role-left {{ fill: #6b7785; font-size: 10px; }}
svg .row-bg {{ fill: transparent; }} svg .row:nth-child(even) .row-bg {{ fill: rgba(0,0,0,0.025); }}
svg .row.hover .row-bg {{ fill: rgba(46,134,171,0.12); }}
svg .bar {{ stroke: rgba(0,0,0,0.25); stroke-width: 0.5; }} svg .bar.skipped {{ opacity: 0.35; }}
svg .bar.failed {{ stroke: #9b1c1c; stroke-width: 2; }} svg .bar.in-doubt {{ stroke: #1d2733; stroke-dasharray: 3 2; stroke-width: 1.2; opacity: 0.7; }}
svg .hop-line {{ stroke: #7a8796; stroke-dasharray: 4 3; }} svg .hop-label {{ font-weight: 600; fill: #3d4a59; }}
svg .tick {{ stroke: #9aa5b1; }} svg .tick-label {{ text-anchor: middle; fill: #6b7785; font-size: 10px; }}
svg .budget-wait {{ fill: rgba(237,174,73,0.28); stroke: #edae49; stroke-dasharray: 2 2; }}
svg .mark.cordoned {{ fill: #d1495b; }} svg .mark.uncordoned {{ fill: #66a182; }} svg .mark.foreign-cordon {{ fill: #555; }} svg .mark.recovered {{ fill: #2e86ab; }}
svg .drain-waited {{ fill: #edae49; stroke: #8a5a00; stroke-width: 1; }}
svg .failure circle {{ fill: #9b1c1c; }} svg .failure-x {{ fill: #fff; text-anchor: middle; font-weight: 700; }}
svg .paused {{ stroke: #8a5a00; stroke-width: 2; stroke-dasharray: 6 3; }} svg .finished {{ stroke: #17612d; stroke-width: 2; }}
svg .occupancy {{ fill: none; stroke: #d1495b; stroke-width: 2; }}
table {{ border-collapse: collapse; }} th, td {{ text-align: left; padding: 3px 14px 3px 0; border-bottom: 1px solid #eef1f4; }}
th {{ font-size: 12px; text-transform: uppercase; color: #6b7785; }}
ul.events {{ padding-left: 18px; }} .at {{ font-variant-numeric: tabular-nums; color: #6b7785; }}
.cols {{ display: flex; flex-wrap: wrap; gap: 40px; }}
footer {{ margin-top: 24px; color: #6b7785; font-size: 12px; }}
</style>
</head>
<body data-report-ready="no">
<h1>kubeladder: {from} &#8594; {to}</h1>
<div><span class="status {status_class}" id="status">{status}</span> run {run_id}, workers {strategy}, started {started}</div>
<div class="facts">
<div><b id="duration">{duration_text}</b>duration</div>
<div><b>{done}/{planned}</b>steps done ({skipped} already done)</div>
<div><b>{failures}</b>failed attempts</div>
<div><b>{pods}</b>pods moved</div>
<div><b>{budget_waits}</b>budget waits (evictions refused)</div>
<div><b>{window_waits}</b>window waits ({window_wait_time})</div>
<div><b>{max_out}</b>workers out at once, at most</div>
</div>
<div class="legend">{legend}<span class="key"><i style="background:rgba(237,174,73,0.5)"></i>budget wait</span><span class="key">&#9660; cordon (red) / uncordon (green)</span><span class="key">&#9679; drain held up by a budget (amber)</span><span class="key">&#10006; failure</span><span class="key">dashed: in doubt</span></div>
<div class="scroll">{svg}</div>
<div class="cols">
<div><h2>Nodes</h2><table id="nodes"><tr><th>Node</th><th>Role</th><th>Drains</th><th>Pods moved</th><th>Budget waits</th><th>Busy</th></tr>{nodes}</table></div>
<div><h2>Slowest steps</h2><table id="slowest"><tr><th>Step</th><th>Node</th><th>Action</th><th>Time</th></tr>{slowest}</table></div>
</div>
<h2>What needed attention</h2>
<ul class="events">{events}</ul>
<footer>Generated by kubeladder from the journal of run {run_id} (cluster {cluster}). Times are from the run's first record. Hover a bar for its step.</footer>
<script>
(function () {{
  var rows = document.querySelectorAll('#timeline .row');
  rows.forEach(function (row) {{
    row.addEventListener('mouseenter', function () {{ row.classList.add('hover'); }});
    row.addEventListener('mouseleave', function () {{ row.classList.remove('hover'); }});
  }});
  document.body.setAttribute('data-rows', String(rows.length));
  document.body.setAttribute('data-bars', String(document.querySelectorAll('#timeline .bar').length));
  document.body.setAttribute('data-report-ready', 'ok');
}})();
</script>
</body>
</html>
"#,
        run_id = esc(&report.run_id),
        cluster = esc(&report.cluster_uid),
        from = esc(&report.from),
        to = esc(&report.to),
        strategy = esc(&report.strategy),
        status = esc(&status_text(&report.status)),
        started = esc(report.first_record_at.as_deref().unwrap_or("-")),
        duration_text = clock(s.duration),
        done = s.steps_done,
        planned = s.steps_planned,
        skipped = s.steps_skipped,
        failures = s.failures,
        pods = optional(s.pods_moved),
        budget_waits = optional(s.budget_waits),
        window_waits = s.window_waits,
        window_wait_time = clock(s.window_wait_seconds),
        max_out = s.max_unavailable_seen,
    )
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // exact values by construction
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_clock_reads_like_a_clock() {
        assert_eq!(esc(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        assert_eq!(clock(59.6), "1:00");
        assert_eq!(clock(3725.0), "1:02:05");
        assert_eq!((took(1.84), took(75.0)), ("1.8s".to_owned(), "1:15".to_owned()));
        assert_eq!(tick_step(62.0), 10.0);
        assert_eq!(tick_step(3000.0), 300.0);
    }
}
