//! Running one command on a simulated host: strip `sudo -n --` and `env VAR=...`, apply
//! `drop_exec` and `command` faults, then dispatch to the tool. Unknown programs exit 127
//! (`CMD: command not found`), unknown options of known programs exit 2.

use super::crictl::{HOST_ETCDCTL, HOST_ETCDUTL, host_tool};
use super::etcdctl::{EtcdTool, EtcdView, SimMember};
use super::systemctl::Effect;
use super::{CommandOutput, apt, coreutils, crictl, etcdctl, kubeadm, rpm, shell, systemctl};
use crate::store::{Store, StoreInner};

/// Why a command got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecError {
    /// No host has this node name.
    NoSuchHost(String),
    /// A `drop_exec` fault: the connection closes without an answer.
    Dropped,
}

/// Run `argv` on `node`'s host.
pub(crate) async fn run(store: &Store, node: &str, argv: &[String]) -> Result<CommandOutput, ExecError> {
    let argv = shell::strip_sudo(argv);
    let plain = match shell::split_env(argv) {
        Ok((_, plain)) => plain,
        Err(out) => return Ok(out),
    };
    {
        let mut inner = store.lock();
        if !inner.hosts.contains(node) {
            return Err(ExecError::NoSuchHost(node.to_owned()));
        }
        if inner.faults.take_drop_exec(node) {
            return Err(ExecError::Dropped);
        }
        if let Some(out) = inner.faults.take_command(node, argv, plain) {
            return Ok(out);
        }
    }
    let Some((program, args)) = plain.split_first() else {
        return Ok(CommandOutput::fail(127, "env: missing command\n"));
    };
    let program = shell::program_name(program);
    if program == "kubeadm" {
        return Ok(kubeadm::kubeadm(store, node, args).await);
    }
    let (out, delay) = {
        let mut inner = store.lock();
        dispatch(&mut inner, node, program, args)
    };
    if delay > 0.0 {
        store.sleep(delay).await;
    }
    Ok(out)
}

/// Run a command that completes under the store's lock; returns it and its duration.
fn dispatch(inner: &mut StoreInner, node: &str, program: &str, args: &[String]) -> (CommandOutput, f64) {
    let now = inner.clock().elapsed_secs();
    let timings = inner.hosts.timings;
    let etcd_view = EtcdView {
        revision: inner.resource_version(),
        keys: crate::resources::RESOURCES.iter().map(|d| inner.count(&d.key())).sum(),
        serving: etcd_serving(inner, node),
        members: etcd_members(inner),
    };
    let Some(host) = inner.hosts.get_mut(node) else {
        return (CommandOutput::fail(255, format!("no host named {node}\n")), 0.0);
    };
    let apt_host = host.package_manager == super::PackageManager::Apt;
    let quick = timings.command_secs;
    match program {
        "sh" => (shell::sh(host, args, now), quick),
        "cat" => (shell::cat(host, args), quick),
        "ls" => (shell::ls(host, args), quick),
        "mkdir" => (shell::mkdir(host, args), quick),
        "cp" => (shell::cp(host, args, now), quick),
        "mv" => (shell::mv(host, args), quick),
        "rm" => (shell::rm(host, args), quick),
        "chmod" => (shell::chmod(host, args), quick),
        "cmp" => (shell::cmp(host, args), quick),
        "du" => (shell::du(&host.files, args), quick),
        "true" => (CommandOutput::default(), 0.0),
        "false" => (CommandOutput::fail(1, ""), 0.0),
        "apt-get" if apt_host => apt::apt_get(host, args, &timings),
        "apt-mark" if apt_host => (apt::apt_mark(host, args), quick),
        "apt-cache" if apt_host => (apt::apt_cache(host, args), quick),
        "dpkg-query" if apt_host => (apt::dpkg_query(host, args), quick),
        "dnf" | "dnf5" | "yum" => rpm::dnf(host, program, args, &timings),
        "rpm" => (rpm::rpm(host, args), quick),
        "kubelet" if host.installed("kubelet").is_some() && args.iter().any(|a| a == "--version") => {
            let version = host.package_kube_version("kubelet").map(|v| v.to_string()).unwrap_or_default();
            (CommandOutput::ok(format!("Kubernetes {version}\n")), quick)
        }
        "systemctl" => {
            let (out, effect) = systemctl::systemctl(host, args, now, timings.kubelet_restart_secs);
            if effect == Effect::KubeletRestarted {
                inner.faults.arm_node_not_ready(node);
            }
            (out, quick)
        }
        // No etcd tools on a kubeadm node unless the scenario installed them: kubeadm's
        // packages do not ship them (they live in the etcd image; see `crictl`).
        "etcdctl" => match host_tool(host, HOST_ETCDCTL) {
            Some(minor) => etcdctl::etcdctl(host, args, &etcd_view, now, EtcdTool { offline: false, minor }),
            None => (CommandOutput::not_found("etcdctl"), 0.0),
        },
        "etcdutl" => match host_tool(host, HOST_ETCDUTL) {
            Some(minor) => etcdctl::etcdctl(host, args, &etcd_view, now, EtcdTool { offline: true, minor }),
            None => (CommandOutput::not_found("etcdutl"), 0.0),
        },
        "crictl" => crictl::crictl(host, args, &etcd_view, now),
        "sha256sum" => (coreutils::sha256sum(host, args), quick),
        "stat" => (coreutils::stat(host, args), quick),
        "base64" => (coreutils::base64(host, args), quick),
        other => (CommandOutput::not_found(other), 0.0),
    }
}

/// The etcd cluster's members: every host with a stacked etcd (an etcd manifest, or one
/// stopped aside by kubeladder), then the stale members faults add.
fn etcd_members(inner: &StoreInner) -> Vec<SimMember> {
    let mut members: Vec<SimMember> = inner
        .hosts
        .by_node
        .iter()
        .filter(|(_, h)| {
            h.files.is_file(&format!("{}/etcd.yaml", super::MANIFESTS_DIR))
                || h.files.is_file(&format!("{}/kubeladder-stopped/etcd.yaml", super::KUBEADM_TMP_DIR))
        })
        .map(|(node, h)| SimMember { name: node.clone(), ip: h.address.clone(), serving: etcd_serving(inner, node) })
        .collect();
    members.extend(inner.faults.stale_etcd_members().into_iter().map(|(name, ip)| SimMember {
        name,
        ip,
        serving: false,
    }));
    members
}

/// Whether the etcd static pod on `node` is Ready (so that a local etcdctl gets answers).
fn etcd_serving(inner: &StoreInner, node: &str) -> bool {
    let Some(mirror) = inner.hosts.get(node).and_then(|h| h.mirrors.get("etcd.yaml")) else { return false };
    inner.get(crate::resources::PODS, &mirror.namespace, &mirror.name).is_some_and(crate::model::is_ready)
}
