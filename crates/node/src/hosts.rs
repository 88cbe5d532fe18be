//! The hosts file: how to reach each node.
//!
//! ```yaml
//! defaults:
//!   user: root
//!   port: 22
//!   identity_file: ~/.ssh/id_ed25519
//!   known_hosts: ~/.ssh/known_hosts
//!   sudo: false
//!   transport: ssh          # ssh | local | sim
//!   # transport sim only: the simulator's URL, bearer token and CA (written by
//!   # `kubeladder sim serve --hosts-out PATH`)
//!   sim_url: https://127.0.0.1:6443
//!   sim_token: TOKEN
//!   sim_ca_file: /tmp/hosts.yaml.ca.pem
//! hosts:
//!   - node: cp-1
//!     address: 10.0.0.1
//!     port: 2222
//!     package_manager: apt  # apt | yum | dnf | dnf5 (detected when absent)
//!     package_sources:      # also in defaults; see crate::sources
//!       legacy: {apt: https://mirrors.aliyun.com/kubernetes/apt/}
//!       pkgs_k8s_io: https://mirrors.aliyun.com/kubernetes-new/core/stable/
//! ```
//!
//! Nodes missing from `hosts` are reached at their `InternalIP` with the defaults.
//! Unknown keys, duplicate nodes, malformed YAML and `transport: sim` without the simulator's
//! `sim_url`, `sim_token` and `sim_ca_file` are refused with the line and column.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use kubeladder_core::package::PackageManager;
use serde::{Deserialize, Serialize};
use serde_saphyr::{MessageFormatter as _, Spanned};

use crate::error::NodeError;
use crate::sources::PackageSources;

/// How kubeladder reaches a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    #[default]
    Ssh,
    /// This machine (kubeladder runs on the node itself).
    Local,
    /// The simulator's exec endpoint.
    Sim,
}

/// Settings shared by every host unless a host overrides them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    user: Option<String>,
    port: Option<Spanned<u16>>,
    identity_file: Option<PathBuf>,
    known_hosts: Option<PathBuf>,
    sudo: Option<bool>,
    transport: Option<Spanned<Transport>>,
    /// `[user@]host[:port]` of an SSH jump host, checked at parse time.
    jump_host: Option<Spanned<String>>,
    package_manager: Option<PackageManager>,
    /// Absolute paths of tools (`kubeadm: /usr/local/bin/kubeadm`), per tool over the
    /// defaults' (RHEL's sudo `secure_path` omits /usr/local/bin).
    tool_paths: Option<Spanned<BTreeMap<String, String>>>,
    sim_url: Option<Spanned<String>>,
    sim_token: Option<String>,
    sim_ca_file: Option<PathBuf>,
    package_sources: Option<Spanned<PackageSources>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HostEntry {
    node: Spanned<String>,
    address: Option<String>,
    user: Option<String>,
    port: Option<Spanned<u16>>,
    identity_file: Option<PathBuf>,
    known_hosts: Option<PathBuf>,
    sudo: Option<bool>,
    transport: Option<Spanned<Transport>>,
    jump_host: Option<Spanned<String>>,
    package_manager: Option<PackageManager>,
    tool_paths: Option<Spanned<BTreeMap<String, String>>>,
    sim_url: Option<Spanned<String>>,
    sim_token: Option<String>,
    sim_ca_file: Option<PathBuf>,
    package_sources: Option<Spanned<PackageSources>>,
}

impl HostEntry {
    fn settings(&self) -> Settings {
        Settings {
            user: self.user.clone(),
            port: self.port.clone(),
            identity_file: self.identity_file.clone(),
            known_hosts: self.known_hosts.clone(),
            sudo: self.sudo,
            transport: self.transport.clone(),
            jump_host: self.jump_host.clone(),
            package_manager: self.package_manager,
            tool_paths: self.tool_paths.clone(),
            sim_url: self.sim_url.clone(),
            sim_token: self.sim_token.clone(),
            sim_ca_file: self.sim_ca_file.clone(),
            package_sources: self.package_sources.clone(),
        }
    }
}

