//! `kubeladder sim serve`: a simulated kubeadm cluster with a real HTTPS Kubernetes API.

use std::io::Write;

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
    let mut scenario = scenario_named(&args.scenario)?;
    if let Some(version) = args.version {
        scenario = scenario.with_version(version);
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
pub fn write_hosts_file(sim: &kubeladder_sim::RunningSim, path: &std::path::Path) -> Result<(), CliError> {
    let mut ca = path.as_os_str().to_owned();
    ca.push(".ca.pem");
    let ca = std::path::PathBuf::from(ca);
    let ca = if ca.is_absolute() { ca } else { std::env::current_dir()?.join(ca) };
    std::fs::write(&ca, sim.ca_pem())?;
    std::fs::write(path, sim.hosts_yaml(&ca))?;
    Ok(())
}

/// A built-in scenario (`small`, `ha`, `large:N[:P]`) or a scenario file (YAML).
pub fn scenario_named(name: &str) -> Result<Scenario, CliError> {
    let path = std::path::Path::new(name);
    if path.is_file() {
        return Ok(Scenario::from_file(path)?);
    }
    Ok(Scenario::by_name(name)?)
}
