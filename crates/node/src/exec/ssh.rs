//! Commands over SSH (russh): host keys verified against `known_hosts`, key-file
//! authentication, `sudo -n` for non-root users, connect and command timeouts, a bounded
//! number of concurrent sessions, and one reconnect when the connection dropped.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client::{self, Handle};
use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKey};
use russh::{ChannelMsg, Disconnect};
use tokio::sync::{Mutex as AsyncMutex, Semaphore};

use super::{BoxFuture, Collector, Executor, LineSink, Stream, shell_join, with_sudo};
use crate::error::NodeError;
use crate::hosts::Host;
use crate::output::CommandOutput;

/// Connection policy shared by every host.
#[derive(Debug, Clone)]
pub struct SshOptions {
    /// Budget for TCP connect, key exchange and authentication together.
    pub connect_timeout: Duration,
    /// Record unknown host keys in `known_hosts` instead of refusing them. Off by default:
    /// an unknown key is refused unless the operator asked for this explicitly.
    pub trust_on_first_use: bool,
    /// Most sessions (commands) running at once on one host.
    pub max_sessions: usize,
    /// Identity used when the host names none.
    pub default_identity: Option<PathBuf>,
    /// `known_hosts` used when the host names none (default `~/.ssh/known_hosts`).
    pub default_known_hosts: Option<PathBuf>,
    /// The ssh-agent socket, used when no identity file is given (default `SSH_AUTH_SOCK`).
    pub agent_socket: Option<PathBuf>,
}

impl Default for SshOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            trust_on_first_use: false,
            max_sessions: 4,
            default_identity: None,
            default_known_hosts: None,
            agent_socket: std::env::var_os("SSH_AUTH_SOCK").map(PathBuf::from),
        }
    }
}

fn home_file(relative: &str) -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(relative))
}

fn expand_tilde(path: &Path) -> PathBuf {
    match path.to_str().and_then(|p| p.strip_prefix("~/")) {
        Some(rest) => home_file(rest).unwrap_or_else(|| path.to_owned()),
        None => path.to_owned(),
    }
}

/// Verifies the server's key and remembers why it refused.
struct Verifier {
    node: String,
    address: String,
    port: u16,
    known_hosts: PathBuf,
    trust_on_first_use: bool,
    refusal: Arc<Mutex<Option<NodeError>>>,
}

impl Verifier {
    fn refuse(&self, error: NodeError) -> bool {
        if let Ok(mut slot) = self.refusal.lock() {
            *slot = Some(error);
        }
        false
    }

    fn verify(&self, key: &PublicKey) -> bool {
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        let shown = if self.port == 22 { self.address.clone() } else { format!("[{}]:{}", self.address, self.port) };
        let known_hosts = self.known_hosts.display().to_string();
        match russh::keys::check_known_hosts_path(&self.address, self.port, key, &self.known_hosts) {
            Ok(true) => true,
            Ok(false) if self.trust_on_first_use => {
                match russh::keys::known_hosts::learn_known_hosts_path(&self.address, self.port, key, &self.known_hosts)
                {
                    Ok(()) => true,
                    Err(e) => self.refuse(NodeError::Ssh {
                        node: self.node.clone(),
                        reason: format!("cannot record the host key of {shown} in {known_hosts}: {e}"),
                    }),
                }
            }
            Ok(false) => self.refuse(NodeError::UnknownHostKey {
                node: self.node.clone(),
                address: shown,
                fingerprint,
                known_hosts,
            }),
            Err(russh::keys::Error::KeyChanged { line }) => self.refuse(NodeError::HostKeyMismatch {
                node: self.node.clone(),
                address: shown,
                fingerprint,
                known_hosts,
                line,
            }),
            Err(e) => self
                .refuse(NodeError::Ssh { node: self.node.clone(), reason: format!("cannot read {known_hosts}: {e}") }),
        }
    }
}

impl client::Handler for Verifier {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_public_key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(match server_public_key {
            russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } => self.verify(key),
            russh::keys::PublicKeyOrCertificate::Certificate(_) => self.refuse(NodeError::Ssh {
                node: self.node.clone(),
                reason: "host certificates are not supported; list the host key in known_hosts".to_owned(),
            }),
        })
    }
}

/// Prints `kubeladder-pgid N` (the process group of the session) on stderr, then
/// becomes the command in the C locale ([`super::C_LOCALE`]; exported here, after `sudo`,
/// whose `env_reset` would drop a variable set before it).
const PGID_WRAPPER: &str =
    r#"read -r _ _ _ _ g _ < /proc/$$/stat; echo "kubeladder-pgid $g" >&2; export LC_ALL=C; exec "$@""#;

