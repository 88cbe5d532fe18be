//! Import an Ansible inventory laid out as kubespray's (`inventory/sample/inventory.ini` or
//! a YAML `hosts.yaml`) into a kubeladder hosts file.
//!
//! Nodes are the hosts of the groups `kube_control_plane` and `kube_node` (and their older
//! names `kube-master`, `kube_master`, `kube-node`), control planes first, in inventory
//! order. Per host, Ansible's variables map onto the hosts file:
//!
//! | Ansible                                  | hosts file                 |
//! |------------------------------------------|----------------------------|
//! | `ansible_host` (`ansible_ssh_host`)      | `address`                  |
//! | `ansible_user` (`ansible_ssh_user`)      | `user`                     |
//! | `ansible_port` (`ansible_ssh_port`)      | `port`                     |
//! | `ansible_ssh_private_key_file`           | `identity_file`            |
//! | `ansible_become`                         | `sudo`                     |
//! | `ansible_connection: local`              | `transport: local`         |
//!
//! Variables set for `all` (`[all:vars]`, `all.vars`) become the file's `defaults`; a
//! group's variables apply to its hosts (host variables win, as in Ansible). Anything else
//! that decides how Ansible reaches a host (passwords, other `ansible_*` connection
//! variables, Jinja templates, `become` to another user or by another method) is not
//! mapped but reported, as are hosts in no node group. Pure: text in, text and notes out.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};

use crate::error::NodeError;

const CONTROL_PLANE_GROUPS: [&str; 4] = ["kube_control_plane", "kube-master", "kube_master", "kube-controlplane"];
const NODE_GROUPS: [&str; 2] = ["kube_node", "kube-node"];

/// One node of the imported hosts file; `None` leaves the field to the defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportedHost {
    pub node: String,
    pub control_plane: bool,
    pub settings: ImportedSettings,
}

/// The hosts-file settings an inventory gave (for a host or for `all`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportedSettings {
    pub address: Option<String>,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub identity_file: Option<String>,
    pub sudo: Option<bool>,
    pub local: bool,
}

/// What an import produced: the nodes, the defaults, and what could not be mapped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Import {
    pub defaults: ImportedSettings,
    pub hosts: Vec<ImportedHost>,
    /// One line per thing left out, naming the host (or group) and the variable.
    pub unmapped: Vec<String>,
}

/// Variables in inventory order.
type Vars = Vec<(String, String)>;

/// The inventory as Ansible sees it: hosts with variables, groups with hosts, children
/// and variables.
#[derive(Debug, Default)]
struct Inventory {
    hosts: Vec<(String, Vars)>,
    groups: BTreeMap<String, Group>,
}

#[derive(Debug, Default)]
struct Group {
    hosts: Vec<String>,
    children: Vec<String>,
    vars: Vars,
}

impl Inventory {
    fn host(&mut self, name: &str) -> &mut Vars {
        let at = self.hosts.iter().position(|(h, _)| h == name).unwrap_or_else(|| {
            self.hosts.push((name.to_owned(), Vec::new()));
            self.hosts.len() - 1
        });
        &mut self.hosts[at].1
    }

    fn group(&mut self, name: &str) -> &mut Group {
        self.groups.entry(name.to_owned()).or_default()
    }

    /// Every host of `group`, through its children (cycles tolerated).
    fn members(&self, group: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut seen = BTreeSet::new();
        let mut stack = vec![group.to_owned()];
        while let Some(g) = stack.pop() {
            if !seen.insert(g.clone()) {
                continue;
            }
            if let Some(group) = self.groups.get(&g) {
                out.extend(group.hosts.iter().cloned());
                stack.extend(group.children.iter().cloned());
            }
        }
        out
    }

