//! The bad-input catalogue: what a careless operator types, and what kubeladder must answer.
//!
//! Cases are data ([`CASES`]): the argv (with `{placeholders}` for fixture files), the exit
//! code, and a regex the message (stderr, then stdout) must match. Every case runs the real
//! binary; a case that reaches the simulated cluster is also checked to have changed nothing
//! (nodes, pods and leases compared before and after). Add a case when a flag appears.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is the failure report

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use kubeladder_sim::{RunningSim, Scenario, SimCluster, SimConfig, Timings};
use serde_json::Value;

/// One bad input: `argv` (placeholders below), expected exit code, message regex.
struct Case(&'static str, i32, &'static str);

/// `{kc}` a working kubeconfig, `{hosts}` a working hosts file, `{dir}` a scratch directory,
/// `{x}` another fixture file of that name in the scratch directory (see `fixtures`).
const CASES: &[Case] = &[
    // ---- top level ----
    Case("", 2, "Usage: kubeladder"),
    Case("frobnicate", 2, "unrecognized subcommand 'frobnicate'"),
    Case("--bogus", 2, "unexpected argument '--bogus'"),
    Case("sim", 2, "Usage: kubeladder sim"),
    Case("recover", 2, "Usage: kubeladder recover"),
    Case("hosts", 2, "Usage: kubeladder hosts"),
    Case("sim frob", 2, "unrecognized subcommand 'frob'"),
    Case("recover frob", 2, "unrecognized subcommand 'frob'"),
    Case("hosts frob", 2, "unrecognized subcommand 'frob'"),
    // ---- skew ----
    Case("skew", 2, "--apiserver <VERSION,...>"),
    Case("skew --apiserver", 2, "a value is required for '--apiserver"),
    Case("skew --apiserver banana", 2, "invalid Kubernetes version \"banana\""),
    Case("skew --apiserver 1.x", 2, "invalid Kubernetes version"),
    Case("skew --apiserver 1.29 --kubelet 1", 2, "invalid Kubernetes version \"1\""),
    Case("skew --apiserver 1.29 --kubelet -1.2", 2, "unexpected argument|invalid"),
    Case("skew --apiserver 1.29 --kube-proxy v", 2, "invalid Kubernetes version"),
    Case("skew --apiserver 1.29 --scheduler 1.29.x", 2, "invalid Kubernetes version"),
    Case("skew --apiserver 1.29 --controller-manager ,", 2, "invalid Kubernetes version"),
    Case("skew --apiserver 1.29 --kubectl 2..3", 2, "invalid Kubernetes version"),
    Case("skew --apiserver 1.29 -o xml", 2, "invalid value 'xml' for '--output"),
    Case("skew --apiserver 1.29 -o json -o yaml", 2, "cannot be used multiple times"),
    Case("skew --apiserver 1.29 --cloud-controller-manager 1.2.3.4", 2, "invalid Kubernetes version"),
    Case("skew --apiserver 1.29 --kubelet 1.25 --kubelet 1.22", 1, "kubelet"),
    Case("skew --apiserver 1.29 extra", 2, "unexpected argument 'extra'"),
    // ---- path ----
    Case("path", 2, "--from <VERSION>"),
    Case("path --from v1.18.4", 2, "--to <VERSION>"),
    Case("path --to 1.23", 2, "--from <VERSION>"),
    Case("path --from 1.18 --to 1.23", 2, "must be an exact version like v1.18.4"),
    Case("path --from v1.19.99 --to 1.20", 2, "v1.19.99 is not a released patch of 1.19 .*newest known: v1.19.16"),
    Case("path --from v1.18.4 --to 1.17", 2, "1.17 is not in kubeladder's release data.*starts from clusters at 1.18"),
    Case(
        "path --from v1.18.4 --to 1.99",
        2,
        "1.99 is not in kubeladder's release data.*newer than this kubeladder knows",
    ),
    Case("path --from v1.16.4 --to 1.20", 2, "1.16 is not in kubeladder's release data"),
    Case("path --from v1.19.3 --to 1.18", 2, "older than the cluster version v1.19.3.*path --allow-downgrade"),
    Case("path --from v1.20.3 --to 1.18 --allow-downgrade", 2, "2 minors older.*one minor at a time"),
    Case("path --from v1.18.4 --to v1.23.99", 2, "v1.23.99 is not a released patch of 1.23"),
    Case("path --from v1.18.4 --to v1.23.0-rc.1", 2, "pre-release; pass --allow-prerelease"),
    Case("path --from v1.18.4 --to newest", 2, "invalid Kubernetes version \"newest\".*or `latest`"),
    Case("path --from v1.18.4 --to ''", 2, "invalid Kubernetes version"),
    Case("path --from v1.18.4 --to 1.23 --to 1.22", 2, "cannot be used multiple times"),
    Case("path --from v1.18.4 --from v1.18.5 --to 1.22", 2, "cannot be used multiple times"),
    Case("path --from v1.18.4 --to 1.23 --allow-downgrade --allow-downgrade", 2, "cannot be used multiple times"),
    Case("path --from v1.18.4 --to 1.23 -o toml", 2, "invalid value 'toml'"),
    Case("path --from x --to 1.23", 2, "invalid Kubernetes version \"x\""),
    // ---- versions ----
    Case("versions --date 2024-13-01", 2, "not a YYYY-MM-DD date"),
    Case("versions --date yesterday", 2, "not a YYYY-MM-DD date"),
    Case("versions --date 2024-02-30", 2, "not a YYYY-MM-DD date"),
    Case("versions --date", 2, "a value is required for '--date"),
    Case("versions -o csv", 2, "invalid value 'csv'"),
    Case("versions --date 2024-01-01 --date 2025-01-01", 2, "cannot be used multiple times"),
    Case("versions extra", 2, "unexpected argument 'extra'"),
    // ---- status ----
    Case("status", 2, "--state-dir <DIR>"),
    Case("status --state-dir {dir}/nothing-here", 2, "nothing-here"),
    Case(
        "status --state-dir {journal_garbled_header}",
        2,
        "header.json is damaged.*cannot be resumed.*kubeladder plan",
    ),
    Case(
        "status --state-dir {journal_empty_header}",
        2,
        "header.json is damaged .*missing field `format`.*restore header.json",
    ),
    Case("status --state-dir {dir} --state-dir {dir}", 2, "cannot be used multiple times"),
    // Damaged journals: a verdict for each kind of damage, recoverable ones recovered.
    Case(
        "status --state-dir {journal_no_snapshot}",
        0,
        "3/27 steps done.*kubeladder resume --state-dir .*journal_no_snapshot",
    ),
    Case("status --state-dir {journal_bad_snapshot}", 0, "3/27 steps done"),
    Case("status --state-dir {journal_no_log}", 0, "Run run-42"),
    Case(
        "status --state-dir {journal_garbled_line}",
        2,
        "corrupt at line 2.*only its last line may be incomplete.*delete line 2, and run the command again",
    ),
    Case("status --state-dir {journal_torn_tail}", 0, "3/27 steps done"),
    Case("status --state-dir {journal_future_format}", 2, "has format 999; this kubeladder reads format"),
    Case("status --state-dir {dir} -o xml", 2, "invalid value 'xml'"),
    // ---- sim serve ----
    Case("sim serve", 2, "--kubeconfig-out <PATH>"),
    Case(
        "sim serve --kubeconfig-out {dir}/s.kc --scenario large:999999999",
        2,
        "NODES \"999999999\" is not a whole number in 1..=5000",
    ),
    Case(
        "sim serve --kubeconfig-out {dir}/s.kc --scenario large:0",
        2,
        "NODES \"0\" is not a whole number in 1..=5000",
    ),
    Case("sim serve --kubeconfig-out {dir}/s.kc --scenario large:-3", 2, "NODES \"-3\""),
    Case(
        "sim serve --kubeconfig-out {dir}/s.kc --scenario large:10:111",
        2,
        "PODS_PER_NODE \"111\" is not a whole number in 0..=110",
    ),
    Case("sim serve --kubeconfig-out {dir}/s.kc --scenario large:10:x", 2, "PODS_PER_NODE \"x\""),
    Case("sim serve --kubeconfig-out {dir}/s.kc --scenario large:1:2:3", 2, "known: small, ha, large"),
    Case("sim serve --kubeconfig-out {dir}/s.kc --scenario huge", 2, "known: small, ha, large"),
    Case("sim serve --kubeconfig-out {dir}/s.kc --scenario {scenario_bad}", 2, "scenario file, line \\d+, column \\d+"),
    Case(
        "sim serve --kubeconfig-out {dir}/x --hosts-out {dir}/x",
        2,
        "--kubeconfig-out and --hosts-out are the same file",
    ),
    Case("sim serve --kubeconfig-out {dir}/h.ca.pem --hosts-out {dir}/h", 2, "same file"),
    Case("sim serve --kubeconfig-out {dir}/sub/../x --hosts-out {dir}/x", 2, "same file"),
    Case(
        "sim serve --kubeconfig-out {dir}/s.kc --version 1.99",
        2,
        "--version v1.99: Kubernetes 1.99 is not in kubeladder's release data",
    ),
    Case("sim serve --kubeconfig-out {dir}/s.kc --version v1.19.99", 2, "not a released patch of 1.19"),
    Case("sim serve --kubeconfig-out {dir}/s.kc --version 1.17", 2, "1.17 is not in kubeladder's release data"),
    Case("sim serve --kubeconfig-out {dir}/s.kc --version v1.30.0-rc.1", 2, "pre-release"),
    Case("sim serve --kubeconfig-out {dir}/s.kc --version abc", 2, "invalid Kubernetes version"),
    Case("sim serve --kubeconfig-out {dir}/s.kc --speed 0", 2, "above 0"),
    Case("sim serve --kubeconfig-out {dir}/s.kc --speed -1", 2, "unexpected argument|above 0"),
    Case("sim serve --kubeconfig-out {dir}/s.kc --speed=-1", 2, "above 0"),
    Case("sim serve --kubeconfig-out {dir}/s.kc --speed nan", 2, "above 0"),
    Case("sim serve --kubeconfig-out {dir}/s.kc --speed inf", 2, "above 0"),
    Case("sim serve --kubeconfig-out {dir}/s.kc --speed fast", 2, "not a number"),
    Case("sim serve --kubeconfig-out {dir}/s.kc --listen 0.0.0.0:0", 2, "not a loopback address"),
    Case("sim serve --kubeconfig-out {dir}/s.kc --listen 10.1.2.3:6443", 2, "not a loopback address"),
    Case("sim serve --kubeconfig-out {dir}/s.kc --listen localhost", 2, "invalid value 'localhost' for '--listen"),
    Case("sim serve --kubeconfig-out {dir}/s.kc --listen 127.0.0.1:70000", 2, "invalid value"),
    Case("sim serve --kubeconfig-out {dir}/a --kubeconfig-out {dir}/b", 2, "cannot be used multiple times"),
    Case("sim serve --kubeconfig-out {dir}/s.kc --scenario small --scenario ha", 2, "cannot be used multiple times"),
    // ---- demo ----
    Case("demo --speed 0", 2, "above 0"),
    Case("demo --speed nan", 2, "above 0"),
    Case("demo --speed inf", 2, "above 0"),
    Case("demo --speed=-5", 2, "above 0"),
    Case("demo --to banana", 2, "invalid Kubernetes version"),
    Case("demo --to 1.23 --to 1.22", 2, "cannot be used multiple times"),
    Case("demo --from 1.99", 2, "--from v1.99: Kubernetes 1.99 is not in kubeladder's release data"),
    Case("demo --from v1.19.99", 2, "--from v1.19.99: .*not a released patch"),
    Case("demo --from 1.16", 2, "1.16 is not in kubeladder's release data"),
    Case("demo --scenario large:0", 2, "NODES \"0\""),
    Case("demo --scenario nope", 2, "known: small, ha, large"),
    Case("demo --workers lead", 2, "invalid value 'lead' for '--workers"),
    Case("demo --max-unavailable 0", 2, "at least one node"),
    Case("demo --max-unavailable 0%", 2, "between 1% and 100%"),
    Case("demo --max-unavailable 101%", 2, "between 1% and 100%"),
    Case("demo --max-unavailable -1", 2, "unexpected argument|not a node count"),
    Case("demo --max-unavailable lots", 2, "not a node count"),
    Case("demo -o html", 2, "invalid value 'html'"),
    // ---- hosts check ----
    Case("hosts check --hosts {dir}/missing.yaml", 2, "missing.yaml"),
    Case("hosts check --hosts {hosts_bad_yaml}", 2, "hosts_bad_yaml.yaml:\\d+:\\d+: "),
    Case("hosts check --hosts {hosts_unknown_key}", 2, "unknown field `colour`"),
    Case("hosts check --hosts {hosts_duplicate}", 2, "cp-1"),
    Case("hosts check --hosts {hosts_sim_incomplete}", 2, "sim_token|sim_url|sim_ca_file"),
    Case("hosts check --hosts {hosts_bad_transport}", 2, "carrier-pigeon"),
    Case("hosts check --hosts {hosts_bad_port}", 2, "port"),
    Case("hosts check --hosts {hosts_bad_pm}", 2, "zypper"),
    Case("hosts check --hosts {hosts_port_zero}", 2, "hosts_port_zero.yaml:3:11: port 0 is not a port"),
    Case(
        "hosts check --hosts {hosts_bad_jump}",
        2,
        "hosts_bad_jump.yaml:2:14: jump_host \"admin@bastion:ssh\": port \"ssh\"",
    ),
    Case("hosts check --hosts {hosts} --max-concurrent 0", 2, "at least 1"),
    Case("hosts check --hosts {hosts} --max-concurrent -2", 2, "unexpected argument|at least 1"),
    Case("hosts check --hosts {hosts} --max-concurrent many", 2, "not a whole number"),
    Case("hosts check --hosts {hosts} --timeout 0s", 2, "is zero; give a positive duration"),
    Case("hosts check --hosts {hosts} --connect-timeout 0ms", 2, "is zero"),
    Case("hosts check --hosts {hosts} --timeout forever", 2, "not a duration like 90s"),
    Case("hosts check --hosts {hosts} --timeout 10", 2, "not a duration"),
    Case("hosts check --hosts {hosts} --hosts {hosts}", 2, "cannot be used multiple times"),
    Case("hosts check --hosts {hosts} --trust-on-first-use --trust-on-first-use", 2, "cannot be used multiple times"),
    // ---- inventory / check against bad kubeconfigs ----
    Case("inventory --kubeconfig {dir}/missing.kc", 2, "missing.kc"),
    Case("inventory --kubeconfig {garbage_kc}", 2, "garbage_kc"),
    Case("inventory --kubeconfig {kc} --context nowhere", 2, "nowhere"),
    Case("inventory --kubeconfig {kc} --kubeconfig {kc}", 2, "cannot be used multiple times"),
    Case("inventory --kubeconfig {kc} -o xml", 2, "invalid value 'xml'"),
    Case("inventory --kubeconfig {closed_kc}", 1, "read namespace kube-system: connection refused.*check `server:`"),
    Case("inventory --kubeconfig {bad_token_kc}", 1, "unauthorized \\(HTTP 401\\).*kubeconfig"),
    Case("inventory --kubeconfig {wrong_ca_kc}", 1, "certificate is not trusted"),
    Case("check --kubeconfig {wrong_ca_kc}", 1, "certificate is not trusted"),
    Case("check --kubeconfig {closed_kc}", 1, "connection refused"),
    Case("check --kubeconfig {kc} --to banana", 2, "invalid Kubernetes version"),
    Case("check --kubeconfig {kc} --to 1.99", 2, "1.99 is not in kubeladder's release data"),
    Case("check --kubeconfig {kc} --to 1.17", 2, "1.17 is not in kubeladder's release data"),
    Case("check --kubeconfig {kc} --to 1.23 --to 1.22", 2, "cannot be used multiple times"),
    Case("check --kubeconfig {kc} --context nowhere", 2, "nowhere"),
    Case("check --kubeconfig {garbage_kc}", 2, "garbage_kc"),
    // ---- drain / uncordon ----
    Case("drain", 2, "<NODE>"),
    Case("drain worker-1 --kubeconfig {kc} --max-concurrent-evictions 0", 2, "at least 1"),
    Case("drain worker-1 --kubeconfig {kc} --max-concurrent-evictions -1", 2, "unexpected argument|at least 1"),
    Case("drain worker-1 --kubeconfig {kc} --timeout 0s", 2, "is zero; give a positive duration"),
    Case("drain worker-1 --kubeconfig {kc} --timeout 0", 2, "is zero|not a duration"),
    Case("drain worker-1 --kubeconfig {kc} --timeout soon", 2, "not a duration"),
    Case("drain worker-1 --kubeconfig {kc} --timeout -5m", 2, "unexpected argument|not a duration"),
    Case("drain worker-1 --kubeconfig {kc} --force --force", 2, "cannot be used multiple times"),
    Case("drain worker-1 --kubeconfig {kc} --run-id a --run-id b", 2, "cannot be used multiple times"),
    Case("drain worker-1 worker-2 --kubeconfig {kc}", 2, "unexpected argument 'worker-2'"),
    Case("drain no-such-node --kubeconfig {kc}", 1, "no-such-node"),
    Case("drain worker-1 --kubeconfig {closed_kc}", 1, "connection refused"),
    Case("drain worker-1 --kubeconfig {bad_token_kc}", 1, "unauthorized \\(HTTP 401\\).*kubeconfig"),
    Case("drain worker-1 --kubeconfig {kc} --context nowhere", 2, "nowhere"),
    Case("uncordon", 2, "<NODE>"),
    Case("uncordon worker-1 --kubeconfig {kc} --force --force", 2, "cannot be used multiple times"),
    Case("uncordon no-such-node --kubeconfig {kc}", 1, "no-such-node"),
    Case("uncordon worker-1 --kubeconfig {kc} --run-id x --run-id y", 2, "cannot be used multiple times"),
    Case("uncordon worker-1 --kubeconfig {garbage_kc}", 2, "garbage_kc"),
    // ---- plan ----
    Case("plan --kubeconfig {kc} --to banana", 2, "invalid Kubernetes version"),
    Case(
        "plan --kubeconfig {kc} --to 1.17",
        2,
        "1.17 is not in kubeladder's release data.*starts from clusters at 1.18",
    ),
    Case("plan --kubeconfig {kc} --to 1.99", 2, "1.99 is not in kubeladder's release data"),
    Case("plan --kubeconfig {kc} --to v1.23.99", 2, "not a released patch of 1.23"),
    Case("plan --kubeconfig {kc} --to v1.24.0-rc.0", 2, "pre-release; pass --allow-prerelease"),
    Case("plan --kubeconfig {kc} --to 1.23 --to 1.24", 2, "cannot be used multiple times"),
    Case("plan --kubeconfig {kc} --workers lead", 2, "invalid value 'lead'"),
    Case("plan --kubeconfig {kc} --max-unavailable 0", 2, "at least one node"),
    Case("plan --kubeconfig {kc} --max-unavailable 0%", 2, "between 1% and 100%"),
    Case("plan --kubeconfig {kc} --max-unavailable 250%", 2, "between 1% and 100%"),
    Case("plan --kubeconfig {kc} --max-unavailable x", 2, "not a node count"),
    Case("plan --kubeconfig {kc} --max-unavailable 1 --max-unavailable 2", 2, "cannot be used multiple times"),
    Case("plan --kubeconfig {kc} --date 2026-02-31", 2, "not a YYYY-MM-DD date"),
    Case("plan --kubeconfig {kc} --date now", 2, "not a YYYY-MM-DD date"),
    Case("plan --kubeconfig {kc} -o xml", 2, "invalid value 'xml'"),
    Case("plan --kubeconfig {kc} --hosts {dir}/missing.yaml --to 1.19", 2, "missing.yaml"),
    Case("plan --kubeconfig {kc} --hosts {hosts_bad_yaml} --to 1.19", 2, "hosts_bad_yaml.yaml:\\d+:\\d+: "),
    Case("plan --kubeconfig {kc} --hosts {hosts_unknown_key} --to 1.19", 2, "unknown field `colour`"),
    Case("plan --kubeconfig {kc} --context nowhere --to 1.19", 2, "nowhere"),
    Case("plan --kubeconfig {garbage_kc} --to 1.19", 2, "garbage_kc"),
    Case("plan --kubeconfig {closed_kc} --to 1.19", 1, "connection refused"),
    Case("plan --kubeconfig {bad_token_kc} --to 1.19", 1, "unauthorized \\(HTTP 401\\).*kubeconfig"),
    // ---- apply ----
    Case("apply --kubeconfig {kc}", 2, "--to <VERSION>"),
    Case("apply --kubeconfig {kc} --to 1.17 --yes", 2, "1.17 is not in kubeladder's release data"),
    Case("apply --kubeconfig {kc} --to 1.99 --yes", 2, "1.99 is not in kubeladder's release data"),
    Case("apply --kubeconfig {kc} --to banana --yes", 2, "invalid Kubernetes version"),
    Case("apply --kubeconfig {kc} --to v1.19.99 --yes", 2, "not a released patch of 1.19"),
    Case("apply --kubeconfig {kc} --to 1.19 --yes --yes", 2, "cannot be used multiple times"),
    Case("apply --kubeconfig {kc} --to 1.19 --dry-run --dry-run", 2, "cannot be used multiple times"),
    Case("apply --kubeconfig {kc} --to 1.19 --hosts {hosts} --hosts {hosts}", 2, "cannot be used multiple times"),
    Case("apply --kubeconfig {kc} --to 1.19 --drain-timeout 0s", 2, "is zero"),
    Case("apply --kubeconfig {kc} --to 1.19 --gate-timeout 0s", 2, "is zero"),
    Case("apply --kubeconfig {kc} --to 1.19 --poll 0s", 2, "is zero"),
    Case("apply --kubeconfig {kc} --to 1.19 --poll often", 2, "not a duration"),
    Case("apply --kubeconfig {kc} --to 1.19 --max-unavailable 0", 2, "at least one node"),
    Case("apply --kubeconfig {kc} --to 1.19 --max-unavailable 0%", 2, "between 1% and 100%"),
    Case("apply --kubeconfig {kc} --to 1.19 --workers sideways", 2, "invalid value 'sideways'"),
    Case("apply --kubeconfig {kc} --to 1.19 -o xml", 2, "invalid value 'xml'"),
    Case("apply --kubeconfig {kc} --to 1.19 --yes --hosts {dir}/missing.yaml", 2, "missing.yaml"),
    Case("apply --kubeconfig {kc} --to 1.19 --yes --hosts {hosts_bad_yaml}", 2, "hosts_bad_yaml.yaml:\\d+:\\d+: "),
    Case("apply --kubeconfig {kc} --to 1.19 --yes --hosts {hosts_unknown_key}", 2, "unknown field `colour`"),
    Case(
        "apply --kubeconfig {kc} --to 1.19 --yes --hosts {hosts_stray_node} --state-dir {dir}/stray",
        2,
        "hosts_stray_node.yaml:2:11: node \"worker1\" is not in the cluster; did you mean \"worker-1\"",
    ),
    Case("plan --kubeconfig {kc} --to 1.19 --hosts {hosts_bad_jump}", 2, "hosts_bad_jump.yaml:2:14: jump_host"),
    Case(
        "apply --kubeconfig {kc} --to 1.19 --yes --state-dir {journal_no_snapshot}",
        2,
        "holds the unfinished run run-42.*kubeladder resume",
    ),
    Case("apply --kubeconfig {kc} --to 1.19 --yes --context nowhere", 2, "nowhere"),
    Case("apply --kubeconfig {garbage_kc} --to 1.19 --yes", 2, "garbage_kc"),
    Case("apply --kubeconfig {closed_kc} --to 1.19 --yes", 1, "at https://127.0.0.1:1/.*connection refused"),
    Case("apply --kubeconfig {bad_token_kc} --to 1.19 --yes", 1, "unauthorized \\(HTTP 401\\).*kubeconfig"),
    Case(
        "apply --kubeconfig {kc} --to v1.18.20 --yes --hosts {hosts} --state-dir {dir}/same",
        0,
        "already runs v1.18.20.*nothing was changed",
    ),
    // ---- resume / abort ----
    Case("resume --kubeconfig {kc} --hosts {hosts} --state-dir {dir}/no-journal", 2, "no-journal"),
    Case(
        "resume --kubeconfig {kc} --state-dir {journal_garbled_header}",
        2,
        "header.json is damaged.*cannot be resumed",
    ),
    Case("resume --kubeconfig {kc} --poll 0s", 2, "is zero"),
    Case(
        "resume --kubeconfig {kc} --hosts {hosts} --state-dir {journal_no_snapshot}",
        2,
        "belongs to cluster uid-1, but this cluster is .*point --kubeconfig at the right cluster",
    ),
    Case("abort --kubeconfig {kc} --state-dir {journal_no_snapshot}", 2, "belongs to cluster uid-1"),
    Case("resume --kubeconfig {kc} --max-unavailable 0", 2, "at least one node"),
    Case("resume --kubeconfig {kc} --state-dir {dir} --state-dir {dir}", 2, "cannot be used multiple times"),
    Case("resume --kubeconfig {garbage_kc}", 2, "garbage_kc"),
    Case("abort --kubeconfig {kc} --state-dir {dir}/no-journal", 2, "no-journal"),
    Case(
        "abort --kubeconfig {kc} --state-dir {journal_garbled_header}",
        2,
        "header.json is damaged.*cannot be resumed",
    ),
    Case("abort --kubeconfig {kc} --state-dir {dir} --state-dir {dir}", 2, "cannot be used multiple times"),
    Case("abort --kubeconfig {kc} --yes", 2, "unexpected argument '--yes'"),
    // ---- recover ----
    Case("recover list --kubeconfig {kc} --node a --node b", 2, "cannot be used multiple times"),
    Case("recover list --kubeconfig {kc} --hosts {hosts_bad_yaml}", 2, "hosts_bad_yaml.yaml:\\d+:\\d+: "),
    Case("recover list --kubeconfig {garbage_kc}", 2, "garbage_kc"),
    Case("recover list --kubeconfig {kc} -o xml", 2, "invalid value 'xml'"),
    Case("recover node", 2, "<NODE>"),
    Case("recover node cp-1 --kubeconfig {kc} --hosts {hosts}", 2, "(?i)exactly one|one of"),
    Case(
        "recover node cp-1 --kubeconfig {kc} --hosts {hosts} --rerun --force-reconverge --dry-run",
        2,
        "(?i)exactly one|one of|cannot be used with",
    ),
    Case("recover node cp-1 --kubeconfig {kc} --rerun --rerun", 2, "cannot be used multiple times"),
    Case("recover node cp-1 --kubeconfig {kc} --gate-timeout 0s --rerun", 2, "is zero"),
    Case("recover node cp-1 --kubeconfig {kc} --poll 0s --rerun", 2, "is zero"),
    Case(
        "recover node cp-1 --kubeconfig {kc} --hosts {hosts_bad_yaml} --rerun --dry-run",
        2,
        "hosts_bad_yaml.yaml:\\d+:\\d+: ",
    ),
    Case("recover node cp-1 --kubeconfig {garbage_kc} --rerun --dry-run", 2, "garbage_kc"),
];

