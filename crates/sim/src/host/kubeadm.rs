//! `kubeadm version`, `kubeadm upgrade plan|apply|node`, with kubeadm's output, its
//! version policy (core's `kubeadm_policy`, upstream messages), its health checks, and the
//! upgrade itself ([`super::control_plane`]). kubeadm's version is the installed kubeadm
//! package's.

use kubeladder_core::KubeVersion;
use kubeladder_core::image;
use kubeladder_core::kubeadm::StaticPod;
use kubeladder_core::skew::{KubeadmPolicyInput, kubeadm_policy};

use super::control_plane::{
    UpgradeOptions, apply_addons, config_version, decodable_config, kubelet_config_map, mark_control_planes,
    upgrade_static_pods, upload_config, write_kubelet_config,
};
use super::{ADMIN_CONF, CommandOutput, manifests};
use crate::model;
use crate::resources::NODES;
use crate::store::{Store, StoreInner, name_of};
use crate::util::str_at;

const STACK_HINT: &str = "To see the stack trace of this error execute with --v=5 or higher\n";

fn fatal(mut out: CommandOutput, message: impl AsRef<str>) -> CommandOutput {
    out.exit_code = 1;
    out.stderr.push_str(message.as_ref());
    if !out.stderr.ends_with('\n') {
        out.stderr.push('\n');
    }
    out.stderr.push_str(STACK_HINT);
    out
}

/// Flags of `kubeadm upgrade apply|node|plan`.
#[derive(Debug, Default)]
#[allow(clippy::struct_excessive_bools)]
struct Flags {
    yes: bool,
    force: bool,
    dry_run: bool,
    allow_experimental: bool,
    allow_release_candidates: bool,
    etcd_upgrade: bool,
    renew_certificates: bool,
    ignore_preflight: Vec<String>,
    positional: Vec<String>,
}

fn parse_bool(flag: &str, value: &str) -> Result<bool, CommandOutput> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        other => Err(CommandOutput::usage(format!(
            "invalid argument \"{other}\" for \"{flag}\" flag: strconv.ParseBool: parsing \"{other}\": invalid syntax"
        ))),
    }
}

/// Parse the flags a subcommand (`apply`, `node`, `plan`) accepts.
fn parse_flags(command: &str, args: &[String]) -> Result<Flags, CommandOutput> {
    let mut flags = Flags { etcd_upgrade: true, renew_certificates: true, ..Flags::default() };
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let (name, value) = match arg.split_once('=') {
            Some((name, value)) if arg.starts_with("--") => (name, Some(value)),
            _ => (arg.as_str(), None),
        };
        let allowed: &[&str] = match command {
            "apply" => &[
                "-y",
                "--yes",
                "-f",
                "--force",
                "--dry-run",
                "--allow-experimental-upgrades",
                "--allow-release-candidate-upgrades",
                "--etcd-upgrade",
                "--certificate-renewal",
                "--ignore-preflight-errors",
                "--config",
                "--patches",
                "--kubeconfig",
                "--print-config",
                "-v",
                "--v",
            ],
            "node" => &[
                "--dry-run",
                "--etcd-upgrade",
                "--certificate-renewal",
                "--ignore-preflight-errors",
                "--patches",
                "--kubeconfig",
                "--skip-phases",
                "-v",
                "--v",
            ],
            _ => &[
                "--allow-experimental-upgrades",
                "--allow-release-candidate-upgrades",
                "--ignore-preflight-errors",
                "--config",
                "--kubeconfig",
                "--print-config",
                "-o",
                "--output",
                "-v",
                "--v",
            ],
        };
        if !name.starts_with('-') {
            flags.positional.push(arg.clone());
            continue;
        }
        if !allowed.contains(&name) {
            return Err(CommandOutput::usage(format!(
                "unknown flag: {name}\nTo see the stack trace of this error execute with --v=5 or higher"
            )));
        }
        let mut value_of = |value: Option<&str>| -> Result<String, CommandOutput> {
            value
                .map(str::to_owned)
                .or_else(|| iter.next().cloned())
                .ok_or_else(|| CommandOutput::usage(format!("flag needs an argument: {name}")))
        };
        let switch = |flag: &mut bool| -> Result<(), CommandOutput> {
            *flag = value.map_or(Ok(true), |v| parse_bool(name, v))?;
            Ok(())
        };
        match name {
            "-y" | "--yes" => switch(&mut flags.yes)?,
            "-f" | "--force" => switch(&mut flags.force)?,
            "--dry-run" => switch(&mut flags.dry_run)?,
            "--allow-experimental-upgrades" => switch(&mut flags.allow_experimental)?,
            "--allow-release-candidate-upgrades" => switch(&mut flags.allow_release_candidates)?,
            "--etcd-upgrade" => switch(&mut flags.etcd_upgrade)?,
            "--certificate-renewal" => switch(&mut flags.renew_certificates)?,
            "--print-config" => {}
            "--ignore-preflight-errors" => {
                let list = value_of(value)?;
                flags.ignore_preflight.extend(list.split(',').map(|s| s.trim().to_lowercase()));
            }
            _ => {
                value_of(value)?;
            }
        }
    }
    Ok(flags)
}

