//! `kubeladder hosts import --from-ansible INVENTORY`: a kubespray/Ansible inventory as a
//! kubeladder hosts file (the orchestrator's `inventory_import` use case).

use std::io::Write;

use kubeladder_orchestrator::inventory_import;

use crate::Outcome;
use crate::error::CliError;
use crate::operator_args::HostsImportArgs;

pub fn run(args: &HostsImportArgs) -> Result<Outcome, CliError> {
    let source = args.from_ansible.display().to_string();
    if let Some(out) = &args.out
        && out.exists()
        && !args.force
    {
        return Err(CliError::Usage(format!("{} exists; pass --force to replace it", out.display())));
    }
    let import = inventory_import::import_ansible(&args.from_ansible)?;
    let file = &import.file;
    if let Some(out) = &args.out {
        std::fs::write(out, file)?;
    } else {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(file.as_bytes())?;
        stdout.flush()?;
    }
    let control_planes = import.control_planes;
    let mut err = std::io::stderr().lock();
    for note in &import.unmapped {
        writeln!(err, "not mapped: {note}")?;
    }
    writeln!(
        err,
        "imported {} node(s) ({control_planes} control plane, {} worker) from {source}{}",
        import.nodes,
        import.nodes - control_planes,
        args.out.as_ref().map(|o| format!(" into {}", o.display())).unwrap_or_default()
    )?;
    Ok(Outcome::Ok)
}
