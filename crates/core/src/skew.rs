//! The version skew policy (kubernetes.io/releases/version-skew-policy) as a pure function
//! from a cluster's component versions to violations and allowed minors.
//!
//! All comparisons are on minors. Every rule holds against every kube-apiserver instance,
//! so in HA the upper bound comes from the oldest apiserver and the lower bound from the
//! newest. Limits depend on the version of the component being checked (the current page's
//! wording): a kubelet or kube-proxy older than 1.25 may lag two minors, a newer one three.
//! The current page lets kube-proxy differ from its node's kubelet by the same window;
//! older pages required them to match. We follow the current page.
//!
//! [`kubeadm_policy`] adds kubeadm's own `EnforceVersionPolicies` for `upgrade apply`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::CoreError;
use crate::version::{KubeVersion, Minor};

/// The components the policy speaks of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Component {
    KubeApiserver,
    KubeControllerManager,
    KubeScheduler,
    CloudControllerManager,
    Kubelet,
    KubeProxy,
    Kubectl,
}

impl Component {
    pub const ALL: [Self; 7] = [
        Self::KubeApiserver,
        Self::KubeControllerManager,
        Self::KubeScheduler,
        Self::CloudControllerManager,
        Self::Kubelet,
        Self::KubeProxy,
        Self::Kubectl,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::KubeApiserver => "kube-apiserver",
            Self::KubeControllerManager => "kube-controller-manager",
            Self::KubeScheduler => "kube-scheduler",
            Self::CloudControllerManager => "cloud-controller-manager",
            Self::Kubelet => "kubelet",
            Self::KubeProxy => "kube-proxy",
            Self::Kubectl => "kubectl",
        }
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One running component: which, where (node name, if known), at which minor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    pub component: Component,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    pub version: Minor,
}

impl Instance {
    pub fn new(component: Component, version: Minor) -> Self {
        Self { component, node: None, version }
    }

    pub fn on(component: Component, node: impl Into<String>, version: Minor) -> Self {
        Self { component, node: Some(node.into()), version }
    }
}

/// Which rule a violation breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// kube-apiserver instances more than one minor apart.
    ApiserverSpread,
    /// A component newer than the oldest kube-apiserver (kubectl: more than one newer).
    NewerThanApiserver,
    /// A component older than its window below the newest kube-apiserver.
    OlderThanWindow,
    /// kube-proxy too far from the kubelet on its node.
    KubeProxyKubeletSkew,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ApiserverSpread => "apiserver-spread",
            Self::NewerThanApiserver => "newer-than-apiserver",
            Self::OlderThanWindow => "older-than-window",
            Self::KubeProxyKubeletSkew => "kube-proxy-kubelet-skew",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub component: Component,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    pub version: Minor,
    pub rule: Rule,
    pub message: String,
}

/// The first minor whose kubelet and kube-proxy may lag three minors (KEP-3935, in 1.28
/// for the apiserver side; keyed on the component, this is the same as "< 1.25 lags 2").
pub const THREE_MINOR_LAG_FROM: Minor = Minor::new(1, 25);

/// How many minors a kubelet/kube-proxy at `version` may lag behind the apiserver.
pub fn node_component_window(version: Minor) -> i64 {
    if version >= THREE_MINOR_LAG_FROM { 3 } else { 2 }
}

/// The spread of the cluster's kube-apiserver minors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Apiservers {
    pub oldest: Minor,
    pub newest: Minor,
}

impl Apiservers {
    pub fn from_minors(minors: impl IntoIterator<Item = Minor>) -> Result<Self, CoreError> {
        let mut iter = minors.into_iter();
        let first = iter.next().ok_or(CoreError::NoApiservers)?;
        let (oldest, newest) = iter.fold((first, first), |(lo, hi), m| (lo.min(m), hi.max(m)));
        Ok(Self { oldest, newest })
    }