    /// Groups `host` belongs to, parents before children (so children's variables win).
    fn groups_of(&self, host: &str) -> Vec<&str> {
        let mut groups: Vec<(usize, &str)> = self
            .groups
            .keys()
            .filter(|g| g.as_str() != "all" && self.members(g).contains(host))
            .map(|g| (self.depth(g), g.as_str()))
            .collect();
        groups.sort_by_key(|(depth, _)| *depth);
        groups.into_iter().map(|(_, g)| g).collect()
    }

    /// How many ancestors a group has (0 for a top-level group).
    fn depth(&self, group: &str) -> usize {
        let mut depth = 0;
        let mut current = vec![group.to_owned()];
        let mut seen = BTreeSet::new();
        while !current.is_empty() && depth < self.groups.len() {
            let parents: Vec<String> = self
                .groups
                .iter()
                .filter(|(name, g)| name.as_str() != "all" && g.children.iter().any(|c| current.contains(c)))
                .map(|(name, _)| name.clone())
                .filter(|name| seen.insert(name.clone()))
                .collect();
            if parents.is_empty() {
                break;
            }
            depth += 1;
            current = parents;
        }
        depth
    }
}

/// Parse an inventory (`file` names it in errors): YAML when it looks like YAML (a
/// top-level `key:` mapping), else INI.
pub fn import(file: &str, text: &str) -> Result<Import, NodeError> {
    let inventory = if looks_like_yaml(text) { parse_yaml(file, text)? } else { parse_ini(file, text)? };
    map(file, &inventory)
}

fn looks_like_yaml(text: &str) -> bool {
    text.lines()
        .map(str::trim_end)
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#') && !l.trim_start().starts_with(';'))
        .is_some_and(|l| l == "---" || (!l.starts_with('[') && l.ends_with(':') && !l.contains('=')))
}

fn inventory_error(file: &str, line: usize, message: String) -> NodeError {
    NodeError::Inventory { file: file.to_owned(), line, message }
}

/// INI: `[group]` host lines, `[group:vars]` `key=value` lines, `[group:children]` group
/// names; a host line is `name key=value ...`; `#` and `;` start comments.
fn parse_ini(file: &str, text: &str) -> Result<Inventory, NodeError> {
    enum Section {
        Hosts(String),
        Vars(String),
        Children(String),
    }
    let mut inventory = Inventory::default();
    let mut section = Section::Hosts("ungrouped".to_owned());
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = strip_comment(raw).trim();
        if line.is_empty() {
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            let header = header
                .strip_suffix(']')
                .ok_or_else(|| inventory_error(file, number, format!("section header {line:?} lacks its `]`")))?;
            section = match header.split_once(':') {
                None => Section::Hosts(header.to_owned()),
                Some((group, "vars")) => Section::Vars(group.to_owned()),
                Some((group, "children")) => Section::Children(group.to_owned()),
                Some((_, kind)) => {
                    return Err(inventory_error(
                        file,
                        number,
                        format!("section [{header}]: unknown kind {kind:?} (expected :vars or :children)"),
                    ));
                }
            };
            match &section {
                Section::Hosts(g) | Section::Vars(g) | Section::Children(g) => {
                    inventory.group(g);
                }
            }
            continue;
        }
        match &section {
            Section::Hosts(group) => {
                let mut words = split_words(line).into_iter();
                let Some(host) = words.next() else { continue };
                if host.contains('[') {
                    return Err(inventory_error(
                        file,
                        number,
                        format!("host pattern {host:?}: ranges are not supported; list the hosts one per line"),
                    ));
                }
                let mut vars = Vec::new();
                for word in words {
                    let (key, value) = word.split_once('=').ok_or_else(|| {
                        inventory_error(file, number, format!("{word:?} after host {host}: expected key=value"))
                    })?;
                    vars.push((key.to_owned(), unquote(value)));
                }
                inventory.host(&host).extend(vars);
                let members = &mut inventory.group(group).hosts;
                if !members.contains(&host) {
                    members.push(host);
                }
            }
            Section::Vars(group) => {
                let (key, value) = line.split_once('=').ok_or_else(|| {
                    inventory_error(file, number, format!("{line:?} in [{group}:vars]: expected key=value"))
                })?;
                inventory.group(group).vars.push((key.trim().to_owned(), unquote(value.trim())));
            }
            Section::Children(group) => {
                let child = line.to_owned();
                inventory.group(&child);
                inventory.group(group).children.push(child);
            }
        }
    }
    Ok(inventory)
}

