//! API errors rendered as Kubernetes `Status` objects.

use serde_json::{Value, json};

/// An error the API answers with: HTTP code, `reason`, message and optional `details`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self { code, reason, message: message.into(), details: None }
    }

    #[must_use]
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// `pods "x" not found`
    pub fn not_found(kind_plural: &str, group: &str, name: &str) -> Self {
        let qualified = if group.is_empty() { kind_plural.to_owned() } else { format!("{kind_plural}.{group}") };
        Self::new(404, "NotFound", format!("{qualified} \"{name}\" not found"))
            .with_details(json!({"name": name, "group": group, "kind": kind_plural}))
    }

    pub fn already_exists(kind_plural: &str, group: &str, name: &str) -> Self {
        let qualified = if group.is_empty() { kind_plural.to_owned() } else { format!("{kind_plural}.{group}") };
        Self::new(409, "AlreadyExists", format!("{qualified} \"{name}\" already exists"))
            .with_details(json!({"name": name, "group": group, "kind": kind_plural}))
    }

    pub fn conflict(kind_plural: &str, group: &str, name: &str) -> Self {
        let qualified = if group.is_empty() { kind_plural.to_owned() } else { format!("{kind_plural}.{group}") };
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {qualified} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
            ),
        )
        .with_details(json!({"name": name, "group": group, "kind": kind_plural}))
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// The `Status` object.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let (Some(details), Some(map)) = (&self.details, status.as_object_mut()) {
            map.insert("details".to_owned(), details.clone());
        }
        status
    }
}

/// A `Status` of success (as returned by some deletes).
pub fn success_status(details: &Value) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details})
}