    /// The apiservers themselves are at most one minor apart.
    pub fn within_policy(self) -> bool {
        self.oldest.minors_until(self.newest) <= 1
    }

    fn label(self) -> String {
        if self.oldest == self.newest { self.oldest.to_string() } else { format!("{}..{}", self.oldest, self.newest) }
    }

    /// Is `version` of `component` allowed against these apiservers? Returns the broken
    /// rule and an explanation when it is not. kube-proxy vs its kubelet is checked apart.
    pub fn check(self, component: Component, version: Minor) -> Result<(), (Rule, String)> {
        let behind_newest = version.minors_until(self.newest);
        let ahead_of_oldest = self.oldest.minors_until(version);
        let label = self.label();
        match component {
            Component::KubeApiserver => {
                let spread = self.oldest.minors_until(self.newest).max(0);
                let lo = version.min(self.oldest);
                let hi = version.max(self.newest);
                if lo.minors_until(hi) > 1 {
                    let why = if spread > 1 {
                        format!("kube-apiserver instances span {label}; instances must be at most one minor apart")
                    } else {
                        format!(
                            "kube-apiserver {version} is more than one minor from kube-apiserver {label}; \
                             instances must be at most one minor apart"
                        )
                    };
                    return Err((Rule::ApiserverSpread, why));
                }
                Ok(())
            }
            Component::KubeControllerManager | Component::KubeScheduler | Component::CloudControllerManager => {
                if ahead_of_oldest > 0 {
                    return Err((
                        Rule::NewerThanApiserver,
                        format!(
                            "{component} {version} is newer than kube-apiserver {}; it must not be newer than \
                             any kube-apiserver (upgrade every apiserver first)",
                            self.oldest
                        ),
                    ));
                }
                if behind_newest > 1 {
                    return Err((
                        Rule::OlderThanWindow,
                        format!(
                            "{component} {version} is more than one minor older than kube-apiserver {}",
                            self.newest
                        ),
                    ));
                }
                Ok(())
            }
            Component::Kubelet | Component::KubeProxy => {
                if ahead_of_oldest > 0 {
                    return Err((
                        Rule::NewerThanApiserver,
                        format!(
                            "{component} {version} is newer than kube-apiserver {}; it must not be newer than \
                             any kube-apiserver (upgrade the control plane first)",
                            self.oldest
                        ),
                    ));
                }
                let window = node_component_window(version);
                if behind_newest > window {
                    return Err((
                        Rule::OlderThanWindow,
                        format!(
                            "{component} {version} is {behind_newest} minors older than kube-apiserver {}; \
                             a {component} at {version} may be at most {window} minors older{}",
                            self.newest,
                            if window == 2 { " (3 from 1.25 on)" } else { "" }
                        ),
                    ));
                }
                Ok(())
            }
            Component::Kubectl => {
                if ahead_of_oldest > 1 {
                    return Err((
                        Rule::NewerThanApiserver,
                        format!("kubectl {version} is more than one minor newer than kube-apiserver {}", self.oldest),
                    ));
                }
                if behind_newest > 1 {
                    return Err((
                        Rule::OlderThanWindow,
                        format!("kubectl {version} is more than one minor older than kube-apiserver {}", self.newest),
                    ));
                }
                Ok(())
            }
        }
    }

    /// Every minor the component may run at, ascending. Not clipped to known releases;
    /// never below `major.0`. Empty when the apiservers themselves violate the policy.
    pub fn allowed(self, component: Component) -> Vec<Minor> {
        // Every rule allows at most one minor above the oldest apiserver and at most three
        // below the newest, so this range holds every candidate.
        if !self.within_policy() {
            return Vec::new();
        }
        let lowest = self.newest.offset(-4).unwrap_or(Minor::new(self.newest.major, 0));
        let highest = self.oldest.next().next();
        let mut out = Vec::new();
        let mut m = lowest;
        while m <= highest {
            if self.check(component, m).is_ok() {
                out.push(m);
            }
            m = m.next();
        }
        out
    }
}

