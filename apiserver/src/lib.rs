//! The embedded, Kubernetes-compatible API server of single-node fnmesh.
//!
//! It owns the wire contract that kubectl, kube-rs and any Kubernetes client rely on:
//! discovery (legacy and aggregated), OpenAPI v3, the REST verbs with label/field
//! selectors, paging, watches from a resourceVersion (bookmarks, `410 Gone`),
//! optimistic concurrency, JSON/merge/strategic/apply patches with managedFields,
//! finalizers and ownerReference garbage collection, `/status` and `/scale`, and
//! Kubernetes `Status` errors. Every write of a serving.knative.dev object passes the
//! `crds` crate's defaulting and validation, as admission would. State is one redb
//! file; an acknowledged write has been fsync'd. In cluster mode none of this runs:
//! the cluster's kube-apiserver plays this part.

pub mod admission;
pub mod api;
pub mod auth;
pub mod delete;
pub mod discovery;
pub mod event_ttl;
pub mod field_manager;
mod handlers;
pub mod kubeconfig;
pub mod names;
pub mod openapi;
pub mod patch;
pub mod path;
mod pod_log;
pub mod protobuf;
pub mod resource;
pub mod scale;
pub mod selector;
pub mod server;
pub mod status;
pub mod store;
pub mod strategic_merge;
pub mod table;
pub mod tls;
pub mod watch;
pub mod write;

pub use server::{ApiServer, DEFAULT_HEADER_READ_TIMEOUT, ServerConfig, StartError};

/// What `/version` answers. The minor version follows the k8s-openapi API level we
/// serve (`latest` = 1.37).
#[derive(Debug, Clone, Copy, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionInfo {
    pub major: &'static str,
    pub minor: &'static str,
    pub git_version: &'static str,
    pub git_commit: &'static str,
    pub git_tree_state: &'static str,
    pub build_date: &'static str,
    pub go_version: &'static str,
    pub compiler: &'static str,
    pub platform: &'static str,
}

pub const VERSION_INFO: VersionInfo = VersionInfo {
    major: "1",
    minor: "37",
    git_version: concat!("v1.37.0-fnmesh.", env!("CARGO_PKG_VERSION")),
    git_commit: "",
    git_tree_state: "clean",
    build_date: "",
    go_version: "n/a (rust)",
    compiler: "rustc",
    platform: "linux/amd64",
};
