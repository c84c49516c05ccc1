//! The handful of API calls the Service, Configuration and Revision reconcilers make,
//! each wrapped into one typed error that says what was being done to which object.
//!
//! Children and status are written with server-side apply under [`FIELD_MANAGER`]
//! (forced: the controller is the owner of what it writes). An apply that changes
//! nothing is not stored by the API server, so re-applying is cheap and fires no
//! watch event.

use std::fmt::Debug;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::context::FIELD_MANAGER;

/// Why one reconcile failed; the controller retries it.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("{op} {kind} {name:?}: {source}")]
    Api {
        op: &'static str,
        kind: &'static str,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("{kind} {name:?} has no namespace")]
    NoNamespace { kind: &'static str, name: String },
}

impl ReconcileError {
    /// A short, fixed label for metrics and logs.
    pub fn metric_label(&self) -> &'static str {
        match self {
            ReconcileError::Api { source, .. } => match source {
                e if leader_election::is_not_leader(e) => "not_leader",
                kube::Error::Api(s) if s.code == 409 => "conflict",
                kube::Error::Api(s) if s.code == 404 => "not_found",
                kube::Error::Api(s) if s.code == 422 => "invalid",
                _ => "api",
            },
            ReconcileError::NoNamespace { .. } => "no_namespace",
        }
    }

    /// A follower's write, refused by the gate in [`crate::Context::new`]: not worth a
    /// retry (nor a warning), since becoming leader re-reconciles everything.
    pub fn is_not_leader(&self) -> bool {
        matches!(self, ReconcileError::Api { source, .. } if leader_election::is_not_leader(source))
    }
}

/// The object's namespace, which every serving object has.
pub fn namespace_of<K: Resource>(obj: &K, kind: &'static str) -> Result<String, ReconcileError> {
    obj.namespace().ok_or_else(|| ReconcileError::NoNamespace {
        kind,
        name: obj.name_any(),
    })
}

/// The owner reference a child carries, as Knative's `kmeta.NewControllerRef`: the
/// controller, and deletion of the owner waits for the child (`blockOwnerDeletion`).
pub fn controller_ref<O: Resource<DynamicType = ()>>(owner: &O) -> Option<Vec<OwnerReference>> {
    let mut r = owner.controller_owner_ref(&())?;
    r.block_owner_deletion = Some(true);
    Some(vec![r])
}

/// Whether `owner` is `child`'s controller (by UID, as `metav1.IsControlledBy`).
pub fn controlled_by<C: Resource, O: Resource>(child: &C, owner: &O) -> bool {
    let Some(uid) = owner.meta().uid.as_deref() else {
        return false;
    };
    child
        .owner_references()
        .iter()
        .any(|r| r.controller == Some(true) && r.uid == uid)
}

pub async fn get<K>(
    api: &Api<K>,
    kind: &'static str,
    name: &str,
) -> Result<Option<K>, ReconcileError>
where
    K: Clone + DeserializeOwned + Debug,
{
    api.get_opt(name)
        .await
        .map_err(|source| api_error("get", kind, name, source))
}

pub async fn list<K>(
    api: &Api<K>,
    kind: &'static str,
    selector: &str,
) -> Result<Vec<K>, ReconcileError>
where
    K: Clone + DeserializeOwned + Debug,
{
    api.list(&ListParams::default().labels(selector))
        .await
        .map(|l| l.items)
        .map_err(|source| api_error("list", kind, selector, source))
}

pub async fn create<K>(api: &Api<K>, kind: &'static str, obj: &K) -> Result<K, ReconcileError>
where
    K: Clone + Serialize + DeserializeOwned + Debug + Resource,
{
    api.create(&PostParams::default(), obj)
        .await
        .map_err(|source| api_error("create", kind, &obj.name_any(), source))
}

/// Server-side apply of a whole child object (with `apiVersion` and `kind`).
pub async fn apply<K>(api: &Api<K>, kind: &'static str, obj: &K) -> Result<K, ReconcileError>
where
    K: Clone + Serialize + DeserializeOwned + Debug + Resource,
{
    let name = obj.name_any();
    api.patch(
        &name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(obj),
    )
    .await
    .map_err(|source| api_error("apply", kind, &name, source))
}

/// Server-side apply of `status` through the `/status` subresource.
pub async fn apply_status<K, S>(
    api: &Api<K>,
    kind: &'static str,
    name: &str,
    status: &S,
) -> Result<(), ReconcileError>
where
    K: Clone + DeserializeOwned + Debug + Resource<DynamicType = ()>,
    S: Serialize + Debug,
{
    let body = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "metadata": {"name": name},
        "status": status,
    });
    api.patch_status(
        name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&body),
    )
    .await
    .map(drop)
    .map_err(|source| api_error("write status of", kind, name, source))
}

fn api_error(
    op: &'static str,
    kind: &'static str,
    name: &str,
    source: kube::Error,
) -> ReconcileError {
    ReconcileError::Api {
        op,
        kind,
        name: name.to_string(),
        source,
    }
}