/// What a bad input must not change: per node its cordon and annotations, per pod its node
/// and uid, per lease its holder.
fn cluster_state(sim: &RunningSim) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let store = sim.store();
    for node in store.list("nodes", None) {
        let name = node["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        out.insert(
            format!("node/{name}"),
            serde_json::json!([node["spec"]["unschedulable"], node["metadata"]["annotations"], node["spec"]["taints"]]),
        );
    }
    for pod in store.list("pods", None) {
        let key = format!("pod/{}/{}", pod["metadata"]["namespace"], pod["metadata"]["name"]);
        out.insert(key, serde_json::json!([pod["metadata"]["uid"], pod["spec"]["nodeName"]]));
    }
    for lease in store.list("leases.coordination.k8s.io", None) {
        let key = format!("lease/{}/{}", lease["metadata"]["namespace"], lease["metadata"]["name"]);
        out.insert(key, lease["spec"]["holderIdentity"].clone());
    }
    out
}

fn fixtures(sim: &RunningSim, dir: &Path) -> BTreeMap<&'static str, String> {
    let put = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let kc = dir.join("kc");
    sim.write_kubeconfig(&kc).unwrap();
    let hosts = dir.join("hosts.yaml");
    let ca = dir.join("hosts.yaml.ca.pem");
    std::fs::write(&ca, sim.ca_pem()).unwrap();
    std::fs::write(&hosts, sim.hosts_yaml(&ca)).unwrap();
    let other_ca = rcgen::generate_simple_self_signed(vec!["elsewhere".to_owned()]).unwrap().cert.pem();
    let mut f = BTreeMap::new();
    f.insert("kc", kc.display().to_string());
    f.insert("hosts", hosts.display().to_string());
    f.insert("dir", dir.display().to_string());
    f.insert("garbage_kc", put("garbage_kc", "{{{ this is not a kubeconfig: [\n"));
    f.insert(
        "closed_kc",
        put("closed_kc", &kubeladder_sim::tls::kubeconfig_yaml("https://127.0.0.1:1", sim.ca_pem(), "t")),
    );
    f.insert(
        "bad_token_kc",
        put("bad_token_kc", &kubeladder_sim::tls::kubeconfig_yaml(sim.url(), sim.ca_pem(), "wrong")),
    );
    f.insert(
        "wrong_ca_kc",
        put("wrong_ca_kc", &kubeladder_sim::tls::kubeconfig_yaml(sim.url(), &other_ca, sim.token())),
    );
    f.insert("hosts_bad_yaml", put("hosts_bad_yaml.yaml", "hosts:\n  - node: cp-1\n   address: [\n"));
    f.insert("hosts_unknown_key", put("hosts_unknown_key.yaml", "hosts:\n  - node: cp-1\n    colour: blue\n"));
    f.insert("hosts_duplicate", put("hosts_duplicate.yaml", "hosts:\n  - node: cp-1\n  - node: cp-1\n"));
    f.insert("hosts_sim_incomplete", put("hosts_sim_incomplete.yaml", "defaults:\n  transport: sim\nhosts: []\n"));
    f.insert("hosts_bad_transport", put("hosts_bad_transport.yaml", "defaults:\n  transport: carrier-pigeon\n"));
    f.insert("hosts_bad_port", put("hosts_bad_port.yaml", "defaults:\n  port: 99999\n"));
    f.insert("hosts_bad_pm", put("hosts_bad_pm.yaml", "defaults:\n  package_manager: zypper\n"));
    f.insert("hosts_port_zero", put("hosts_port_zero.yaml", "hosts:\n  - node: cp-1\n    port: 0\n"));
    f.insert("hosts_bad_jump", put("hosts_bad_jump.yaml", "defaults:\n  jump_host: admin@bastion:ssh\n"));
    f.insert("hosts_stray_node", put("hosts_stray_node.yaml", "hosts:\n  - node: worker1\n    address: 127.0.0.9\n"));
    f.insert("scenario_bad", put("scenario_bad.yaml", "nodes:\n  - name: [\n"));
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let garbled = dir.join("journal_garbled_header");
    std::fs::create_dir_all(&garbled).unwrap();
    std::fs::write(garbled.join("header.json"), [0xff_u8, 0xfe, 0x00, b'{']).unwrap();
    std::fs::write(garbled.join("events.jsonl"), "").unwrap();
    f.insert("journal_garbled_header", garbled.display().to_string());
    for (name, damage) in [
        ("journal_no_snapshot", "rm state.json"),
        ("journal_bad_snapshot", "garble state.json"),
        ("journal_no_log", "rm events.jsonl"),
        ("journal_garbled_line", "garble line 2"),
        ("journal_torn_tail", "tear the tail"),
        ("journal_future_format", "format 999"),
    ] {
        let journal = dir.join(name);
        write_journal(&journal);
        match damage {
            "rm state.json" => std::fs::remove_file(journal.join("state.json")).unwrap(),
            "garble state.json" => std::fs::write(journal.join("state.json"), "{\"seq\": [").unwrap(),
            "rm events.jsonl" => std::fs::remove_file(journal.join("events.jsonl")).unwrap(),
            "garble line 2" => {
                let log = std::fs::read_to_string(journal.join("events.jsonl")).unwrap();
                let mut lines: Vec<&str> = log.lines().collect();
                lines[1] = "{\"seq\": 2, garbage";
                std::fs::write(journal.join("events.jsonl"), lines.join("\n") + "\n").unwrap();
            }
            "tear the tail" => {
                let mut log = std::fs::read_to_string(journal.join("events.jsonl")).unwrap();
                log.push_str("{\"seq\": 99, \"at\": \"t\", \"ev");
                std::fs::write(journal.join("events.jsonl"), log).unwrap();
            }
            _ => {
                let header = std::fs::read_to_string(journal.join("header.json")).unwrap();
                let mut v: Value = serde_json::from_str(&header).unwrap();
                v["format"] = Value::from(999);
                std::fs::write(journal.join("header.json"), v.to_string()).unwrap();
            }
        }
        f.insert(name, journal.display().to_string());
    }
    let empty = dir.join("journal_empty_header");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("header.json"), "{}").unwrap();
    std::fs::write(empty.join("events.jsonl"), "").unwrap();
    f.insert("journal_empty_header", empty.display().to_string());
    f
}

