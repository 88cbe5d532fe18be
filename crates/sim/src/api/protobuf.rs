//! Just enough of Kubernetes' protobuf encoding to read the request bodies that kubectl's
//! typed clients send (`application/vnd.kubernetes.protobuf`): the `k8s\0` + `Unknown`
//! envelope and the messages kubectl creates (`Secret`, `ConfigMap`, `Namespace`,
//! `PodDisruptionBudget`, `Eviction`, `DeleteOptions`). Responses are always JSON, which clients accept.

use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::status::ApiError;

#[derive(Clone, Copy)]
enum Kind {
    Str,
    Int,
    Bool,
    Time,
    IntOrStr,
    Msg(&'static [Field]),
    MapStr,
    MapBytes,
    RepStr,
    RepMsg(&'static [Field]),
}

type Field = (u64, &'static str, Kind);

const OWNER_REFERENCE: &[Field] = &[
    (5, "apiVersion", Kind::Str),
    (1, "kind", Kind::Str),
    (3, "name", Kind::Str),
    (4, "uid", Kind::Str),
    (6, "controller", Kind::Bool),
    (7, "blockOwnerDeletion", Kind::Bool),
];

const OBJECT_META: &[Field] = &[
    (1, "name", Kind::Str),
    (2, "generateName", Kind::Str),
    (3, "namespace", Kind::Str),
    (5, "uid", Kind::Str),
    (6, "resourceVersion", Kind::Str),
    (7, "generation", Kind::Int),
    (8, "creationTimestamp", Kind::Time),
    (11, "labels", Kind::MapStr),
    (12, "annotations", Kind::MapStr),
    (13, "ownerReferences", Kind::RepMsg(OWNER_REFERENCE)),
    (14, "finalizers", Kind::RepStr),
];

const SECRET: &[Field] = &[
    (1, "metadata", Kind::Msg(OBJECT_META)),
    (2, "data", Kind::MapBytes),
    (3, "type", Kind::Str),
    (4, "stringData", Kind::MapStr),
    (5, "immutable", Kind::Bool),
];

const CONFIG_MAP: &[Field] = &[
    (1, "metadata", Kind::Msg(OBJECT_META)),
    (2, "data", Kind::MapStr),
    (3, "binaryData", Kind::MapBytes),
    (4, "immutable", Kind::Bool),
];

const NAMESPACE_SPEC: &[Field] = &[(1, "finalizers", Kind::RepStr)];
const NAMESPACE: &[Field] = &[(1, "metadata", Kind::Msg(OBJECT_META)), (2, "spec", Kind::Msg(NAMESPACE_SPEC))];

const PRECONDITIONS: &[Field] = &[(1, "uid", Kind::Str), (2, "resourceVersion", Kind::Str)];
const DELETE_OPTIONS: &[Field] = &[
    (1, "gracePeriodSeconds", Kind::Int),
    (2, "preconditions", Kind::Msg(PRECONDITIONS)),
    (3, "orphanDependents", Kind::Bool),
    (4, "propagationPolicy", Kind::Str),
    (5, "dryRun", Kind::RepStr),
];
const EVICTION: &[Field] = &[(1, "metadata", Kind::Msg(OBJECT_META)), (2, "deleteOptions", Kind::Msg(DELETE_OPTIONS))];

const INT_OR_STRING: &[Field] = &[(1, "type", Kind::Int), (2, "intVal", Kind::Int), (3, "strVal", Kind::Str)];
const SELECTOR_REQUIREMENT: &[Field] =
    &[(1, "key", Kind::Str), (2, "operator", Kind::Str), (3, "values", Kind::RepStr)];
const LABEL_SELECTOR: &[Field] =
    &[(1, "matchLabels", Kind::MapStr), (2, "matchExpressions", Kind::RepMsg(SELECTOR_REQUIREMENT))];
const PDB_SPEC: &[Field] = &[
    (1, "minAvailable", Kind::IntOrStr),
    (2, "selector", Kind::Msg(LABEL_SELECTOR)),
    (3, "maxUnavailable", Kind::IntOrStr),
    (4, "unhealthyPodEvictionPolicy", Kind::Str),
];
const PDB: &[Field] = &[(1, "metadata", Kind::Msg(OBJECT_META)), (2, "spec", Kind::Msg(PDB_SPEC))];

const TYPE_META: &[Field] = &[(1, "apiVersion", Kind::Str), (2, "kind", Kind::Str)];

fn bad(what: &str) -> ApiError {
    ApiError::new(415, "UnsupportedMediaType", format!("cannot decode the protobuf body: {what}"))
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, ApiError> {
        let mut value = 0_u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.bytes.get(self.pos).ok_or_else(|| bad("truncated varint"))?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(bad("varint too long"))
    }

    fn chunk(&mut self) -> Result<&'a [u8], ApiError> {
        let len = usize::try_from(self.varint()?).map_err(|_| bad("length"))?;
        let end = self.pos.checked_add(len).filter(|e| *e <= self.bytes.len()).ok_or_else(|| bad("truncated field"))?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// Next (field number, wire value). Varints come back as `Ok(Left)`, chunks as `Right`.
    fn next(&mut self) -> Result<Option<(u64, Wire<'a>)>, ApiError> {
        if self.pos >= self.bytes.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let wire = match key & 7 {
            0 => Wire::Varint(self.varint()?),
            2 => Wire::Chunk(self.chunk()?),
            1 => {
                self.pos += 8;
                Wire::Skipped
            }
            5 => {
                self.pos += 4;
                Wire::Skipped
            }
            _ => return Err(bad("unsupported wire type")),
        };
        Ok(Some((key >> 3, wire)))
    }
}

enum Wire<'a> {
    Varint(u64),
    Chunk(&'a [u8]),
    Skipped,
}

fn text(bytes: &[u8]) -> Value {
    Value::from(String::from_utf8_lossy(bytes).into_owned())
}

fn map_entry(bytes: &[u8], as_bytes: bool) -> Result<(String, Value), ApiError> {
    let mut reader = Reader { bytes, pos: 0 };
    let (mut key, mut value) = (String::new(), Value::from(""));
    while let Some((field, wire)) = reader.next()? {
        if let Wire::Chunk(chunk) = wire {
            match field {
                1 => key = String::from_utf8_lossy(chunk).into_owned(),
                2 if as_bytes => value = Value::from(base64::engine::general_purpose::STANDARD.encode(chunk)),
                2 => value = text(chunk),
                _ => {}
            }
        }
    }
    Ok((key, value))
}

fn time(bytes: &[u8]) -> Result<Value, ApiError> {
    let mut reader = Reader { bytes, pos: 0 };
    let mut seconds = 0_i64;
    while let Some((field, wire)) = reader.next()? {
        if let (1, Wire::Varint(v)) = (field, wire) {
            seconds = v.cast_signed();
        }
    }
    Ok(jiff::Timestamp::from_second(seconds).map_or(Value::Null, |t| Value::from(t.to_string())))
}

fn message(bytes: &[u8], schema: &[Field]) -> Result<Value, ApiError> {
    let mut reader = Reader { bytes, pos: 0 };
    let mut out = Map::new();
    while let Some((number, wire)) = reader.next()? {
        let Some((_, name, kind)) = schema.iter().find(|(n, _, _)| *n == number) else { continue };
        let name = (*name).to_owned();
        match (kind, wire) {
            (Kind::Int, Wire::Varint(v)) => {
                out.insert(name, Value::from(v.cast_signed()));
            }
            (Kind::Bool, Wire::Varint(v)) => {
                out.insert(name, Value::from(v != 0));
            }
            (Kind::Str, Wire::Chunk(c)) => {
                out.insert(name, text(c));
            }
            (Kind::Time, Wire::Chunk(c)) => {
                out.insert(name, time(c)?);
            }
            (Kind::IntOrStr, Wire::Chunk(c)) => {
                let parsed = message(c, INT_OR_STRING)?;
                let value = if parsed.get("type").and_then(Value::as_i64) == Some(1) {
                    parsed.get("strVal").cloned().unwrap_or_else(|| Value::from(""))
                } else {
                    parsed.get("intVal").cloned().unwrap_or_else(|| Value::from(0))
                };
                out.insert(name, value);
            }
            (Kind::Msg(inner), Wire::Chunk(c)) => {
                out.insert(name, message(c, inner)?);
            }
            (Kind::MapStr | Kind::MapBytes, Wire::Chunk(c)) => {
                let (key, value) = map_entry(c, matches!(kind, Kind::MapBytes))?;
                if let Some(map) = out.entry(name).or_insert_with(|| json!({})).as_object_mut() {
                    map.insert(key, value);
                }
            }
            (Kind::RepStr, Wire::Chunk(c)) => {
                if let Some(list) = out.entry(name).or_insert_with(|| json!([])).as_array_mut() {
                    list.push(text(c));
                }
            }
            (Kind::RepMsg(inner), Wire::Chunk(c)) => {
                let item = message(c, inner)?;
                if let Some(list) = out.entry(name).or_insert_with(|| json!([])).as_array_mut() {
                    list.push(item);
                }
            }
            _ => {}
        }
    }
    Ok(Value::Object(out))
}

/// Whether a body is Kubernetes protobuf (it starts with the `k8s\0` magic).
pub fn is_protobuf(body: &[u8]) -> bool {
    body.starts_with(b"k8s\0")
}

/// Decode a protobuf request body into the JSON object it stands for.
pub fn decode(body: &[u8]) -> Result<Value, ApiError> {
    let envelope = body.strip_prefix(b"k8s\0").ok_or_else(|| bad("missing k8s magic"))?;
    let mut reader = Reader { bytes: envelope, pos: 0 };
    let (mut type_meta, mut raw) = (Value::Null, &[][..]);
    while let Some((field, wire)) = reader.next()? {
        match (field, wire) {
            (1, Wire::Chunk(c)) => type_meta = message(c, TYPE_META)?,
            (2, Wire::Chunk(c)) => raw = c,
            _ => {}
        }
    }
    let kind = type_meta.get("kind").and_then(Value::as_str).unwrap_or("").to_owned();
    let schema = match kind.as_str() {
        "Secret" => SECRET,
        "ConfigMap" => CONFIG_MAP,
        "Namespace" => NAMESPACE,
        "Eviction" => EVICTION,
        "PodDisruptionBudget" => PDB,
        "DeleteOptions" => DELETE_OPTIONS,
        other => return Err(bad(&format!("kind {other:?} is not supported in protobuf; send JSON"))),
    };
    let mut object = message(raw, schema)?;
    if let (Some(map), Some(meta)) = (object.as_object_mut(), type_meta.as_object()) {
        for (k, v) in meta {
            map.insert(k.clone(), v.clone());
        }
    }
    Ok(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(number: u64, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![u8::try_from(number << 3 | 2).unwrap(), u8::try_from(bytes.len()).unwrap()];
        out.extend_from_slice(bytes);
        out
    }

    #[test]
    fn decodes_a_secret() {
        let meta = [field(1, b"creds"), field(3, b"kube-system")].concat();
        let entry = [field(1, b"user"), field(2, b"admin")].concat();
        let secret = [field(1, &meta), field(2, &entry), field(3, b"Opaque")].concat();
        let type_meta = [field(1, b"v1"), field(2, b"Secret")].concat();
        let body = [b"k8s\0".to_vec(), field(1, &type_meta), field(2, &secret)].concat();
        let value = decode(&body).unwrap();
        assert_eq!(value["metadata"]["name"], "creds");
        assert_eq!(value["data"]["user"], "YWRtaW4=");
        assert_eq!(value["kind"], "Secret");
    }
}
