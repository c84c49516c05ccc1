//! The four CustomResourceDefinitions, generated from the Rust types.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

use crate::configuration::Configuration;
use crate::revision::Revision;
use crate::route::Route;
use crate::service::Service;

/// The four CRDs (apiextensions.k8s.io/v1 CustomResourceDefinition from k8s-openapi), from `Kind::crd()`.
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![
        Service::crd(),
        Configuration::crd(),
        Revision::crd(),
        Route::crd(),
    ]
}

/// All four as one multi-document YAML string ("---" separated), deterministic.
pub fn crds_yaml() -> String {
    crds()
        .iter()
        .map(|crd| {
            // Serializing a k8s-openapi struct of strings, maps and JSON values cannot fail.
            serde_saphyr::to_string(crd).expect("CRD serializes to YAML")
        })
        .map(|doc| format!("---\n{}", doc.trim_start_matches("---\n")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_parses_back_into_four_crds() {
        let yaml = crds_yaml();
        let docs: Vec<CustomResourceDefinition> = serde_saphyr::from_multiple(&yaml).unwrap();
        assert_eq!(docs.len(), 4);
        let names: Vec<_> = docs
            .iter()
            .map(|d| d.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "services.serving.knative.dev",
                "configurations.serving.knative.dev",
                "revisions.serving.knative.dev",
                "routes.serving.knative.dev"
            ]
        );
        assert_eq!(docs, crds());
    }

    #[test]
    fn yaml_is_deterministic() {
        assert_eq!(crds_yaml(), crds_yaml());
    }

    #[test]
    fn names_columns_and_subresources_match_knative() {
        let svc = &crds()[0];
        let names = &svc.spec.names;
        assert_eq!(
            names.short_names.as_deref(),
            Some(&["kservice".to_owned(), "ksvc".to_owned()][..])
        );
        assert_eq!(
            names.categories.as_deref(),
            Some(&["all".to_owned(), "knative".to_owned(), "serving".to_owned()][..])
        );
        assert_eq!(svc.spec.scope, "Namespaced");
        let v1 = &svc.spec.versions[0];
        assert!(v1.subresources.as_ref().unwrap().status.is_some());
        let cols: Vec<_> = v1
            .additional_printer_columns
            .iter()
            .flatten()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(
            cols,
            ["URL", "LatestCreated", "LatestReady", "Ready", "Reason"]
        );
        let rev = &crds()[2];
        let cols: Vec<_> = rev.spec.versions[0]
            .additional_printer_columns
            .iter()
            .flatten()
            .map(|c| c.json_path.as_str())
            .collect();
        assert_eq!(
            cols[0],
            r".metadata.labels['serving\.knative\.dev/configuration']"
        );
        assert_eq!(
            crds()[3].spec.names.short_names.as_deref(),
            Some(&["rt".to_owned()][..])
        );
        assert_eq!(
            crds()[1].spec.names.short_names.as_deref(),
            Some(&["config".to_owned(), "cfg".to_owned()][..])
        );
    }
}