/// A journal of a 1.28 -> 1.29 run with 3 steps done and one in doubt, closed, with its
/// snapshot written (as after a pause).
fn write_journal(dir: &Path) {
    use kubeladder_core::journal::{Event, FORMAT, Header};
    use kubeladder_core::path::{PathOptions, Target, upgrade_path};
    use kubeladder_core::plan::{WorkerStrategy, plan, uniform_cluster};
    use kubeladder_core::release::ReleaseData;
    let from = kubeladder_core::KubeVersion::parse("v1.28.15").unwrap();
    let path =
        upgrade_path(ReleaseData::embedded().unwrap(), from, Target::parse("1.29").unwrap(), PathOptions::default())
            .unwrap();
    let p = plan(&uniform_cluster(from, 1, 2), &path, WorkerStrategy::Follow).unwrap();
    let header = Header {
        format: FORMAT,
        run_id: "run-42".to_owned(),
        cluster_uid: "uid-1".to_owned(),
        created_at: "t".to_owned(),
        plan: p.clone(),
    };
    let mut journal = kubeladder_orchestrator::Journal::create(dir, header).unwrap();
    let ids: Vec<String> = p.steps().map(|s| s.id.clone()).collect();
    for id in &ids[..3] {
        journal.record(Event::StepStarted { step: id.clone() }).unwrap();
        journal.record(Event::StepFinished { step: id.clone(), skipped: false }).unwrap();
    }
    journal.record(Event::StepStarted { step: ids[3].clone() }).unwrap();
    journal.record(Event::RunPaused { reason: "test".to_owned() }).unwrap();
}

