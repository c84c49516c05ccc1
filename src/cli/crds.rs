//! `fnmesh crds`: the CRD YAML that `deploy/crds/` holds, for a real cluster.

pub(crate) fn run() {
    print!("{}", ::crds::crds_yaml());
}