/// `kubeadm ...`
pub(crate) async fn kubeadm(store: &Store, node: &str, args: &[String]) -> CommandOutput {
    let mut words: Vec<String> = Vec::new();
    let mut rest: Vec<String> = Vec::new();
    // Leading words are the subcommand path; the rest are its arguments.
    for arg in args {
        if rest.is_empty() && !arg.starts_with('-') && words.len() < 2 {
            words.push(arg.clone());
        } else {
            rest.push(arg.clone());
        }
    }
    let installed = store.lock().hosts.get(node).and_then(|h| h.package_kube_version("kubeadm"));
    let Some(kubeadm_version) = installed else { return CommandOutput::not_found("kubeadm") };
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["version"] => version(&kubeadm_version, &rest),
        ["upgrade", "plan"] => {
            let out = plan(&store.lock(), node, &kubeadm_version, &rest);
            store.sleep(1.0).await;
            out
        }
        ["upgrade", "apply"] => apply(store, node, &kubeadm_version, &rest).await,
        ["upgrade", "node"] => upgrade_node(store, node, &kubeadm_version, &rest).await,
        ["upgrade"] | ["upgrade", _] => CommandOutput::usage(format!(
            "unknown command {:?} for \"kubeadm upgrade\"; known: plan, apply, node",
            words.get(1).copied().unwrap_or_default()
        )),
        _ => CommandOutput::usage(format!(
            "unknown command {:?} for \"kubeadm\"\nRun 'kubeadm --help' for usage.",
            words.first().copied().unwrap_or_default()
        )),
    }
}

fn version(kubeadm: &KubeVersion, args: &[String]) -> CommandOutput {
    let mut output = String::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "-o" | "--output" => output = iter.next().cloned().unwrap_or_default(),
            long if long.starts_with("--output=") => long["--output=".len()..].clone_into(&mut output),
            short if short.starts_with("-o") => short[2..].clone_into(&mut output),
            other => return CommandOutput::usage(format!("unknown flag: {other}")),
        }
    }
    let info = format!(
        "Major:\"{}\", Minor:\"{}\", GitVersion:\"{kubeadm}\", GitCommit:\"0000000000000000000000000000000000000000\", GitTreeState:\"clean\", BuildDate:\"2021-10-27T18:39:22Z\", GoVersion:\"go1.16.9\", Compiler:\"gc\", Platform:\"linux/amd64\"",
        kubeadm.major, kubeadm.minor
    );
    match output.as_str() {
        "" => CommandOutput::ok(format!("kubeadm version: &version.Info{{{info}}}\n")),
        "short" => CommandOutput::ok(format!("{kubeadm}\n")),
        "json" => CommandOutput::ok(format!(
            "{{\n  \"clientVersion\": {{\n    \"major\": \"{}\",\n    \"minor\": \"{}\",\n    \"gitVersion\": \"{kubeadm}\",\n    \"gitTreeState\": \"clean\",\n    \"platform\": \"linux/amd64\"\n  }}\n}}\n",
            kubeadm.major, kubeadm.minor
        )),
        "yaml" => CommandOutput::ok(format!(
            "clientVersion:\n  gitTreeState: clean\n  gitVersion: {kubeadm}\n  major: \"{}\"\n  minor: \"{}\"\n  platform: linux/amd64\n",
            kubeadm.major, kubeadm.minor
        )),
        other => CommandOutput::usage(format!("error: invalid output format: {other}")),
    }
}

