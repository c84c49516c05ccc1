//! Finding and running `kubernetes-validate` (PyPI), which checks manifests against
//! the JSON schemas of a given Kubernetes release.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Kubernetes release deploy/ must be valid for.
pub(crate) const KUBERNETES_VERSION: &str = "1.33.0";

const TOOL: &str = "kubernetes-validate";

/// `KUBERNETES_VALIDATE`, else the one on PATH, else the one `.ci/run` put in
/// `.ci/venv`.
pub(crate) fn kubernetes_validate() -> PathBuf {
    if let Some(path) = std::env::var_os("KUBERNETES_VALIDATE") {
        return path.into();
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(TOOL))
        .find(|candidate| candidate.is_file());
    let venv = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".ci/venv/bin")
        .join(TOOL);
    on_path
        .or_else(|| venv.is_file().then_some(venv))
        .unwrap_or_else(|| {
            panic!(
                "{TOOL} is not installed. `.ci/run` installs it into .ci/venv (then \
                 `export PATH=\"$PWD/.ci/venv/bin:$PATH\"`); or, in any virtual environment: \
                 `python3 -m venv venv && venv/bin/pip install {TOOL}` and put venv/bin on \
                 PATH; or set KUBERNETES_VALIDATE to its path"
            )
        })
}

/// Runs it strictly (unknown fields are errors) over `files`; on failure, what it said.
pub(crate) fn validate(files: &[PathBuf]) -> Result<(), String> {
    let tool = kubernetes_validate();
    let out = Command::new(&tool)
        .args(["--strict", "--quiet", "-k", KUBERNETES_VERSION])
        .args(files)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", tool.display()));
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}