impl Settings {
    /// The simulator endpoint from these settings over `defaults`, or the first key missing.
    fn sim(&self, defaults: &Self) -> Result<SimTarget, &'static str> {
        let url = self.sim_url.as_ref().or(defaults.sim_url.as_ref()).ok_or("sim_url")?;
        let token = self.sim_token.as_ref().or(defaults.sim_token.as_ref()).ok_or("sim_token")?;
        let ca_file = self.sim_ca_file.as_ref().or(defaults.sim_ca_file.as_ref()).ok_or("sim_ca_file")?;
        Ok(SimTarget { url: url.value.clone(), token: token.clone(), ca_file: ca_file.clone() })
    }
}

/// Where the simulator's exec endpoint is and how to trust and authenticate to it.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct SimTarget {
    /// `https://127.0.0.1:PORT`, the simulated API server's URL.
    pub url: String,
    /// The bearer token (never serialized, never shown).
    #[serde(skip)]
    pub token: String,
    /// The PEM file of the CA that signed the simulator's certificate, the only one trusted.
    pub ca_file: PathBuf,
}

impl std::fmt::Debug for SimTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimTarget").field("url", &self.url).field("ca_file", &self.ca_file).finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHostsFile {
    #[serde(default)]
    defaults: Settings,
    #[serde(default)]
    hosts: Vec<HostEntry>,
}

/// Everything needed to reach one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Host {
    pub node: String,
    pub address: String,
    pub port: u16,
    pub user: String,
    pub identity_file: Option<PathBuf>,
    pub known_hosts: Option<PathBuf>,
    /// Prefix commands with `sudo -n` (also implied when `user` is not root).
    pub sudo: bool,
    pub transport: Transport,
    pub jump_host: Option<JumpHost>,
    /// `None`: detect it on the node.
    pub package_manager: Option<PackageManager>,
    /// The simulator's endpoint (transport `sim` only).
    pub sim: Option<SimTarget>,
    /// Where its Kubernetes packages come from (the host's over the defaults').
    pub package_sources: PackageSources,
    /// Tools run at these absolute paths (`kubeadm` -> `/usr/local/bin/kubeadm`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tool_paths: BTreeMap<String, String>,
}

impl Host {
    /// Whether commands run through `sudo -n`.
    pub fn needs_sudo(&self) -> bool {
        self.sudo || self.user != "root"
    }
}

/// A parsed hosts file.
#[derive(Debug, Clone, Default)]
pub struct Hosts {
    /// The file's name as errors show it.
    file: String,
    defaults: Settings,
    entries: HashMap<String, (Option<String>, Settings)>,
    order: Vec<String>,
    /// Where each entry's `node` is written (line, column).
    positions: HashMap<String, (u64, u64)>,
}

impl Hosts {
    /// Read and parse a hosts file.
    pub fn load(path: &Path) -> Result<Self, NodeError> {
        let text = std::fs::read_to_string(path).map_err(|source| NodeError::Io { path: path.to_owned(), source })?;
        Self::parse(&path.display().to_string(), &text)
    }

