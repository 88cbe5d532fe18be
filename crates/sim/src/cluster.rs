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
        let state = Arc::new(ApiState {
            store: store.clone(),
            token: token.clone(),
            counters: Mutex::new(RequestCounts::new()),
            shutdown: shutdown_rx.clone(),
            address,
            bookmark_interval: config.bookmark_interval,
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

    pub fn write_kubeconfig(&self, path: &Path) -> Result<(), SimError> {
        std::fs::write(path, self.kubeconfig_yaml())?;
        Ok(())
    }

    /// The object store (read objects, or change them as a test fixture).
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// Requests served so far, per (verb, resource).
    pub fn request_counts(&self) -> RequestCounts {
        self.state.counters.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Stop serving: ends watches, closes connections, stops the controllers.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }
}
