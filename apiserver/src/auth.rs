//! Who a request comes from and what it may touch. Clients authenticate with a bearer
//! token: the admin token (`--token`, or generated, and written into the kubeconfig),
//! or one from a kube-apiserver style token file (`--token-auth-file`) whose optional
//! fifth column limits the token to some namespaces. Unrestricted tokens may do
//! anything; a scoped one is authorised as [`authorize`] describes, and refused with
//! Kubernetes' own 401 and 403 `Status` bodies. Without any token (loopback only) every
//! request is allowed, as before tokens existed. `docs/security.md` is the user's view.

mod csv;
mod request_info;
mod scope;
mod status;
mod token_file;

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

pub use request_info::{RequestInfo, ResourceAttributes};
pub use status::{UNAUTHORIZED, forbidden};
pub use token_file::{TokenEntry, TokenFileError, load as load_token_file};

use crate::path::ResourcePath;

/// The namespaces a token may touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Namespaces(BTreeSet<String>),
}

/// An authenticated user, as the token file names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
    pub scope: Scope,
}

/// Whether an API bound to `addr` must require a token: anywhere but loopback, and
/// always once a token file names users (the admin then needs a token too).
pub fn requires_token(addr: SocketAddr, has_token_file: bool) -> bool {
    has_token_file || !addr.ip().is_loopback()
}

#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    #[error(
        "the API on {0} requires a bearer token (anything but loopback does, and so does a token file)"
    )]
    TokenRequired(SocketAddr),
    #[error(transparent)]
    TokenFile(#[from] TokenFileError),
    #[error("token file line {0}: that token is the admin token (--token); give the admin its own")]
    AdminTokenInFile(usize),
}

/// How requests prove who they are.
#[derive(Debug)]
pub struct Authenticator {
    /// `None`: no token is required and every request acts as the admin.
    admin_token: Option<String>,
    admin: Arc<User>,
    tokens: HashMap<String, Arc<User>>,
}

impl Authenticator {
    /// Checks that `admin_token` and `file` fit `addr` (see [`requires_token`]).
    pub fn new(
        addr: SocketAddr,
        admin_token: Option<String>,
        file: Option<Vec<TokenEntry>>,
    ) -> Result<Self, AuthConfigError> {
        if admin_token.is_none() && requires_token(addr, file.is_some()) {
            return Err(AuthConfigError::TokenRequired(addr));
        }
        let mut tokens = HashMap::new();
        for entry in file.unwrap_or_default() {
            if admin_token.as_deref() == Some(entry.token.as_str()) {
                return Err(AuthConfigError::AdminTokenInFile(entry.line));
            }
            tokens.insert(entry.token, Arc::new(entry.user));
        }
        Ok(Self {
            admin_token,
            admin: Arc::new(User {
                name: "fnmesh-admin".into(),
                uid: String::new(),
                groups: vec!["system:masters".into()],
                scope: Scope::All,
            }),
            tokens,
        })
    }

    /// Whether requests must carry a token (and the API therefore serves HTTPS).
    pub fn requires_token(&self) -> bool {
        self.admin_token.is_some()
    }

    /// The user behind the request's `Authorization: Bearer …`; `None` is a 401.
    pub fn authenticate(&self, headers: &http::HeaderMap) -> Option<Arc<User>> {
        let Some(admin_token) = &self.admin_token else {
            return Some(self.admin.clone());
        };
        let token = bearer_token(headers)?;
        if constant_time_eq(token.as_bytes(), admin_token.as_bytes()) {
            return Some(self.admin.clone());
        }
        self.tokens.get(token).cloned()
    }
}

/// The token of `Authorization: Bearer <token>`, read as Kubernetes reads it (the
/// scheme in any case, one space, the token up to the next space).
fn bearer_token(headers: &http::HeaderMap) -> Option<&str> {
    let value = headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let mut parts = value.splitn(3, ' ');
    let scheme = parts.next()?;
    let token = parts.next()?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A scoped user's request that passed the first check; the path it resolves to is
/// checked again with [`Scoped::allows`].
#[derive(Debug)]
pub struct Scoped {
    pub user: Arc<User>,
    pub info: RequestInfo,
}

impl Scoped {
    pub fn allows(&self, rp: &ResourcePath) -> bool {
        match &self.user.scope {
            Scope::All => true,
            Scope::Namespaces(ns) => scope::allows_resolved(ns, &self.info, rp),
        }
    }

    /// The 403 body for this request.
    pub fn forbidden(&self) -> String {
        forbidden(&self.user, &self.info)
    }
}

/// Authorise a request by its method, path and query. `Ok(None)`: an unrestricted
/// user, nothing more to check. `Ok(Some)`: a scoped user allowed so far. `Err`: the
/// 403 `Status` body.
pub fn authorize(
    user: &Arc<User>,
    method: &http::Method,
    path: &str,
    query: Option<&str>,
) -> Result<Option<Scoped>, String> {
    let Scope::Namespaces(namespaces) = &user.scope else {
        return Ok(None);
    };
    let info = RequestInfo::parse(method, path, query);
    if !scope::allows(namespaces, &info) {
        tracing::debug!(user = %user.name, verb = %info.verb, path, "forbidden");
        return Err(forbidden(user, &info));
    }
    Ok(Some(Scoped {
        user: user.clone(),
        info,
    }))
}

#[cfg(test)]
mod tests;
