//! TLS for an API bound beyond loopback. Clients refuse to send bearer tokens over plain
//! HTTP (kubectl does), so whenever the API requires a token it also serves HTTPS, with
//! a self-signed certificate kept in the data dir and handed to clients through the
//! kubeconfig's `certificate-authority-data`.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("generating the API's certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0} holds no usable {1}")]
    Pem(String, &'static str),
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// The server side of the API's TLS, and the certificate clients must trust.
#[derive(Clone)]
pub struct ServerTls {
    pub acceptor: TlsAcceptor,
    /// PEM of the self-signed certificate (it is its own CA).
    pub cert_pem: String,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls").finish_non_exhaustive()
    }
}

/// Names the certificate is valid for: loopback, this host's name, and the bound address.
fn subject_names(addr: SocketAddr) -> Vec<String> {
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    if let Ok(host) = std::fs::read_to_string("/etc/hostname") {
        let host = host.trim();
        if !host.is_empty() {
            names.push(host.to_string());
        }
    }
    let ip: IpAddr = addr.ip();
    if !ip.is_unspecified() && !ip.is_loopback() {
        names.push(ip.to_string());
    }
    names
}

/// Load `tls.crt`/`tls.key` from `data_dir`, creating them on first use.
pub fn load_or_create(data_dir: &Path, addr: SocketAddr) -> Result<ServerTls, TlsError> {
    let cert_path = data_dir.join("tls.crt");
    let key_path = data_dir.join("tls.key");
    let io = |p: &Path| {
        let shown = p.display().to_string();
        move |e| TlsError::Io(shown, e)
    };
    if !cert_path.exists() || !key_path.exists() {
        let generated = rcgen::generate_simple_self_signed(subject_names(addr))?;
        write_private(&key_path, generated.signing_key.serialize_pem().as_bytes())
            .map_err(io(&key_path))?;
        std::fs::write(&cert_path, generated.cert.pem()).map_err(io(&cert_path))?;
    }
    let cert_pem = std::fs::read_to_string(&cert_path).map_err(io(&cert_path))?;
    let key_pem = std::fs::read_to_string(&key_path).map_err(io(&key_path))?;
    let certs = rustls_pemfile::certs(&mut cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(io(&cert_path))?;
    if certs.is_empty() {
        return Err(TlsError::Pem(
            cert_path.display().to_string(),
            "certificate",
        ));
    }
    let key = rustls_pemfile::private_key(&mut key_pem.as_bytes())
        .map_err(io(&key_path))?
        .ok_or_else(|| TlsError::Pem(key_path.display().to_string(), "private key"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(ServerTls {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        cert_pem,
    })
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_certificate_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let addr: SocketAddr = "127.0.0.1:6443".parse().unwrap();
        let first = load_or_create(dir.path(), addr).unwrap();
        let second = load_or_create(dir.path(), addr).unwrap();
        assert_eq!(first.cert_pem, second.cert_pem);
        assert!(first.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    }
}