    /// Parse hosts file text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Self, NodeError> {
        let raw: RawHostsFile = serde_saphyr::from_str(text).map_err(|e| {
            let (line, column) = e.location().map_or((0, 0), |l| (to_usize(l.line()), to_usize(l.column())));
            // The message alone: the location is ours to print, once.
            let message = serde_saphyr::UserMessageFormatter.format_message(e.without_snippet());
            let message = message.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
            NodeError::HostsFile { file: file.to_owned(), line, column, message }
        })?;
        let at_error = |at: &serde_saphyr::Location, message: String| NodeError::HostsFile {
            file: file.to_owned(),
            line: to_usize(at.line()),
            column: to_usize(at.column()),
            message,
        };
        let defaults = raw.defaults;
        check_sim_url(&defaults, &at_error)?;
        check_tool_paths(&defaults, &at_error)?;
        check_reach(&defaults, &at_error)?;
        if let Some(transport) = defaults.transport.as_ref().filter(|t| t.value == Transport::Sim)
            && let Err(missing) = Settings::default().sim(&defaults)
        {
            return Err(at_error(
                &transport.referenced,
                format!(
                    "defaults: transport sim needs {missing} in defaults (nodes not listed under hosts use the defaults); set sim_url, sim_token and sim_ca_file, as `kubeladder sim serve --hosts-out` writes them"
                ),
            ));
        }
        let mut hosts = HashMap::new();
        let mut seen: HashMap<String, (u64, u64)> = HashMap::new();
        let mut order = Vec::new();
        for entry in raw.hosts {
            let name = entry.node.value.clone();
            let at = &entry.node.referenced;
            if name.trim().is_empty() {
                return Err(at_error(at, "a host's `node` is empty".to_owned()));
            }
            if let Some((line, column)) = seen.get(&name) {
                return Err(at_error(
                    at,
                    format!("node {name:?} is listed twice (first at line {line}, column {column})"),
                ));
            }
            let settings = entry.settings();
            check_sim_url(&settings, &at_error)?;
            check_tool_paths(&settings, &at_error)?;
            check_reach(&settings, &at_error)?;
            let transport = settings.transport.as_ref().or(defaults.transport.as_ref());
            if let Some(transport) = transport.filter(|t| t.value == Transport::Sim)
                && let Err(missing) = settings.sim(&defaults)
            {
                let at = if settings.transport.is_some() { &transport.referenced } else { at };
                return Err(at_error(
                    at,
                    format!(
                        "node {name:?} uses transport sim but no {missing} is set (on the host or in defaults); set sim_url, sim_token and sim_ca_file"
                    ),
                ));
            }
            seen.insert(name.clone(), (at.line(), at.column()));
            order.push(name.clone());
            hosts.insert(name, (entry.address, settings));
        }
        Ok(Self { file: file.to_owned(), defaults, entries: hosts, order, positions: seen })
    }

    /// Refuse an entry whose node is not in `cluster_nodes`: a misspelt name would leave the
    /// real node reached at its `InternalIP` with the defaults, silently.
    pub fn check_nodes_exist(&self, cluster_nodes: &[&str]) -> Result<(), NodeError> {
        let Some(stray) = self.order.iter().find(|n| !cluster_nodes.contains(&n.as_str())) else { return Ok(()) };
        let (line, column) = self.positions.get(stray).copied().unwrap_or((0, 0));
        let closest = cluster_nodes
            .iter()
            .min_by_key(|c| strsim::levenshtein(stray, c))
            .filter(|c| strsim::levenshtein(stray, c) <= 3);
        let hint = match closest {
            Some(c) => format!("did you mean {c:?}? "),
            None => String::new(),
        };
        Err(NodeError::HostsFile {
            file: self.file.clone(),
            line: to_usize(line),
            column: to_usize(column),
            message: format!(
                "node {stray:?} is not in the cluster; {hint}fix the name (as `kubectl get nodes` shows it) or remove the entry"
            ),
        })
    }

    /// The nodes the file lists, in file order.
    pub fn nodes(&self) -> &[String] {
        &self.order
    }

    /// How to reach `node`: its entry over the defaults, else `internal_ip` with the
    /// defaults. `None` when the node is not in the file and has no known address.
    pub fn resolve(&self, node: &str, internal_ip: Option<&str>) -> Option<Host> {
        let (address, own) = match self.entries.get(node) {
            Some((address, settings)) => (address.clone().or_else(|| internal_ip.map(str::to_owned)), settings.clone()),
            None => (internal_ip.map(str::to_owned), Settings::default()),
        };
        let d = &self.defaults;
        let transport = own.transport.as_ref().or(d.transport.as_ref()).map(|t| t.value).unwrap_or_default();
        let sim = if transport == Transport::Sim { own.sim(d).ok() } else { None };
        Some(Host {
            node: node.to_owned(),
            address: address?,
            port: own.port.as_ref().or(d.port.as_ref()).map_or(22, |p| p.value),
            user: own.user.or_else(|| d.user.clone()).unwrap_or_else(|| "root".to_owned()),
            identity_file: own.identity_file.or_else(|| d.identity_file.clone()),
            known_hosts: own.known_hosts.or_else(|| d.known_hosts.clone()),
            sudo: own.sudo.or(d.sudo).unwrap_or(false),
            transport,
            jump_host: own.jump_host.as_ref().or(d.jump_host.as_ref()).and_then(|j| j.value.parse().ok()),
            package_manager: own.package_manager.or(d.package_manager),
            sim,
            package_sources: own
                .package_sources
                .map(|s| s.value)
                .unwrap_or_default()
                .over(&d.package_sources.as_ref().map(|s| s.value.clone()).unwrap_or_default()),
            tool_paths: d
                .tool_paths
                .iter()
                .chain(own.tool_paths.iter())
                .flat_map(|m| m.value.iter().map(|(k, v)| (k.clone(), v.clone())))
                .collect(),
        })
    }
}

