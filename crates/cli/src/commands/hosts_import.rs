//! `kubeladder hosts import --from-ansible INVENTORY`: a kubespray/Ansible inventory as a
//! kubeladder hosts file (the mapping is `kubeladder_node::ansible`'s).

use std::io::Write;

use kubeladder_node::ansible;
use kubeladder_node::hosts::Hosts;

use crate::Outcome;
use crate::error::CliError;
use crate::operator_args::HostsImportArgs;

pub fn run(args: &HostsImportArgs) -> Result<Outcome, CliError> {
    let source = args.from_ansible.display().to_string();
    let text = std::fs::read_to_string(&args.from_ansible)
        .map_err(|e| CliError::Usage(format!("cannot read the inventory {source}: {e}")))?;
    if let Some(out) = &args.out
        && out.exists()
        && !args.force
    {
        return Err(CliError::Usage(format!("{} exists; pass --force to replace it", out.display())));
    }
    let import = ansible::import(&source, &text)?;
    let file = import.to_hosts_file(&source);
    // What we write must be what `apply --hosts` reads.
    Hosts::parse("imported hosts file", &file)?;
    if let Some(out) = &args.out {
        std::fs::write(out, &file)?;
    } else {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(file.as_bytes())?;
        stdout.flush()?;
    }
    let control_planes = import.hosts.iter().filter(|h| h.control_plane).count();
    let mut err = std::io::stderr().lock();
    for note in &import.unmapped {
        writeln!(err, "not mapped: {note}")?;
    }
    writeln!(
        err,
        "imported {} node(s) ({control_planes} control plane, {} worker) from {source}{}",
        import.hosts.len(),
        import.hosts.len() - control_planes,
        args.out.as_ref().map(|o| format!(" into {}", o.display())).unwrap_or_default()
    )?;
    Ok(Outcome::Ok)
}