/// What kubeadm reads from the cluster before planning or applying.
#[derive(Debug)]
struct ClusterView {
    /// The API server's version (`/version`).
    cluster: KubeVersion,
    /// Every node's kubelet version.
    kubelets: Vec<(String, KubeVersion)>,
    etcd: String,
    coredns: String,
}

/// kubeadm's configuration and health checks; the view of the cluster, or the failure.
fn preflight(
    inner: &StoreInner,
    node: &str,
    kubeadm: &KubeVersion,
    flags: &Flags,
    out: &mut CommandOutput,
) -> Result<ClusterView, String> {
    let Some(host) = inner.hosts.get(node) else { return Err(format!("no host {node}")) };
    if !host.files.is_file(ADMIN_CONF) {
        return Err(format!(
            "couldn't create a Kubernetes client from file \"{ADMIN_CONF}\": failed to load admin kubeconfig: open {ADMIN_CONF}: no such file or directory"
        ));
    }
    out.line("[upgrade/config] Making sure the configuration is correct:");
    out.line("[upgrade/config] Reading configuration from the cluster...");
    out.line("[upgrade/config] FYI: You can look at this config file with 'kubectl -n kube-system get cm kubeadm-config -o yaml'",
    );
    if config_version(inner).is_none() {
        return Err(
            "[upgrade/config] FATAL: failed to get config map: configmaps \"kubeadm-config\" not found".to_owned()
        );
    }
    decodable_config(inner, kubeadm).map_err(|e| format!("[upgrade/config] FATAL: {e}"))?;
    out.line("[preflight] Running pre-flight checks.");
    out.line("[upgrade] Running cluster health checks");
    let ignored = |check: &str| flags.ignore_preflight.iter().any(|i| i == "all" || i == &check.to_lowercase());
    let mut errors = Vec::new();
    let not_ready: Vec<String> = inner
        .list(NODES, None)
        .filter(|n| {
            model::labels(n).is_some_and(|l| {
                l.contains_key("node-role.kubernetes.io/control-plane")
                    || l.contains_key("node-role.kubernetes.io/master")
            })
        })
        .filter(|n| !model::is_ready(n))
        .map(|n| name_of(n).to_owned())
        .collect();
    if !not_ready.is_empty() && !ignored("ControlPlaneNodesReady") {
        errors.push(format!(
            "\t[ERROR ControlPlaneNodesReady]: there are NotReady control-planes in the cluster: [{}]",
            not_ready.join(" ")
        ));
    }
    let missing: Vec<String> =
        StaticPod::VERSIONED.iter().map(|c| c.manifest()).filter(|path| !host.files.is_file(path)).collect();
    if !missing.is_empty() && !ignored("StaticPodManifest") {
        for path in missing {
            errors.push(format!("\t[ERROR StaticPodManifest]: the static pod manifest file {path} does not exist"));
        }
    }
    if !errors.is_empty() {
        return Err(format!(
            "[upgrade/health] FATAL: [preflight] Some fatal errors occurred:\n{}\n[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`",
            errors.join("\n")
        ));
    }
    let cluster = KubeVersion::parse(&super::control_plane::apiserver_version(inner))
        .map_err(|e| format!("[upgrade/versions] FATAL: the cluster version is unreadable: {e}"))?;
    let kubelets = inner
        .list(NODES, None)
        .filter_map(|n| {
            KubeVersion::parse(str_at(n, "status.nodeInfo.kubeletVersion")).ok().map(|v| (name_of(n).to_owned(), v))
        })
        .collect();
    let etcd = host
        .files
        .text(&StaticPod::Etcd.manifest())
        .and_then(image::manifest_image)
        .and_then(|i| i.tag)
        .unwrap_or_default()
        .to_owned();
    let coredns = inner
        .get(crate::resources::DEPLOYMENTS, "kube-system", "coredns")
        .and_then(|d| crate::util::get_path(d, "spec.template.spec.containers"))
        .and_then(serde_json::Value::as_array)
        .and_then(|c| c.first())
        .and_then(|c| image::tag(str_at(c, "image")).map(str::to_owned))
        .unwrap_or_default();
    Ok(ClusterView { cluster, kubelets, etcd, coredns })
}

