//! The Deployment that runs a Revision, per `docs/serving-contract.md`: named
//! `<revision>-deployment`, labelled and selected by the Revision's UID, one container
//! per Revision container with `PORT` and `K_*` injected, and `initial-scale` (at least
//! `min-scale`) replicas until the autoscaler takes over `/scale`.

use std::collections::BTreeMap;

use crds::{Container, Revision};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{self as core, EnvVar, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::ResourceExt;
use kube::api::ObjectMeta;

use crate::apply::controller_ref;
use crate::labels::{
    APP_LABEL, CONFIGURATION_LABEL, INITIAL_SCALE_ALIASES, INITIAL_SCALE_ANNOTATION,
    LAST_APPLIED_ANNOTATION, MIN_SCALE_ALIASES, MIN_SCALE_ANNOTATION, REVISION_LABEL,
    REVISION_UID_LABEL, ROUTING_STATE_LABEL, ROUTING_STATE_MODIFIED_ANNOTATION, SERVICE_LABEL,
    TIMEOUT_SECONDS_ANNOTATION,
};
use crate::revision::serving_port::{serving_container, user_port};

/// `<revision>-deployment`, shortened like every Knative child name.
pub fn deployment_name(revision: &str) -> String {
    crds::child_name(revision, "-deployment")
}

/// `max(initial-scale (default 1), min-scale)`: each new Revision proves it can run.
pub fn initial_replicas(annotations: &BTreeMap<String, String>) -> i32 {
    let read = |key: &str, aliases: &[&str]| {
        std::iter::once(key)
            .chain(aliases.iter().copied())
            .find_map(|k| annotations.get(k))
            .and_then(|v| v.trim().parse::<i32>().ok())
    };
    let initial = read(INITIAL_SCALE_ANNOTATION, &INITIAL_SCALE_ALIASES).unwrap_or(1);
    let min = read(MIN_SCALE_ANNOTATION, &MIN_SCALE_ALIASES).unwrap_or(0);
    initial.max(min).max(0)
}

/// The labels on the Deployment and its pods: the Revision's own plus the revision
/// identity labels (and `app`, unless the user set one).
pub fn pod_labels(rev: &Revision) -> BTreeMap<String, String> {
    let mut labels = rev.labels().clone();
    // Routing state changes as routes move; it must not restart the replicas.
    labels.remove(ROUTING_STATE_LABEL);
    let name = rev.name_any();
    labels.insert(REVISION_LABEL.into(), name.clone());
    labels.insert(REVISION_UID_LABEL.into(), rev.uid().unwrap_or_default());
    labels.entry(APP_LABEL.into()).or_insert(name);
    labels
}

pub fn make_deployment(rev: &Revision) -> Deployment {
    let labels = pod_labels(rev);
    let mut annotations = rev.annotations().clone();
    annotations.remove(LAST_APPLIED_ANNOTATION);
    annotations.remove(ROUTING_STATE_MODIFIED_ANNOTATION);
    let timeout = rev
        .spec
        .timeout_seconds
        .unwrap_or(crds::defaults::DEFAULT_TIMEOUT_SECONDS);
    let mut pod_annotations = annotations.clone();
    pod_annotations.insert(TIMEOUT_SECONDS_ANNOTATION.into(), timeout.to_string());

    let env = runtime_env(rev);
    let serving = serving_container(&rev.spec.containers);
    let port = user_port(rev);
    let containers = rev
        .spec
        .containers
        .iter()
        .enumerate()
        .map(|(i, c)| container(c, &env, (i == serving).then_some(port)))
        .collect();

    Deployment {
        metadata: ObjectMeta {
            name: Some(deployment_name(&rev.name_any())),
            namespace: rev.namespace(),
            labels: Some(labels.clone()),
            annotations: (!annotations.is_empty()).then_some(annotations),
            owner_references: controller_ref(rev),
            ..ObjectMeta::default()
        },
        spec: DeploymentSpec {
            replicas: Some(initial_replicas(rev.annotations())),
            selector: LabelSelector {
                match_labels: Some(BTreeMap::from([(
                    REVISION_UID_LABEL.to_string(),
                    rev.uid().unwrap_or_default(),
                )])),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    annotations: Some(pod_annotations),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    containers,
                    volumes: rev.spec.volumes.clone(),
                    service_account_name: rev.spec.service_account_name.clone(),
                    image_pull_secrets: rev.spec.image_pull_secrets.clone(),
                    enable_service_links: rev.spec.enable_service_links,
                    automount_service_account_token: rev.spec.automount_service_account_token,
                    // Draining may take as long as the longest request may run.
                    termination_grace_period_seconds: Some(timeout),
                    ..PodSpec::default()
                }),
            },
            ..DeploymentSpec::default()
        },
        status: None,
    }
}