/// Refuse a `tool_paths` entry whose path is not absolute or whose tool is a path, at its
/// position.
fn check_tool_paths(
    settings: &Settings,
    at_error: &impl Fn(&serde_saphyr::Location, String) -> NodeError,
) -> Result<(), NodeError> {
    let Some(paths) = &settings.tool_paths else { return Ok(()) };
    for (tool, path) in &paths.value {
        if tool.is_empty() || tool.contains('/') {
            return Err(at_error(
                &paths.referenced,
                format!("tool_paths: {tool:?} is not a program name; write e.g. `kubeadm: /usr/local/bin/kubeadm`"),
            ));
        }
        if !path.starts_with('/') {
            return Err(at_error(
                &paths.referenced,
                format!(
                    "tool_paths.{tool}: {path:?} is not an absolute path; write e.g. `{tool}: /usr/local/bin/{tool}`"
                ),
            ));
        }
    }
    Ok(())
}

/// Refuse `port: 0` and a `jump_host` that is not `[user@]host[:port]`, at their position:
/// both would otherwise fail only when the first command connects.
fn check_reach(
    settings: &Settings,
    at_error: &impl Fn(&serde_saphyr::Location, String) -> NodeError,
) -> Result<(), NodeError> {
    if let Some(port) = settings.port.as_ref().filter(|p| p.value == 0) {
        return Err(at_error(
            &port.referenced,
            "port 0 is not a port sshd listens on; give 1-65535 (22 by default)".to_owned(),
        ));
    }
    if let Some(jump) = &settings.jump_host
        && let Err(reason) = jump.value.parse::<JumpHost>()
    {
        return Err(at_error(&jump.referenced, format!("jump_host {:?}: {reason}", jump.value)));
    }
    Ok(())
}

/// An SSH jump host, `[user@]host[:port]` (`[v6]:port` for IPv6 addresses).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JumpHost {
    /// `None`: the node's user.
    pub user: Option<String>,
    pub address: String,
    pub port: u16,
}

impl std::str::FromStr for JumpHost {
    type Err = String;
    fn from_str(spec: &str) -> Result<Self, String> {
        let usage = "write [user@]host[:port], e.g. admin@bastion.example.com:22";
        if spec.trim().is_empty() {
            return Err(format!("is empty; {usage}"));
        }
        if spec.contains(char::is_whitespace) || spec.contains(['/', ',']) {
            return Err(format!("is not a single host; {usage}"));
        }
        let (user, rest) = match spec.split_once('@') {
            Some((user, rest)) if !user.is_empty() => (Some(user.to_owned()), rest),
            Some(_) => return Err(format!("has an empty user before @; {usage}")),
            None => (None, spec),
        };
        let (address, port) = if let Some(bracketed) = rest.strip_prefix('[') {
            let (address, after) = bracketed.split_once(']').ok_or_else(|| format!("has an unclosed [; {usage}"))?;
            (address, after.strip_prefix(':'))
        } else if rest.matches(':').count() > 1 {
            (rest, None)
        } else {
            match rest.split_once(':') {
                Some((address, port)) => (address, Some(port)),
                None => (rest, None),
            }
        };
        let port = match port {
            Some(port) => match port.parse::<u16>() {
                Ok(0) | Err(_) => return Err(format!("port {port:?} is not a number from 1 to 65535; {usage}")),
                Ok(port) => port,
            },
            None => 22,
        };
        if address.is_empty() || address.contains('@') {
            return Err(format!("has no host; {usage}"));
        }
        Ok(Self { user, address: address.to_owned(), port })
    }
}

impl std::fmt::Display for JumpHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(user) = &self.user {
            write!(f, "{user}@")?;
        }
        if self.address.contains(':') {
            write!(f, "[{}]:{}", self.address, self.port)
        } else {
            write!(f, "{}:{}", self.address, self.port)
        }
    }
}

/// Refuse a `sim_url` that is not `https://HOST:PORT`, at its position.
fn check_sim_url(
    settings: &Settings,
    at_error: &impl Fn(&serde_saphyr::Location, String) -> NodeError,
) -> Result<(), NodeError> {
    if let Some(sources) = &settings.package_sources
        && let Some(problem) = sources.value.problem()
    {
        return Err(at_error(&sources.referenced, problem));
    }
    match &settings.sim_url {
        Some(url) => parse_sim_url(&url.value)
            .map(|_| ())
            .map_err(|reason| at_error(&url.referenced, format!("sim_url {:?}: {reason}", url.value))),
        None => Ok(()),
    }
}

