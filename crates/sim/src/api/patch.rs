//! Patch semantics: JSON merge patch (RFC 7386), strategic merge patch (merge semantics
//! plus merge keys for the lists that have them) and JSON patch (RFC 6902).

use serde_json::{Map, Value};

use crate::status::ApiError;

/// The patch types a request can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Merge,
    Strategic,
    Json,
}

impl PatchType {
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let base = content_type.split(';').next().unwrap_or("").trim();
        match base {
            "application/merge-patch+json" => Some(Self::Merge),
            "application/strategic-merge-patch+json" => Some(Self::Strategic),
            "application/json-patch+json" => Some(Self::Json),
            _ => None,
        }
    }
}

/// Apply `patch` of the given type to `target`.
pub fn apply(kind: PatchType, target: &mut Value, patch: &Value) -> Result<(), ApiError> {
    match kind {
        PatchType::Merge => {
            merge(target, patch, false);
            Ok(())
        }
        PatchType::Strategic => {
            merge(target, patch, true);
            Ok(())
        }
        PatchType::Json => json_patch(target, patch),
    }
}

/// Merge key of a list field under strategic merge, if it has one.
fn merge_key(field: &str) -> Option<&'static str> {
    match field {
        "conditions" | "addresses" => Some("type"),
        "containers"
        | "initContainers"
        | "volumes"
        | "env"
        | "volumeMounts"
        | "imagePullSecrets"
        | "containerStatuses"
        | "initContainerStatuses" => Some("name"),
        "ports" => Some("containerPort"),
        "ownerReferences" => Some("uid"),
        _ => None,
    }
}

fn merge(target: &mut Value, patch: &Value, strategic: bool) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(target_map) = target else { return };
    if strategic && patch_map.get("$patch").and_then(Value::as_str) == Some("replace") {
        let mut replaced = patch_map.clone();
        replaced.remove("$patch");
        *target_map = replaced;
        return;
    }
    for (key, value) in patch_map {
        if strategic && key.starts_with('$') {
            continue;
        }
        if value.is_null() {
            target_map.remove(key);
            continue;
        }
        match (strategic, merge_key(key), value, target_map.get_mut(key)) {
            (true, Some(merge_key), Value::Array(items), Some(Value::Array(existing))) => {
                merge_list(existing, items, merge_key);
            }
            (true, _, Value::Array(items), _) => {
                let cleaned: Vec<Value> = items.iter().filter(|i| i.get("$patch").is_none()).cloned().collect();
                target_map.insert(key.clone(), Value::Array(cleaned));
            }
            (_, _, Value::Object(_), Some(existing)) => merge(existing, value, strategic),
            (_, _, Value::Object(_), None) => {
                let mut fresh = Value::Object(Map::new());
                merge(&mut fresh, value, strategic);
                target_map.insert(key.clone(), fresh);
            }
            _ => {
                target_map.insert(key.clone(), value.clone());
            }
        }
    }
}

fn merge_list(existing: &mut Vec<Value>, items: &[Value], key: &str) {
    for item in items {
        let id = item.get(key).cloned();
        let position = existing.iter().position(|e| id.is_some() && e.get(key) == id.as_ref());
        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
        match (position, delete) {
            (Some(index), true) => {
                existing.remove(index);
            }
            (Some(index), false) => merge(&mut existing[index], item, true),
            (None, false) => {
                let mut fresh = Value::Object(Map::new());
                merge(&mut fresh, item, true);
                existing.push(fresh);
            }
            (None, true) => {}
        }
    }
}

fn pointer_tokens(path: &str) -> Result<Vec<String>, ApiError> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let rest = path.strip_prefix('/').ok_or_else(|| ApiError::bad_request(format!("invalid JSON pointer {path}")))?;
    Ok(rest.split('/').map(|t| t.replace("~1", "/").replace("~0", "~")).collect())
}

fn parent<'a>(target: &'a mut Value, tokens: &[String]) -> Result<&'a mut Value, ApiError> {
    let mut current = target;
    for token in tokens {
        current = match current {
            Value::Object(map) => map.get_mut(token),
            Value::Array(items) => token.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| {
            ApiError::new(
                422,
                "Invalid",
                format!("the server rejected our request: path /{} does not exist", tokens.join("/")),
            )
        })?;
    }
    Ok(current)
}

