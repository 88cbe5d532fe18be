//! Label and field selectors, in the query-string syntax and as `LabelSelector` objects.

use serde_json::{Map, Value};

use crate::status::ApiError;
use crate::util::get_path;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    Eq(String),
    NotEq(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    NotExists,
}

/// A parsed label selector; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<(String, Op)>,
    /// A `LabelSelector` object that can match nothing (e.g. `{"matchLabels": null}` is fine,
    /// but a malformed expression selects nothing).
    nothing: bool,
}

/// Split on commas that are not inside parentheses.
fn split_top(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0_i32;
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '(' => {
                depth += 1;
                current.push(c);
            }
            ')' => {
                depth -= 1;
                current.push(c);
            }
            ',' if depth == 0 => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    parts.push(current);
    parts.into_iter().map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect()
}

fn set_values(text: &str) -> Result<Vec<String>, ApiError> {
    let inner =
        text.trim().strip_prefix('(').and_then(|t| t.strip_suffix(')')).ok_or_else(|| {
            ApiError::bad_request(format!("unable to parse requirement: found '{text}', expected: '('"))
        })?;
    Ok(inner.split(',').map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()).collect())
}

impl LabelSelector {
    /// Parse `a=b,c!=d,e in (x,y),f notin (z),g,!h`.
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let mut requirements = Vec::new();
        for part in split_top(text) {
            if let Some(key) = part.strip_prefix('!') {
                requirements.push((key.trim().to_owned(), Op::NotExists));
            } else if let Some((key, value)) = part.split_once("!=") {
                requirements.push((key.trim().to_owned(), Op::NotEq(value.trim().to_owned())));
            } else if let Some((key, value)) = part.split_once("==") {
                requirements.push((key.trim().to_owned(), Op::Eq(value.trim().to_owned())));
            } else if let Some((key, value)) = part.split_once('=') {
                requirements.push((key.trim().to_owned(), Op::Eq(value.trim().to_owned())));
            } else if let Some((key, rest)) = part.split_once(" notin ") {
                requirements.push((key.trim().to_owned(), Op::NotIn(set_values(rest)?)));
            } else if let Some((key, rest)) = part.split_once(" in ") {
                requirements.push((key.trim().to_owned(), Op::In(set_values(rest)?)));
            } else if part.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c)) {
                requirements.push((part.clone(), Op::Exists));
            } else {
                return Err(ApiError::bad_request(format!("unable to parse requirement: {part}")));
            }
        }
        Ok(Self { requirements, nothing: false })
    }

    /// From a `LabelSelector` object (`matchLabels`, `matchExpressions`).
    pub fn from_object(selector: Option<&Value>) -> Self {
        let Some(selector) = selector else { return Self { requirements: Vec::new(), nothing: true } };
        let mut requirements = Vec::new();
        if let Some(labels) = selector.get("matchLabels").and_then(Value::as_object) {
            for (key, value) in labels {
                requirements.push((key.clone(), Op::Eq(value.as_str().unwrap_or("").to_owned())));
            }
        }
        let mut nothing = false;
        for expr in selector.get("matchExpressions").and_then(Value::as_array).into_iter().flatten() {
            let key = expr.get("key").and_then(Value::as_str).unwrap_or("").to_owned();
            let values: Vec<String> = expr
                .get("values")
                .and_then(Value::as_array)
                .map(|v| v.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default();
            match expr.get("operator").and_then(Value::as_str).unwrap_or("") {
                "In" => requirements.push((key, Op::In(values))),
                "NotIn" => requirements.push((key, Op::NotIn(values))),
                "Exists" => requirements.push((key, Op::Exists)),
                "DoesNotExist" => requirements.push((key, Op::NotExists)),
                _ => nothing = true,
            }
        }
        Self { requirements, nothing }
    }

    /// The first `key=value` requirement, usable for an index lookup.
    pub fn first_equality(&self) -> Option<(&str, &str)> {
        self.requirements.iter().find_map(|(k, op)| match op {
            Op::Eq(v) => Some((k.as_str(), v.as_str())),
            _ => None,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty() && !self.nothing
    }

    pub fn matches_labels(&self, labels: Option<&Map<String, Value>>) -> bool {
        if self.nothing {
            return false;
        }
        self.requirements.iter().all(|(key, op)| {
            let value = labels.and_then(|l| l.get(key)).and_then(Value::as_str);
            match op {
                Op::Eq(v) => value == Some(v.as_str()),
                Op::NotEq(v) => value != Some(v.as_str()),
                Op::In(vs) => value.is_some_and(|x| vs.iter().any(|v| v == x)),
                Op::NotIn(vs) => value.is_none_or(|x| vs.iter().all(|v| v != x)),
                Op::Exists => value.is_some(),
                Op::NotExists => value.is_none(),
            }
        })
    }

    /// Whether the object's `metadata.labels` match.
    pub fn matches(&self, obj: &Value) -> bool {
        self.matches_labels(get_path(obj, "metadata.labels").and_then(Value::as_object))
    }
}

/// A parsed field selector (`spec.nodeName=x,status.phase!=Running`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    requirements: Vec<(String, bool, String)>,
}

impl FieldSelector {
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let mut requirements = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, equal, value) = if let Some((k, v)) = part.split_once("!=") {
                (k, false, v)
            } else if let Some((k, v)) = part.split_once("==") {
                (k, true, v)
            } else if let Some((k, v)) = part.split_once('=') {
                (k, true, v)
            } else {
                return Err(ApiError::bad_request(format!("invalid selector: '{text}'; can't understand '{part}'")));
            };
            requirements.push((key.trim().to_owned(), equal, value.trim().to_owned()));
        }
        Ok(Self { requirements })
    }

    /// The value a `metadata.name=X` requirement asks for, if any.
    pub fn name(&self) -> Option<&str> {
        self.requirements.iter().find(|(k, eq, _)| k == "metadata.name" && *eq).map(|(_, _, v)| v.as_str())
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.requirements.iter().all(|(key, equal, value)| {
            let actual = match get_path(obj, key) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Bool(b)) => b.to_string(),
                Some(Value::Number(n)) => n.to_string(),
                _ => String::new(),
            };
            (actual == *value) == *equal
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn label_selectors_match() {
        let pod = json!({"metadata": {"labels": {"component": "kube-apiserver", "tier": "control-plane"}}});
        assert!(LabelSelector::parse("component=kube-apiserver,tier=control-plane").unwrap().matches(&pod));
        assert!(LabelSelector::parse("component in (etcd, kube-apiserver),!app").unwrap().matches(&pod));
        assert!(!LabelSelector::parse("tier!=control-plane").unwrap().matches(&pod));
        assert!(LabelSelector::parse("").unwrap().matches(&pod));
        let object = json!({"matchLabels": {"tier": "control-plane"}});
        assert!(LabelSelector::from_object(Some(&object)).matches(&pod));
    }

    #[test]
    fn field_selectors_match() {
        let pod = json!({"metadata": {"name": "a"}, "spec": {"nodeName": "w-1"}, "status": {"phase": "Running"}});
        assert!(FieldSelector::parse("spec.nodeName=w-1,status.phase!=Failed").unwrap().matches(&pod));
        assert!(!FieldSelector::parse("spec.nodeName=w-2").unwrap().matches(&pod));
        assert_eq!(FieldSelector::parse("metadata.name=a").unwrap().name(), Some("a"));
    }
}
