//! `kubeladder sim serve`: a simulated kubeadm cluster with a real HTTPS Kubernetes API.

use std::io::Write;

use kubeladder_core::path::{PathOptions, Target};
use kubeladder_core::release::ReleaseData;
use kubeladder_core::version::KubeVersion;
use kubeladder_sim::{Scenario, SimCluster, SimConfig};

use crate::Outcome;
use crate::args::SimServeArgs;
use crate::error::CliError;

pub async fn serve(args: &SimServeArgs) -> Result<Outcome, CliError> {
    if !args.listen.ip().is_loopback() {
        return Err(CliError::Usage(format!(
            "--listen {} is not a loopback address; the simulated cluster only serves on 127.0.0.0/8 or ::1",
            args.listen
        )));
    }
    if let Some(hosts) = &args.hosts_out {
        let ca = ca_path(hosts);
        for (a, an, b, bn) in [
            (&args.kubeconfig_out, "--kubeconfig-out", hosts, "--hosts-out"),
            (&args.kubeconfig_out, "--kubeconfig-out", &ca, "the CA file next to --hosts-out"),
        ] {
            if same_file(a, b) {
                return Err(CliError::Usage(format!(
                    "{an} and {bn} are the same file ({}): one would overwrite the other; give two different paths",
                    a.display()
                )));
            }
        }
    }
    let mut scenario = scenario_named(&args.scenario)?;
    if let Some(version) = args.version {
        scenario = scenario.with_version(cluster_version(version, "--version")?);
    }
    let config = SimConfig { listen: args.listen, speed: args.speed, ..SimConfig::new(scenario) };
    let sim = SimCluster::start(config).await?;
    sim.write_kubeconfig(&args.kubeconfig_out)?;
    if let Some(hosts) = &args.hosts_out {
        write_hosts_file(&sim, hosts)?;
    }
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "serving {}", sim.url())?;
        stdout.flush()?;
    }
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    sim.shutdown().await;
    Ok(Outcome::Ok)
}

/// Write the hosts file for the simulator's hosts (transport `sim`) and, next to it as
/// `PATH.ca.pem`, the CA certificate it trusts.
/// The hosts file carries the simulator's exec token, so both are written 0600.
pub fn write_hosts_file(sim: &kubeladder_sim::RunningSim, path: &std::path::Path) -> Result<(), CliError> {
    let ca = ca_path(path);
    let ca = if ca.is_absolute() { ca } else { std::env::current_dir()?.join(ca) };
    kubeladder_sim::cluster::write_private(&ca, sim.ca_pem().as_bytes())?;
    kubeladder_sim::cluster::write_private(path, sim.hosts_yaml(&ca).as_bytes())?;
    Ok(())
}

/// `PATH.ca.pem`, where the CA the hosts file trusts is written.
fn ca_path(hosts: &std::path::Path) -> std::path::PathBuf {
    let mut ca = hosts.as_os_str().to_owned();
    ca.push(".ca.pem");
    std::path::PathBuf::from(ca)
}

/// Whether two paths name the same file: equal once made absolute, or the same inode.
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    // `dir/sub/../x` and `dir/x`: compare with each parent directory resolved.
    let resolved = |p: &std::path::Path| {
        let parent = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
        let parent = std::fs::canonicalize(parent).ok()?;
        Some(parent.join(p.file_name()?))
    };
    if let (Some(x), Some(y)) = (resolved(a), resolved(b))
        && x == y
    {
        return true;
    }
    if let (Ok(x), Ok(y)) = (std::path::absolute(a), std::path::absolute(b))
        && x == y
    {
        return true;
    }
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// A simulated cluster's version as the operator gives it: a minor (`1.28`, its newest
/// patch) or a patch that exists in the release data (`v1.28.15`); `flag` names where.
pub fn cluster_version(version: KubeVersion, flag: &str) -> Result<KubeVersion, CliError> {
    let data = ReleaseData::embedded()?;
    Target::Version(version)
        .resolve(data, PathOptions::default())
        .map_err(|e| CliError::Usage(format!("{flag} {version}: {e}")))
}

/// A built-in scenario (`small`, `ha`, `large:N[:P]`) or a scenario file (YAML).
pub fn scenario_named(name: &str) -> Result<Scenario, CliError> {
    let path = std::path::Path::new(name);
    if path.is_file() {
        return Ok(Scenario::from_file(path)?);
    }
    Ok(Scenario::by_name(name)?)
}