/// A line without its comment: `#` or `;` at the start or after whitespace, outside quotes.
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    let mut previous = ' ';
    for (at, c) in line.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#' | ';') if previous.is_whitespace() => return &line[..at],
            _ => {}
        }
        previous = c;
    }
    line
}

/// Split on whitespace outside quotes (quotes kept, removed by [`unquote`]).
fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    for c in line.chars() {
        match (quote, c) {
            (None, '"' | '\'') => {
                quote = Some(c);
                word.push(c);
            }
            (Some(q), c) if c == q => {
                quote = None;
                word.push(c);
            }
            (None, c) if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            _ => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

fn unquote(value: &str) -> String {
    let quoted = value.len() >= 2
        && ((value.starts_with('"') && value.ends_with('"')) || (value.starts_with('\'') && value.ends_with('\'')));
    if quoted { value[1..value.len() - 1].to_owned() } else { value.to_owned() }
}

/// A YAML mapping in document order.
#[derive(Debug)]
struct Ordered<V>(Vec<(String, V)>);

impl<V> Default for Ordered<V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Ordered<V> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OrderedVisitor<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for OrderedVisitor<V> {
            type Value = Ordered<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(Ordered(Vec::new()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, V>()? {
                    out.push((key, value));
                }
                Ok(Ordered(out))
            }
        }
        deserializer.deserialize_any(OrderedVisitor(std::marker::PhantomData))
    }
}

/// A YAML inventory group: `hosts`, `children`, `vars`.
#[derive(Debug, Default, Deserialize)]
struct YamlGroup {
    #[serde(default)]
    hosts: Option<Ordered<Option<Ordered<serde_json::Value>>>>,
    #[serde(default)]
    children: Option<Ordered<Option<YamlGroup>>>,
    #[serde(default)]
    vars: Option<Ordered<serde_json::Value>>,
}

fn parse_yaml(file: &str, text: &str) -> Result<Inventory, NodeError> {
    let top: Ordered<Option<YamlGroup>> = serde_saphyr::from_str(text).map_err(|e| {
        let line = e.location().map_or(0, |l| usize::try_from(l.line()).unwrap_or(usize::MAX));
        let message = e.to_string().lines().next().unwrap_or_default().to_owned();
        inventory_error(file, line, message)
    })?;
    let mut inventory = Inventory::default();
    for (name, group) in top.0 {
        add_yaml_group(&mut inventory, &name, group.unwrap_or_default());
    }
    Ok(inventory)
}

fn add_yaml_group(inventory: &mut Inventory, name: &str, group: YamlGroup) {
    inventory.group(name);
    for (host, vars) in group.hosts.unwrap_or_default().0 {
        let vars: Vars = vars.unwrap_or_default().0.into_iter().map(|(k, v)| (k, scalar(&v))).collect();
        inventory.host(&host).extend(vars);
        let members = &mut inventory.group(name).hosts;
        if !members.contains(&host) {
            members.push(host);
        }
    }
    for (key, value) in group.vars.unwrap_or_default().0 {
        let text = scalar(&value);
        inventory.group(name).vars.push((key, text));
    }
    for (child, sub) in group.children.unwrap_or_default().0 {
        let children = &mut inventory.group(name).children;
        if !children.contains(&child) {
            children.push(child.clone());
        }
        add_yaml_group(inventory, &child, sub.unwrap_or_default());
    }
}

fn scalar(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Ansible's booleans (`yes`, `true`, `1`, `on`, any case), or `None`.
fn ansible_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" | "t" | "1" | "on" => Some(true),
        "no" | "n" | "false" | "f" | "0" | "off" => Some(false),
        _ => None,
    }
}