/// Whether `existing` lacks something `desired` asks for, so it must be applied again.
/// Replicas do not count (the autoscaler owns them once it runs), nor do fields the API
/// server defaults; labels and annotations others added are left alone.
pub fn drifted(desired: &Deployment, existing: &Deployment) -> bool {
    let subset = |want: Option<&BTreeMap<String, String>>,
                  have: Option<&BTreeMap<String, String>>| {
        want.into_iter()
            .flatten()
            .all(|(k, v)| have.and_then(|h| h.get(k)) == Some(v))
    };
    let (want, have) = (&desired.spec, &existing.spec);
    let pod_meta = |s: &DeploymentSpec| s.template.metadata.clone().unwrap_or_default();
    let (want_pod, have_pod) = (pod_meta(want), pod_meta(have));
    let containers = |s: &DeploymentSpec| {
        s.template
            .spec
            .as_ref()
            .map(|p| {
                p.containers
                    .iter()
                    .map(|c| {
                        (
                            c.name.clone(),
                            c.image.clone(),
                            c.command.clone(),
                            c.args.clone(),
                            c.env.clone(),
                            c.working_dir.clone(),
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    !subset(
        desired.metadata.labels.as_ref(),
        existing.metadata.labels.as_ref(),
    ) || !subset(want_pod.labels.as_ref(), have_pod.labels.as_ref())
        || !subset(want_pod.annotations.as_ref(), have_pod.annotations.as_ref())
        || want.selector != have.selector
        || !desired
            .owner_references()
            .iter()
            .all(|r| existing.owner_references().contains(r))
        || containers(want) != containers(have)
}

/// `K_SERVICE` (when owned by a Service), `K_CONFIGURATION`, `K_REVISION`.
fn runtime_env(rev: &Revision) -> Vec<EnvVar> {
    let labels = rev.labels();
    let mut env = Vec::new();
    if let Some(svc) = labels.get(SERVICE_LABEL) {
        env.push(var("K_SERVICE", svc));
    }
    env.push(var(
        "K_CONFIGURATION",
        labels
            .get(CONFIGURATION_LABEL)
            .map(String::as_str)
            .unwrap_or_default(),
    ));
    env.push(var("K_REVISION", &rev.name_any()));
    env
}

/// One pod container; the serving one (`port` set) gets `PORT`.
fn container(c: &Container, runtime_env: &[EnvVar], port: Option<i32>) -> core::Container {
    let mut env = c.env().to_vec();
    if let Some(port) = port {
        env.push(var("PORT", &port.to_string()));
    }
    env.extend_from_slice(runtime_env);
    core::Container {
        name: c
            .name
            .clone()
            .unwrap_or_else(|| crds::defaults::DEFAULT_USER_CONTAINER_NAME.to_string()),
        image: c.image.clone(),
        command: c.command.clone(),
        args: c.args.clone(),
        working_dir: c.working_dir.clone(),
        env: Some(env),
        env_from: c.env_from.clone(),
        ports: c.ports.clone(),
        resources: c.resources.clone(),
        volume_mounts: c.volume_mounts.clone(),
        liveness_probe: c.liveness_probe.clone(),
        readiness_probe: c.readiness_probe.clone(),
        startup_probe: c.startup_probe.clone(),
        security_context: c.security_context.clone(),
        image_pull_policy: c.image_pull_policy.clone(),
        termination_message_path: c.termination_message_path.clone(),
        termination_message_policy: c.termination_message_policy.clone(),
        ..core::Container::default()
    }
}

fn var(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value: Some(value.to_string()),
        value_from: None,
    }
}

#[cfg(test)]
mod tests;
