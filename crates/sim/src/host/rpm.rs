//! `dnf`/`yum`/`dnf5` and `rpm -q` with their semantics: dnf reads the repo file when it
//! runs (its metadata refresh), the repository's `exclude=` hides kubeadm/kubelet/kubectl
//! unless `--disableexcludes=kubernetes` (dnf 5: `--setopt=disable_excludes=kubernetes`),
//! an older version is a downgrade dnf performs, and `rpm -q` exits with the number of
//! packages not installed.

use std::cmp::Ordering;

use super::apt::{fill, unescape};
use super::repo::{PackageWorld, parse_yum_repo};
use super::{CommandOutput, Host, HostTimings, Installed, KUBE_PACKAGES, PackageManager, RepoSource, YUM_REPO};

/// Order two rpm versions the way rpm does.
fn compare_rpm(a: &str, b: &str) -> Ordering {
    match (a.parse::<kubeladder_core::package::RpmVersion>(), b.parse::<kubeladder_core::package::RpmVersion>()) {
        (Ok(a), Ok(b)) => a.cmp(&b),
        _ => a.cmp(b),
    }
}

#[derive(Debug, Default)]
struct DnfFlags {
    yes: bool,
    disable_excludes: bool,
}

/// `dnf`/`yum` (install, makecache, list, --version). Returns the answer and its duration.
pub(crate) fn dnf(host: &mut Host, invoked_as: &str, args: &[String], timings: &HostTimings) -> (CommandOutput, f64) {
    let pm = host.package_manager;
    let available = matches!(
        (pm, invoked_as),
        (PackageManager::Dnf5, "dnf" | "dnf5") | (PackageManager::Dnf, "dnf" | "yum") | (PackageManager::Yum, "yum")
    );
    if !available {
        return (CommandOutput::not_found(invoked_as), 0.0);
    }
    let mut flags = DnfFlags::default();
    let mut words: Vec<&str> = Vec::new();
    for arg in args {
        match arg.as_str() {
            "-y" | "--assumeyes" => flags.yes = true,
            "-q" | "--quiet" | "--nogpgcheck" | "--allowerasing" | "--showduplicates" | "-v" | "--refresh" => {}
            "--version" => {
                let version = match pm {
                    PackageManager::Dnf5 => "dnf5 version 5.2.6.2\n",
                    PackageManager::Dnf => "4.14.0\n",
                    _ => "3.4.3\n",
                };
                return (CommandOutput::ok(version), 0.0);
            }
            opt if opt.starts_with("--disableexcludes=") && pm != PackageManager::Dnf5 => {
                let value = &opt["--disableexcludes=".len()..];
                flags.disable_excludes |= matches!(value, "kubernetes" | "all" | "*");
            }
            opt if opt.starts_with("--setopt=") => {
                if let Some(value) = opt["--setopt=".len()..].strip_prefix("disable_excludes=") {
                    flags.disable_excludes |= matches!(value, "kubernetes" | "all" | "*");
                }
            }
            opt if opt.starts_with("--enablerepo=") || opt.starts_with("--disablerepo=") => {}
            opt if opt.starts_with('-') => {
                let message = if pm == PackageManager::Dnf5 {
                    format!(
                        "Unknown argument \"{opt}\" for command \"{}\". Add \"--help\" for more information about the arguments.",
                        words.first().copied().unwrap_or("dnf5")
                    )
                } else {
                    format!("usage: {invoked_as} [options] COMMAND\n{invoked_as}: error: unrecognized arguments: {opt}")
                };
                return (CommandOutput::usage(message), 0.0);
            }
            word => words.push(word),
        }
    }
    match words.split_first() {
        Some((&"makecache", [])) => (makecache(host), timings.repo_refresh_secs),
        Some((&"install", packages)) => {
            let out = install(host, packages, &flags);
            let delay = if out.exit_code == 0 { timings.package_install_secs } else { 0.5 };
            (out, delay)
        }
        Some((&"list", packages)) => (list(host, packages, &flags), 0.5),
        Some((other, _)) => (
            CommandOutput::fail(1, format!("No such command: {other}. Please use /usr/bin/{invoked_as} --help\n")),
            0.0,
        ),
        None => (CommandOutput::fail(1, "Error: No command given\n"), 0.0),
    }
}