/// `https://HOST[:PORT][/]` -> (host, port). Anything else, a path included, is refused.
pub fn parse_sim_url(url: &str) -> Result<(String, u16), String> {
    let rest = url.strip_prefix("https://").ok_or("not an https:// URL")?;
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
        return Err("expected https://HOST:PORT with no path".to_owned());
    }
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or("unclosed [ in the address")?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(port) => port.parse::<u16>().map_err(|_| format!("port {port:?} is not a number up to 65535"))?,
        None => 443,
    };
    if host.is_empty() {
        return Err("no host".to_owned());
    }
    Ok((host.to_owned(), port))
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jump_hosts_parse_or_say_why() {
        let j: JumpHost = "admin@bastion.example:2222".parse().unwrap();
        assert_eq!((j.user.as_deref(), j.address.as_str(), j.port), (Some("admin"), "bastion.example", 2222));
        let j: JumpHost = "10.0.0.1".parse().unwrap();
        assert_eq!((j.user, j.address.as_str(), j.port), (None, "10.0.0.1", 22));
        let j: JumpHost = "ops@[fd00::1]:2200".parse().unwrap();
        assert_eq!((j.address.as_str(), j.port, j.to_string()), ("fd00::1", 2200, "ops@[fd00::1]:2200".to_owned()));
        for bad in ["bastion:notaport", "@bastion", "", "bastion:0", "a b", "user@", "[fd00::1"] {
            assert!(bad.parse::<JumpHost>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn port_zero_and_a_bad_jump_host_are_refused_with_their_position() {
        let e = Hosts::parse("h.yaml", "hosts:\n  - node: a\n    port: 0\n").unwrap_err().to_string();
        assert!(e.contains("h.yaml:3:11") && e.contains("port 0"), "{e}");
        let e = Hosts::parse("h.yaml", "defaults:\n  jump_host: bastion:22x\nhosts: []\n").unwrap_err().to_string();
        assert!(e.contains("h.yaml:2:14") && e.contains("jump_host \"bastion:22x\""), "{e}");
    }

    fn err(text: &str) -> (usize, usize, String) {
        match Hosts::parse("hosts.yaml", text) {
            Err(NodeError::HostsFile { line, column, message, .. }) => (line, column, message),
            other => panic!("expected a hosts file error, got {other:?}"),
        }
    }

    #[test]
    fn resolves_entries_over_defaults_and_internal_ips() {
        let hosts = Hosts::parse(
            "hosts.yaml",
            "defaults:\n  user: admin\n  port: 2200\n  sudo: true\n  known_hosts: /k\nhosts:\n  - node: cp-1\n    address: 127.0.0.2\n    port: 22\n    package_manager: dnf5\n  - node: w-1\n    transport: local\n",
        )
        .unwrap();
        assert_eq!(hosts.nodes(), ["cp-1", "w-1"]);
        let cp = hosts.resolve("cp-1", Some("10.0.0.1")).unwrap();
        assert_eq!((cp.address.as_str(), cp.port, cp.user.as_str()), ("127.0.0.2", 22, "admin"));
        assert_eq!(cp.package_manager, Some(PackageManager::Dnf5));
        assert!(cp.needs_sudo());
        let w = hosts.resolve("w-1", Some("10.0.0.9")).unwrap();
        assert_eq!((w.address.as_str(), w.port, w.transport), ("10.0.0.9", 2200, Transport::Local));
        let other = hosts.resolve("w-2", Some("10.0.0.3")).unwrap();
        assert_eq!((other.user.as_str(), other.port, other.known_hosts), ("admin", 2200, Some(PathBuf::from("/k"))));
        assert!(hosts.resolve("w-3", None).is_none());
    }

    #[test]
    fn tool_paths_merge_per_tool_over_the_defaults_and_must_be_absolute() {
        let hosts = Hosts::parse(
            "hosts.yaml",
            "defaults:\n  tool_paths:\n    kubeadm: /usr/local/bin/kubeadm\n    etcdctl: /usr/local/bin/etcdctl\nhosts:\n  - node: cp-1\n    tool_paths:\n      kubeadm: /opt/k8s/kubeadm\n",
        )
        .unwrap();
        let cp = hosts.resolve("cp-1", Some("10.0.0.1")).unwrap();
        assert_eq!(cp.tool_paths.get("kubeadm").map(String::as_str), Some("/opt/k8s/kubeadm"));
        assert_eq!(cp.tool_paths.get("etcdctl").map(String::as_str), Some("/usr/local/bin/etcdctl"));
        let other = hosts.resolve("w-1", Some("10.0.0.2")).unwrap();
        assert_eq!(other.tool_paths.get("kubeadm").map(String::as_str), Some("/usr/local/bin/kubeadm"));
        let (line, _, message) = err("hosts:\n  - node: cp-1\n    tool_paths:\n      kubeadm: bin/kubeadm\n");
        assert!(line >= 3, "{message}");
        assert!(message.contains("tool_paths.kubeadm") && message.contains("not an absolute path"), "{message}");
    }

    #[test]
    fn empty_file_means_defaults_everywhere() {
        let hosts = Hosts::parse("hosts.yaml", "{}\n").unwrap();
        let h = hosts.resolve("n", Some("127.0.0.5")).unwrap();
        assert_eq!((h.user.as_str(), h.port, h.sudo, h.transport), ("root", 22, false, Transport::Ssh));
        assert!(!h.needs_sudo());
    }

    #[test]
    fn refuses_unknown_keys_with_position() {
        let (line, column, message) = err("hosts:\n  - node: cp-1\n    adress: 127.0.0.2\n");
        assert_eq!(line, 3, "{message}");
        assert!(column > 0);
        assert!(message.contains("adress"), "{message}");
        // The position is printed once, by our error; serde-saphyr's own is left out.
        assert!(!message.contains("line") && !message.contains("error"), "{message}");
        let (line, _, message) = err("defaults:\n  usr: root\n");
        assert_eq!(line, 2, "{message}");
        assert!(message.contains("usr"), "{message}");
    }

    #[test]
    fn refuses_duplicate_nodes_with_both_positions() {
        let (line, column, message) =
            err("hosts:\n  - node: cp-1\n    address: 127.0.0.2\n  - node: cp-1\n    address: 127.0.0.3\n");
        assert_eq!((line, column), (4, 11), "{message}");
        assert!(message.contains("\"cp-1\" is listed twice (first at line 2"), "{message}");
    }

    #[test]
    fn refuses_malformed_yaml_and_bad_values() {
        let (line, _, message) = err("hosts:\n  - node: cp-1\n   address: [\n");
        assert!(line >= 2, "{message}");
        let (line, _, message) = err("hosts:\n  - node: cp-1\n    transport: telnet\n");
        assert_eq!(line, 3, "{message}");
        assert!(message.contains("telnet"), "{message}");
        let (line, _, message) = err("defaults:\n  port: 70000\n");
        assert_eq!(line, 2, "{message}");
        let (line, _, message) = err("hosts:\n  - address: 127.0.0.2\n");
        assert_eq!(line, 2, "{message}");
        assert!(message.contains("node"), "{message}");
        let (line, _, message) = err("hosts:\n  - node: \"\"\n");
        assert_eq!(line, 2, "{message}");
    }

    const SIM_DEFAULTS: &str = "defaults:\n  transport: sim\n  sim_url: https://127.0.0.1:6443\n  sim_token: t0k\n  sim_ca_file: /tmp/ca.pem\n";

    #[test]
    fn sim_keys_resolve_from_defaults_and_hosts() {
        let text = format!(
            "{SIM_DEFAULTS}hosts:\n  - node: cp-1\n    address: 10.0.0.1\n    package_manager: apt\n  - node: w-1\n    sim_url: https://127.0.0.2:7443/\n  - node: w-2\n    transport: ssh\n"
        );
        let hosts = Hosts::parse("hosts.yaml", &text).unwrap();
        let cp = hosts.resolve("cp-1", None).unwrap();
        assert_eq!(cp.transport, Transport::Sim);
        let sim = cp.sim.unwrap();
        assert_eq!((sim.url.as_str(), sim.token.as_str()), ("https://127.0.0.1:6443", "t0k"));
        assert_eq!(sim.ca_file, PathBuf::from("/tmp/ca.pem"));
        assert_eq!(hosts.resolve("w-1", Some("10.0.0.5")).unwrap().sim.unwrap().url, "https://127.0.0.2:7443/");
        let unlisted = hosts.resolve("w-9", Some("10.0.0.9")).unwrap();
        assert_eq!((unlisted.transport, unlisted.address.as_str()), (Transport::Sim, "10.0.0.9"));
        let ssh = hosts.resolve("w-2", Some("10.0.0.6")).unwrap();
        assert_eq!((ssh.transport, ssh.sim), (Transport::Ssh, None));
        // The token never appears in JSON or debug output.
        let shown = format!(
            "{:?} {}",
            hosts.resolve("cp-1", None),
            serde_json::to_string(&hosts.resolve("cp-1", None)).unwrap()
        );
        assert!(!shown.contains("t0k") && shown.contains("6443"), "{shown}");
    }

    #[test]
    fn sim_transport_without_its_keys_is_refused_with_position() {
        let (line, column, message) = err("defaults:\n  transport: sim\n  sim_url: https://127.0.0.1:6443\n");
        assert_eq!((line, column), (2, 14), "{message}");
        assert!(message.contains("sim_token"), "{message}");
        let (line, _, message) = err("hosts:\n  - node: cp-1\n    transport: sim\n    sim_token: t\n");
        assert_eq!(line, 3, "{message}");
        assert!(message.contains("\"cp-1\" uses transport sim but no sim_url"), "{message}");
        let (line, _, message) = err(
            "defaults:\n  transport: sim\n  sim_url: https://127.0.0.1:6443\n  sim_token: t\n  sim_ca_file: /ca\nhosts:\n  - node: cp-1\n    sim_url: http://127.0.0.1:6443\n",
        );
        assert_eq!(line, 8, "{message}");
        assert!(message.contains("not an https:// URL"), "{message}");
        let (line, _, message) = err("hosts:\n  - node: cp-1\n    sim_tokn: t\n");
        assert_eq!(line, 3, "{message}");
        // Keys given on every listed host but not in defaults: unlisted nodes would have none.
        let (line, _, message) = err("defaults:\n  transport: sim\nhosts:\n  - node: cp-1\n");
        assert_eq!(line, 2, "{message}");
    }

    #[test]
    fn error_display_names_file_line_and_column() {
        let e = Hosts::parse("/etc/kubeladder/hosts.yaml", "bogus: 1\n").unwrap_err();
        assert!(e.to_string().starts_with("/etc/kubeladder/hosts.yaml:1:"), "{e}");
    }
}

#[cfg(test)]
mod package_source_tests {
    use super::*;

    #[test]
    fn package_sources_merge_per_host_and_bad_ones_are_refused_at_their_line() {
        let text = "defaults:\n  package_sources:\n    legacy: {apt: https://mirrors.aliyun.com/kubernetes/apt/}\nhosts:\n  - node: cp-1\n    address: 10.0.0.1\n    package_sources:\n      pkgs_k8s_io: https://mirror.example/kubernetes-new/core/stable/\n";
        let hosts = Hosts::parse("hosts.yaml", text).unwrap();
        let cp = hosts.resolve("cp-1", None).unwrap();
        assert_eq!(
            cp.package_sources.legacy.as_ref().and_then(|l| l.apt.as_deref()),
            Some("https://mirrors.aliyun.com/kubernetes/apt/")
        );
        assert_eq!(
            cp.package_sources.pkgs_k8s_io.as_deref(),
            Some("https://mirror.example/kubernetes-new/core/stable/")
        );
        let other = hosts.resolve("worker-1", Some("10.0.0.2")).unwrap();
        assert!(other.package_sources.pkgs_k8s_io.is_none() && other.package_sources.legacy.is_some());

        let bad = "hosts:\n  - node: cp-1\n    address: 10.0.0.1\n    package_sources:\n      legacy: {yum: https://m/yum/}\n";
        let e = Hosts::parse("hosts.yaml", bad).unwrap_err().to_string();
        assert!(e.contains("hosts.yaml:5") && e.contains("yum_key"), "{e}");
        let unknown = "defaults:\n  package_sources:\n    legacy: {deb: https://m/}\n";
        let e = Hosts::parse("hosts.yaml", unknown).unwrap_err().to_string();
        assert!(e.contains("deb"), "{e}");
    }
}
