//! What a Service's Configuration and Route should be, as Knative's
//! `service/resources` makes them: same name and namespace, a controller owner
//! reference to the Service, the Service's labels plus `serving.knative.dev/service`,
//! and its annotations minus kubectl's last-applied copy.

use std::collections::{BTreeMap, BTreeSet};

use crds::{Configuration, ConfigurationSpec, Route, RouteSpec, Service};
use kube::ResourceExt;
use kube::api::ObjectMeta;

use crate::apply::controller_ref;
use crate::labels::{
    LAST_APPLIED_ANNOTATION, ROLLOUT_DURATION_ANNOTATIONS, ROUTES_ANNOTATION, SERVICE_LABEL,
    SERVICE_UID_LABEL,
};

/// The Configuration named after `svc`. `existing` keeps the Routes already listed in its
/// `serving.knative.dev/routes` annotation (other Routes may point at it too).
pub fn make_configuration(svc: &Service, existing: Option<&Configuration>) -> Configuration {
    let mut labels = svc.labels().clone();
    labels.insert(SERVICE_LABEL.into(), svc.name_any());
    labels.insert(SERVICE_UID_LABEL.into(), svc.uid().unwrap_or_default());

    let mut annotations = without(svc.annotations(), |k| {
        k == LAST_APPLIED_ANNOTATION || ROLLOUT_DURATION_ANNOTATIONS.contains(&k)
    });
    let mut routes: BTreeSet<String> = existing
        .and_then(|c| c.annotations().get(ROUTES_ANNOTATION))
        .map(|v| {
            v.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    routes.insert(svc.name_any());
    annotations.insert(
        ROUTES_ANNOTATION.into(),
        routes.into_iter().collect::<Vec<_>>().join(","),
    );

    let mut cfg = Configuration::new(
        &svc.name_any(),
        ConfigurationSpec {
            template: svc.spec.template.clone(),
        },
    );
    cfg.metadata = child_meta(svc, labels, annotations);
    cfg
}

/// The Route named after `svc`: its traffic is the Service's, with every target that
/// does not pin a revision pointed at the Service's Configuration.
pub fn make_route(svc: &Service) -> Route {
    let mut labels = svc.labels().clone();
    labels.insert(SERVICE_LABEL.into(), svc.name_any());
    let annotations = without(svc.annotations(), |k| k == LAST_APPLIED_ANNOTATION);

    let traffic = svc.spec.traffic.clone().map(|targets| {
        targets
            .into_iter()
            .map(|mut t| {
                if t.revision_name().is_empty() {
                    t.configuration_name = Some(svc.name_any());
                }
                t
            })
            .collect()
    });
    let mut route = Route::new(&svc.name_any(), RouteSpec { traffic });
    route.metadata = child_meta(svc, labels, annotations);
    route
}

fn child_meta(
    svc: &Service,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
) -> ObjectMeta {
    ObjectMeta {
        name: Some(svc.name_any()),
        namespace: svc.namespace(),
        labels: Some(labels),
        annotations: (!annotations.is_empty()).then_some(annotations),
        owner_references: controller_ref(svc),
        ..ObjectMeta::default()
    }
}

fn without(
    map: &BTreeMap<String, String>,
    drop: impl Fn(&str) -> bool,
) -> BTreeMap<String, String> {
    map.iter()
        .filter(|(k, _)| !drop(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
