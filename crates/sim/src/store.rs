//! The object store: objects keyed by resource / namespace / name, one global
//! resourceVersion counter, optimistic concurrency, a bounded event history for watches
//! and a broadcast channel to live watchers. One lock; callers keep critical sections short.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Map, Value, json};
use tokio::sync::broadcast;

use crate::clock::Clock;
use crate::faults::Faults;
use crate::host::Hosts;
use crate::resources::{self, ResourceDef};
use crate::status::ApiError;
use crate::util::{Rng, str_at};

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// One change, as watchers see it.
#[derive(Debug, Clone)]
pub struct WatchEvent {
    pub kind: EventType,
    /// Store key of the resource (`pods`, `deployments.apps`).
    pub resource: String,
    pub rv: u64,
    pub object: Arc<Value>,
}

/// Default number of events kept for watches that resume from a resourceVersion.
pub const DEFAULT_HISTORY: usize = 20_000;

type Objects = BTreeMap<(String, String), Arc<Value>>;

/// The state under the store's lock.
#[derive(Debug)]
pub struct StoreInner {
    objects: HashMap<String, Objects>,
    rv: u64,
    history: VecDeque<Arc<WatchEvent>>,
    history_limit: usize,
    tx: broadcast::Sender<Arc<WatchEvent>>,
    /// resource -> index key (`owner:<uid>`, `label:<k>=<v>` for pods) -> objects.
    index: HashMap<String, HashMap<String, Objects>>,
    /// While set, changes are not recorded for watchers (building a scenario before serving).
    quiet: bool,
    pub(crate) rng: Rng,
    pub(crate) clock: Clock,
    /// The simulated hosts behind the nodes.
    pub(crate) hosts: Hosts,
    /// The faults in effect.
    pub(crate) faults: Faults,
    /// Set when something outside the objects changed (a fault): the controllers run a pass.
    pub(crate) wake: bool,
}

/// Index keys of an object: its controller owner, and for pods their labels.
fn index_keys(resource: &str, obj: &Value) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(refs) = obj.pointer("/metadata/ownerReferences").and_then(Value::as_array) {
        for r in refs {
            keys.push(format!("owner:{}", str_at(r, "uid")));
        }
    }
    if resource == resources::PODS
        && let Some(labels) = obj.pointer("/metadata/labels").and_then(Value::as_object)
    {
        for (k, v) in labels {
            keys.push(format!("label:{k}={}", v.as_str().unwrap_or("")));
        }
    }
    keys
}

/// The shared store.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<Mutex<StoreInner>>,
}

fn meta(obj: &Value) -> Option<&Map<String, Value>> {
    obj.get("metadata").and_then(Value::as_object)
}

/// `metadata.namespace` (empty for cluster-scoped objects).
pub fn namespace_of(obj: &Value) -> &str {
    meta(obj).and_then(|m| m.get("namespace")).and_then(Value::as_str).unwrap_or("")
}

/// `metadata.name`.
pub fn name_of(obj: &Value) -> &str {
    meta(obj).and_then(|m| m.get("name")).and_then(Value::as_str).unwrap_or("")
}

/// `metadata.uid`.
pub fn uid_of(obj: &Value) -> &str {
    meta(obj).and_then(|m| m.get("uid")).and_then(Value::as_str).unwrap_or("")
}

/// `metadata.resourceVersion` as a number (0 when absent).
pub fn rv_of(obj: &Value) -> u64 {
    str_at(obj, "metadata.resourceVersion").parse().unwrap_or(0)
}

fn set_meta(obj: &mut Value, key: &str, value: Value) {
    if let Some(map) = obj.as_object_mut() {
        let metadata = map.entry("metadata").or_insert_with(|| json!({}));
        if let Some(m) = metadata.as_object_mut() {
            m.insert(key.to_owned(), value);
        }
    }
}

impl Store {
    /// Sleep `secs` of simulated time (at least a millisecond of real time).
    pub async fn sleep(&self, secs: f64) {
        let clock = self.lock().clock();
        clock.sleep(secs).await;
    }

    pub fn new(clock: Clock, seed: u64) -> Self {
        Self::with_history(clock, seed, DEFAULT_HISTORY)
    }

