//! `systemctl` for the kubelet (and the container runtime): `restart kubelet` makes the node
//! NotReady until the restart delay has passed, then Ready at the installed kubelet
//! package's version; `stop` leaves it NotReady (Unknown); `is-active` reports the service.

use super::{CommandOutput, Host, Kubelet};

/// What `systemctl` did, for the faults that wait for a kubelet restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    None,
    KubeletRestarted,
}

/// `systemctl daemon-reload | restart|start|stop|is-active|status UNIT`.
pub(crate) fn systemctl(host: &mut Host, args: &[String], now: f64, restart_secs: f64) -> (CommandOutput, Effect) {
    let words: Vec<&str> =
        args.iter().map(String::as_str).filter(|a| !matches!(*a, "--quiet" | "-q" | "--no-pager")).collect();
    if let Some(bad) = words.iter().find(|w| w.starts_with('-')) {
        return (CommandOutput::usage(format!("systemctl: unrecognized option '{bad}'")), Effect::None);
    }
    let Some((verb, units)) = words.split_first() else {
        return (
            CommandOutput::usage("systemctl: a verb is required (daemon-reload, restart, is-active, ...)"),
            Effect::None,
        );
    };
    if *verb == "daemon-reload" {
        return (CommandOutput::default(), Effect::None);
    }
    if !matches!(*verb, "restart" | "start" | "stop" | "is-active" | "status" | "enable" | "try-restart") {
        return (CommandOutput::fail(1, format!("Unknown command verb {verb}.\n")), Effect::None);
    }
    if units.is_empty() {
        return (CommandOutput::fail(1, "Too few arguments.\n"), Effect::None);
    }
    let mut out = CommandOutput::default();
    let mut effect = Effect::None;
    for unit in units {
        let name = unit.strip_suffix(".service").unwrap_or(unit);
        let known = match name {
            "kubelet" => host.installed("kubelet").is_some(),
            "containerd" | "docker" | "crio" => true,
            _ => false,
        };
        if !known {
            if *verb == "is-active" {
                out.stdout.push_str("inactive\n");
                out.exit_code = 3;
            } else {
                out.stderr.push_str(&format!("Failed to {verb} {name}.service: Unit {name}.service not found.\n"));
                out.exit_code = if *verb == "status" { 4 } else { 5 };
            }
            continue;
        }
        if name != "kubelet" {
            if *verb == "is-active" {
                out.stdout.push_str("active\n");
            }
            continue;
        }
        match *verb {
            "restart" | "try-restart" => {
                host.kubelet = Kubelet::Restarting { until: now + restart_secs };
                effect = Effect::KubeletRestarted;
            }
            "start" if host.kubelet == Kubelet::Stopped => {
                host.kubelet = Kubelet::Restarting { until: now + restart_secs };
                effect = Effect::KubeletRestarted;
            }
            "stop" => host.kubelet = Kubelet::Stopped,
            "is-active" | "status" => {
                let active = host.kubelet != Kubelet::Stopped;
                if *verb == "is-active" {
                    out.stdout.push_str(if active { "active\n" } else { "inactive\n" });
                } else {
                    out.stdout.push_str(&format!(
                        "● kubelet.service - kubelet: The Kubernetes Node Agent\n     Loaded: loaded (/lib/systemd/system/kubelet.service; enabled)\n     Active: {}\n",
                        if active { "active (running)" } else { "inactive (dead)" }
                    ));
                }
                if !active {
                    out.exit_code = 3;
                }
            }
            _ => {}
        }
    }
    (out, effect)
}
