//! `kubeladder skew`: the skew-policy engine on explicit versions.

use kubeladder_core::skew::{self, Component, Instance, SkewReport};

use crate::Outcome;
use crate::args::SkewArgs;
use crate::error::CliError;
use crate::output;

pub fn run(args: &SkewArgs) -> Result<Outcome, CliError> {
    let report = skew::evaluate(&instances(args))?;
    output::emit(args.output, &report, || render(&report))?;
    Ok(if report.violations.is_empty() { Outcome::Ok } else { Outcome::Violations })
}

fn instances(args: &SkewArgs) -> Vec<Instance> {
    let groups = [
        (Component::KubeApiserver, &args.apiserver),
        (Component::KubeControllerManager, &args.controller_manager),
        (Component::KubeScheduler, &args.scheduler),
        (Component::CloudControllerManager, &args.cloud_controller_manager),
        (Component::Kubelet, &args.kubelet),
        (Component::KubeProxy, &args.kube_proxy),
        (Component::Kubectl, &args.kubectl),
    ];
    groups
        .into_iter()
        .flat_map(|(component, versions)| versions.iter().map(move |&v| Instance::new(component, v)))
        .collect()
}

pub fn render(report: &SkewReport) -> String {
    let mut out = format!("kube-apiserver instances: {}\n\n", output::join(&report.apiservers));
    out += &output::table(
        &["COMPONENT", "ALLOWED MINORS"],
        report.allowed.iter().map(|(component, minors)| vec![component.to_string(), output::join(minors)]),
    );
    out.push('\n');
    if report.violations.is_empty() {
        out += "No violations.\n";
    } else {
        out += &format!("{} violation(s):\n", report.violations.len());
        out += &output::table(
            &["COMPONENT", "VERSION", "RULE", "MESSAGE"],
            report
                .violations
                .iter()
                .map(|v| vec![v.component.to_string(), v.version.to_string(), v.rule.to_string(), v.message.clone()]),
        );
    }
    out
}