/// Check a kube-proxy against the kubelet on its node.
pub fn check_kube_proxy_against_kubelet(proxy: Minor, kubelet: Minor) -> Result<(), (Rule, String)> {
    let window = node_component_window(proxy);
    let distance = proxy.minors_until(kubelet).abs();
    if distance > window {
        return Err((
            Rule::KubeProxyKubeletSkew,
            format!(
                "kube-proxy {proxy} is {distance} minors from the kubelet {kubelet} on its node; \
                 at most {window} are allowed"
            ),
        ));
    }
    Ok(())
}

/// The policy evaluated over a whole cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkewReport {
    pub apiservers: Vec<Minor>,
    pub allowed: BTreeMap<Component, Vec<Minor>>,
    pub violations: Vec<Violation>,
}

/// Evaluate every instance. Fails only when there is no kube-apiserver instance.
pub fn evaluate(instances: &[Instance]) -> Result<SkewReport, CoreError> {
    let apiserver_minors: Vec<Minor> =
        instances.iter().filter(|i| i.component == Component::KubeApiserver).map(|i| i.version).collect();
    let apiservers = Apiservers::from_minors(apiserver_minors.iter().copied())?;
    let mut violations = Vec::new();
    for instance in instances {
        if let Err((rule, message)) = apiservers.check(instance.component, instance.version) {
            violations.push(violation(instance, rule, message));
        }
        if instance.component == Component::KubeProxy {
            let kubelets = instances
                .iter()
                .filter(|k| k.component == Component::Kubelet && k.node.is_some() && k.node == instance.node);
            for kubelet in kubelets {
                if let Err((rule, message)) = check_kube_proxy_against_kubelet(instance.version, kubelet.version) {
                    violations.push(violation(instance, rule, message));
                }
            }
        }
    }
    let mut sorted_minors = apiserver_minors;
    sorted_minors.sort();
    sorted_minors.dedup();
    let allowed = Component::ALL.iter().map(|&c| (c, apiservers.allowed(c))).collect();
    Ok(SkewReport { apiservers: sorted_minors, allowed, violations })
}

fn violation(instance: &Instance, rule: Rule, message: String) -> Violation {
    let message = match &instance.node {
        Some(node) => format!("{message} (node {node})"),
        None => message,
    };
    Violation { component: instance.component, node: instance.node.clone(), version: instance.version, rule, message }
}

/// What kubeadm's `EnforceVersionPolicies` says about an `upgrade apply` to `target`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct KubeadmPolicyErrors {
    /// Errors `--force` cannot skip.
    pub mandatory: Vec<String>,
    /// Errors `--force` would skip. kubeladder never passes `--force` to make a plan work.
    pub skippable: Vec<String>,
}

impl KubeadmPolicyErrors {
    pub fn is_empty(&self) -> bool {
        self.mandatory.is_empty() && self.skippable.is_empty()
    }
}

/// Inputs of kubeadm's policy check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeadmPolicyInput<'a> {
    pub cluster: KubeVersion,
    pub kubeadm: KubeVersion,
    pub target: KubeVersion,
    pub kubelets: &'a [KubeVersion],
    pub allow_experimental: bool,
    pub allow_release_candidates: bool,
}

/// kubeadm's `MaximumAllowedMinorVersionKubeletSkew`: 1 up to kubeadm 1.28, 3 from 1.29
/// (kubernetes/kubernetes#120825).
pub fn kubeadm_kubelet_skew(kubeadm: Minor) -> i64 {
    if kubeadm >= Minor::new(1, 29) { 3 } else { 1 }
}