fn plan(inner: &StoreInner, node: &str, kubeadm: &KubeVersion, args: &[String]) -> CommandOutput {
    let flags = match parse_flags("plan", args) {
        Ok(flags) => flags,
        Err(out) => return out,
    };
    let mut out = CommandOutput::default();
    let view = match preflight(inner, node, kubeadm, &flags, &mut out) {
        Ok(view) => view,
        Err(message) => return fatal(out, message),
    };
    out.line("[upgrade] Fetching available versions to upgrade to");
    out.line(format!("[upgrade/versions] Cluster version: {}", view.cluster));
    out.line(format!("[upgrade/versions] kubeadm version: {kubeadm}"));
    let target = if let Some(text) = flags.positional.first() {
        match KubeVersion::parse(text) {
            Ok(v) if v.patch.is_some() => v,
            _ => return fatal(out, format!("[upgrade/versions] FATAL: couldn't parse version {text:?}")),
        }
    } else {
        out.line("[upgrade/versions] WARNING: Couldn't fetch latest stable version from the internet: unable to get URL \"https://dl.k8s.io/release/stable.txt\": Get \"https://dl.k8s.io/release/stable.txt\": dial tcp: lookup dl.k8s.io: no such host",
        );
        out.line("[upgrade/versions] WARNING: Falling back to current kubeadm version as latest stable version");
        *kubeadm
    };
    out.line(format!("[upgrade/versions] Target version: {target}"));
    out.line(format!("[upgrade/versions] Latest version in the {} series: {}", view.cluster.minor(), view.cluster));
    if target <= view.cluster {
        out.line("\nAwesome, you're up-to-date! Enjoy!");
        return out;
    }
    let mut counts: Vec<(KubeVersion, usize)> = Vec::new();
    for (_, version) in &view.kubelets {
        match counts.iter_mut().find(|(v, _)| v == version) {
            Some((_, n)) => *n += 1,
            None => counts.push((*version, 1)),
        }
    }
    counts.sort();
    out.line("\nComponents that must be upgraded manually after you have upgraded the control plane with 'kubeadm upgrade apply':",
    );
    out.line("COMPONENT   CURRENT        TARGET");
    for (i, (version, n)) in counts.iter().enumerate() {
        let name = if i == 0 { "kubelet" } else { "" };
        out.line(format!("{name:<11} {:<14} {target}", format!("{n} x {version}")));
    }
    let etcd = manifests::etcd_version(&target);
    let coredns = manifests::coredns_image(&target);
    let coredns = image::tag(&coredns).unwrap_or(coredns.as_str());
    out.line("\nUpgrade to the latest stable version:\n");
    out.line("COMPONENT                 CURRENT    TARGET");
    for component in ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"] {
        out.line(format!("{component:<25} {:<10} {target}", view.cluster.to_string()));
    }
    out.line(format!("{:<25} {:<10} {coredns}", "CoreDNS", view.coredns));
    out.line(format!("{:<25} {:<10} {etcd}", "etcd", view.etcd));
    out.line("\nYou can now apply the upgrade by executing the following command:\n");
    out.line(format!("\tkubeadm upgrade apply {target}"));
    out.line("\n_____________________________________________________________________\n");
    out
}

