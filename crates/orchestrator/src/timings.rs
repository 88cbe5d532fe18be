//! Phase timings for benchmarks and for reporting a slow run: with `KUBELADDER_TIMINGS=1`
//! in the environment, every timed phase prints `timing<TAB>NAME<TAB>SECONDS` on stderr when
//! it ends. Off (the default), a phase is a plain call.

use std::future::Future;
use std::io::Write;
use std::sync::OnceLock;
use std::time::Instant;

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("KUBELADDER_TIMINGS").is_some_and(|v| !v.is_empty() && v != "0"))
}

fn report(name: &str, start: Instant) {
    // A closed stderr must not fail the command being timed.
    let _ = writeln!(std::io::stderr().lock(), "timing\t{name}\t{:.6}", start.elapsed().as_secs_f64());
}

pub fn phase<T>(name: &str, f: impl FnOnce() -> T) -> T {
    if !enabled() {
        return f();
    }
    let start = Instant::now();
    let value = f();
    report(name, start);
    value
}

pub async fn phase_async<T>(name: &str, f: impl Future<Output = T>) -> T {
    if !enabled() {
        return f.await;
    }
    let start = Instant::now();
    let value = f.await;
    report(name, start);
    value
}
