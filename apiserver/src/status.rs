//! Every error the API returns, and the one place each maps to an HTTP status and a
//! Kubernetes `Status` body (`reason`, `message`, `details.causes`).

use serde_json::{Value, json};

use crate::resource::ResourceType;
use crate::store::StoreError;

/// One field-level cause of an `Invalid` error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cause {
    pub field: String,
    pub message: String,
    /// Kubernetes cause type, e.g. `FieldValueInvalid`.
    pub reason: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest { message: String },
    #[error("{message}")]
    NotFound {
        message: String,
        kind: String,
        name: String,
        group: String,
    },
    #[error("{message}")]
    AlreadyExists {
        message: String,
        kind: String,
        name: String,
        group: String,
    },
    #[error("{message}")]
    Conflict {
        message: String,
        kind: String,
        name: String,
        group: String,
        causes: Vec<Cause>,
    },
    #[error("{message}")]
    Invalid {
        message: String,
        kind: String,
        name: String,
        group: String,
        causes: Vec<Cause>,
    },
    #[error("{message}")]
    Gone { message: String },
    #[error("{message}")]
    MethodNotAllowed { message: String },
    #[error("{message}")]
    Unauthorized { message: String },
    #[error("{message}")]
    Forbidden { message: String },
    #[error("{message}")]
    UnsupportedMediaType { message: String },
    #[error("{message}")]
    NotAcceptable { message: String },
    #[error("{message}")]
    TooLarge { message: String },
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            message: message.into(),
        }
    }

    pub fn not_found(rt: &ResourceType, name: &str) -> Self {
        ApiError::NotFound {
            message: format!("{} \"{name}\" not found", rt.qualified_name()),
            kind: rt.plural.to_string(),
            name: name.to_string(),
            group: rt.group.to_string(),
        }
    }

    pub fn namespace_not_found(ns: &str) -> Self {
        ApiError::NotFound {
            message: format!("namespaces \"{ns}\" not found"),
            kind: "namespaces".into(),
            name: ns.to_string(),
            group: String::new(),
        }
    }

    pub fn already_exists(rt: &ResourceType, name: &str) -> Self {
        ApiError::AlreadyExists {
            message: format!("{} \"{name}\" already exists", rt.qualified_name()),
            kind: rt.plural.to_string(),
            name: name.to_string(),
            group: rt.group.to_string(),
        }
    }

    pub fn stale(rt: &ResourceType, name: &str) -> Self {
        ApiError::Conflict {
            message: format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                rt.qualified_name()
            ),
            kind: rt.plural.to_string(),
            name: name.to_string(),
            group: rt.group.to_string(),
            causes: Vec::new(),
        }
    }

    /// A `422 Invalid` naming each field and rule, in Kubernetes' message shape:
    /// `Service.serving.knative.dev "x" is invalid: spec.traffic: ...`.
    pub fn invalid(rt: &ResourceType, name: &str, causes: Vec<Cause>) -> Self {
        let group_kind = if rt.group.is_empty() {
            rt.kind.clone()
        } else {
            format!("{}.{}", rt.kind, rt.group)
        };
        let detail = causes
            .iter()
            .map(|c| {
                if c.field.is_empty() {
                    c.message.clone()
                } else {
                    format!("{}: {}", c.field, c.message)
                }
            })
            .collect::<Vec<_>>();
        let detail = if detail.len() == 1 {
            detail[0].clone()
        } else {
            format!("[{}]", detail.join(", "))
        };
        ApiError::Invalid {
            message: format!("{group_kind} \"{name}\" is invalid: {detail}"),
            kind: rt.kind.clone(),
            name: name.to_string(),
            group: rt.group.to_string(),
            causes,
        }
    }

    pub fn code(&self) -> u16 {
        match self {
            ApiError::BadRequest { .. } => 400,
            ApiError::Unauthorized { .. } => 401,
            ApiError::Forbidden { .. } => 403,
            ApiError::NotFound { .. } => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::NotAcceptable { .. } => 406,
            ApiError::AlreadyExists { .. } | ApiError::Conflict { .. } => 409,
            ApiError::Gone { .. } => 410,
            ApiError::TooLarge { .. } => 413,
            ApiError::UnsupportedMediaType { .. } => 415,
            ApiError::Invalid { .. } => 422,
            ApiError::Internal(_) => 500,
        }
    }

    pub fn reason(&self) -> &'static str {
        match self {
            ApiError::BadRequest { .. } => "BadRequest",
            ApiError::Unauthorized { .. } => "Unauthorized",
            ApiError::Forbidden { .. } => "Forbidden",
            ApiError::NotFound { .. } => "NotFound",
            ApiError::MethodNotAllowed { .. } => "MethodNotAllowed",
            ApiError::NotAcceptable { .. } => "NotAcceptable",
            ApiError::AlreadyExists { .. } => "AlreadyExists",
            ApiError::Conflict { .. } => "Conflict",
            ApiError::Gone { .. } => "Expired",
            ApiError::TooLarge { .. } => "RequestEntityTooLarge",
            ApiError::UnsupportedMediaType { .. } => "UnsupportedMediaType",
            ApiError::Invalid { .. } => "Invalid",
            ApiError::Internal(_) => "InternalError",
        }
    }

    /// The `meta.k8s.io/v1` `Status` body.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.to_string(),
            "reason": self.reason(),
            "code": self.code(),
        });
        let details = match self {
            ApiError::NotFound {
                kind, name, group, ..
            }
            | ApiError::AlreadyExists {
                kind, name, group, ..
            } => Some(json!({"name": name, "group": group, "kind": kind})),
            ApiError::Conflict {
                kind,
                name,
                group,
                causes,
                ..
            }
            | ApiError::Invalid {
                kind,
                name,
                group,
                causes,
                ..
            } => Some(json!({
                "name": name,
                "group": group,
                "kind": kind,
                "causes": causes.iter().map(|c| json!({
                    "reason": c.reason,
                    "message": c.message,
                    "field": c.field,
                })).collect::<Vec<_>>(),
            })),
            _ => None,
        };
        if let Some(mut d) = details {
            if d["group"] == "" {
                d.as_object_mut().map(|m| m.remove("group"));
            }
            status["details"] = d;
        }
        status
    }
}