#[allow(clippy::too_many_lines)]
async fn apply(store: &Store, node: &str, kubeadm: &KubeVersion, args: &[String]) -> CommandOutput {
    let flags = match parse_flags("apply", args) {
        Ok(flags) => flags,
        Err(out) => return out,
    };
    let mut out = CommandOutput::default();
    let target = {
        let inner = store.lock();
        let view = match preflight(&inner, node, kubeadm, &flags, &mut out) {
            Ok(view) => view,
            Err(message) => return fatal(out, message),
        };
        let Some(text) = flags.positional.first() else {
            return fatal(
                out,
                "[upgrade/version] FATAL: missing one or more required arguments. Required arguments: [version]",
            );
        };
        let target = match KubeVersion::parse(text) {
            Ok(v) if v.patch.is_some() => v,
            _ => {
                return fatal(
                    out,
                    format!("[upgrade/version] FATAL: couldn't parse version {text:?}: expected vMAJOR.MINOR.PATCH"),
                );
            }
        };
        out.line(format!("[upgrade/version] You have chosen to change the cluster version to \"{target}\""));
        out.line(format!("[upgrade/versions] Cluster version: {}", view.cluster));
        out.line(format!("[upgrade/versions] kubeadm version: {kubeadm}"));
        let kubelets: Vec<KubeVersion> = view.kubelets.iter().map(|(_, v)| *v).collect();
        let policy = kubeadm_policy(&KubeadmPolicyInput {
            cluster: view.cluster,
            kubeadm: *kubeadm,
            target,
            kubelets: &kubelets,
            allow_experimental: flags.allow_experimental,
            allow_release_candidates: flags.allow_release_candidates,
        });
        let bullets = |list: &[String]| {
            list.iter().fold(String::new(), |mut text, m| {
                text.push_str("\t- ");
                text.push_str(m);
                text.push('\n');
                text
            })
        };
        if !policy.mandatory.is_empty() {
            let all: Vec<String> = policy.mandatory.iter().chain(&policy.skippable).cloned().collect();
            return fatal(
                out,
                format!(
                    "[upgrade/version] FATAL: the --version argument is invalid due to these fatal errors:\n\n{}\nPlease fix the misalignments highlighted above and try upgrading again",
                    bullets(&all)
                ),
            );
        }
        if !policy.skippable.is_empty() {
            if !flags.force {
                return fatal(
                    out,
                    format!(
                        "[upgrade/version] FATAL: the --version argument is invalid due to these errors:\n\n{}\nCan be bypassed if you pass the --force flag",
                        bullets(&policy.skippable)
                    ),
                );
            }
            out.line(format!(
                    "[upgrade/version] Found {} potential version compatibility errors but skipping since the --force flag is set: \n\n{}",
                    policy.skippable.len(),
                    bullets(&policy.skippable)
                ),
            );
        }
        if !flags.yes {
            out.stdout.push_str("[upgrade/confirm] Are you sure you want to proceed with the upgrade? [y/N]: ");
            return fatal(out, "won't proceed; the user didn't answer (Y|n) in order to continue");
        }
        if flags.dry_run {
            out.line("[dryrun] Would upgrade the static pods, the ConfigMaps and the addons");
            out.line("[dryrun] Finished dryrunning successfully!");
            return out;
        }
        out.line("[upgrade/prepull] Pulling images required for setting up a Kubernetes cluster");
        out.line(
            "[upgrade/prepull] This might take a minute or two, depending on the speed of your internet connection",
        );
        out.line("[upgrade/prepull] You can also perform this action in beforehand using 'kubeadm config images pull'");
        target
    };
    let pull = store.lock().hosts.timings.image_pull_secs;
    store.sleep(pull).await;
    out.line(format!(
        "[upgrade/apply] Upgrading your Static Pod-hosted control plane to version \"{target}\" (timeout: 5m0s)..."
    ));
    let options = UpgradeOptions { etcd_upgrade: flags.etcd_upgrade, renew_certificates: flags.renew_certificates };
    if let Err(message) = upgrade_static_pods(store, node, target, options, &mut out).await {
        return fatal(out, format!("[upgrade/apply] FATAL: {message}"));
    }
    let mut inner = store.lock();
    upload_config(&mut inner, &target, &mut out);
    kubelet_config_map(&mut inner, &target, &mut out);
    if let Err(message) = write_kubelet_config(&mut inner, node, &target, &mut out) {
        return fatal(out, format!("[upgrade/apply] FATAL: {message}"));
    }
    mark_control_planes(&mut inner, &target, &mut out);
    out.line("[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to get nodes");
    out.line("[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to post CSRs in order for nodes to get long term certificate credentials",
    );
    out.line("[bootstrap-token] Configured RBAC rules to allow the csrapprover controller automatically approve CSRs from a Node Bootstrap Token",
    );
    apply_addons(&mut inner, &target, &mut out);
    out.line(format!("\n[upgrade/successful] SUCCESS! Your cluster was upgraded to \"{target}\". Enjoy!\n"));
    out.line("[upgrade/kubelet] Now that your control plane is upgraded, please proceed with upgrading your kubelets if you haven't already done so.",
    );
    out
}

