//! deploy/ read as Kubernetes objects: every `*.yaml` file under it (what
//! `kubectl apply -f deploy/ --recursive` reads), each document one object.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// One object and the file (relative to deploy/) it came from.
#[derive(Debug)]
pub(crate) struct Manifest {
    pub(crate) file: String,
    pub(crate) object: Value,
}

impl Manifest {
    pub(crate) fn kind(&self) -> &str {
        self.object["kind"].as_str().unwrap_or_default()
    }

    pub(crate) fn name(&self) -> &str {
        self.object["metadata"]["name"].as_str().unwrap_or_default()
    }

    pub(crate) fn namespace(&self) -> Option<&str> {
        self.object["metadata"]["namespace"].as_str()
    }

    /// `Kind namespace/name`, for messages.
    pub(crate) fn id(&self) -> String {
        match self.namespace() {
            Some(ns) => format!("{} {ns}/{}", self.kind(), self.name()),
            None => format!("{} {}", self.kind(), self.name()),
        }
    }
}

pub(crate) fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy")
}

/// Every `*.yaml` file under deploy/, sorted, as paths relative to deploy/.
pub(crate) fn yaml_files() -> Vec<String> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read deploy/") {
            let path = entry.expect("deploy/ entry").path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                found.push(path);
            }
        }
    }
    let root = deploy_dir();
    let mut found = Vec::new();
    walk(&root, &mut found);
    let mut files: Vec<String> = found
        .iter()
        .map(|p| {
            p.strip_prefix(&root)
                .expect("under deploy/")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    files
}

/// The objects of a multi-document YAML text (empty documents skipped).
pub(crate) fn parse_documents(text: &str, origin: &str) -> Vec<Value> {
    let documents: Vec<Value> = serde_saphyr::from_multiple(text)
        .unwrap_or_else(|e| panic!("{origin} is not valid YAML: {e}"));
    documents.into_iter().filter(|d| !d.is_null()).collect()
}

/// Every object in deploy/.
pub(crate) fn load() -> Vec<Manifest> {
    yaml_files()
        .into_iter()
        .flat_map(|file| {
            let text = std::fs::read_to_string(deploy_dir().join(&file)).expect("read manifest");
            parse_documents(&text, &file)
                .into_iter()
                .map(move |object| Manifest {
                    file: file.clone(),
                    object,
                })
        })
        .collect()
}

pub(crate) fn of_kind<'a>(
    all: &'a [Manifest],
    kind: &'a str,
) -> impl Iterator<Item = &'a Manifest> {
    all.iter().filter(move |m| m.kind() == kind)
}

/// A label map (`matchLabels`, `selector`, `labels`) as strings.
pub(crate) fn labels(value: &Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether every label of `selector` is among `labels`.
pub(crate) fn selects(
    selector: &BTreeMap<String, String>,
    labels: &BTreeMap<String, String>,
) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}
