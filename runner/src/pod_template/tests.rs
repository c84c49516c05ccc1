use std::collections::BTreeMap;

use super::*;

fn deployment(container: serde_json::Value) -> Deployment {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "d", "namespace": "ns"},
        "spec": {
            "selector": {"matchLabels": {"app": "d"}},
            "template": {
                "metadata": {"labels": {"app": "d"}},
                "spec": {"containers": [container], "terminationGracePeriodSeconds": 7},
            },
        },
    }))
    .unwrap()
}

#[test]
fn a_container_becomes_a_replica_spec() {
    let d = deployment(serde_json::json!({
        "name": "user-container",
        "command": ["python3"], "args": ["-m", "http.server"],
        "workingDir": "/tmp",
        "ports": [{"name": "h2c", "containerPort": 9000}],
        "env": [{"name": "A", "value": "1"},
                {"name": "C", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k"}}}],
        "readinessProbe": {
            "httpGet": {"path": "/ready", "port": 9000, "httpHeaders": [{"name": "X", "value": "y"}]},
            "periodSeconds": 2, "failureThreshold": 5,
        },
    }));
    let mut sources = EnvSources::default();
    sources
        .config_maps
        .insert("cfg".into(), BTreeMap::from([("k".into(), "v".into())]));
    let spec = replica_spec(&d, &sources).unwrap();
    assert_eq!(spec.command, ["python3"]);
    assert_eq!(spec.args, ["-m", "http.server"]);
    assert_eq!(
        spec.env,
        [("A".into(), "1".into()), ("C".into(), "v".into())]
    );
    assert_eq!(spec.working_dir, Some(PathBuf::from("/tmp")));
    assert_eq!(spec.termination_grace_period, Duration::from_secs(7));
    assert_eq!(
        spec.readiness.action,
        ProbeAction::HttpGet {
            path: "/ready".into(),
            port: None,
            headers: vec![("X".into(), "y".into())],
        }
    );
    assert_eq!(spec.readiness.period, Duration::from_secs(2));
    assert_eq!(spec.readiness.failure_threshold, 5);
    assert_eq!(spec.readiness.success_threshold, 1);
    let container = first_container(&d).unwrap();
    assert_eq!(container_port(container), 9000);
}

#[test]
fn probe_ports_other_than_the_container_port_stay_fixed() {
    let probed = |port: serde_json::Value| {
        let d = deployment(serde_json::json!({
            "name": "c", "command": ["x"],
            "ports": [{"name": "user-port", "containerPort": 8080}],
            "readinessProbe": {"tcpSocket": {"port": port}},
        }));
        replica_spec(&d, &EnvSources::default())
            .unwrap()
            .readiness
            .action
    };
    assert_eq!(
        probed(serde_json::json!(0)),
        ProbeAction::TcpSocket { port: None }
    );
    assert_eq!(
        probed(serde_json::json!(8080)),
        ProbeAction::TcpSocket { port: None }
    );
    assert_eq!(
        probed(serde_json::json!("user-port")),
        ProbeAction::TcpSocket { port: None }
    );
    assert_eq!(
        probed(serde_json::json!(9)),
        ProbeAction::TcpSocket { port: Some(9) }
    );
}

#[test]
fn no_command_is_not_runnable() {
    let d = deployment(serde_json::json!({"name": "user-container", "image": "x"}));
    let err = replica_spec(&d, &EnvSources::default()).unwrap_err();
    assert_eq!(err.reason(), "ContainerNotRunnable");
    assert!(
        err.to_string()
            .contains("container user-container has no command"),
        "{err}"
    );
    let container = first_container(&d).unwrap();
    assert_eq!(container_port(container), 8080);
}

#[test]
fn a_missing_config_map_is_a_config_error() {
    let d = deployment(serde_json::json!({
        "name": "c", "command": ["x"],
        "envFrom": [{"configMapRef": {"name": "absent"}}],
    }));
    let err = replica_spec(&d, &EnvSources::default()).unwrap_err();
    assert_eq!(err.reason(), "CreateContainerConfigError");
    assert_eq!(
        err.to_string(),
        "container c: configmap \"absent\" not found"
    );
}