/// Map one variable onto `settings`; `Err` says why it is left out.
fn apply(settings: &mut ImportedSettings, key: &str, value: &str) -> Result<(), String> {
    if value.contains("{{") || value.contains("{%") {
        return Err(format!("{key}={value}: a Jinja template kubeladder cannot evaluate"));
    }
    match key {
        "ansible_host" | "ansible_ssh_host" => settings.address = Some(value.to_owned()),
        "ansible_user" | "ansible_ssh_user" => settings.user = Some(value.to_owned()),
        "ansible_port" | "ansible_ssh_port" => {
            settings.port = Some(value.parse().map_err(|_| format!("{key}={value}: not a port number"))?);
        }
        "ansible_ssh_private_key_file" => settings.identity_file = Some(value.to_owned()),
        "ansible_become" | "ansible_sudo" => {
            settings.sudo = Some(ansible_bool(value).ok_or_else(|| format!("{key}={value}: not a boolean"))?);
        }
        "ansible_become_method" if value == "sudo" => {}
        "ansible_become_user" if value == "root" => {}
        "ansible_connection" if value == "ssh" || value == "paramiko" || value == "smart" => {}
        "ansible_connection" if value == "local" => settings.local = true,
        "ansible_password" | "ansible_ssh_pass" | "ansible_become_password" | "ansible_become_pass" => {
            return Err(format!(
                "{key}: passwords are not used (kubeladder uses keys or the ssh-agent, and `sudo -n`)"
            ));
        }
        other if other.starts_with("ansible_") => return Err(format!("{key}={value}: no hosts-file equivalent")),
        // kubespray's own variables (ip, access_ip, etcd_member_name, ...) say nothing
        // about how to reach the host.
        _ => {}
    }
    Ok(())
}

fn map(file: &str, inventory: &Inventory) -> Result<Import, NodeError> {
    let control_planes: BTreeSet<String> = CONTROL_PLANE_GROUPS.iter().flat_map(|g| inventory.members(g)).collect();
    let workers: BTreeSet<String> = NODE_GROUPS.iter().flat_map(|g| inventory.members(g)).collect();
    if control_planes.is_empty() && workers.is_empty() {
        return Err(inventory_error(
            file,
            0,
            "no hosts in kube_control_plane or kube_node (kubespray's node groups); nothing to import".to_owned(),
        ));
    }
    let mut out = Import::default();
    for old in ["kube-master", "kube_master", "kube-controlplane", "kube-node"] {
        if inventory.groups.contains_key(old) {
            out.unmapped.push(format!(
                "group {old}: read as {}",
                if old == "kube-node" { "kube_node" } else { "kube_control_plane" }
            ));
        }
    }
    if let Some(all) = inventory.groups.get("all") {
        for (key, value) in &all.vars {
            if let Err(why) = apply(&mut out.defaults, key, value) {
                out.unmapped.push(format!("all: {why}"));
            }
        }
    }
    let in_order = |set: &BTreeSet<String>| -> Vec<String> {
        inventory.hosts.iter().map(|(h, _)| h).filter(|h| set.contains(*h)).cloned().collect()
    };
    let nodes = in_order(&control_planes)
        .into_iter()
        .chain(in_order(&workers).into_iter().filter(|h| !control_planes.contains(h)));
    for node in nodes {
        let mut settings = ImportedSettings::default();
        let mut reasons = Vec::new();
        for group in inventory.groups_of(&node) {
            for (key, value) in inventory.groups.get(group).map(|g| g.vars.as_slice()).unwrap_or_default() {
                if let Err(why) = apply(&mut settings, key, value) {
                    reasons.push(format!("{node} (from group {group}): {why}"));
                }
            }
        }
        let own = inventory.hosts.iter().find(|(h, _)| *h == node).map(|(_, v)| v.as_slice()).unwrap_or_default();
        for (key, value) in own {
            if let Err(why) = apply(&mut settings, key, value) {
                reasons.push(format!("{node}: {why}"));
            }
        }
        if settings.address.is_none() && out.defaults.address.is_none() && !settings.local {
            reasons.push(format!("{node}: no ansible_host; kubeladder will reach it at its InternalIP"));
        }
        out.unmapped.extend(reasons);
        out.hosts.push(ImportedHost { control_plane: control_planes.contains(&node), node, settings });
    }
    for (host, _) in &inventory.hosts {
        if !control_planes.contains(host) && !workers.contains(host) {
            let groups = inventory.groups_of(host).join(", ");
            out.unmapped.push(format!("{host}: in no node group ({groups}); not a Kubernetes node, left out"));
        }
    }
    if out.defaults.address.take().is_some() {
        out.unmapped.push("all: ansible_host for every host cannot be a default; ignored".to_owned());
    }
    Ok(out)
}

