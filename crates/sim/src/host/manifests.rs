//! Static pod manifests as kubeadm writes them: YAML with sorted keys (kubeadm marshals
//! the Pod through JSON), one file per component in `/etc/kubernetes/manifests`.

use kubeladder_core::release::ReleaseData;
use kubeladder_core::{KubeVersion, Minor};
use serde_json::{Value, json};

/// The image registry kubeadm uses at a minor.
pub fn registry(minor: Minor) -> &'static str {
    if minor >= Minor::new(1, 25) { "registry.k8s.io" } else { "k8s.gcr.io" }
}

/// The etcd version kubeadm deploys with a control plane at `version` (release data).
pub fn etcd_version(version: &KubeVersion) -> String {
    ReleaseData::embedded()
        .ok()
        .and_then(|d| d.get(version.minor()))
        .map_or_else(|| "3.4.3-0".to_owned(), |r| r.etcd.clone())
}

/// The CoreDNS image kubeadm deploys with a control plane at `version`.
pub fn coredns_image(version: &KubeVersion) -> String {
    let minor = version.minor();
    let coredns = ReleaseData::embedded()
        .ok()
        .and_then(|d| d.get(minor))
        .map_or_else(|| "1.6.7".to_owned(), |r| r.coredns.clone());
    if minor >= Minor::new(1, 21) {
        format!("{}/coredns/coredns:v{}", registry(minor), coredns.trim_start_matches('v'))
    } else {
        format!("{}/coredns:{coredns}", registry(minor))
    }
}

/// The kube-proxy image for `version`.
pub fn kube_proxy_image(version: &KubeVersion) -> String {
    format!("{}/kube-proxy:{version}", registry(version.minor()))
}

/// The manifest kubeadm writes for `component` on a node with address `ip`.
pub fn manifest(component: &str, ip: &str, version: &KubeVersion, etcd: &str) -> Value {
    let registry = registry(version.minor());
    let image = if component == "etcd" {
        format!("{registry}/etcd:{etcd}")
    } else {
        format!("{registry}/{component}:{version}")
    };
    let command = match component {
        "kube-apiserver" => json!([
            "kube-apiserver",
            format!("--advertise-address={ip}"),
            "--authorization-mode=Node,RBAC",
            "--etcd-servers=https://127.0.0.1:2379",
            "--secure-port=6443"
        ]),
        "etcd" => json!([
            "etcd",
            format!("--advertise-client-urls=https://{ip}:2379"),
            "--data-dir=/var/lib/etcd",
            "--cert-file=/etc/kubernetes/pki/etcd/server.crt"
        ]),
        other => json!([other, format!("--kubeconfig=/etc/kubernetes/{}.conf", other.trim_start_matches("kube-"))]),
    };
    let mut annotations = json!({});
    if component == "kube-apiserver" {
        annotations["kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint"] = json!(format!("{ip}:6443"));
    }
    if component == "etcd" {
        annotations["kubeadm.kubernetes.io/etcd.advertise-client-urls"] = json!(format!("https://{ip}:2379"));
    }
    let cpu = match component {
        "kube-apiserver" => "250m",
        "kube-controller-manager" => "200m",
        _ => "100m",
    };
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "annotations": annotations,
            "creationTimestamp": null,
            "labels": {"component": component, "tier": "control-plane"},
            "name": component,
            "namespace": "kube-system",
        },
        "spec": {
            "containers": [{"command": command, "image": image, "imagePullPolicy": "IfNotPresent", "name": component,
                            "resources": {"requests": {"cpu": cpu}}}],
            "hostNetwork": true,
            "priorityClassName": "system-node-critical",
        },
        "status": {},
    })
}

/// The manifest's YAML text (what `cat` shows and what kubelet hashes).
pub fn render(component: &str, ip: &str, version: &KubeVersion, etcd: &str) -> String {
    to_yaml(&manifest(component, ip, version, etcd))
}

/// Parse a manifest file (YAML or JSON) into a pod object.
pub fn parse(text: &str) -> Option<Value> {
    let value: Value = serde_saphyr::from_str(text).ok()?;
    (value.get("kind").and_then(Value::as_str) == Some("Pod")).then_some(value)
}

