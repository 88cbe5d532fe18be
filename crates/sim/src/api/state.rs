//! What every request handler shares - the store, the token, the request counters, the
//! shutdown and watch-drop signals - and the body and decoding helpers both endpoints use
//! (the Kubernetes API and the simulated hosts' exec endpoint).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use http_body_util::combinators::UnsyncBoxBody;
use tokio::sync::watch as tokio_watch;

use crate::error::SimError;
use crate::faults::Fault;
use crate::store::Store;

pub(crate) type Body = UnsyncBoxBody<Bytes, Infallible>;

/// Requests served, per (verb, resource).
pub type RequestCounts = BTreeMap<(String, String), u64>;

/// Everything a request handler needs.
#[derive(Debug)]
pub struct ApiState {
    pub store: Store,
    pub token: String,
    pub counters: Mutex<RequestCounts>,
    pub shutdown: tokio_watch::Receiver<bool>,
    pub address: SocketAddr,
    pub bookmark_interval: Duration,
    /// Bumped by a `drop_watches` fault: every open watch ends.
    pub watch_drops: tokio_watch::Sender<u64>,
    /// Commands the exec endpoint is running now. A command whose client went away still
    /// runs to its end (hyper does not notice a closed connection while the handler runs),
    /// where on a real node the SSH session's end kills it; tests that kill kubeladder wait
    /// for this to drop to 0 before resuming, as an operator would find no kubeadm running.
    pub exec_in_flight: std::sync::atomic::AtomicUsize,
}

impl ApiState {
    pub(crate) fn count(&self, verb: &str, resource: &str) {
        let mut counters = self.counters.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *counters.entry((verb.to_owned(), resource.to_owned())).or_default() += 1;
    }

    /// Put a fault in effect (see [`crate::faults`]). Refuses a malformed fault, an unknown
    /// node, and static pod or etcd faults on a node without that static pod.
    pub fn add_fault(&self, fault: Fault) -> Result<(), SimError> {
        fault.validate().map_err(SimError::Fault)?;
        if fault == (Fault::DropWatches {}) {
            self.watch_drops.send_modify(|n| *n += 1);
            return Ok(());
        }
        let mut inner = self.store.lock();
        let mut baseline = None;
        if let Some(node) = fault.node() {
            if !inner.hosts.contains(node) {
                return Err(SimError::Fault(format!("no host named {node}")));
            }
            inner.hosts.mark_dirty(node);
        }
        match &fault {
            Fault::StaticPodNeverReady { node, component, .. } => {
                let path = format!("{}/{component}.yaml", crate::host::MANIFESTS_DIR);
                let text = inner.hosts.get(node).and_then(|h| h.files.text(&path)).map(crate::util::content_hash);
                let Some(hash) = text else {
                    return Err(SimError::Fault(format!("node {node} has no static pod manifest {path}")));
                };
                baseline = Some(hash);
            }
            Fault::CorruptEtcd { node } => {
                let now = inner.clock().elapsed_secs();
                let corrupted = inner.hosts.get_mut(node).and_then(|h| {
                    h.files.is_file(crate::host::ETCD_DB).then(|| {
                        h.files.write(
                            crate::host::ETCD_DB,
                            std::sync::Arc::from(format!(
                                "{}
",
                                crate::host::ETCD_CORRUPT_MARK
                            )),
                            0o600,
                            now,
                        )
                    })
                });
                if corrupted.is_none() {
                    return Err(SimError::Fault(format!(
                        "node {node} has no local etcd data ({})",
                        crate::host::ETCD_DB
                    )));
                }
            }
            _ => {}
        }
        inner.faults.push(fault, baseline);
        inner.wake = true;
        Ok(())
    }

    /// End every fault; returns how many there were.
    pub fn clear_faults(&self) -> usize {
        let mut inner = self.store.lock();
        let cleared = inner.faults.clear();
        for fault in &cleared {
            if let Some(node) = fault.node() {
                inner.hosts.mark_dirty(node);
            }
        }
        inner.wake = true;
        cleared.len()
    }
}

pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
    UnsyncBoxBody::new(Full::new(bytes.into()))
}

/// Decode `%XX` escapes (and `+` as a space, as in query strings).
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(b) = hex {
                    out.push(b);
                    i += 3;
                } else {
                    out.push(b'%');
                    i += 1;
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
