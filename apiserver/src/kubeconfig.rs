//! The kubeconfig `fnmesh up` writes next to its data, so `KUBECONFIG=<data-dir>/kubeconfig
//! kubectl …` reaches this server.

use std::net::SocketAddr;
use std::path::Path;

use base64::Engine;

/// How a client on this machine addresses a server bound to `addr`.
pub fn client_host(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("127.0.0.1:{}", addr.port())
    } else {
        addr.to_string()
    }
}

/// A kubeconfig for the API at `addr`: plain HTTP, or — with a token — HTTPS trusting
/// `cert_pem`.
pub fn render(addr: SocketAddr, token: Option<&str>, cert_pem: Option<&str>) -> String {
    let host = client_host(addr);
    let cluster = match cert_pem {
        Some(pem) => format!(
            "    server: https://{host}\n    certificate-authority-data: {}\n",
            base64::engine::general_purpose::STANDARD.encode(pem)
        ),
        None => format!("    server: http://{host}\n"),
    };
    let user = match token {
        Some(t) => format!("  user:\n    token: {t}\n"),
        None => "  user: {}\n".to_string(),
    };
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: fnmesh\n  cluster:\n{cluster}contexts:\n- name: fnmesh\n  context:\n    cluster: fnmesh\n    user: fnmesh\n    namespace: default\ncurrent-context: fnmesh\nusers:\n- name: fnmesh\n{user}preferences: {{}}\n"
    )
}

/// Write it with owner-only permissions (it may hold the token).
pub fn write(
    path: &Path,
    addr: SocketAddr,
    token: Option<&str>,
    cert_pem: Option<&str>,
) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(render(addr, token, cert_pem).as_bytes())?;
    f.sync_all()?;
    std::fs::rename(tmp, path)
}