    pub fn with_history(clock: Clock, seed: u64, history_limit: usize) -> Self {
        let (tx, _) = broadcast::channel(16_384);
        let inner = StoreInner {
            objects: HashMap::new(),
            rv: 0,
            history: VecDeque::new(),
            history_limit: history_limit.max(1),
            tx,
            index: HashMap::new(),
            quiet: false,
            rng: Rng::new(seed),
            clock,
            hosts: Hosts::default(),
            faults: Faults::default(),
            wake: false,
        };
        Self { inner: Arc::new(Mutex::new(inner)) }
    }

    /// Take the lock. A poisoned lock is recovered: the store's invariants hold between calls.
    pub fn lock(&self) -> MutexGuard<'_, StoreInner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A copy of one object.
    pub fn get(&self, resource: &str, namespace: &str, name: &str) -> Option<Value> {
        self.lock().get(resource, namespace, name).cloned()
    }

    /// Copies of all objects of a resource (optionally in one namespace).
    pub fn list(&self, resource: &str, namespace: Option<&str>) -> Vec<Value> {
        self.lock().list(resource, namespace).cloned().collect()
    }

    /// The current (latest) resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.lock().rv
    }
}

impl StoreInner {
    pub fn clock(&self) -> Clock {
        self.clock
    }

    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    /// Stop (or resume) recording events; resourceVersions advance either way. Used while
    /// building a cluster nobody watches yet, so that start-up stays cheap.
    pub fn set_quiet(&mut self, quiet: bool) {
        self.quiet = quiet;
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<WatchEvent>> {
        self.tx.subscribe()
    }

    /// Events after `rv` for a resource, or 410 Expired when the history no longer reaches back.
    pub fn events_since(&self, resource: &str, rv: u64) -> Result<Vec<Arc<WatchEvent>>, ApiError> {
        if rv >= self.rv {
            return Ok(Vec::new());
        }
        let oldest = self.history.front().map_or(self.rv + 1, |e| e.rv);
        if rv + 1 < oldest {
            return Err(ApiError::expired(format!("too old resource version: {rv} ({})", oldest.saturating_sub(1))));
        }
        Ok(self.history.iter().filter(|e| e.rv > rv && e.resource == resource).cloned().collect())
    }

    pub fn get(&self, resource: &str, namespace: &str, name: &str) -> Option<&Value> {
        self.objects.get(resource)?.get(&(namespace.to_owned(), name.to_owned())).map(|o| &**o)
    }

    pub fn list<'a>(&'a self, resource: &str, namespace: Option<&'a str>) -> Box<dyn Iterator<Item = &'a Value> + 'a> {
        let start = match namespace {
            Some(ns) => Bound::Included((ns.to_owned(), String::new())),
            None => Bound::Unbounded,
        };
        self.list_from(resource, namespace, start)
    }