/// Who to authenticate as, and with what.
enum Credentials {
    Key(Arc<PrivateKey>, PathBuf),
    Agent(PathBuf),
}

/// One end of an SSH handshake.
struct Endpoint {
    /// The node's name as errors show it.
    node: String,
    user: String,
    address: String,
    port: u16,
}

/// An authenticated connection, and the jump host connection carrying it.
struct Connection {
    handle: Handle<Verifier>,
    jump: Option<Handle<Verifier>>,
}

impl Connection {
    fn is_closed(&self) -> bool {
        self.handle.is_closed() || self.jump.as_ref().is_some_and(Handle::is_closed)
    }
}

/// Runs argv on one host over SSH.
pub struct SshExecutor {
    host: Host,
    options: SshOptions,
    sink: Option<LineSink>,
    connection: AsyncMutex<Option<Arc<Connection>>>,
    sessions: Semaphore,
}

impl std::fmt::Debug for SshExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshExecutor").field("host", &self.host).field("options", &self.options).finish_non_exhaustive()
    }
}

impl SshExecutor {
    /// An executor for `host`; it connects on first use.
    pub fn new(host: Host, options: SshOptions) -> Self {
        let permits = options.max_sessions.max(1);
        Self { host, options, sink: None, connection: AsyncMutex::new(None), sessions: Semaphore::new(permits) }
    }

    #[must_use]
    pub fn with_sink(mut self, sink: LineSink) -> Self {
        self.sink = Some(sink);
        self
    }

    pub fn host(&self) -> &Host {
        &self.host
    }

    fn address(&self) -> String {
        format!("{}:{}", self.host.address, self.host.port)
    }

    fn connect_error(&self, reason: impl Into<String>) -> NodeError {
        NodeError::Connect { node: self.host.node.clone(), address: self.address(), reason: reason.into() }
    }

    /// Connect (through the jump host if any), verify host keys and authenticate, within
    /// the connect timeout.
    pub async fn connect(&self) -> Result<(), NodeError> {
        let mut slot = self.connection.lock().await;
        if slot.as_ref().is_some_and(|c| !c.is_closed()) {
            return Ok(());
        }
        *slot = None;
        let timeout = self.options.connect_timeout;
        let connection = tokio::time::timeout(timeout, self.open()).await.map_err(|_| {
            NodeError::ConnectTimeout { node: self.host.node.clone(), address: self.address(), timeout }
        })??;
        *slot = Some(Arc::new(connection));
        Ok(())
    }

    /// The key file to use, or `None` for the ssh-agent: the host's or the options'
    /// identity, else the agent when there is one, else `~/.ssh/id_ed25519`.
    fn identity(&self) -> Result<Option<PathBuf>, NodeError> {
        if let Some(path) = self.host.identity_file.clone().or_else(|| self.options.default_identity.clone()) {
            return Ok(Some(expand_tilde(&path)));
        }
        if self.options.agent_socket.is_some() {
            return Ok(None);
        }
        home_file(".ssh/id_ed25519")
            .map(Some)
            .ok_or_else(|| self.connect_error("no identity file given, no ssh-agent and no HOME for ~/.ssh/id_ed25519"))
    }

    fn known_hosts(&self) -> Result<PathBuf, NodeError> {
        self.host
            .known_hosts
            .clone()
            .or_else(|| self.options.default_known_hosts.clone())
            .or_else(|| home_file(".ssh/known_hosts"))
            .map(|p| expand_tilde(&p))
            .ok_or_else(|| self.connect_error("no known_hosts file given and no HOME"))
    }

    fn credentials(&self) -> Result<Credentials, NodeError> {
        Ok(match self.identity()? {
            Some(path) => {
                let key = russh::keys::load_secret_key(&path, None)
                    .map_err(|e| self.connect_error(format!("cannot load identity {}: {e}", path.display())))?;
                Credentials::Key(Arc::new(key), path)
            }
            None => Credentials::Agent(self.options.agent_socket.clone().unwrap_or_default()),
        })
    }

