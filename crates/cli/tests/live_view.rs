//! The live view of `demo` (the same printer as `apply` and `resume`): on a pseudo-terminal
//! (`script(1)`) node rows update in place and only what matters is printed above them; in a
//! pipe every event is a plain line, as before.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is the failure report

use std::process::Command;

const DEMO: &str = "demo --scenario small --to 1.19 --speed 60";

/// Strip ANSI escape sequences (CSI ... letter) and carriage returns.
fn plain(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        if c != '\r' {
            out.push(c);
        }
    }
    out
}

#[test]
fn on_a_terminal_rows_update_in_place_and_only_what_matters_scrolls() {
    let tmp = tempfile::tempdir().unwrap();
    let command = format!("{} {DEMO}", env!("CARGO_BIN_EXE_kubeladder"));
    let out = Command::new("script")
        .args(["-qefc", &command, "/dev/null"])
        .env("TERM", "xterm-256color")
        .env("COLUMNS", "160")
        .env("LINES", "50")
        .env("TMPDIR", tmp.path())
        .env_remove("KUBECONFIG")
        .output()
        .expect("script(1) from bsdutils");
    let raw = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{raw}");
    // Drawn in place: cursor movements and line clears, not one line per step.
    assert!(raw.contains("\u{1b}["), "no terminal drawing: {raw}");
    let text = plain(&raw);
    // A node row with its hop, current step and elapsed time (hh:mm:ss).
    let row = text
        .lines()
        .find(|l| l.contains("worker-1") && l.contains("v1.19.16") && l.contains("00:00:"))
        .unwrap_or_else(|| panic!("no live row for worker-1:\n{text}"));
    assert!(!row.contains("started"), "{row}");
    // Above the rows: cordons and uncordons, but no per-step log lines.
    assert!(text.contains("node/worker-1 cordoned"), "{text}");
    assert!(text.contains("node/worker-1 uncordoned"), "{text}");
    assert!(text.contains("run finished"), "{text}");
    assert!(!text.contains("install-kubeadm           started"), "per-step lines on a terminal:\n{text}");
    assert!(!text.contains("  done\n"), "{text}");
    assert!(text.contains("Upgrade finished"), "{text}");
    assert!(text.contains("report: "), "{text}");
}

#[test]
fn in_a_pipe_every_event_is_a_plain_line() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kubeladder"))
        .args(DEMO.split(' '))
        .env("TMPDIR", tmp.path())
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}");
    assert!(!stdout.contains('\u{1b}'), "escape sequences in a pipe");
    let started = stdout.lines().filter(|l| l.ends_with(" started")).count();
    let done = stdout.lines().filter(|l| l.ends_with(" done") || l.ends_with(" already done")).count();
    assert!(started > 20 && started == done, "{started} started, {done} done:\n{stdout}");
    assert!(stdout.contains("node/worker-1 cordoned by this run"), "{stdout}");
    assert!(stdout.contains("report: "), "{stdout}");
}
