//! Watches: chunked JSON lines of `{"type": ..., "object": ...}`, resumable from a
//! resourceVersion while the store's history reaches back (410 Expired otherwise),
//! with BOOKMARK events on request and `timeoutSeconds`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Response, header};
use http_body_util::StreamBody;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::Frame;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use super::selectors::{FieldSelector, LabelSelector};
use super::{ApiState, Body, table};
use crate::resources::ResourceDef;
use crate::status::ApiError;
use crate::store::{WatchEvent, namespace_of};

struct Filter {
    resource: String,
    namespace: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Filter {
    fn matches(&self, event: &WatchEvent) -> bool {
        event.resource == self.resource
            && self.namespace.as_deref().is_none_or(|ns| namespace_of(&event.object) == ns)
            && self.labels.matches(&event.object)
            && self.fields.matches(&event.object)
    }
}

fn line(kind: &str, object: &Value) -> Bytes {
    let mut bytes = serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}

/// A stored object as the watched group/version serves it.
fn render(def: &ResourceDef, object: &Value, as_table: bool, clock: crate::clock::Clock) -> Value {
    let object = crate::convert::from_hub(def, object);
    if as_table {
        let meta = json!({"resourceVersion": crate::util::str_at(&object, "metadata.resourceVersion")});
        table::render(def, &[&object], clock.now(), &meta)
    } else {
        object
    }
}

/// Start a watch and return the streaming response.
pub(super) fn start(
    state: &ApiState,
    def: &'static ResourceDef,
    namespace: Option<&str>,
    query: &HashMap<String, String>,
    as_table: bool,
) -> Response<Body> {
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    let filter = match (
        LabelSelector::parse(query.get("labelSelector").map_or("", String::as_str)),
        FieldSelector::parse(query.get("fieldSelector").map_or("", String::as_str)),
    ) {
        (Ok(labels), Ok(fields)) => {
            Filter { resource: def.key(), namespace: namespace.map(str::to_owned), labels, fields }
        }
        (Err(err), _) | (_, Err(err)) => return super::error_response(&err),
    };
    let timeout = query.get("timeoutSeconds").and_then(|t| t.parse::<u64>().ok()).map(Duration::from_secs);
    let bookmarks = query.get("allowWatchBookmarks").is_some_and(|b| b == "true");
    let since = query.get("resourceVersion").and_then(|rv| rv.parse::<u64>().ok()).filter(|rv| *rv > 0);
    // Streaming lists (`sendInitialEvents=true`): the initial state, then a BOOKMARK that ends it.
    let streaming_list = query.get("sendInitialEvents").is_some_and(|v| v == "true");
    let since = if streaming_list { None } else { since };

    // Under one lock: the replay (or the initial state) and the subscription, so nothing is lost.
    let (initial, receiver, clock, expired, start_rv) = {
        let inner = state.store.lock();
        let start_rv = inner.resource_version();
        let clock = inner.clock();
        let receiver = inner.subscribe();
        if let Some(rv) = since {
            match inner.events_since(&filter.resource, rv) {
                Ok(events) => {
                    let lines: Vec<Bytes> = events
                        .iter()
                        .filter(|e| filter.matches(e))
                        .map(|e| line(e.kind.as_str(), &render(def, &e.object, as_table, clock)))
                        .collect();
                    (lines, receiver, clock, None, start_rv)
                }
                Err(err) => (Vec::new(), receiver, clock, Some(err), start_rv),
            }
        } else {
            let lines: Vec<Bytes> = inner
                .list(&filter.resource, filter.namespace.as_deref())
                .filter(|o| filter.labels.matches(o) && filter.fields.matches(o))
                .map(|o| line("ADDED", &render(def, o, as_table, clock)))
                .collect();
            (lines, receiver, clock, None, start_rv)
        }
    };
    let shutdown = state.shutdown.clone();
    let drops = state.watch_drops.subscribe();
    let bookmark_interval = state.bookmark_interval;
    tokio::spawn(async move {
        if let Some(err) = expired {
            let _ = tx.send(line("ERROR", &err.to_status())).await;
            return;
        }
        for bytes in initial {
            if tx.send(bytes).await.is_err() {
                return;
            }
        }
        if streaming_list {
            let end = json!({"kind": def.kind, "apiVersion": def.api_version(), "metadata": {
                "resourceVersion": start_rv.to_string(),
                "annotations": {"k8s.io/initial-events-end": "true"},
            }});
            if tx.send(line("BOOKMARK", &end)).await.is_err() {
                return;
            }
        }
        stream_live(
            tx,
            receiver,
            filter,
            def,
            as_table,
            clock,
            shutdown,
            drops,
            timeout,
            bookmarks.then_some(bookmark_interval),
            start_rv,
        )
        .await;
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|bytes| (Ok::<_, std::convert::Infallible>(Frame::data(bytes)), rx))
    });
    let mut response = Response::new(UnsyncBoxBody::new(StreamBody::new(stream)));
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-cache, private"));
    response
}

#[allow(clippy::too_many_arguments)]
async fn stream_live(
    tx: mpsc::Sender<Bytes>,
    mut receiver: broadcast::Receiver<Arc<WatchEvent>>,
    filter: Filter,
    def: &'static ResourceDef,
    as_table: bool,
    clock: crate::clock::Clock,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    mut drops: tokio::sync::watch::Receiver<u64>,
    timeout: Option<Duration>,
    bookmarks: Option<Duration>,
    start_rv: u64,
) {
    let deadline = tokio::time::sleep(timeout.unwrap_or(Duration::from_secs(1800)));
    tokio::pin!(deadline);
    let mut ticker = tokio::time::interval(bookmarks.unwrap_or(Duration::from_secs(3600)));
    ticker.tick().await;
    let mut last_rv = start_rv;
    loop {
        tokio::select! {
            () = &mut deadline => return,
            _ = shutdown.changed() => return,
            _ = drops.changed() => return,
            () = tx.closed() => return,
            _ = ticker.tick(), if bookmarks.is_some() => {
                let object = json!({"kind": def.kind, "apiVersion": def.api_version(), "metadata": {"resourceVersion": last_rv.to_string()}});
                if last_rv > 0 && tx.send(line("BOOKMARK", &object)).await.is_err() {
                    return;
                }
            }
            received = receiver.recv() => match received {
                Ok(event) => {
                    last_rv = event.rv;
                    if filter.matches(&event)
                        && tx.send(line(event.kind.as_str(), &render(def, &event.object, as_table, clock))).await.is_err()
                    {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    let err = ApiError::expired("the watch fell behind; too old resource version");
                    let _ = tx.send(line("ERROR", &err.to_status())).await;
                    return;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
        }
    }
}