/// The repository as dnf sees it now (dnf refreshes expired metadata when it runs).
fn repository(host: &Host) -> Result<Option<RepoSource>, CommandOutput> {
    let Some(source) = host.files.text(YUM_REPO).and_then(parse_yum_repo) else { return Ok(None) };
    if source.exists(&host.world) {
        return Ok(Some(source));
    }
    if let super::repo::Site::Unresolvable(name) = host.world.site(&source.url) {
        // librepo's curl error for a host that does not resolve.
        return Err(CommandOutput::fail(
            1,
            format!(
                "Errors during downloading metadata for repository 'kubernetes':\n  - Curl error (6): Couldn't resolve host name for {}/repodata/repomd.xml [Could not resolve host: {name}]\nError: Failed to download metadata for repo 'kubernetes': Cannot download repomd.xml: Cannot download repodata/repomd.xml: All mirrors were tried\n",
                source.url.trim_end_matches('/')
            ),
        ));
    }
    let url = source.url.trim_end_matches('/');
    Err(CommandOutput::fail(
        1,
        format!(
            "Errors during downloading metadata for repository 'kubernetes':\n  - Status code: 404 for {url}/repodata/repomd.xml (IP: 127.0.0.1)\nError: Failed to download metadata for repo 'kubernetes': Cannot download repomd.xml: Cannot download repodata/repomd.xml: All mirrors were tried\n"
        ),
    ))
}

fn makecache(host: &Host) -> CommandOutput {
    match repository(host) {
        Ok(_) => CommandOutput::ok(
            "Kubernetes                                      1.2 MB/s |  17 kB     00:00\nMetadata cache created.\n",
        ),
        Err(out) => out,
    }
}

/// Versions of `name` the repository offers to this command (none when excluded).
fn offered(world: &PackageWorld, source: Option<&RepoSource>, name: &str, flags: &DnfFlags) -> (Vec<String>, bool) {
    let Some(source) = source else { return (Vec::new(), false) };
    let excluded = !flags.disable_excludes && source.excludes.iter().any(|e| e == name);
    if excluded {
        return (Vec::new(), true);
    }
    let mut versions: Vec<String> = source.versions(world).into_iter().map(|(_, p)| p.to_string()).collect();
    versions.sort_by(|a, b| compare_rpm(a, b));
    (versions, false)
}

/// Split `kubeadm-1.29.10-150500.1.1` into the package and the (partial) version.
fn split_spec(spec: &str) -> Option<(&'static str, Option<&str>)> {
    KUBE_PACKAGES.iter().find_map(|name| {
        if spec == *name {
            Some((*name, None))
        } else {
            spec.strip_prefix(name).and_then(|rest| rest.strip_prefix('-')).map(|v| (*name, Some(v)))
        }
    })
}