/// Split on spaces, `''` is the empty argument; replace `{name}` by its fixture.
fn argv(line: &str, fixtures: &BTreeMap<&'static str, String>) -> Vec<String> {
    line.split_whitespace()
        .map(|word| {
            let mut word = if word == "''" { String::new() } else { word.to_owned() };
            for (name, value) in fixtures {
                word = word.replace(&format!("{{{name}}}"), value);
            }
            word
        })
        .collect()
}

/// The binary under test; `KUBELADDER_TEST_BIN` overrides it (a target directory shared by
/// several checkouts may hold another checkout's build by the time the test runs).
fn binary() -> String {
    std::env::var("KUBELADDER_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_kubeladder").to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_input_gets_a_clear_answer_and_changes_nothing() {
    assert!(CASES.len() >= 150, "the catalogue keeps at least 150 cases, has {}", CASES.len());
    let config = SimConfig {
        speed: 20.0,
        timings: Timings { pod_start_secs: 1.0, pod_ready_secs: 1.0, pod_termination_secs: 1.0 },
        ..SimConfig::new(Scenario::small())
    };
    let sim = SimCluster::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fixtures = fixtures(&sim, dir.path());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let home = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut before = cluster_state(&sim);
    for Case(line, code, pattern) in CASES {
        let args = argv(line, &fixtures);
        let out = tokio::process::Command::new(binary())
            .args(&args)
            .env_remove("KUBECONFIG")
            .env("HOME", home.path())
            .env("XDG_STATE_HOME", home.path().join("state"))
            .env("KUBELADDER_RELEASE_URL", "off")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output();
        let started = std::time::Instant::now();
        let Ok(out) = tokio::time::timeout(Duration::from_secs(20), out).await else {
            failures.push(format!("{line}: did not finish within 20s"));
            continue;
        };
        eprintln!("{:>6}ms {line}", started.elapsed().as_millis());
        let out = out.unwrap();
        let message = format!("{}{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout));
        let got = out.status.code().unwrap_or(-1);
        let re = regex::Regex::new(&format!("(?s){pattern}")).unwrap();
        if got != *code || !re.is_match(&message) {
            failures
                .push(format!("{line}\n  expected exit {code} and /{pattern}/, got exit {got}:\n  {}", message.trim()));
        }
        assert!(!message.contains(sim.token()), "{line}: the bearer token appears in the output");
        if message.contains("panicked") {
            failures.push(format!("{line}: panicked:\n{message}"));
        }
        let after = cluster_state(&sim);
        if after != before {
            let changed: Vec<_> =
                after.iter().filter(|(k, v)| before.get(*k) != Some(*v)).map(|(k, _)| k.clone()).collect();
            failures.push(format!("{line}: changed the cluster: {changed:?}"));
            before = after;
        }
    }
    sim.shutdown().await;
    assert!(failures.is_empty(), "{} of {} cases failed:\n\n{}", failures.len(), CASES.len(), failures.join("\n\n"));
}

/// Every subcommand's `--help` exits 0 and lists its exit codes and at least one example;
/// the top level lists every exit code, 0 to 4.
#[test]
fn every_help_lists_exit_codes_and_examples() {
    let commands: &[&[&str]] = &[
        &[],
        &["skew"],
        &["path"],
        &["versions"],
        &["inventory"],
        &["drain"],
        &["uncordon"],
        &["check"],
        &["plan"],
        &["apply"],
        &["resume"],
        &["abort"],
        &["demo"],
        &["recover", "list"],
        &["recover", "node"],
        &["status"],
        &["sim", "serve"],
        &["hosts", "check"],
    ];
    for command in commands {
        let out = std::process::Command::new(binary()).args(*command).arg("--help").output().unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{command:?} --help");
        assert!(help.contains("Exit codes:"), "{command:?} --help lists no exit codes:\n{help}");
        assert!(
            help.contains("Examples:") && help.contains("\n  kubeladder "),
            "{command:?} --help has no example:\n{help}"
        );
    }
    let out = std::process::Command::new(binary()).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for code in ["0 ok", "1 violations", "2 bad input", "3 the plan has blockers", "4 a run paused"] {
        assert!(help.contains(code), "top-level help misses exit code {code:?}");
    }
}

/// Files that hold a credential are the owner's alone, whatever the umask, and the
/// credential never reaches the output.
#[test]
fn sim_serve_writes_its_credentials_0600_and_never_prints_them() {
    use std::io::BufRead as _;
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kc");
    let hosts = dir.path().join("hosts.yaml");
    // A pre-existing world-readable file is narrowed, not kept.
    std::fs::write(&kc, "old").unwrap();
    std::fs::set_permissions(&kc, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask 000; exec {} sim serve --scenario small --kubeconfig-out {} --hosts-out {}",
            binary(),
            kc.display(),
            hosts.display()
        ))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.starts_with("serving https://127.0.0.1:"), "{line}");
    let mut ca = hosts.as_os_str().to_owned();
    ca.push(".ca.pem");
    for file in [kc.clone(), hosts.clone(), ca.into()] {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} is {mode:o}", file.display());
    }
    let kubeconfig = std::fs::read_to_string(&kc).unwrap();
    let token = kubeconfig.lines().find_map(|l| l.trim().strip_prefix("token: ")).expect("a token").trim_matches('"');
    assert!(std::fs::read_to_string(&hosts).unwrap().contains(token));
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let printed = format!("{line}{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!printed.contains(token), "the token was printed:\n{printed}");
}