    /// TCP first (an unreachable host is reported as such, whatever the local
    /// configuration), then credentials, host key and authentication.
    async fn open(&self) -> Result<Connection, NodeError> {
        let target = Endpoint {
            node: self.host.node.clone(),
            user: self.host.user.clone(),
            address: self.host.address.clone(),
            port: self.host.port,
        };
        let Some(jump_host) = &self.host.jump_host else {
            let stream = tokio::net::TcpStream::connect((target.address.as_str(), target.port))
                .await
                .map_err(|e| self.connect_error(e.to_string()))?;
            let (credentials, known_hosts) = (self.credentials()?, self.known_hosts()?);
            let handle = self.handshake(stream, &target, &credentials, &known_hosts).await?;
            return Ok(Connection { handle, jump: None });
        };
        let jump = Endpoint {
            node: format!("{} (jump host {jump_host})", self.host.node),
            user: jump_host.user.clone().unwrap_or_else(|| self.host.user.clone()),
            address: jump_host.address.clone(),
            port: jump_host.port,
        };
        let stream = tokio::net::TcpStream::connect((jump.address.as_str(), jump.port)).await.map_err(|e| {
            NodeError::Connect {
                node: jump.node.clone(),
                address: format!("{}:{}", jump.address, jump.port),
                reason: e.to_string(),
            }
        })?;
        let (credentials, known_hosts) = (self.credentials()?, self.known_hosts()?);
        let jump_handle = self.handshake(stream, &jump, &credentials, &known_hosts).await?;
        let channel = jump_handle
            .channel_open_direct_tcpip(target.address.clone(), u32::from(target.port), "127.0.0.1", 0)
            .await
            .map_err(|e| self.connect_error(format!("the jump host {jump_host} cannot reach it: {e}")))?;
        let handle = self.handshake(channel.into_stream(), &target, &credentials, &known_hosts).await?;
        Ok(Connection { handle, jump: Some(jump_handle) })
    }