impl Import {
    /// The hosts file (YAML) for this import, with `source` named in its header comment.
    pub fn to_hosts_file(&self, source: &str) -> String {
        let mut out = format!("# kubeladder hosts file, imported from the Ansible inventory {source}\n");
        out.push_str("# by `kubeladder hosts import`. See `kubeladder hosts check --hosts FILE`.\n");
        let defaults = settings_lines(&self.defaults, "  ");
        if !defaults.is_empty() {
            out.push_str("defaults:\n");
            out.push_str(&defaults);
        }
        out.push_str("hosts:\n");
        for host in &self.hosts {
            let role = if host.control_plane { "control plane" } else { "worker" };
            out.push_str(&format!("  - node: {}   # {role}\n", yaml_string(&host.node)));
            out.push_str(&settings_lines(&host.settings, "    "));
        }
        out
    }
}

fn settings_lines(s: &ImportedSettings, indent: &str) -> String {
    let mut out = String::new();
    let mut line = |key: &str, value: String| out.push_str(&format!("{indent}{key}: {value}\n"));
    if let Some(address) = &s.address {
        line("address", yaml_string(address));
    }
    if let Some(user) = &s.user {
        line("user", yaml_string(user));
    }
    if let Some(port) = s.port {
        line("port", port.to_string());
    }
    if let Some(key) = &s.identity_file {
        line("identity_file", yaml_string(key));
    }
    if let Some(sudo) = s.sudo {
        line("sudo", sudo.to_string());
    }
    if s.local {
        line("transport", "local".to_owned());
    }
    out
}

