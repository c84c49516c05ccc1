//! The Kubernetes Service of a Revision: named after the Revision, owned by it,
//! labelled like its Deployment, selecting its pods by `serving.knative.dev/revision`,
//! one port named for the revision's protocol with the user port as `targetPort`.
//!
//! It is how every component finds a revision's endpoints, in both modes: Kubernetes'
//! EndpointSlice controller (or, on a single node, the runner) writes the slices of its
//! selected pods, labelled `kubernetes.io/service-name: <revision>`. No cluster IP is
//! asked for; the embedded API server allocates none (nothing routes by it).

use std::collections::BTreeMap;

use crds::Revision;
use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;
use kube::api::ObjectMeta;

use crate::apply::controller_ref;
use crate::labels::REVISION_LABEL;
use crate::revision::deployment::pod_labels;
use crate::revision::serving_port::{protocol, user_port};
use crate::routing::Protocol;

/// Knative's Service port names (`networking.ServicePortNameHTTP1`/`ServicePortNameH2C`).
pub const PORT_NAME_HTTP1: &str = "http";
pub const PORT_NAME_H2C: &str = "http2";
/// Knative's Service ports (`networking.ServiceHTTPPort`/`ServiceHTTP2Port`).
const PORT_HTTP1: i32 = 80;
const PORT_H2C: i32 = 81;

/// The revision's Service is named after it, so its slices carry the revision's name.
pub fn service_name(revision: &str) -> String {
    revision.to_owned()
}

/// The Service's port name for a protocol, as Knative names it.
pub fn port_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Http1 => PORT_NAME_HTTP1,
        Protocol::H2c => PORT_NAME_H2C,
    }
}

pub fn make_service(rev: &Revision) -> Service {
    let name = rev.name_any();
    let protocol = protocol(rev);
    let port = match protocol {
        Protocol::Http1 => PORT_HTTP1,
        Protocol::H2c => PORT_H2C,
    };
    Service {
        metadata: ObjectMeta {
            name: Some(service_name(&name)),
            namespace: rev.namespace(),
            labels: Some(pod_labels(rev)),
            owner_references: controller_ref(rev),
            ..ObjectMeta::default()
        },
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(BTreeMap::from([(REVISION_LABEL.to_owned(), name)])),
            ports: Some(vec![ServicePort {
                name: Some(port_name(protocol).into()),
                port,
                target_port: Some(IntOrString::Int(user_port(rev))),
                protocol: Some("TCP".into()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        status: None,
    }
}

/// Whether `existing` lacks something `desired` asks for, so it must be applied again;
/// what the API server defaults or others added does not count.
pub fn drifted(desired: &Service, existing: &Service) -> bool {
    let labels_kept = desired
        .labels()
        .iter()
        .all(|(k, v)| existing.labels().get(k) == Some(v));
    let spec = |s: &Service| s.spec.clone().unwrap_or_default();
    let (want, have) = (spec(desired), spec(existing));
    let ports = |s: &ServiceSpec| {
        s.ports
            .iter()
            .flatten()
            .map(|p| (p.name.clone(), p.port, p.target_port.clone()))
            .collect::<Vec<_>>()
    };
    !labels_kept
        || want.selector != have.selector
        || ports(&want) != ports(&have)
        || !desired
            .owner_references()
            .iter()
            .all(|r| existing.owner_references().contains(r))
}

#[cfg(test)]
mod tests;