    /// SSH over `stream` to `to`: host key check, then public-key authentication.
    async fn handshake<S>(
        &self,
        stream: S,
        to: &Endpoint,
        credentials: &Credentials,
        known_hosts: &Path,
    ) -> Result<Handle<Verifier>, NodeError>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let address = format!("{}:{}", to.address, to.port);
        let refusal = Arc::new(Mutex::new(None));
        let verifier = Verifier {
            node: to.node.clone(),
            address: to.address.clone(),
            port: to.port,
            known_hosts: known_hosts.to_owned(),
            trust_on_first_use: self.options.trust_on_first_use,
            refusal: refusal.clone(),
        };
        let config = Arc::new(client::Config {
            inactivity_timeout: None,
            keepalive_interval: Some(Duration::from_secs(15)),
            keepalive_max: 3,
            nodelay: true,
            ..client::Config::default()
        });
        let mut handle = match client::connect_stream(config, stream, verifier).await {
            Ok(handle) => handle,
            Err(e) => {
                let refused = refusal.lock().ok().and_then(|mut r| r.take());
                return Err(refused.unwrap_or_else(|| NodeError::Connect {
                    node: to.node.clone(),
                    address: address.clone(),
                    reason: e.to_string(),
                }));
            }
        };
        let auth_error = |reason: String| NodeError::Auth {
            node: to.node.clone(),
            user: to.user.clone(),
            address: address.clone(),
            reason,
        };
        let hash = handle.best_supported_rsa_hash().await.ok().flatten().flatten();
        match credentials {
            Credentials::Key(key, path) => {
                let auth = handle
                    .authenticate_publickey(to.user.clone(), PrivateKeyWithHashAlg::new(key.clone(), hash))
                    .await
                    .map_err(|e| auth_error(e.to_string()))?;
                if !auth.success() {
                    return Err(auth_error(format!("the server refused the key {}", path.display())));
                }
            }
            Credentials::Agent(socket) => {
                let mut agent = russh::keys::agent::client::AgentClient::connect_uds(socket)
                    .await
                    .map_err(|e| auth_error(format!("cannot reach the ssh-agent at {}: {e}", socket.display())))?;
                let identities = agent.request_identities().await.map_err(|e| auth_error(format!("ssh-agent: {e}")))?;
                let mut accepted = false;
                for identity in identities {
                    let russh::keys::agent::AgentIdentity::PublicKey { key, .. } = identity else { continue };
                    let auth = handle
                        .authenticate_publickey_with(to.user.clone(), key, hash, &mut agent)
                        .await
                        .map_err(|e| auth_error(format!("ssh-agent: {e}")))?;
                    if auth.success() {
                        accepted = true;
                        break;
                    }
                }
                if !accepted {
                    return Err(auth_error("the server accepted none of the ssh-agent's keys".to_owned()));
                }
            }
        }
        Ok(handle)
    }

    async fn handle(&self) -> Result<Arc<Connection>, NodeError> {
        self.connect().await?;
        self.connection.lock().await.clone().ok_or_else(|| self.connect_error("connection lost"))
    }

    async fn run_inner(&self, argv: &[String], timeout: Duration) -> Result<CommandOutput, NodeError> {
        let sudo = self.host.needs_sudo();
        let command = shell_join(&if sudo { with_sudo(argv) } else { argv.to_vec() });
        // The command runs behind a wrapper that reports its process group first, so a
        // timed-out command can be killed: sshd refuses `signal` requests for root sessions.
        let mut wrapped = vec!["sh".to_owned(), "-c".to_owned(), PGID_WRAPPER.to_owned(), "kubeladder".to_owned()];
        wrapped.extend(argv.iter().cloned());
        let remote = shell_join(&if sudo { with_sudo(&wrapped) } else { wrapped });
        let permit = self.sessions.acquire().await.map_err(|e| self.connect_error(e.to_string()))?;
        let handle = self.handle().await?;
        let mut channel = if let Ok(channel) = handle.handle.channel_open_session().await {
            channel
        } else {
            // The connection dropped (sshd restarted, network blip): reconnect once,
            // unless a concurrent command already did.
            {
                let mut slot = self.connection.lock().await;
                if slot.as_ref().is_some_and(|current| Arc::ptr_eq(current, &handle)) {
                    *slot = None;
                }
            }
            let handle = self.handle().await?;
            handle.handle.channel_open_session().await.map_err(|e| NodeError::Ssh {
                node: self.host.node.clone(),
                reason: format!("cannot open a session after reconnecting: {e}"),
            })?
        };
        let ssh_error = |e: russh::Error| NodeError::Ssh { node: self.host.node.clone(), reason: e.to_string() };
        channel.exec(true, remote.as_bytes()).await.map_err(ssh_error)?;
        // Standard input at EOF, as locally (`Stdio::null`): a command that reads it (a
        // dpkg conffile prompt, `cat`) gets EOF at once instead of waiting out the timeout
        // on an open channel (RFC 4254 section 5.3, SSH_MSG_CHANNEL_EOF).
        channel.eof().await.map_err(ssh_error)?;
        let mut collector = Collector::new(&self.host.node, self.sink.clone()).capture_pgid();
        let deadline = tokio::time::Instant::now() + timeout;
        let mut code = None;
        loop {
            let Ok(msg) = tokio::time::timeout_at(deadline, channel.wait()).await else {
                // Ask sshd to kill the command (OpenSSH honours `signal` requests), then
                // close the channel; without a pty, closing alone leaves it running.
                let _ = channel.signal(russh::Sig::KILL).await;
                let _ = channel.close().await;
                drop(permit);
                if let Some(pgid) = collector.pgid() {
                    let kill = vec!["kill".to_owned(), "-KILL".to_owned(), "--".to_owned(), format!("-{pgid}")];
                    let _ = self.run(&kill, Duration::from_secs(10)).await;
                }
                return Err(NodeError::CommandTimeout { node: self.host.node.clone(), command, timeout });
            };
            match msg {
                None => break,
                Some(ChannelMsg::Data { data }) => collector.push(Stream::Stdout, &data),
                Some(ChannelMsg::ExtendedData { data, ext: 1 }) => collector.push(Stream::Stderr, &data),
                Some(ChannelMsg::ExitStatus { exit_status }) => {
                    code = Some(i32::try_from(exit_status).unwrap_or(i32::MAX));
                }
                Some(ChannelMsg::ExitSignal { .. }) => code = code.or(Some(128 + 9)),
                Some(_) => {}
            }
        }
        let Some(code) = code else {
            return Err(NodeError::Ssh {
                node: self.host.node.clone(),
                reason: format!("`{command}`: the connection closed before the command reported an exit code"),
            });
        };
        Ok(collector.finish(code))
    }

    /// Close the connection, if any.
    pub async fn disconnect(&self) {
        if let Some(connection) = self.connection.lock().await.take() {
            let _ = connection.handle.disconnect(Disconnect::ByApplication, "", "en").await;
            if let Some(jump) = &connection.jump {
                let _ = jump.disconnect(Disconnect::ByApplication, "", "en").await;
            }
        }
    }
}

impl Executor for SshExecutor {
    fn node(&self) -> &str {
        &self.host.node
    }

    fn run<'a>(&'a self, argv: &'a [String], timeout: Duration) -> BoxFuture<'a, Result<CommandOutput, NodeError>> {
        Box::pin(self.run_inner(argv, timeout))
    }
}
