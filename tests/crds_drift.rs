//! `deploy/crds/` holds exactly what `fnmesh crds` prints.

mod common;

#[test]
fn deploy_crds_match_fnmesh_crds_output() {
    let out = std::process::Command::new(common::bin())
        .arg("crds")
        .output()
        .expect("run fnmesh crds");
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).expect("utf8");
    let path = format!(
        "{}/deploy/crds/serving.knative.dev.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let committed = std::fs::read_to_string(&path).expect("deploy/crds/serving.knative.dev.yaml");
    assert!(
        printed == committed,
        "deploy/crds drifted from the types: run `cargo run -- crds > deploy/crds/serving.knative.dev.yaml`"
    );
    for kind in ["Service", "Configuration", "Revision", "Route"] {
        assert!(printed.contains(&format!("kind: {kind}\n")), "{kind}");
    }
}