#[allow(clippy::too_many_lines)]
fn install(host: &mut Host, packages: &[&str], flags: &DnfFlags) -> CommandOutput {
    let source = match repository(host) {
        Ok(source) => source,
        Err(out) => return out,
    };
    let mut out = CommandOutput::ok("Last metadata expiration check: 0:00:05 ago.\n");
    let mut missing = Vec::new();
    let mut changes: Vec<(usize, &'static str, Option<String>, String)> = Vec::new();
    for spec in packages {
        let Some((name, version)) = split_spec(spec) else {
            out.stdout.push_str(&format!("No match for argument: {spec}\n"));
            missing.push(*spec);
            continue;
        };
        let (versions, excluded) = offered(&host.world, source.as_ref(), name, flags);
        let target = match version {
            Some(v) => versions.iter().rev().find(|a| a.as_str() == v || a.starts_with(&format!("{v}-"))).cloned(),
            None => versions.last().cloned(),
        };
        let Some(target) = target else {
            if excluded {
                out.stdout
                    .push_str(&format!("All matches were filtered out by exclude filtering for argument: {spec}\n"));
            } else {
                out.stdout.push_str(&format!("No match for argument: {spec}\n"));
            }
            missing.push(*spec);
            continue;
        };
        let Some(index) = Host::package_index(name) else { continue };
        let from = host.packages[index].as_ref().map(|p| p.version.clone());
        if from.as_deref() == Some(target.as_str()) {
            out.stdout.push_str(&format!("Package {name}-{target}.x86_64 is already installed.\n"));
            continue;
        }
        changes.push((index, name, from, target));
    }
    if !missing.is_empty() {
        out.fail_with(1, format!("Error: Unable to find a match: {}\n", missing.join(" ")));
        return out;
    }
    out.stdout.push_str("Dependencies resolved.\n");
    if changes.is_empty() {
        out.stdout.push_str("Nothing to do.\nComplete!\n");
        return out;
    }
    let section = |pred: &dyn Fn(&Option<String>, &str) -> bool, title: &str| {
        let rows: Vec<String> = changes
            .iter()
            .filter(|(_, _, from, to)| pred(from, to))
            .map(|(_, name, _, to)| format!(" {name:<14} x86_64   {to:<24} kubernetes   10 M\n"))
            .collect();
        if rows.is_empty() { String::new() } else { format!("{title}:\n{}", rows.concat()) }
    };
    out.stdout.push_str("================================================================================\n Package        Arch     Version                  Repository   Size\n================================================================================\n");
    out.stdout.push_str(&section(&|from, _| from.is_none(), "Installing"));
    out.stdout.push_str(&section(
        &|from, to| from.as_deref().is_some_and(|f| compare_rpm(to, f) == Ordering::Greater),
        "Upgrading",
    ));
    out.stdout.push_str(&section(
        &|from, to| from.as_deref().is_some_and(|f| compare_rpm(to, f) == Ordering::Less),
        "Downgrading",
    ));
    out.stdout.push_str(&format!("\nTransaction Summary\n================================================================================\n{} Package(s)\n\n", changes.len()));
    if !flags.yes {
        out.stdout.push_str("Is this ok [y/N]: ");
        out.fail_with(1, "Operation aborted.\n");
        return out;
    }
    out.stdout.push_str("Downloading Packages:\nRunning transaction\n");
    for (index, name, _, to) in &changes {
        out.stdout.push_str(&format!("  Upgrading        : {name}-{to}.x86_64\n"));
        host.packages[*index] = Some(Installed { version: to.clone(), held: false });
    }
    out.stdout.push_str("\nComplete!\n");
    out
}

fn list(host: &Host, packages: &[&str], flags: &DnfFlags) -> CommandOutput {
    let source = match repository(host) {
        Ok(source) => source,
        Err(out) => return out,
    };
    let mut out = CommandOutput::ok("");
    let mut installed = String::new();
    let mut available = String::new();
    for name in KUBE_PACKAGES.iter().filter(|n| packages.is_empty() || packages.contains(n)) {
        if let Some(p) = host.installed(name) {
            installed.push_str(&format!("{:<30}{:<30}@kubernetes\n", format!("{name}.x86_64"), p.version));
        }
        for version in offered(&host.world, source.as_ref(), name, flags).0 {
            available.push_str(&format!("{:<30}{:<30}kubernetes\n", format!("{name}.x86_64"), version));
        }
    }
    if !installed.is_empty() {
        out.stdout.push_str(&format!("Installed Packages\n{installed}"));
    }
    if !available.is_empty() {
        out.stdout.push_str(&format!("Available Packages\n{available}"));
    }
    if installed.is_empty() && available.is_empty() {
        return CommandOutput::fail(1, "Error: No matching Packages to list\n");
    }
    out
}

/// `rpm -q [--qf FORMAT] PKG...`: exit code = packages not installed.
pub(crate) fn rpm(host: &Host, args: &[String]) -> CommandOutput {
    if host.package_manager == PackageManager::Apt {
        return CommandOutput::not_found("rpm");
    }
    let mut query = false;
    let mut format = "%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}\n".to_owned();
    let mut names: Vec<&str> = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "-q" | "--query" => query = true,
            "--qf" | "--queryformat" => match iter.next() {
                Some(f) => format = unescape(f),
                None => return CommandOutput::usage("rpm: --queryformat: missing argument"),
            },
            long if long.starts_with("--queryformat=") || long.starts_with("--qf=") => {
                format = unescape(long.split_once('=').map_or("", |(_, f)| f));
            }
            opt if opt.starts_with('-') => return CommandOutput::usage(format!("rpm: {opt}: unknown option")),
            name => names.push(name),
        }
    }
    if !query {
        return CommandOutput::usage("rpm: no operation specified");
    }
    let mut out = CommandOutput::default();
    for name in names {
        if let Some(installed) = host.installed(name) {
            let (version, release) = installed.version.rsplit_once('-').unwrap_or((&installed.version, ""));
            out.stdout.push_str(&fill(&format, "%{", '}', |field| match field {
                "NAME" => name.to_owned(),
                "VERSION" => version.to_owned(),
                "RELEASE" => release.to_owned(),
                "ARCH" => "x86_64".to_owned(),
                _ => "(none)".to_owned(),
            }));
        } else {
            out.stdout.push_str(&format!("package {name} is not installed\n"));
            out.exit_code += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_split_at_the_package_name() {
        assert_eq!(split_spec("kubeadm-1.29.10-150500.1.1"), Some(("kubeadm", Some("1.29.10-150500.1.1"))));
        assert_eq!(split_spec("kubelet"), Some(("kubelet", None)));
        assert_eq!(split_spec("kubeadmx"), None);
        assert_eq!(compare_rpm("1.29.10-150500.1.1", "1.29.9-150500.1.1"), Ordering::Greater);
    }
}
