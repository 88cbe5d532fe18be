//! `kubeladder demo`: a simulated kubeadm cluster in this process, upgraded by the same code
//! path `apply` takes on a real cluster (HTTPS API, hosts reached through the simulator's
//! exec endpoint, journal, lock, drains within budgets).

use std::path::PathBuf;
use std::time::Duration;

use kubeladder_sim::{SimCluster, SimConfig};

use crate::Outcome;
use crate::args::{ApplyArgs, ClusterArgs, DemoArgs, DrainFlagArgs, RunArgs, StrategyArgs};
use crate::commands::{sim, upgrade};
use crate::error::CliError;

pub async fn run(args: &DemoArgs) -> Result<Outcome, CliError> {
    let mut scenario = sim::scenario_named(&args.scenario)?;
    if let Some(from) = args.from {
        // `--from 1.28` means the newest 1.28 patch, as `--to 1.33` does.
        scenario = scenario.with_version(sim::cluster_version(from, "--from")?);
    }
    let sim = SimCluster::start(SimConfig::new(scenario).with_speed(args.speed)).await?;
    let dir = std::env::temp_dir().join(format!("kubeladder-demo-{}", std::process::id()));
    let result = Box::pin(demo_in(&sim, &dir, args)).await;
    sim.shutdown().await;
    // The journal and its report (state/) stay for `kubeladder report`; the simulator's
    // credentials go with it.
    for file in ["kubeconfig", "hosts.yaml", "hosts.yaml.ca.pem"] {
        let _ = std::fs::remove_file(dir.join(file));
    }
    if !matches!(result, Ok(crate::Outcome::Ok)) {
        // Whatever the run suggested (resume) needs the simulated cluster, which is gone.
        eprintln!(
            "note: the demo's simulated cluster is gone with it, so there is nothing to resume (the journal in {} \
             stays for `kubeladder report`); run `kubeladder demo` again",
            dir.join("state").display()
        );
    }
    result
}

async fn demo_in(
    sim: &kubeladder_sim::RunningSim,
    dir: &std::path::Path,
    args: &DemoArgs,
) -> Result<Outcome, CliError> {
    // The kubeconfig and hosts file inside carry the simulator's credentials.
    kubeladder_sim::cluster::create_private_dir(dir)?;
    let kubeconfig = dir.join("kubeconfig");
    let hosts = dir.join("hosts.yaml");
    sim.write_kubeconfig(&kubeconfig)?;
    sim::write_hosts_file(sim, &hosts)?;
    if args.output != crate::progress::ProgressFormat::Json {
        eprintln!(
            "Simulated kubeadm cluster ({}, {}) serving {} - upgrading it to {}\n",
            args.scenario,
            args.from.map_or_else(|| "its default version".to_owned(), |v| v.to_string()),
            sim.url(),
            args.to.resolve(
                kubeladder_core::release::ReleaseData::embedded()?,
                kubeladder_core::path::PathOptions::default()
            )?
        );
    }
    if args.output != crate::progress::ProgressFormat::Json {
        eprintln!(
            "Draining with --delete-emptydir-data --force: the simulated workloads include pods with emptyDir \
             volumes and a pod without a controller, which `apply` refuses to drain without these flags \
             (as `kubectl drain --ignore-daemonsets` does)\n"
        );
    }
    let apply = ApplyArgs {
        cluster: ClusterArgs { kubeconfig: Some(kubeconfig), context: None },
        run: RunArgs {
            hosts: Some(hosts),
            state_dir: Some(PathBuf::from(dir).join("state")),
            drain_timeout: Duration::from_secs(300),
            gate_timeout: Duration::from_secs(300),
            poll: Duration::from_millis(200),
            output: args.output,
            no_snapshot_copy: false,
            // The scenarios carry an emptyDir Deployment and a bare pod, which `apply` (like
            // `kubectl drain --ignore-daemonsets`) refuses to drain without these flags.
            drain: DrainFlagArgs { delete_emptydir_data: true, force: true },
        },
        to: args.to,
        strategy: StrategyArgs {
            workers: args.workers,
            max_unavailable: args.max_unavailable,
            allow_prerelease: false,
        },
        yes: true,
        dry_run: false,
    };
    Box::pin(upgrade::apply(&apply)).await
}
