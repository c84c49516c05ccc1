//! deploy/ is what a real Kubernetes cluster gets (`kubectl apply -k deploy/`, or
//! `kubectl apply -f deploy/ --recursive`). No cluster runs here, so these tests hold
//! the manifests to what can be checked without one: the 1.33 schemas (strictly),
//! kustomize's rendering, the cluster-mode contract (Services, ports, listeners,
//! probes), the pod hardening rules, RBAC wiring, and the ConfigMaps against the code
//! that reads them. `tests/crds_drift.rs` checks deploy/crds/ against `fnmesh crds`.

mod common;

// The crate root's modules resolve next to it, in tests/: point them at their folder.
#[path = "deploy_manifests/config_maps.rs"]
mod config_maps;
#[path = "deploy_manifests/deployment_rules.rs"]
mod deployment_rules;
#[path = "deploy_manifests/manifests.rs"]
mod manifests;
#[path = "deploy_manifests/schema.rs"]
mod schema;

use std::collections::{BTreeMap, BTreeSet};

use manifests::{Manifest, deploy_dir, labels, load, of_kind, selects, yaml_files};

/// Where every fnmesh object lives.
const NAMESPACE: &str = "knative-serving";

fn fail_on(problems: &[String]) {
    assert!(problems.is_empty(), "deploy/:\n  {}", problems.join("\n  "));
}

/// The Deployment whose pods `selector` picks; exactly one must match.
fn selected_deployment<'a>(all: &'a [Manifest], selector: &serde_json::Value) -> Vec<&'a Manifest> {
    let selector = labels(selector);
    of_kind(all, "Deployment")
        .filter(|d| {
            selects(
                &selector,
                &labels(&d.object["spec"]["template"]["metadata"]["labels"]),
            )
        })
        .collect()
}

#[test]
fn every_manifest_validates_strictly_against_the_kubernetes_1_33_schemas() {
    let files: Vec<_> = yaml_files().iter().map(|f| deploy_dir().join(f)).collect();
    assert!(files.len() > 10, "deploy/ has only {files:?}");
    if let Err(report) = schema::validate(&files) {
        panic!(
            "kubernetes-validate --strict -k {} refused deploy/:\n{report}",
            schema::KUBERNETES_VERSION
        );
    }
}