/// kubeadm's `EnforceVersionPolicies` (cmd/kubeadm/app/phases/upgrade/policy.go), with its
/// messages. `MinimumControlPlaneVersion` is kubeadm's own minor minus one (`vX.(Y-1).0`).
/// One deliberate difference: kubeadm's minimum-version message names the cluster version
/// where it means the minimum; we name the minimum.
pub fn kubeadm_policy(input: &KubeadmPolicyInput<'_>) -> KubeadmPolicyErrors {
    let mut errors = KubeadmPolicyErrors::default();
    let KubeadmPolicyInput { cluster, kubeadm, target, .. } = *input;
    let target_minor = target.minor();
    let minimum = kubeadm.minor().offset(-1).unwrap_or(kubeadm.minor());
    let minimum_version = KubeVersion::new(minimum.major, minimum.minor, 0);
    // kubeadm demotes the version-distance errors to skippable for a pre-release target.
    let mut version_error = |message: String| {
        if target.is_prerelease() { errors.skippable.push(message) } else { errors.mandatory.push(message) }
    };
    if target < minimum_version {
        version_error(format!(
            "Specified version to upgrade to \"{target}\" is equal to or lower than the minimum supported version \
             \"{minimum_version}\". Please specify a higher version to upgrade to"
        ));
    }
    if cluster.minor().minors_until(target_minor) > 1 {
        version_error(format!(
            "Specified version to upgrade to \"{target}\" is too high; kubeadm can upgrade only 1 minor version at a time"
        ));
    }
    if target_minor.minors_until(cluster.minor()) > 1 {
        version_error(format!(
            "Specified version to downgrade to \"{target}\" is too low; kubeadm can downgrade only 1 minor version at a time"
        ));
    }
    if kubeadm < target && target_minor > kubeadm.minor() {
        version_error(format!(
            "Specified version to upgrade to \"{target}\" is at least one minor release higher than the kubeadm minor \
             release ({} > {}). Such an upgrade is not supported",
            target.minor, kubeadm.minor
        ));
    } else if kubeadm < target {
        errors.skippable.push(format!(
            "Specified version to upgrade to \"{target}\" is higher than the kubeadm version \"{kubeadm}\". \
             Upgrade kubeadm first using the tool you used to install kubeadm"
        ));
    }
    if kubeadm.minor() > target_minor {
        errors.skippable.push(format!(
            "Kubeadm version {kubeadm} can only be used to upgrade to Kubernetes version {}",
            kubeadm.minor()
        ));
    }
    if let Some(pre) = target.pre {
        let allowed = match pre.kind {
            crate::version::PreKind::Rc => input.allow_release_candidates || input.allow_experimental,
            _ => input.allow_experimental,
        };
        if !allowed {
            errors.skippable.push(format!(
                "Specified version to upgrade to \"{target}\" is an unstable version and such upgrades weren't \
                 allowed via setting the --allow-*-upgrades flags"
            ));
        }
    }
    let skew = kubeadm_kubelet_skew(kubeadm.minor());
    let mut too_old: Vec<String> = input
        .kubelets
        .iter()
        .filter(|k| k.minor().minors_until(target_minor) > skew)
        .map(ToString::to_string)
        .collect();
    too_old.sort();
    too_old.dedup();
    if !too_old.is_empty() {
        errors.skippable.push(format!(
            "There are kubelets in this cluster that are too old that have these versions [{}]",
            too_old.join(" ")
        ));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(s: &str) -> Minor {
        Minor::parse(s).unwrap()
    }
    fn ms(list: &[&str]) -> Vec<Minor> {
        list.iter().map(|s| m(s)).collect()
    }
    fn api(list: &[&str]) -> Apiservers {
        Apiservers::from_minors(ms(list)).unwrap()
    }

    // The worked examples of the upstream Version Skew Policy page.
    #[test]
    fn upstream_example_single_apiserver_1_20() {
        let a = api(&["1.20"]);
        assert_eq!(a.allowed(Component::Kubelet), ms(&["1.18", "1.19", "1.20"]));
        assert_eq!(a.allowed(Component::KubeControllerManager), ms(&["1.19", "1.20"]));
        assert_eq!(a.allowed(Component::Kubectl), ms(&["1.19", "1.20", "1.21"]));
    }

    #[test]
    fn upstream_example_ha_1_20_1_21_pins_controller_manager() {
        let a = api(&["1.20", "1.21"]);
        for c in [Component::KubeControllerManager, Component::KubeScheduler, Component::CloudControllerManager] {
            assert_eq!(a.allowed(c), ms(&["1.20"]), "{c}");
        }
    }

    #[test]
    fn upstream_example_ha_1_22_1_23_kubectl() {
        assert_eq!(api(&["1.22", "1.23"]).allowed(Component::Kubectl), ms(&["1.22", "1.23"]));
    }

    #[test]
    fn upstream_example_apiserver_1_28_kubelet_n_minus_3() {
        assert_eq!(api(&["1.28"]).allowed(Component::Kubelet), ms(&["1.25", "1.26", "1.27", "1.28"]));
    }

    #[test]
    fn upstream_example_ha_1_30_1_29_kubelet_and_proxy() {
        let a = api(&["1.30", "1.29"]);
        assert_eq!(a.allowed(Component::Kubelet), ms(&["1.27", "1.28", "1.29"]));
        assert_eq!(a.allowed(Component::KubeProxy), ms(&["1.27", "1.28", "1.29"]));
    }

    #[test]
    fn kubelet_window_before_1_25_is_two_minors() {
        // apiserver 1.27: n-3 would be 1.24, but a 1.24 kubelet only lags two.
        assert_eq!(api(&["1.27"]).allowed(Component::Kubelet), ms(&["1.25", "1.26", "1.27"]));
        assert_eq!(api(&["1.26"]).allowed(Component::Kubelet), ms(&["1.24", "1.25", "1.26"]));
    }

    #[test]
    fn apiserver_allowed_set() {
        assert_eq!(api(&["1.30"]).allowed(Component::KubeApiserver), ms(&["1.29", "1.30", "1.31"]));
        assert_eq!(api(&["1.29", "1.30"]).allowed(Component::KubeApiserver), ms(&["1.29", "1.30"]));
        assert!(api(&["1.28", "1.30"]).allowed(Component::KubeApiserver).is_empty());
    }

    #[test]
    fn allowed_sets_are_empty_when_apiservers_violate() {
        let a = api(&["1.28", "1.30"]);
        for c in Component::ALL {
            assert!(a.allowed(c).is_empty(), "{c}");
        }
    }

    #[test]
    fn evaluate_names_nodes_and_rules() {
        let instances = vec![
            Instance::on(Component::KubeApiserver, "cp-1", m("1.23")),
            Instance::on(Component::KubeApiserver, "cp-2", m("1.22")),
            Instance::on(Component::KubeControllerManager, "cp-1", m("1.23")),
            Instance::on(Component::Kubelet, "w-1", m("1.20")),
            Instance::on(Component::Kubelet, "w-2", m("1.22")),
            Instance::on(Component::KubeProxy, "w-2", m("1.22")),
            Instance::new(Component::Kubectl, m("1.25")),
        ];
        let report = evaluate(&instances).unwrap();
        let found: Vec<_> =
            report.violations.iter().map(|v| (v.component, v.node.as_deref(), v.version.to_string(), v.rule)).collect();
        assert_eq!(
            found,
            vec![
                (Component::KubeControllerManager, Some("cp-1"), "1.23".to_owned(), Rule::NewerThanApiserver),
                (Component::Kubelet, Some("w-1"), "1.20".to_owned(), Rule::OlderThanWindow),
                (Component::Kubectl, None, "1.25".to_owned(), Rule::NewerThanApiserver),
            ]
        );
        assert!(report.violations[1].message.contains("node w-1"));
        assert_eq!(report.apiservers, ms(&["1.22", "1.23"]));
    }

    #[test]
    fn kube_proxy_is_checked_against_its_own_kubelet() {
        let instances = vec![
            Instance::new(Component::KubeApiserver, m("1.31")),
            Instance::on(Component::Kubelet, "w-1", m("1.31")),
            Instance::on(Component::KubeProxy, "w-1", m("1.27")),
            Instance::on(Component::Kubelet, "w-2", m("1.28")),
            Instance::on(Component::KubeProxy, "w-2", m("1.31")),
        ];
        let report = evaluate(&instances).unwrap();
        let rules: Vec<_> = report.violations.iter().map(|v| (v.node.as_deref(), v.rule)).collect();
        // w-1: proxy 1.27 lags apiserver 1.31 by 4 and its kubelet by 4.
        assert_eq!(rules, vec![(Some("w-1"), Rule::OlderThanWindow), (Some("w-1"), Rule::KubeProxyKubeletSkew)]);
    }

    #[test]
    fn spread_apiservers_are_reported_on_every_extreme_instance() {
        let instances = vec![
            Instance::on(Component::KubeApiserver, "cp-1", m("1.28")),
            Instance::on(Component::KubeApiserver, "cp-2", m("1.29")),
            Instance::on(Component::KubeApiserver, "cp-3", m("1.30")),
        ];
        let report = evaluate(&instances).unwrap();
        assert_eq!(report.violations.len(), 3);
        assert!(report.violations.iter().all(|v| v.rule == Rule::ApiserverSpread));
    }

    #[test]
    fn no_apiserver_is_an_input_error() {
        assert_eq!(evaluate(&[Instance::new(Component::Kubelet, m("1.20"))]), Err(CoreError::NoApiservers));
    }

    fn kv(s: &str) -> KubeVersion {
        KubeVersion::parse(s).unwrap()
    }

    fn policy(cluster: &str, kubeadm: &str, target: &str, kubelets: &[&str]) -> KubeadmPolicyErrors {
        let kubelets: Vec<_> = kubelets.iter().map(|k| kv(k)).collect();
        kubeadm_policy(&KubeadmPolicyInput {
            cluster: kv(cluster),
            kubeadm: kv(kubeadm),
            target: kv(target),
            kubelets: &kubelets,
            allow_experimental: false,
            allow_release_candidates: false,
        })
    }

    #[test]
    fn kubeadm_policy_accepts_a_normal_hop() {
        assert!(policy("v1.18.4", "v1.19.16", "v1.19.16", &["v1.18.4"]).is_empty());
        assert!(policy("v1.28.15", "v1.29.15", "v1.29.15", &["v1.26.1"]).is_empty());
    }

    #[test]
    fn kubeadm_policy_mandatory_errors() {
        let e = policy("v1.18.4", "v1.20.15", "v1.20.15", &[]);
        assert!(e.mandatory.iter().any(|m| m.contains("too high; kubeadm can upgrade only 1 minor")), "{e:?}");
        let e = policy("v1.18.4", "v1.18.20", "v1.19.16", &[]);
        assert!(
            e.mandatory
                .iter()
                .any(|m| m.contains("at least one minor release higher than the kubeadm minor release (19 > 18)"))
        );
        let e = policy("v1.21.1", "v1.21.14", "v1.19.16", &[]);
        assert!(e.mandatory.iter().any(|m| m.contains("too low; kubeadm can downgrade only 1 minor")));
        assert!(e.mandatory.iter().any(|m| m.contains("minimum supported version \"v1.20.0\"")));
    }

    #[test]
    fn kubeadm_policy_kubelet_skew_changes_at_1_29() {
        // kubeadm 1.28: kubelets more than one minor older than the target are too old.
        let e = policy("v1.27.1", "v1.28.15", "v1.28.15", &["v1.26.3", "v1.27.1"]);
        assert_eq!(
            e.skippable,
            vec!["There are kubelets in this cluster that are too old that have these versions [v1.26.3]".to_owned()]
        );
        assert!(e.mandatory.is_empty());
        // kubeadm 1.29: three minors are tolerated.
        assert!(policy("v1.28.1", "v1.29.15", "v1.29.15", &["v1.26.3"]).is_empty());
        assert!(!policy("v1.28.1", "v1.29.15", "v1.29.15", &["v1.25.3"]).skippable.is_empty());
    }

    #[test]
    fn kubeadm_policy_skippable_version_mismatch_and_prerelease() {
        let e = policy("v1.29.1", "v1.30.2", "v1.30.3", &[]);
        assert!(e.skippable.iter().any(|m| m.contains("higher than the kubeadm version")));
        let e = policy("v1.29.1", "v1.31.2", "v1.30.3", &[]);
        assert!(
            e.skippable
                .iter()
                .any(|m| m.contains("Kubeadm version v1.31.2 can only be used to upgrade to Kubernetes version 1.31"))
        );
        let e = policy("v1.29.1", "v1.30.0-rc.1", "v1.30.0-rc.1", &[]);
        assert!(e.skippable.iter().any(|m| m.contains("unstable version")));
    }

    fn arb_minor() -> impl Strategy<Value = Minor> {
        (10u32..40).prop_map(|n| Minor::new(1, n))
    }

    fn arb_component() -> impl Strategy<Value = Component> {
        proptest::sample::select(Component::ALL.to_vec())
    }

    proptest! {
        /// Adding an instance at a minor from its component's allowed set never creates a violation.
        #[test]
        fn adding_an_allowed_version_never_violates(
            base in arb_minor(), spread in 0i64..=1, component in arb_component(), pick in 0usize..8
        ) {
            let a = Apiservers { oldest: base, newest: base.offset(spread).unwrap() };
            let allowed = a.allowed(component);
            prop_assume!(!allowed.is_empty());
            let chosen = allowed[pick % allowed.len()];
            let instances = vec![
                Instance::new(Component::KubeApiserver, a.oldest),
                Instance::new(Component::KubeApiserver, a.newest),
                Instance::new(component, chosen),
            ];
            prop_assert!(evaluate(&instances).unwrap().violations.is_empty());
        }

        /// A minor outside the allowed set always violates.
        #[test]
        fn a_version_outside_the_allowed_set_violates(
            base in arb_minor(), spread in 0i64..=1, component in arb_component(), delta in -6i64..6
        ) {
            let a = Apiservers { oldest: base, newest: base.offset(spread).unwrap() };
            let candidate = base.offset(delta).unwrap();
            let allowed = a.allowed(component);
            prop_assert_eq!(a.check(component, candidate).is_ok(), allowed.contains(&candidate));
        }

        /// Allowed sets shrink monotonically as apiserver versions spread.
        #[test]
        fn allowed_sets_shrink_as_apiservers_spread(base in arb_minor(), component in arb_component()) {
            let single = Apiservers { oldest: base, newest: base };
            let newer = Apiservers { oldest: base, newest: base.next() };
            let older = Apiservers { oldest: base.offset(-1).unwrap(), newest: base };
            let s = single.allowed(component);
            for wider in [newer, older] {
                for m in wider.allowed(component) {
                    prop_assert!(s.contains(&m), "{} {} allowed with {:?} but not with {:?}", component, m, wider, single);
                }
            }
        }

        /// Allowed sets are contiguous and never exceed the oldest apiserver + 1.
        #[test]
        fn allowed_sets_are_contiguous(base in arb_minor(), spread in 0i64..=1, component in arb_component()) {
            let a = Apiservers { oldest: base, newest: base.offset(spread).unwrap() };
            let allowed = a.allowed(component);
            for pair in allowed.windows(2) {
                prop_assert_eq!(pair[0].next(), pair[1]);
            }
            if let Some(top) = allowed.last() {
                prop_assert!(*top <= a.oldest.next());
            }
        }
    }
}
