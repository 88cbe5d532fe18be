//! `kubeladder report` on real journals: a `demo` run (which prints the report's path), the
//! same journal cut as if the run had crashed, and bad input. The HTML page is loaded by a
//! real browser (headless Chromium): the rendered DOM has a row per node with bars and the
//! page's script ran without throwing; the screenshot is kept in the target directory
//! (`report-screenshot.png`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is the failure report

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn kubeladder(args: &[&str]) -> (i32, String, String) {
    kubeladder_in(std::env::temp_dir().as_path(), args)
}

/// Run the binary with `TMPDIR=tmp` (where `demo` keeps its journal and report).
fn kubeladder_in(tmp: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kubeladder"))
        .args(args)
        .env_remove("KUBECONFIG")
        .env("TMPDIR", tmp)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

/// Headless Chromium as the brief of `report` says: no sandbox (root), no network but loopback
/// files, a fresh profile.
fn chromium(profile: &Path, args: &[&str], page: &Path) -> (bool, String, String) {
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium (Debian package `chromium`, installed by .ci/run)");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn demo_journal(tmp: &Path) -> (PathBuf, PathBuf) {
    let (code, stdout, stderr) =
        kubeladder_in(tmp, &["demo", "--scenario", "small", "--to", "1.20", "--speed", "60", "-o", "plain"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let page = stdout
        .lines()
        .find_map(|l| l.strip_prefix("report: "))
        .unwrap_or_else(|| panic!("demo names its report: {stdout}"));
    let page = PathBuf::from(page);
    assert!(page.is_file(), "{}", page.display());
    let dir = page.parent().unwrap().to_owned();
    (dir, page)
}

#[test]
fn a_demo_run_gets_a_report_a_browser_renders() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, page) = demo_journal(tmp.path());
    assert!(dir.starts_with(tmp.path()), "{}", dir.display());
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: nothing to fetch.
    for outside in ["http://", "https://", " src=", "<link", "@import", "url("] {
        assert!(!html.contains(outside), "the page refers to {outside:?}");
    }

    // The model, as JSON, from the journal alone.
    let (code, json, stderr) = kubeladder(&["report", "--state-dir", dir.to_str().unwrap(), "-o", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["status"]["status"], "finished");
    let rows = report["rows"].as_array().unwrap();
    let nodes: Vec<&str> = rows.iter().map(|r| r["node"].as_str().unwrap()).collect();
    assert_eq!(nodes, ["cp-1", "worker-1", "worker-2"]);
    assert!(rows.iter().all(|r| !r["bars"].as_array().unwrap().is_empty()));
    assert_eq!(report["hops"].as_array().unwrap().len(), 2);
    // The drains were journaled: pods moved are known, per node.
    assert!(report["summary"]["pods_moved"].as_u64().unwrap() > 0, "{}", report["summary"]);
    let worker = &report["summary"]["nodes"][1];
    assert_eq!(worker["drains"], 2, "{worker}");
    let (code, table, _) = kubeladder(&["report", "--state-dir", dir.to_str().unwrap(), "-o", "table"]);
    assert_eq!(code, 0);
    assert!(table.contains("NODE") && table.contains("worker-2") && table.contains("Slowest steps"), "{table}");

    // A real browser renders it: one row per node, bars, and the page's script ran.
    let profile = tempfile::tempdir().unwrap();
    let (ok, dom, stderr) = chromium(profile.path(), &["--dump-dom"], &page);
    assert!(ok, "{stderr}");
    assert!(dom.contains(r#"data-report-ready="ok""#), "the page's script did not finish:\n{stderr}");
    assert!(dom.contains(r#"data-rows="3""#), "{dom}");
    assert_eq!(dom.matches(r#"<g class="row""#).count(), 3);
    let bars: usize = rows.iter().map(|r| r["bars"].as_array().unwrap().len()).sum();
    assert!(dom.contains(&format!(r#"data-bars="{bars}""#)), "{bars} bars expected");
    // Drains a budget held up are marked on their node's row.
    let held_up = report["marks"].as_array().unwrap().iter().filter(|m| m["kind"] == "drain-waited").count();
    assert_eq!(dom.matches(r#"class="mark drain-waited""#).count(), held_up);
    assert_eq!(held_up > 0, report["summary"]["budget_waits"].as_u64().unwrap() > 0);
    for kind in ["drain", "kubeadm", "packages", "restart", "wait"] {
        assert!(dom.contains(&format!(r#"data-kind="{kind}""#)), "no {kind} bar");
    }
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-screenshot.png");
    let _ = std::fs::remove_file(&shot);
    let profile = tempfile::tempdir().unwrap();
    let (ok, _, stderr) =
        chromium(profile.path(), &[&format!("--screenshot={}", shot.display()), "--window-size=1300,900"], &page);
    assert!(ok, "{stderr}");
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{} bytes", png.len());
    eprintln!("screenshot kept at {}", shot.display());

    // The same journal cut mid-run, a torn last line included, as a crash leaves it.
    let crashed = tempfile::tempdir().unwrap();
    std::fs::copy(dir.join("header.json"), crashed.path().join("header.json")).unwrap();
    let events = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    let lines: Vec<&str> = events.lines().collect();
    let mut cut = lines[..lines.len() / 2].join("\n");
    cut.push_str("\n{\"seq\":");
    std::fs::write(crashed.path().join("events.jsonl"), cut).unwrap();
    let out = crashed.path().join("crashed.html");
    let (code, stdout, stderr) =
        kubeladder(&["report", "--state-dir", crashed.path().to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.trim(), out.display().to_string());
    let (_, json, _) = kubeladder(&["report", "--state-dir", crashed.path().to_str().unwrap(), "-o", "json"]);
    let crashed_report: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(crashed_report["status"]["status"], "stopped", "{}", crashed_report["status"]);
}

#[test]
fn no_journal_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = kubeladder(&["report", "--state-dir", dir.path().to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains(&dir.path().display().to_string()), "{stderr}");
    let (code, stdout, stderr) =
        kubeladder(&["report", "--state-dir", dir.path().to_str().unwrap(), "-o", "json", "--out", "x.html"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty() && stderr.contains("--out"), "{stderr}");
}