#[test]
fn the_kustomization_lists_every_manifest_and_renders_them_all() {
    let kustomization =
        std::fs::read_to_string(deploy_dir().join("Kustomization")).expect("deploy/Kustomization");
    let kustomization = &manifests::parse_documents(&kustomization, "Kustomization")[0];
    let mut listed: Vec<String> = kustomization["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .map(|r| r.as_str().expect("a path").to_owned())
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        yaml_files(),
        "deploy/Kustomization must list every *.yaml file under deploy/ (and nothing else)"
    );

    let out = std::process::Command::new(common::kubectl_bin())
        .arg("kustomize")
        .arg(deploy_dir())
        .output()
        .expect("run kubectl kustomize (is kubectl installed? see README)");
    assert!(
        out.status.success(),
        "kubectl kustomize deploy/: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rendered = String::from_utf8(out.stdout).expect("utf8");
    let ids = |objects: Vec<(String, String, String)>| -> Vec<(String, String, String)> {
        let mut objects = objects;
        objects.sort();
        objects
    };
    let rendered = ids(manifests::parse_documents(&rendered, "kubectl kustomize")
        .iter()
        .map(|o| {
            (
                o["kind"].as_str().unwrap_or_default().to_owned(),
                o["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                o["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect());
    let files = ids(load()
        .iter()
        .map(|m| {
            (
                m.kind().to_owned(),
                m.namespace().unwrap_or_default().to_owned(),
                m.name().to_owned(),
            )
        })
        .collect());
    assert_eq!(
        rendered, files,
        "kubectl kustomize renders other objects than the files hold"
    );
}

#[test]
fn everything_namespaced_is_in_knative_serving_which_is_declared() {
    let all = load();
    assert!(
        of_kind(&all, "Namespace").any(|n| n.name() == NAMESPACE),
        "deploy/ must declare the namespace {NAMESPACE}"
    );
    let cluster_scoped = [
        "Namespace",
        "CustomResourceDefinition",
        "ClusterRole",
        "ClusterRoleBinding",
    ];
    let problems: Vec<String> = all
        .iter()
        .filter(|m| !cluster_scoped.contains(&m.kind()) && m.namespace() != Some(NAMESPACE))
        .map(|m| format!("{} ({}): must be in namespace {NAMESPACE}", m.id(), m.file))
        .collect();
    fail_on(&problems);
}

#[test]
fn every_deployment_has_probes_limits_a_locked_down_container_and_the_downward_api() {
    let all = load();
    let deployments: Vec<_> = of_kind(&all, "Deployment").collect();
    let names: BTreeSet<&str> = deployments.iter().map(|d| d.name()).collect();
    assert_eq!(
        names,
        BTreeSet::from(["activator", "autoscaler", "controller", "gateway"]),
        "one Deployment per component"
    );
    let problems: Vec<String> = deployments
        .iter()
        .flat_map(|d| deployment_rules::problems(d))
        .collect();
    fail_on(&problems);
}

#[test]
fn the_services_are_the_ones_components_discover_and_select_their_pods() {
    let all = load();
    // (Service, port name, port, Deployment): the contract's names, from the code that
    // discovers them where there is such code.
    let contract = [
        (
            discovery::CONTROLLER,
            discovery::CONTROLLER_XDS_PORT,
            18000,
            "controller",
        ),
        (
            discovery::AUTOSCALER,
            discovery::AUTOSCALER_PORT,
            18080,
            "autoscaler",
        ),
        (
            discovery::ACTIVATOR,
            discovery::ACTIVATOR_PORT,
            80,
            "activator",
        ),
        ("fnmesh-gateway", "http", 80, "gateway"),
    ];
    let mut problems = Vec::new();
    for (service, port_name, port, deployment) in contract {
        let Some(svc) = of_kind(&all, "Service").find(|s| s.name() == service) else {
            problems.push(format!("no Service {service}"));
            continue;
        };
        let spec = &svc.object["spec"];
        let Some(svc_port) = spec["ports"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == port_name))
        else {
            problems.push(format!("{}: no port named {port_name}", svc.id()));
            continue;
        };
        if svc_port["port"] != port {
            problems.push(format!(
                "{}: port {port_name} must be {port}, got {}",
                svc.id(),
                svc_port["port"]
            ));
        }
        let picked = selected_deployment(&all, &spec["selector"]);
        if picked.len() != 1 || picked[0].name() != deployment {
            let picked: Vec<_> = picked.iter().map(|d| d.name()).collect();
            problems.push(format!(
                "{}: selector must pick the {deployment} pods only, picks {picked:?}",
                svc.id()
            ));
            continue;
        }
        // The target port resolves to a port the container declares (by name or number):
        // that is the port the EndpointSlices carry and consumers dial.
        let target = &svc_port["targetPort"];
        let container_ports =
            &picked[0].object["spec"]["template"]["spec"]["containers"][0]["ports"];
        let resolves = container_ports.as_array().is_some_and(|ps| {
            ps.iter()
                .any(|p| p["name"] == *target || p["containerPort"] == *target)
        });
        if !resolves {
            problems.push(format!(
                "{}: targetPort {target} is no port of the {deployment} container",
                svc.id()
            ));
        }
    }
    if let Some(gateway) = of_kind(&all, "Service").find(|s| s.name() == "fnmesh-gateway")
        && gateway.object["spec"]["type"] != "LoadBalancer"
    {
        problems.push("Service fnmesh-gateway: type must be LoadBalancer".into());
    }
    fail_on(&problems);
}

#[test]
fn every_service_account_a_deployment_uses_exists_and_is_bound_to_a_declared_role() {
    let all = load();
    let accounts: BTreeSet<(&str, &str)> = of_kind(&all, "ServiceAccount")
        .map(|a| (a.namespace().unwrap_or_default(), a.name()))
        .collect();
    let roles: BTreeSet<(&str, &str, &str)> = all
        .iter()
        .filter(|m| m.kind() == "Role" || m.kind() == "ClusterRole")
        .map(|r| (r.kind(), r.namespace().unwrap_or_default(), r.name()))
        .collect();
    let mut problems = Vec::new();
    // Binding subjects, and each binding's role must exist.
    let mut bound: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for binding in all
        .iter()
        .filter(|m| m.kind() == "RoleBinding" || m.kind() == "ClusterRoleBinding")
    {
        let role_ref = &binding.object["roleRef"];
        let kind = role_ref["kind"].as_str().unwrap_or_default();
        let ns = if kind == "Role" {
            binding.namespace().unwrap_or_default()
        } else {
            ""
        };
        let name = role_ref["name"].as_str().unwrap_or_default();
        if !roles.contains(&(kind, ns, name)) {
            problems.push(format!(
                "{}: roleRef {kind} {name} is not in deploy/",
                binding.id()
            ));
        }
        for subject in binding.object["subjects"].as_array().into_iter().flatten() {
            if subject["kind"] == "ServiceAccount" {
                let key = (
                    subject["namespace"].as_str().unwrap_or_default().to_owned(),
                    subject["name"].as_str().unwrap_or_default().to_owned(),
                );
                bound.entry(key).or_default().push(binding.id());
            }
        }
    }
    let mut used = BTreeSet::new();
    for deployment in of_kind(&all, "Deployment") {
        let ns = deployment.namespace().unwrap_or_default();
        let account = deployment.object["spec"]["template"]["spec"]["serviceAccountName"]
            .as_str()
            .unwrap_or_default();
        used.insert((ns, account));
        if !accounts.contains(&(ns, account)) {
            problems.push(format!(
                "{}: ServiceAccount {ns}/{account} is not in deploy/",
                deployment.id()
            ));
        }
        if !bound.contains_key(&(ns.to_owned(), account.to_owned())) {
            problems.push(format!(
                "{}: ServiceAccount {ns}/{account} is bound to no role",
                deployment.id()
            ));
        }
    }
    for (ns, account) in accounts.difference(&used) {
        problems.push(format!(
            "ServiceAccount {ns}/{account}: no Deployment uses it"
        ));
    }
    fail_on(&problems);
}

#[test]
fn every_rbac_rule_says_why_in_a_comment() {
    let mut problems = Vec::new();
    for file in yaml_files() {
        let text = std::fs::read_to_string(deploy_dir().join(&file)).expect("read manifest");
        let mut previous = "";
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.starts_with("- apiGroups:") && !previous.starts_with('#') {
                problems.push(format!(
                    "{file}:{}: a rule with no comment saying what needs it",
                    n + 1
                ));
            }
            if !line.is_empty() {
                previous = line;
            }
        }
    }
    fail_on(&problems);
}

#[test]
fn the_activator_gateway_and_control_plane_have_disruption_budgets_that_select_them() {
    let all = load();
    let mut problems = Vec::new();
    let mut covered = BTreeSet::new();
    for pdb in of_kind(&all, "PodDisruptionBudget") {
        let picked = selected_deployment(&all, &pdb.object["spec"]["selector"]["matchLabels"]);
        match picked.as_slice() {
            [deployment] => {
                covered.insert(deployment.name().to_owned());
            }
            _ => problems.push(format!(
                "{}: must select exactly one Deployment's pods",
                pdb.id()
            )),
        }
    }
    for component in ["activator", "autoscaler", "controller", "gateway"] {
        if !covered.contains(component) {
            problems.push(format!("no PodDisruptionBudget for the {component}"));
        }
    }
    fail_on(&problems);
}

#[test]
fn the_config_maps_are_the_ones_read_and_their_examples_are_the_code_defaults() {
    let all = load();
    let config_maps: Vec<_> = of_kind(&all, "ConfigMap").collect();
    let mut names: Vec<&str> = config_maps.iter().map(|c| c.name()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        config_maps::expected_names(),
        "one ConfigMap per configuration read"
    );
    let problems: Vec<String> = config_maps
        .iter()
        .flat_map(|c| config_maps::problems(c))
        .collect();
    fail_on(&problems);
}
