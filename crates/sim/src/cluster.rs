//! Starting and stopping a simulated cluster: the store with a scenario, the controllers'
//! task on the virtual clock, and the HTTPS API.

use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::api::{self, ApiState, RequestCounts};
use crate::clock::Clock;
use crate::controllers::{Controllers, Timings};
use crate::error::SimError;
use crate::faults::Fault;
use crate::host::exec::{self, ExecError};
use crate::host::{CommandOutput, HostInfo, HostState, HostTimings};
use crate::scenario::{self, Scenario};
use crate::store::Store;
use crate::tls::{Certificates, kubeconfig_yaml};

/// How to run a simulated cluster.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub scenario: Scenario,
    /// Where to listen; must be a loopback address (port 0 picks a free port).
    pub listen: SocketAddr,
    /// Simulated seconds per real second.
    pub speed: f64,
    pub timings: Timings,
    /// How long host-side work takes (kubelet restarts, static pods, kubeadm, apt).
    pub host_timings: HostTimings,
    /// Seed for generated names and uids.
    pub seed: u64,
    /// Real time between controller passes.
    pub tick: Duration,
    /// Real time between watch BOOKMARK events (when asked for).
    pub bookmark_interval: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            scenario: Scenario::small(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            speed: 1.0,
            timings: Timings::default(),
            host_timings: HostTimings::default(),
            seed: 42,
            tick: Duration::from_millis(20),
            bookmark_interval: Duration::from_secs(5),
        }
    }
}

impl SimConfig {
    pub fn new(scenario: Scenario) -> Self {
        Self { scenario, ..Self::default() }
    }

    #[must_use]
    pub fn with_speed(mut self, speed: f64) -> Self {
        self.speed = speed;
        self
    }
}

/// Entry point.
#[derive(Debug)]
pub struct SimCluster;

impl SimCluster {
    /// Build the scenario, settle it, and serve it. Returns once the API accepts connections.
    pub async fn start(config: SimConfig) -> Result<RunningSim, SimError> {
        if !config.listen.ip().is_loopback() {
            return Err(SimError::Listen(config.listen));
        }
        let clock = Clock::new(config.speed);
        let store = Store::new(clock, config.seed);
        let mut controllers = Controllers::new(config.timings);
        {
            let mut inner = store.lock();
            inner.hosts.timings = config.host_timings;
            inner.set_quiet(true);
            scenario::build(&mut inner, &config.scenario)?;
            controllers.settle(&mut inner);
            inner.set_quiet(false);
        }
        let certs = Certificates::generate()?;
        let acceptor = TlsAcceptor::from(certs.server_config()?);
        let listener = TcpListener::bind(config.listen).await?;
        let address = listener.local_addr()?;
        let token = random_token();
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let (watch_drops, _) = watch::channel(0_u64);
        let state = Arc::new(ApiState {
            store: store.clone(),
            token: token.clone(),
            counters: Mutex::new(RequestCounts::new()),
            shutdown: shutdown_rx.clone(),
            address,
            bookmark_interval: config.bookmark_interval,
            watch_drops,
            exec_in_flight: std::sync::atomic::AtomicUsize::new(0),
        });
        let server = tokio::spawn(api::serve(listener, acceptor, state.clone()));
        let loop_store = store.clone();
        let mut loop_shutdown = shutdown_rx;
        let tick = config.tick;
        let control = tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(tick) => {
                        let mut inner = loop_store.lock();
                        if controllers.needs_pass(&inner) {
                            controllers.reconcile(&mut inner, false);
                        }
                    }
                    _ = loop_shutdown.changed() => break,
                }
            }
        });
        Ok(RunningSim {
            package_world: config.scenario.package_world.clone(),
            url: format!("https://{address}"),
            address,
            ca_pem: certs.ca_pem,
            token,
            store,
            clock,
            state,
            shutdown: shutdown_tx,
            tasks: vec![server, control],
        })
    }
}

fn random_token() -> String {
    let mut out = String::new();
    for i in 0..2_u64 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(i);
        hasher
            .write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
        out.push_str(&format!("{:016x}", hasher.finish()));
    }
    out
}

