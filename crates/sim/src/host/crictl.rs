//! `crictl` against the host's container runtime, as far as kubeladder uses it to reach
//! the tools inside kubeadm's etcd static pod: `crictl ps` (`--name REGEX`, `--state`,
//! `--label`, `-q`) and `crictl exec CONTAINER etcdctl|etcdutl ...`.
//!
//! Why this exists: kubeadm's packages ship no `etcdctl`; it lives in the etcd image
//! (`registry.k8s.io/etcd`, distroless: the etcd binaries and nothing else, so no shell and
//! no `env` inside - see cozystack/etcd-operator#360 and etcd's Dockerfile). On a real node
//! the way in is the CRI: <https://kubernetes.io/docs/tasks/debug/debug-cluster/crictl/>.
//! The container sees only what kubeadm's etcd manifest mounts (hostPath
//! `/var/lib/etcd` and `/etc/kubernetes/pki/etcd`, at the same paths:
//! kubernetes/kubernetes `cmd/kubeadm/app/phases/etcd/local.go`, `GetEtcdPodSpec`), so a
//! snapshot written elsewhere inside it is not on the host.
//!
//! The tools are the ones of the etcd version the manifest's image names: 3.4 has
//! `etcdctl` only (with `snapshot status`), 3.5 adds `etcdutl` (etcdctl's `snapshot status`
//! still works, deprecated), 3.6 removed `snapshot status|restore` from etcdctl
//! (etcd-io/etcd#13798; <https://etcd.io/docs/v3.6/op-guide/recovery/>).

use super::etcdctl::{EtcdTool, EtcdView};
use super::files::normalize;
use super::{CommandOutput, Host, MANIFESTS_DIR};

/// The paths kubeadm's etcd manifest mounts into the container (same path on both sides).
pub(crate) const ETCD_MOUNTS: [&str; 2] = ["/var/lib/etcd", "/etc/kubernetes/pki/etcd"];

/// Where a host's own etcd tools are, when a scenario installs them (none by default:
/// kubeadm's packages do not ship them).
pub const HOST_ETCDCTL: &str = "/usr/local/bin/etcdctl";
pub const HOST_ETCDUTL: &str = "/usr/local/bin/etcdutl";

/// The etcd version (`major.minor`) of a tool binary the scenario installed on the host:
/// the file's content names it (`etcdctl 3.5.21`).
pub(crate) fn host_tool(host: &Host, path: &str) -> Option<(u32, u32)> {
    let text = host.files.text(path)?;
    parse_minor(text.split_whitespace().nth(1)?)
}

fn parse_minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.trim_start_matches('v').split(['.', '-']);
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// The etcd container of this host when its static pod runs: (id, full image version).
fn etcd_container(host: &Host, serving: bool) -> Option<(String, String)> {
    if !serving {
        return None;
    }
    let manifest = host.files.text(&format!("{MANIFESTS_DIR}/etcd.yaml"))?;
    let version = kubeladder_core::image::manifest_image(manifest)?.tag?.to_owned();
    let id = crate::util::content_hash(&format!("{}:etcd:{version}", host.address));
    Some((id[..13].to_owned(), version))
}

/// `crictl SUBCOMMAND ...`.
pub(crate) fn crictl(host: &mut Host, args: &[String], view: &EtcdView, now: f64) -> (CommandOutput, f64) {
    let Some((sub, rest)) = args.split_first() else {
        return (CommandOutput::usage("crictl: a subcommand is required (ps, exec)"), 0.0);
    };
    match sub.as_str() {
        "ps" => (ps(host, rest, view), 0.05),
        "exec" => exec(host, rest, view, now),
        other => (CommandOutput::fail(1, format!("No help topic for '{other}'\n")), 0.0),
    }
}