async fn upgrade_node(store: &Store, node: &str, kubeadm: &KubeVersion, args: &[String]) -> CommandOutput {
    let flags = match parse_flags("node", args) {
        Ok(flags) => flags,
        Err(out) => return out,
    };
    if let Some(extra) = flags.positional.first() {
        return CommandOutput::usage(format!("unknown command {extra:?} for \"kubeadm upgrade node\""));
    }
    let mut out = CommandOutput::default();
    let (target, control_plane) = {
        let inner = store.lock();
        out.line("[upgrade] Reading configuration from the cluster...");
        out.line("[upgrade] FYI: You can look at this config file with 'kubectl -n kube-system get cm kubeadm-config -o yaml'",
        );
        let Some(target) = config_version(&inner) else {
            return fatal(
                out,
                "[upgrade/config] FATAL: failed to get config map: configmaps \"kubeadm-config\" not found",
            );
        };
        if let Err(e) = decodable_config(&inner, kubeadm) {
            return fatal(out, format!("[upgrade/config] FATAL: {e}"));
        }
        let minimum = kubeadm.minor().offset(-1).unwrap_or(kubeadm.minor());
        if target < KubeVersion::new(minimum.major, minimum.minor, 0) {
            return fatal(
                out,
                format!(
                    "[upgrade] FATAL: this version of kubeadm only supports deploying clusters with the control plane version >= v{minimum}.0. Current version: {target}"
                ),
            );
        }
        if target.minor() > kubeadm.minor() {
            out.line(format!(
                    "W0000 00:00:00.000000 kubeadm] Kubernetes version is greater than kubeadm version. Please consider to upgrade kubeadm. Kubernetes version: {}. Kubeadm version: {}.x",
                    target.bare(),
                    kubeadm.minor()
                ),
            );
        }
        let control_plane = inner.hosts.get(node).is_some_and(super::Host::is_control_plane);
        out.line("[preflight] Running pre-flight checks");
        if control_plane {
            out.line("[preflight] Pulling images required for setting up a Kubernetes cluster");
            out.line(format!(
                "[upgrade] Upgrading your Static Pod-hosted control plane instance to version \"{target}\"..."
            ));
        } else {
            out.line("[preflight] Skipping prepull. Not a control plane node.");
            out.line("[upgrade] Skipping phase. Not a control plane node.");
        }
        (target, control_plane)
    };
    if flags.dry_run {
        out.line("[dryrun] Finished dryrunning successfully!");
        return out;
    }
    if control_plane {
        let pull = store.lock().hosts.timings.image_pull_secs;
        store.sleep(pull).await;
        let options = UpgradeOptions { etcd_upgrade: flags.etcd_upgrade, renew_certificates: flags.renew_certificates };
        if let Err(message) = upgrade_static_pods(store, node, target, options, &mut out).await {
            return fatal(
                out,
                format!("error execution phase control-plane: couldn't complete the static pod upgrade: {message}"),
            );
        }
    }
    let mut inner = store.lock();
    if let Err(message) = write_kubelet_config(&mut inner, node, &target, &mut out) {
        return fatal(out, format!("error execution phase kubelet-config: {message}"));
    }
    if control_plane && target.minor() >= kubeladder_core::Minor::new(1, 28) {
        apply_addons(&mut inner, &target, &mut out);
    }
    out.line("[upgrade] The configuration for this node was successfully updated!");
    out.line("[upgrade] Now you should go ahead and upgrade the kubelet package using your package manager.");
    out
}