/// A YAML double-quoted string (JSON's escaping is valid YAML).
fn yaml_string(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hosts::{Hosts, Transport};

    #[test]
    fn ini_with_groups_vars_and_comments() {
        let text = "[all]\nnode1 ansible_host=10.0.0.1 ip=10.3.0.1 # etcd_member_name=etcd1\nnode2 ansible_host=\"10.0.0.2\" ansible_port=2222\nnode3 ansible_host=10.0.0.3 ansible_password=secret\nlb1 ansible_host=10.0.0.9\n\n[all:vars]\nansible_user=ubuntu\nansible_become=yes\n\n[kube_control_plane]\nnode1\n\n[etcd]\nnode1\n\n[kube_node]\nnode2\nnode3\n\n[workers_fast:children]\nkube_node\n\n[workers_fast:vars]\nansible_ssh_private_key_file=~/.ssh/fast\n\n[k8s_cluster:children]\nkube_control_plane\nkube_node\n";
        let import = import("inventory.ini", text).unwrap();
        assert_eq!(import.defaults.user.as_deref(), Some("ubuntu"));
        assert_eq!(import.defaults.sudo, Some(true));
        let names: Vec<&str> = import.hosts.iter().map(|h| h.node.as_str()).collect();
        assert_eq!(names, ["node1", "node2", "node3"]);
        assert!(import.hosts[0].control_plane && !import.hosts[1].control_plane);
        assert_eq!(import.hosts[1].settings.port, Some(2222));
        assert_eq!(import.hosts[1].settings.address.as_deref(), Some("10.0.0.2"));
        assert_eq!(import.hosts[1].settings.identity_file.as_deref(), Some("~/.ssh/fast"));
        assert_eq!(import.hosts[0].settings.identity_file, None);
        assert!(import.unmapped.iter().any(|u| u.starts_with("node3: ansible_password")), "{:?}", import.unmapped);
        assert!(import.unmapped.iter().any(|u| u.starts_with("lb1: in no node group")), "{:?}", import.unmapped);
        let file = import.to_hosts_file("inventory.ini");
        let hosts = Hosts::parse("out.yaml", &file).unwrap();
        let node2 = hosts.resolve("node2", None).unwrap();
        assert_eq!(
            (node2.address.as_str(), node2.port, node2.user.as_str(), node2.sudo),
            ("10.0.0.2", 2222, "ubuntu", true)
        );
    }

    #[test]
    fn yaml_with_children_and_connection_local() {
        let text = "all:\n  hosts:\n    cp1:\n      ansible_host: 192.168.1.10\n      ansible_connection: local\n    w1:\n      ansible_host: 192.168.1.11\n      ansible_port: 22\n      ansible_ssh_common_args: -o ProxyJump=bastion\n  vars:\n    ansible_become: true\n  children:\n    kube_control_plane:\n      hosts:\n        cp1:\n    kube_node:\n      hosts:\n        w1:\n      vars:\n        ansible_user: \"{{ lookup('env', 'USER') }}\"\n    k8s_cluster:\n      children:\n        kube_control_plane:\n        kube_node:\n    calico_rr:\n      hosts: {}\n";
        let import = import("hosts.yaml", text).unwrap();
        assert_eq!(import.hosts.len(), 2);
        assert!(import.hosts[0].settings.local);
        assert_eq!(import.defaults.sudo, Some(true));
        assert!(import.unmapped.iter().any(|u| u.contains("ansible_ssh_common_args")), "{:?}", import.unmapped);
        assert!(import.unmapped.iter().any(|u| u.contains("Jinja")), "{:?}", import.unmapped);
        let hosts = Hosts::parse("out.yaml", &import.to_hosts_file("hosts.yaml")).unwrap();
        assert_eq!(hosts.resolve("cp1", None).unwrap().transport, Transport::Local);
        assert_eq!(hosts.nodes(), ["cp1", "w1"]);
    }

    #[test]
    fn bad_inventories_are_refused_with_a_line() {
        let e = import("i.ini", "[kube_node\nnode1\n").unwrap_err();
        assert!(e.to_string().starts_with("i.ini:1: "), "{e}");
        let e = import("i.ini", "[kube_node]\nnode[1:3] ansible_user=x\n").unwrap_err();
        assert!(e.to_string().contains("i.ini:2: ") && e.to_string().contains("ranges"), "{e}");
        let e = import("i.ini", "[etcd]\nnode1\n").unwrap_err();
        assert!(e.to_string().contains("kube_control_plane"), "{e}");
        let e = import("i.ini", "[kube_node]\nnode1 ansible_port\n").unwrap_err();
        assert!(e.to_string().contains("key=value"), "{e}");
        let e = import("i.yaml", "all:\n  hosts: [a, b]\n").unwrap_err();
        assert!(e.to_string().starts_with("i.yaml:2: "), "{e}");
    }

    #[test]
    fn host_variables_win_over_groups_and_groups_over_all() {
        let text = "[all:vars]\nansible_user=a\n[k8s_cluster:children]\nkube_node\n[k8s_cluster:vars]\nansible_user=b\n[kube_node:vars]\nansible_user=c\n[kube_node]\nn1\nn2 ansible_user=d\n";
        let import = import("i.ini", text).unwrap();
        assert_eq!(import.defaults.user.as_deref(), Some("a"));
        assert_eq!(import.hosts[0].settings.user.as_deref(), Some("c"));
        assert_eq!(import.hosts[1].settings.user.as_deref(), Some("d"));
    }
}