fn add_at(target: &mut Value, path: &str, value: Value, replace: bool) -> Result<(), ApiError> {
    let tokens = pointer_tokens(path)?;
    let Some((last, head)) = tokens.split_last() else {
        *target = value;
        return Ok(());
    };
    let container = parent(target, head)?;
    match container {
        Value::Object(map) => {
            if replace && !map.contains_key(last) {
                return Err(ApiError::new(
                    422,
                    "Invalid",
                    format!("replace operation does not apply: doc is missing key: {path}"),
                ));
            }
            map.insert(last.clone(), value);
        }
        Value::Array(items) => {
            if last == "-" {
                items.push(value);
            } else {
                let index: usize = last.parse().map_err(|_| ApiError::bad_request(format!("bad index in {path}")))?;
                if replace {
                    let slot = items
                        .get_mut(index)
                        .ok_or_else(|| ApiError::new(422, "Invalid", format!("no element at {path}")))?;
                    *slot = value;
                } else if index <= items.len() {
                    items.insert(index, value);
                } else {
                    return Err(ApiError::new(422, "Invalid", format!("index out of range at {path}")));
                }
            }
        }
        _ => return Err(ApiError::new(422, "Invalid", format!("cannot add at {path}"))),
    }
    Ok(())
}

fn remove_at(target: &mut Value, path: &str) -> Result<Value, ApiError> {
    let tokens = pointer_tokens(path)?;
    let Some((last, head)) = tokens.split_last() else {
        return Err(ApiError::bad_request("cannot remove the whole document"));
    };
    let container = parent(target, head)?;
    let removed = match container {
        Value::Object(map) => map.remove(last),
        Value::Array(items) => last.parse::<usize>().ok().filter(|i| *i < items.len()).map(|i| items.remove(i)),
        _ => None,
    };
    removed.ok_or_else(|| {
        ApiError::new(422, "Invalid", format!("remove operation does not apply: doc is missing path: {path}"))
    })
}

fn json_patch(target: &mut Value, patch: &Value) -> Result<(), ApiError> {
    let ops = patch.as_array().ok_or_else(|| ApiError::bad_request("a JSON patch must be an array"))?;
    for op in ops {
        let path = op.get("path").and_then(Value::as_str).unwrap_or("");
        let value = op.get("value").cloned().unwrap_or(Value::Null);
        match op.get("op").and_then(Value::as_str).unwrap_or("") {
            "add" => add_at(target, path, value, false)?,
            "replace" => add_at(target, path, value, true)?,
            "remove" => {
                remove_at(target, path)?;
            }
            "move" => {
                let from = op.get("from").and_then(Value::as_str).unwrap_or("");
                let moved = remove_at(target, from)?;
                add_at(target, path, moved, false)?;
            }
            "copy" => {
                let from = op.get("from").and_then(Value::as_str).unwrap_or("");
                let copied = target
                    .pointer(from)
                    .cloned()
                    .ok_or_else(|| ApiError::new(422, "Invalid", format!("missing {from}")))?;
                add_at(target, path, copied, false)?;
            }
            "test" => {
                if target.pointer(path) != Some(&value) {
                    return Err(ApiError::new(422, "Invalid", format!("testing value {path} failed")));
                }
            }
            other => return Err(ApiError::bad_request(format!("unexpected JSON patch operation {other:?}"))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn merge_patch_sets_and_removes() {
        let mut node = json!({"spec": {"unschedulable": true, "podCIDR": "x"}});
        apply(PatchType::Merge, &mut node, &json!({"spec": {"unschedulable": null}})).unwrap();
        assert_eq!(node, json!({"spec": {"podCIDR": "x"}}));
    }

    #[test]
    fn strategic_merge_merges_conditions_by_type() {
        let mut node = json!({"status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "DiskPressure", "status": "False"}]}});
        let patch = json!({"status": {"conditions": [{"type": "Ready", "status": "False"}]}});
        apply(PatchType::Strategic, &mut node, &patch).unwrap();
        assert_eq!(node["status"]["conditions"][0]["status"], "False");
        assert_eq!(node["status"]["conditions"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn json_patch_operations() {
        let mut obj = json!({"metadata": {"labels": {"a": "1"}}, "list": [1, 2]});
        let ops = json!([
            {"op": "add", "path": "/metadata/labels/b", "value": "2"},
            {"op": "replace", "path": "/list/0", "value": 9},
            {"op": "remove", "path": "/metadata/labels/a"},
            {"op": "add", "path": "/list/-", "value": 3},
            {"op": "test", "path": "/list/2", "value": 3}
        ]);
        apply(PatchType::Json, &mut obj, &ops).unwrap();
        assert_eq!(obj, json!({"metadata": {"labels": {"b": "2"}}, "list": [9, 2, 3]}));
        assert!(apply(PatchType::Json, &mut obj, &json!([{"op": "remove", "path": "/nope"}])).is_err());
    }
}