fn ps(host: &Host, args: &[String], view: &EtcdView) -> CommandOutput {
    let mut quiet = false;
    let mut name: Option<String> = None;
    let mut state: Option<String> = None;
    let mut labels: Vec<String> = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if arg.starts_with("--") => (f, Some(v.to_owned())),
            _ => (arg.as_str(), None),
        };
        match flag {
            "-q" | "--quiet" => quiet = true,
            "--name" | "--state" | "-s" | "--label" => {
                let Some(value) = inline.or_else(|| iter.next().cloned()) else {
                    return CommandOutput::fail(1, format!("flag needs an argument: {flag}\n"));
                };
                match flag {
                    "--name" => name = Some(value),
                    "--label" => labels.push(value),
                    _ => state = Some(value.to_lowercase()),
                }
            }
            other => return CommandOutput::fail(1, format!("flag provided but not defined: {other}\n")),
        }
    }
    let container = etcd_container(host, view.serving).filter(|_| {
        let name_ok = name.as_deref().is_none_or(|n| {
            let n = n.trim_start_matches('^').trim_end_matches('$');
            "etcd".contains(n)
        });
        let state_ok = state.as_deref().is_none_or(|s| s == "running");
        let labels_ok = labels.iter().all(|l| {
            matches!(l.as_str(), "io.kubernetes.pod.namespace=kube-system" | "io.kubernetes.container.name=etcd")
        });
        name_ok && state_ok && labels_ok
    });
    let mut out = CommandOutput::default();
    if !quiet {
        out.line("CONTAINER           IMAGE               CREATED             STATE               NAME                ATTEMPT             POD ID              POD");
    }
    if let Some((id, _)) = container {
        if quiet {
            out.line(id);
        } else {
            out.line(format!("{id}       sha256:etcd         About an hour ago   Running             etcd                0                   {id}       etcd"));
        }
    }
    out
}

fn exec(host: &mut Host, args: &[String], view: &EtcdView, now: f64) -> (CommandOutput, f64) {
    let args: Vec<&String> = args.iter().skip_while(|a| matches!(a.as_str(), "-i" | "-t" | "-it")).collect();
    let Some((id, argv)) = args.split_first() else {
        return (CommandOutput::fail(1, "ID or name of the container is required\n"), 0.0);
    };
    let Some((found, version)) = etcd_container(host, view.serving).filter(|(found, _)| found.starts_with(id.as_str()))
    else {
        return (
            CommandOutput::fail(
                1,
                format!("level=fatal msg=\"execing command in container: container \\\"{id}\\\" not found\"\n"),
            ),
            0.1,
        );
    };
    let _ = found;
    let Some(minor) = parse_minor(&version) else {
        return (CommandOutput::fail(1, "level=fatal msg=\"etcd image without a version\"\n"), 0.0);
    };
    let Some((program, rest)) = argv.split_first() else {
        return (CommandOutput::fail(1, "level=fatal msg=\"command is required\"\n"), 0.0);
    };
    let rest: Vec<String> = rest.iter().map(|s| (*s).clone()).collect();
    let missing = || {
        CommandOutput::fail(
            1,
            format!(
                "level=fatal msg=\"execing command in container: OCI runtime exec failed: exec failed: unable to start container process: exec: \\\"{program}\\\": executable file not found in $PATH: unknown\"\n"
            ),
        )
    };
    // Paths the command names must be mounted to exist on the host.
    let outside = rest.iter().filter(|a| a.starts_with('/')).find(|a| {
        let p = normalize(a);
        !ETCD_MOUNTS.iter().any(|m| p == *m || p.starts_with(&format!("{m}/")))
    });
    match program.as_str() {
        "etcdctl" | "etcdutl" if program.as_str() == "etcdutl" && minor < (3, 5) => (missing(), 0.1),
        "etcdctl" | "etcdutl" => {
            if let Some(path) = outside {
                let text = if rest.iter().any(|a| a == "save") {
                    format!("Error: could not open {path}.part (open {path}.part: no such file or directory)\n")
                } else {
                    format!("Error: stat {path}: no such file or directory\n")
                };
                return (CommandOutput::fail(1, text), 0.1);
            }
            let tool = EtcdTool { offline: program.as_str() == "etcdutl", minor };
            super::etcdctl::etcdctl(host, &rest, view, now, tool)
        }
        _ => (missing(), 0.1),
    }
}