/// A running simulated cluster.
#[derive(Debug)]
pub struct RunningSim {
    url: String,
    /// The package repositories the hosts reach (the hosts file names the mirror).
    package_world: crate::host::PackageWorld,
    address: SocketAddr,
    ca_pem: String,
    token: String,
    store: Store,
    clock: Clock,
    state: Arc<ApiState>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningSim {
    /// `https://127.0.0.1:PORT`
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The bearer token the kubeconfig carries.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The CA certificate (PEM) that signed the server certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    pub fn kubeconfig_yaml(&self) -> String {
        kubeconfig_yaml(&self.url, &self.ca_pem, &self.token)
    }

    /// Write the kubeconfig (it holds the bearer token) readable by its owner only.
    pub fn write_kubeconfig(&self, path: &Path) -> Result<(), SimError> {
        write_private(path, self.kubeconfig_yaml().as_bytes())?;
        Ok(())
    }

    /// The object store (read objects, or change them as a test fixture).
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// Commands the exec endpoint is running now (see [`ApiState::exec_in_flight`]).
    pub fn exec_in_flight(&self) -> usize {
        self.state.exec_in_flight.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Requests served so far, per (verb, resource).
    pub fn request_counts(&self) -> RequestCounts {
        self.state.counters.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Run `argv` on `node`'s simulated host, as the exec endpoint does (without a timeout).
    /// `sudo -n --` and `env VAR=...` prefixes are accepted.
    pub async fn exec(&self, node: &str, argv: &[String]) -> Result<CommandOutput, SimError> {
        match exec::run(&self.store, node, argv).await {
            Ok(out) => Ok(out),
            Err(ExecError::NoSuchHost(node)) => Err(SimError::NoSuchHost(node)),
            Err(ExecError::Dropped) => Err(SimError::ExecDropped(node.to_owned())),
        }
    }

    /// Every host (node, `InternalIP`, package manager), as `GET /sim/v1/hosts` lists them.
    pub fn hosts(&self) -> Vec<HostInfo> {
        self.store.lock().hosts.infos()
    }

    /// A snapshot of one host: packages and holds, repository, kubelet service, files.
    pub fn host_state(&self, node: &str) -> Option<HostState> {
        self.store.lock().hosts.state(node)
    }

    /// The text of a file on a host (`None` when the host or the file does not exist).
    pub fn host_file(&self, node: &str, path: &str) -> Option<String> {
        self.store.lock().hosts.get(node).and_then(|h| h.files.text(path)).map(str::to_owned)
    }

    /// Install host `etcdctl` and `etcdutl` binaries of etcd `version` (`3.5.21`) on a host,
    /// as an operator may have done (kubeadm's packages do not: by default a host has none,
    /// and the tools are reached inside the etcd container). `false` when no such host.
    pub fn install_host_etcd_tools(&self, node: &str, version: &str) -> bool {
        let mut inner = self.store.lock();
        let now = inner.clock().elapsed_secs();
        let Some(host) = inner.hosts.get_mut(node) else { return false };
        [("etcdctl", crate::host::HOST_ETCDCTL), ("etcdutl", crate::host::HOST_ETCDUTL)].into_iter().all(
            |(tool, path)| {
                host.files.write_all(path, std::sync::Arc::from(format!("{tool} {version}\n")), 0o755, now).is_ok()
            },
        )
    }

    /// The hosts file for `transport: sim` (see the contract): the simulator's URL, token
    /// and `ca_file` (where the caller writes [`RunningSim::ca_pem`]) in `defaults`, then
    /// every host with its address and package manager.
    pub fn hosts_yaml(&self, ca_file: &Path) -> String {
        let mut out = String::from("defaults:\n  transport: sim\n");
        out.push_str(&format!("  sim_url: {}\n", yaml_string(&self.url)));
        out.push_str(&format!("  sim_token: {}\n", yaml_string(&self.token)));
        out.push_str(&format!("  sim_ca_file: {}\n", yaml_string(&ca_file.display().to_string())));
        // The scenario's mirror, configured the way an operator of an old cluster does
        // (the legacy layout for minors before 1.24, the pkgs.k8s.io layout after).
        if let Some(mirror) = &self.package_world.mirror {
            out.push_str(&format!(
                "  package_sources:\n    legacy:\n      apt: https://{mirror}/kubernetes/apt/\n      yum: https://{mirror}/kubernetes/yum/repos/kubernetes-el7-x86_64/\n      yum_key: https://{mirror}/kubernetes/yum/doc/rpm-package-key.gpg\n    pkgs_k8s_io: https://{mirror}/kubernetes-new/core/stable/\n"
            ));
        }
        out.push_str("hosts:\n");
        for host in self.hosts() {
            out.push_str(&format!(
                "  - node: {}\n    address: {}\n    package_manager: {}\n",
                yaml_string(&host.node),
                yaml_string(&host.address),
                host.package_manager
            ));
        }
        out
    }

    /// Put a fault in effect (see [`crate::faults::Fault`]).
    pub fn add_fault(&self, fault: Fault) -> Result<(), SimError> {
        self.state.add_fault(fault)
    }

    /// End every fault; returns how many there were.
    pub fn clear_faults(&self) -> usize {
        self.state.clear_faults()
    }

    /// The faults in effect, with their remaining counts.
    pub fn faults(&self) -> Vec<Fault> {
        self.store.lock().faults.list()
    }

    /// Stop serving: ends watches, closes connections, stops the controllers.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }
}

/// A YAML scalar: plain when that reads back as the same string, else double-quoted.
fn yaml_string(text: &str) -> String {
    let plain = !text.is_empty()
        && text.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:".contains(c))
        && text.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '/')
        && !text.contains(": ")
        && text.parse::<f64>().is_err()
        && !matches!(text, "true" | "false" | "null" | "yes" | "no" | "on" | "off");
    if plain { text.to_owned() } else { serde_json::Value::from(text).to_string() }
}

/// Write a file that holds a credential: created 0600 whatever the umask, and an existing
/// file is narrowed to 0600 before the secret goes in.
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Create a directory (and its parents) whose own mode is 0700 whatever the umask.
pub fn create_private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
}