fn plain_is_safe(text: &str) -> bool {
    let Some(first) = text.chars().next() else { return false };
    let reserved = matches!(text, "true" | "false" | "null" | "~" | "yes" | "no" | "on" | "off" | "y" | "n")
        || matches!(text.to_ascii_lowercase().as_str(), "true" | "false" | "null" | "yes" | "no" | "on" | "off");
    let numeric = text.parse::<f64>().is_ok() || text.starts_with("0x") || text.starts_with("0o");
    let special_start =
        "!&*?|>'\"%@`[]{},#:".contains(first) || (first == '-' && text.chars().nth(1).is_none_or(|c| c == ' '));
    !reserved
        && !numeric
        && !special_start
        && first != ' '
        && !text.ends_with(' ')
        && !text.contains(": ")
        && !text.contains(" #")
        && !text.ends_with(':')
        && !text.chars().any(char::is_control)
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) if plain_is_safe(s) => s.clone(),
        Value::String(_) => value.to_string(),
        Value::Null => "null".to_owned(),
        Value::Array(a) if a.is_empty() => "[]".to_owned(),
        Value::Object(o) if o.is_empty() => "{}".to_owned(),
        other => other.to_string(),
    }
}

fn is_collection(value: &Value) -> bool {
    match value {
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => false,
    }
}

fn emit(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, item) in map {
                out.push_str(&pad);
                out.push_str(&scalar(&Value::String(key.clone())));
                out.push(':');
                match item {
                    Value::Object(_) if is_collection(item) => {
                        out.push('\n');
                        emit(item, indent + 2, out);
                    }
                    // Sequences under a key are not indented further (as Go's YAML writes them).
                    Value::Array(_) if is_collection(item) => {
                        out.push('\n');
                        emit(item, indent, out);
                    }
                    _ => {
                        out.push(' ');
                        out.push_str(&scalar(item));
                        out.push('\n');
                    }
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                out.push_str(&pad);
                out.push_str("- ");
                if is_collection(item) {
                    let mut nested = String::new();
                    emit(item, indent + 2, &mut nested);
                    // The first line goes right after the dash.
                    out.push_str(nested.trim_start_matches(' '));
                } else {
                    out.push_str(&scalar(item));
                    out.push('\n');
                }
            }
        }
        other => {
            out.push_str(&pad);
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

/// Block-style YAML for a JSON value, keys in order (`serde_json` keeps them sorted).
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    emit(value, 0, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_round_trip_through_yaml() {
        for component in kubeladder_core::kubeadm::StaticPod::ALL.map(kubeladder_core::kubeadm::StaticPod::name) {
            let value = manifest(component, "127.0.1.1", &KubeVersion::new(1, 19, 16), "3.4.13-0");
            let text = to_yaml(&value);
            assert_eq!(parse(&text), Some(value), "{text}");
        }
        let text = render("kube-apiserver", "127.0.1.1", &KubeVersion::new(1, 19, 16), "3.4.13-0");
        assert!(text.starts_with("apiVersion: v1\nkind: Pod\nmetadata:\n"), "{text}");
        assert!(text.contains("\n  - command:\n    - kube-apiserver\n"), "{text}");
        assert!(text.contains("    image: k8s.gcr.io/kube-apiserver:v1.19.16\n"), "{text}");
        assert_eq!(kubeladder_core::image::manifest_image(&text).and_then(|i| i.tag), Some("v1.19.16"));
    }

    #[test]
    fn ambiguous_strings_are_quoted() {
        let value =
            json!({"a": "true", "b": "6443", "c": "x: y", "d": "", "e": "-", "f": "--flag=1", "g": [1, "null"]});
        let text = to_yaml(&value);
        assert_eq!(parse_any(&text), value, "{text}");
        assert!(text.contains("f: --flag=1\n"));
    }

    fn parse_any(text: &str) -> Value {
        serde_saphyr::from_str(text).unwrap()
    }

    #[test]
    fn images_follow_kubeadm_conventions() {
        assert_eq!(coredns_image(&KubeVersion::new(1, 19, 16)), "k8s.gcr.io/coredns:1.7.0");
        assert_eq!(coredns_image(&KubeVersion::new(1, 21, 14)), "k8s.gcr.io/coredns/coredns:v1.8.0");
        assert_eq!(kube_proxy_image(&KubeVersion::new(1, 25, 16)), "registry.k8s.io/kube-proxy:v1.25.16");
        assert_eq!(etcd_version(&KubeVersion::new(1, 19, 16)), "3.4.13-0");
    }
}