    /// Like [`StoreInner::list`], starting after `(namespace, name)` (a list page's last
    /// object): seeks there instead of walking from the start.
    pub fn list_after<'a>(
        &'a self,
        resource: &str,
        namespace: Option<&'a str>,
        after: (String, String),
    ) -> Box<dyn Iterator<Item = &'a Value> + 'a> {
        self.list_from(resource, namespace, Bound::Excluded(after))
    }

    /// The objects of `resource` from `start` on, in (namespace, name) order, within
    /// `namespace` when one is given.
    fn list_from<'a>(
        &'a self,
        resource: &str,
        namespace: Option<&'a str>,
        start: Bound<(String, String)>,
    ) -> Box<dyn Iterator<Item = &'a Value> + 'a> {
        let Some(objects) = self.objects.get(resource) else { return Box::new(std::iter::empty()) };
        let rest = objects.range((start, Bound::Unbounded));
        match namespace {
            None => Box::new(rest.map(|(_, v)| &**v)),
            Some(ns) => Box::new(rest.take_while(move |((n, _), _)| n == ns).map(|(_, v)| &**v)),
        }
    }

    /// Shared handles to every object of a resource (cheap: no deep copies).
    pub fn snapshot(&self, resource: &str) -> Vec<Arc<Value>> {
        self.objects.get(resource).map(|o| o.values().cloned().collect()).unwrap_or_default()
    }

    /// Set `status` unless it already holds exactly that (no copy, no event when unchanged).
    pub fn set_status(&mut self, resource: &str, namespace: &str, name: &str, status: Value) {
        if self.get(resource, namespace, name).is_none_or(|o| o.get("status") == Some(&status)) {
            return;
        }
        self.modify(resource, namespace, name, |o| {
            if let Some(map) = o.as_object_mut() {
                map.insert("status".to_owned(), status);
            }
        });
    }

    fn indexed<'a>(&'a self, resource: &'a str, key: &str) -> impl Iterator<Item = &'a Value> + use<'a> {
        self.index.get(resource).and_then(|keys| keys.get(key)).into_iter().flat_map(BTreeMap::values).map(|o| &**o)
    }

    /// Objects of `resource` with an ownerReference to `owner_uid` (an index lookup).
    pub fn owned_by<'a>(&'a self, resource: &'a str, owner_uid: &str) -> impl Iterator<Item = &'a Value> + use<'a> {
        self.indexed(resource, &format!("owner:{owner_uid}"))
    }

    /// Pods carrying the label `key=value` (an index lookup).
    pub fn pods_labelled<'a>(&'a self, key: &str, value: &str) -> impl Iterator<Item = &'a Value> + use<'a> {
        self.indexed(resources::PODS, &format!("label:{key}={value}"))
    }

    /// Keep the index pointing at the stored version of an object (`new` is `None` on delete).
    fn reindex(&mut self, resource: &str, old: Option<&Value>, new: Option<&Arc<Value>>) {
        let old_keys = old.map(|o| index_keys(resource, o)).unwrap_or_default();
        let new_keys = new.map(|o| index_keys(resource, o)).unwrap_or_default();
        if old_keys.is_empty() && new_keys.is_empty() {
            return;
        }
        let id =
            old.or(new.map(|o| &**o)).map(|o| (namespace_of(o).to_owned(), name_of(o).to_owned())).unwrap_or_default();
        let index = self.index.entry(resource.to_owned()).or_default();
        for key in old_keys.iter().filter(|k| !new_keys.contains(k)) {
            if let Some(set) = index.get_mut(key) {
                set.remove(&id);
                if set.is_empty() {
                    index.remove(key);
                }
            }
        }
        if let Some(new) = new {
            for key in new_keys {
                index.entry(key).or_default().insert(id.clone(), new.clone());
            }
        }
    }

    pub fn count(&self, resource: &str) -> usize {
        self.objects.get(resource).map_or(0, BTreeMap::len)
    }

    fn emit(&mut self, kind: EventType, resource: &str, object: &Arc<Value>) {
        if self.quiet {
            return;
        }
        let event = Arc::new(WatchEvent { kind, resource: resource.to_owned(), rv: self.rv, object: object.clone() });
        if self.history.len() >= self.history_limit {
            self.history.pop_front();
        }
        self.history.push_back(event.clone());
        // No receivers is fine.
        let _ = self.tx.send(event);
    }

    fn next_rv(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    /// Create an object: fills name (from generateName), uid, creationTimestamp, resourceVersion.
    pub fn create(&mut self, def: &ResourceDef, mut obj: Value) -> Result<Arc<Value>, ApiError> {
        if !obj.is_object() {
            return Err(ApiError::bad_request("the body must be a JSON object"));
        }
        let mut name = name_of(&obj).to_owned();
        if name.is_empty() {
            let generate = str_at(&obj, "metadata.generateName").to_owned();
            if generate.is_empty() {
                return Err(ApiError::new(
                    422,
                    "Invalid",
                    format!(
                        "{} \"\" is invalid: metadata.name: Required value: name or generateName is required",
                        def.kind
                    ),
                ));
            }
            name = format!("{generate}{}", self.rng.suffix(5));
            set_meta(&mut obj, "name", Value::from(name.clone()));
        }
        let namespace = if def.namespaced { namespace_of(&obj).to_owned() } else { String::new() };
        if def.namespaced {
            if namespace.is_empty() {
                return Err(ApiError::bad_request("the namespace of the object must be set"));
            }
            if self.get(resources::NAMESPACES, "", &namespace).is_none() {
                return Err(ApiError::not_found("namespaces", "", &namespace));
            }
        }
        let key = def.key();
        if self.get(&key, &namespace, &name).is_some() {
            return Err(ApiError::already_exists(def.plural, def.group, &name));
        }
        if let Some(map) = obj.as_object_mut() {
            map.insert("apiVersion".to_owned(), Value::from(def.api_version()));
            map.insert("kind".to_owned(), Value::from(def.kind));
        }
        let rv = self.next_rv();
        let uid = self.rng.uid();
        let now = self.clock.now_rfc3339();
        set_meta(&mut obj, "uid", Value::from(uid));
        set_meta(&mut obj, "resourceVersion", Value::from(rv.to_string()));
        if str_at(&obj, "metadata.creationTimestamp").is_empty() {
            set_meta(&mut obj, "creationTimestamp", Value::from(now));
        }
        if matches!(def.group, "apps" | "batch" | "policy") {
            set_meta(&mut obj, "generation", Value::from(1));
        }
        if def.namespaced {
            set_meta(&mut obj, "namespace", Value::from(namespace.clone()));
        }
        let obj = Arc::new(obj);
        self.reindex(&key, None, Some(&obj));
        self.objects.entry(key.clone()).or_default().insert((namespace, name), obj.clone());
        self.emit(EventType::Added, &key, &obj);
        Ok(obj)
    }

    /// Replace an object (an update). `expected_rv` enforces optimistic concurrency.
    /// Keeps identity fields (uid, creationTimestamp) from the stored object.
    pub fn update(
        &mut self,
        def: &ResourceDef,
        namespace: &str,
        name: &str,
        mut obj: Value,
        expected_rv: Option<u64>,
    ) -> Result<Arc<Value>, ApiError> {
        let key = def.key();
        let Some(current) = self.get(&key, namespace, name) else {
            return Err(ApiError::not_found(def.plural, def.group, name));
        };
        if let Some(expected) = expected_rv
            && expected != rv_of(current)
        {
            return Err(ApiError::conflict(def.plural, def.group, name));
        }
        for field in ["uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"] {
            match current.get("metadata").and_then(|m| m.get(field)) {
                Some(value) => set_meta(&mut obj, field, value.clone()),
                None => {
                    if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                        m.remove(field);
                    }
                }
            }
        }
        let generation = current.get("metadata").and_then(|m| m.get("generation")).and_then(Value::as_i64);
        if let Some(generation) = generation {
            let spec_changed = current.get("spec") != obj.get("spec");
            set_meta(&mut obj, "generation", Value::from(if spec_changed { generation + 1 } else { generation }));
        }
        set_meta(&mut obj, "name", Value::from(name));
        if def.namespaced {
            set_meta(&mut obj, "namespace", Value::from(namespace));
        }
        if let Some(map) = obj.as_object_mut() {
            map.insert("apiVersion".to_owned(), Value::from(def.api_version()));
            map.insert("kind".to_owned(), Value::from(def.kind));
        }
        // Compare without resourceVersion: an update that changes nothing is a no-op.
        set_meta(
            &mut obj,
            "resourceVersion",
            current.get("metadata").and_then(|m| m.get("resourceVersion")).cloned().unwrap_or(Value::Null),
        );
        if &obj == current {
            return Ok(self
                .objects
                .get(&key)
                .and_then(|o| o.get(&(namespace.to_owned(), name.to_owned())))
                .cloned()
                .unwrap_or_else(|| Arc::new(obj)));
        }
        Ok(self.write(&key, namespace, name, obj))
    }

    /// Store a changed object: new resourceVersion, MODIFIED event.
    fn write(&mut self, resource: &str, namespace: &str, name: &str, mut obj: Value) -> Arc<Value> {
        let rv = self.next_rv();
        set_meta(&mut obj, "resourceVersion", Value::from(rv.to_string()));
        let obj = Arc::new(obj);
        let old = self
            .objects
            .entry(resource.to_owned())
            .or_default()
            .insert((namespace.to_owned(), name.to_owned()), obj.clone());
        self.reindex(resource, old.as_deref(), Some(&obj));
        self.emit(EventType::Modified, resource, &obj);
        obj
    }

    /// Change an object in place through `change`; records an event only if something changed.
    pub fn modify(
        &mut self,
        resource: &str,
        namespace: &str,
        name: &str,
        change: impl FnOnce(&mut Value),
    ) -> Option<Arc<Value>> {
        let current = self.get(resource, namespace, name)?;
        let mut next = current.clone();
        change(&mut next);
        if &next == current {
            return self.objects.get(resource).and_then(|o| o.get(&(namespace.to_owned(), name.to_owned()))).cloned();
        }
        if let Some(generation) = current.get("metadata").and_then(|m| m.get("generation")).and_then(Value::as_i64)
            && current.get("spec") != next.get("spec")
        {
            set_meta(&mut next, "generation", Value::from(generation + 1));
        }
        Some(self.write(resource, namespace, name, next))
    }

    /// Remove an object now. Returns it (with the deletion's resourceVersion).
    pub fn delete(&mut self, resource: &str, namespace: &str, name: &str) -> Option<Arc<Value>> {
        let old = self.objects.get_mut(resource)?.remove(&(namespace.to_owned(), name.to_owned()))?;
        self.reindex(resource, Some(&old), None);
        let rv = self.next_rv();
        let mut obj = Arc::unwrap_or_clone(old);
        set_meta(&mut obj, "resourceVersion", Value::from(rv.to_string()));
        let obj = Arc::new(obj);
        self.emit(EventType::Deleted, resource, &obj);
        Some(obj)
    }

    /// Insert or overwrite an object without checks (scenario building).
    pub fn put(&mut self, def: &ResourceDef, obj: Value) -> Result<Arc<Value>, ApiError> {
        let namespace = namespace_of(&obj).to_owned();
        let name = name_of(&obj).to_owned();
        if self.get(&def.key(), &namespace, &name).is_some() {
            self.update(def, &namespace, &name, obj, None)
        } else {
            self.create(def, obj)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Store {
        Store::with_history(Clock::new(1.0), 1, 4)
    }

    fn ns(inner: &mut StoreInner, name: &str) {
        let def = resources::by_key("namespaces").unwrap();
        inner.create(def, json!({"metadata": {"name": name}})).unwrap();
    }

    #[test]
    fn create_update_conflict_delete() {
        let store = store();
        let mut inner = store.lock();
        ns(&mut inner, "default");
        let def = resources::by_key("configmaps").unwrap();
        let created = inner.create(def, json!({"metadata": {"name": "a", "namespace": "default"}})).unwrap();
        let rv = rv_of(&created);
        assert!(!uid_of(&created).is_empty());
        let err = inner.create(def, (*created).clone()).unwrap_err();
        assert_eq!(err.code, 409);
        let updated = inner.update(def, "default", "a", json!({"metadata": {}, "data": {"k": "v"}}), Some(rv)).unwrap();
        assert!(rv_of(&updated) > rv);
        let conflict = inner.update(def, "default", "a", json!({"metadata": {}}), Some(rv)).unwrap_err();
        assert_eq!(conflict.reason, "Conflict");
        assert!(inner.delete("configmaps", "default", "a").is_some());
        assert!(inner.get("configmaps", "default", "a").is_none());
    }

    #[test]
    fn history_expires() {
        let store = store();
        let mut inner = store.lock();
        for i in 0..10 {
            ns(&mut inner, &format!("ns-{i}"));
        }
        assert_eq!(inner.events_since("namespaces", 1).unwrap_err().code, 410);
        assert_eq!(inner.events_since("namespaces", 8).unwrap().len(), 2);
    }

    #[test]
    fn missing_namespace_is_not_found() {
        let store = store();
        let mut inner = store.lock();
        let def = resources::by_key("configmaps").unwrap();
        let err = inner.create(def, json!({"metadata": {"name": "a", "namespace": "nope"}})).unwrap_err();
        assert_eq!(err.code, 404);
    }
}
