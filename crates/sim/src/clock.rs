//! The virtual clock: simulated time runs `speed` times faster than real time, so a long
//! upgrade can be rehearsed in seconds while ages and durations still read naturally.

use std::time::{Duration, Instant};

use jiff::Timestamp;

/// Simulated time. Cheap to copy; every reader computes "now" from the same origin.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    real_origin: Instant,
    virtual_origin: Timestamp,
    speed: f64,
}

impl Clock {
    /// A clock that starts at the real current time and runs `speed` times faster (at least 0.001).
    pub fn new(speed: f64) -> Self {
        let speed = if speed.is_finite() && speed > 0.001 { speed } else { 1.0 };
        Self { real_origin: Instant::now(), virtual_origin: Timestamp::now(), speed }
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// Seconds of simulated time since the clock started.
    pub fn elapsed_secs(&self) -> f64 {
        self.real_origin.elapsed().as_secs_f64() * self.speed
    }

    /// The simulated wall-clock time.
    pub fn now(&self) -> Timestamp {
        #[allow(clippy::cast_possible_truncation)]
        let nanos = (self.elapsed_secs() * 1e9) as i64;
        self.virtual_origin.checked_add(jiff::SignedDuration::from_nanos(nanos)).unwrap_or(self.virtual_origin)
    }

    /// The simulated wall-clock time as Kubernetes prints it (`2026-11-25T07:29:11Z`).
    pub fn now_rfc3339(&self) -> String {
        format_time(self.now())
    }

    /// Sleep `virtual_secs` of simulated time (at least a millisecond of real time).
    pub async fn sleep(&self, virtual_secs: f64) {
        tokio::time::sleep(self.real_duration(virtual_secs).max(Duration::from_millis(1))).await;
    }

    /// The real duration that `virtual_secs` of simulated time take.
    pub fn real_duration(&self, virtual_secs: f64) -> Duration {
        Duration::from_secs_f64((virtual_secs / self.speed).max(0.0))
    }
}

/// RFC 3339 at second precision, as in `metadata.creationTimestamp`.
pub fn format_time(ts: Timestamp) -> String {
    Timestamp::from_second(ts.as_second()).unwrap_or(ts).to_string()
}

/// Parse a Kubernetes timestamp; `None` when it is absent or malformed.
pub fn parse_time(text: &str) -> Option<Timestamp> {
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_clock_runs_ahead() {
        let clock = Clock::new(1000.0);
        std::thread::sleep(Duration::from_millis(20));
        assert!(clock.elapsed_secs() >= 10.0);
        assert!(format_time(clock.now()).ends_with('Z'));
        assert_eq!(clock.real_duration(1000.0), Duration::from_secs(1));
    }
}
