use super::*;
use crate::path::{self, Endpoint};
use crate::resource::ResourceTable;
use http::{HeaderMap, HeaderValue, Method};

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn file(text: &str) -> Vec<TokenEntry> {
    token_file::parse(text).unwrap()
}

fn bearer(value: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        http::header::AUTHORIZATION,
        HeaderValue::from_str(value).unwrap(),
    );
    h
}

#[test]
fn a_token_is_required_off_loopback_and_with_a_token_file() {
    assert!(!requires_token(addr("127.0.0.1:6443"), false));
    assert!(!requires_token(addr("[::1]:6443"), false));
    assert!(!requires_token(addr("127.0.0.2:0"), false));
    assert!(requires_token(addr("0.0.0.0:6443"), false));
    assert!(requires_token(addr("[::]:6443"), false));
    assert!(requires_token(addr("192.168.1.10:6443"), false));
    // An IPv4-mapped loopback is not taken for loopback: a token is required.
    assert!(requires_token(addr("[::ffff:127.0.0.1]:6443"), false));
    assert!(requires_token(addr("127.0.0.1:6443"), true));
}

#[test]
fn the_authenticator_refuses_a_setup_without_the_token_it_needs() {
    let e = Authenticator::new(addr("0.0.0.0:6443"), None, None).unwrap_err();
    assert!(matches!(e, AuthConfigError::TokenRequired(_)), "{e}");
    let e = Authenticator::new(addr("127.0.0.1:6443"), None, Some(Vec::new())).unwrap_err();
    assert!(matches!(e, AuthConfigError::TokenRequired(_)), "{e}");
    let open = Authenticator::new(addr("127.0.0.1:6443"), None, None).unwrap();
    assert!(!open.requires_token());
    let e = Authenticator::new(
        addr("127.0.0.1:6443"),
        Some("same".into()),
        Some(file("x,a,1\nsame,b,2\n")),
    )
    .unwrap_err();
    assert!(matches!(e, AuthConfigError::AdminTokenInFile(2)), "{e}");
}

#[test]
fn tokens_name_their_users() {
    let auth = Authenticator::new(
        addr("127.0.0.1:0"),
        Some("admin-secret".into()),
        Some(file("alice-secret,alice,1,,team-a\nbob-secret,bob,2\n")),
    )
    .unwrap();
    assert!(auth.requires_token());
    let who = |h: &HeaderMap| {
        auth.authenticate(h)
            .map(|u| (u.name.clone(), u.scope.clone()))
    };
    assert_eq!(who(&HeaderMap::new()), None);
    assert_eq!(who(&bearer("Bearer wrong")), None);
    assert_eq!(who(&bearer("Basic alice-secret")), None);
    assert_eq!(who(&bearer("Bearer ")), None);
    assert_eq!(
        who(&bearer("Bearer admin-secret")),
        Some(("fnmesh-admin".into(), Scope::All))
    );
    assert_eq!(
        who(&bearer("bearer alice-secret")),
        Some((
            "alice".into(),
            Scope::Namespaces(["team-a".to_string()].into())
        ))
    );
    assert_eq!(
        who(&bearer("Bearer bob-secret")),
        Some(("bob".into(), Scope::All))
    );
    // An open API (loopback, no token) takes every request as the admin.
    let open = Authenticator::new(addr("127.0.0.1:0"), None, None).unwrap();
    assert_eq!(
        open.authenticate(&HeaderMap::new()).unwrap().scope,
        Scope::All
    );
}

fn alice() -> Arc<User> {
    Arc::new(file("t,alice,1,,team-a\n").remove(0).user)
}

/// `authorize`, then (when allowed and the path resolves) the second check.
fn decide(method: Method, path: &str) -> Result<(), String> {
    let table = ResourceTable::standard();
    let Some(scoped) = authorize(&alice(), &method, path, None)? else {
        return Ok(());
    };
    match path::parse(&table, path) {
        Ok(Endpoint::Resource(rp)) if !scoped.allows(&rp) => Err(scoped.forbidden()),
        _ => Ok(()),
    }
}

#[test]
fn unrestricted_users_skip_authorisation() {
    let admin = Arc::new(file("t,bob,1\n").remove(0).user);
    let decided = authorize(&admin, &Method::DELETE, "/api/v1/namespaces/x", None).unwrap();
    assert!(decided.is_none());
}

#[test]
fn scoped_requests_are_checked_again_on_what_the_path_resolves_to() {
    assert_eq!(
        decide(Method::GET, "/api/v1/namespaces/team-a/configmaps/x"),
        Ok(())
    );
    assert_eq!(decide(Method::GET, "/api/v1/namespaces/team-a"), Ok(()));
    assert_eq!(
        decide(
            Method::GET,
            "/apis/serving.knative.dev/v1/namespaces/team-a/services"
        ),
        Ok(())
    );
    // Resolves (or fails to resolve) to nothing outside team-a: 404 later, not 403.
    assert_eq!(
        decide(Method::GET, "/api/v1/namespaces/team-a/nodes/n"),
        Ok(())
    );
    assert_eq!(
        decide(Method::GET, "/api/v1/namespaces/team-a/namespaces/team-b"),
        Ok(())
    );
    let body = decide(Method::GET, "/api/v1/namespaces/team-b/configmaps/x").unwrap_err();
    assert!(
        body.contains(
            r#"cannot get resource \"configmaps\" in API group \"\" in the namespace \"team-b\""#
        ),
        "{body}"
    );
}

#[test]
fn the_second_check_holds_even_if_the_first_read_the_path_differently() {
    let table = ResourceTable::standard();
    let resolve = |p: &str| match path::parse(&table, p) {
        Ok(Endpoint::Resource(rp)) => rp,
        other => panic!("{p}: {other:?}"),
    };
    let scoped = authorize(
        &alice(),
        &Method::GET,
        "/api/v1/namespaces/team-a/configmaps/x",
        None,
    )
    .unwrap()
    .unwrap();
    assert!(scoped.allows(&resolve("/api/v1/namespaces/team-a/configmaps/x")));
    assert!(!scoped.allows(&resolve("/api/v1/namespaces/team-b/configmaps/x")));
    assert!(!scoped.allows(&resolve("/api/v1/configmaps")));
    assert!(!scoped.allows(&resolve("/api/v1/nodes/n")));
    assert!(!scoped.allows(&resolve("/api/v1/namespaces/team-b")));
    // Its own Namespace, for get only.
    assert!(scoped.allows(&resolve("/api/v1/namespaces/team-a")));
    let delete = authorize(
        &alice(),
        &Method::DELETE,
        "/api/v1/namespaces/team-a/configmaps/x",
        None,
    )
    .unwrap()
    .unwrap();
    assert!(!delete.allows(&resolve("/api/v1/namespaces/team-a")));
}
