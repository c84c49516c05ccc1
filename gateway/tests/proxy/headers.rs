//! What the function sees: forwarding headers added, user headers untouched, internal
//! and hop-by-hop headers gone.

use http::StatusCode;

use crate::support::*;

/// What an echo function behind a gateway on `path` saw of `request` (answered 200).
async fn echoed(path: Path, request: http::Request<http_body_util::Full<bytes::Bytes>>) -> Echo {
    let gateway = RunningGateway::start_on(path, single_revision_table("hello-00001").await).await;
    let (status, body) = send(gateway.addr, request).await;
    assert_eq!(status, StatusCode::OK, "{path:?}: {body}");
    Echo::parse(&body)
}

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[tokio::test]
async fn forwarding_headers_are_added_and_user_headers_pass_unchanged() {
    for path in Path::BOTH {
        let request = get(
            "Hello.default.example.com:80",
            "/path?q=1",
            &[
                ("traceparent", TRACEPARENT),
                ("x-user", "Some Value"),
                ("authorization", "Bearer t"),
                ("forwarded", "for=192.0.2.60;proto=https"),
                ("x-forwarded-for", "192.0.2.60"),
            ],
        );
        let echo = echoed(path, request).await;
        assert_eq!(echo.header("host"), Some("Hello.default.example.com:80"));
        assert_eq!(echo.header("traceparent"), Some(TRACEPARENT));
        assert_eq!(echo.header("x-user"), Some("Some Value"));
        assert_eq!(echo.header("authorization"), Some("Bearer t"));
        assert_eq!(
            echo.header("forwarded"),
            Some(
                r#"for=192.0.2.60;proto=https, for=127.0.0.1;host="Hello.default.example.com:80";proto=http"#
            )
        );
        assert_eq!(
            echo.header("x-forwarded-for"),
            Some("192.0.2.60, 127.0.0.1")
        );
        assert_eq!(echo.header("x-forwarded-proto"), Some("http"));
    }
}

#[tokio::test]
async fn fresh_request_gets_plain_forwarding_headers() {
    for path in Path::BOTH {
        let echo = echoed(path, get("hello.default.example.com", "/", &[])).await;
        assert_eq!(
            echo.header("forwarded"),
            Some("for=127.0.0.1;host=hello.default.example.com;proto=http")
        );
        assert_eq!(echo.header("x-forwarded-for"), Some("127.0.0.1"));
        assert_eq!(echo.header("x-forwarded-proto"), Some("http"));
    }
}

#[tokio::test]
async fn internal_headers_from_clients_are_stripped_and_the_gateways_own_set() {
    for path in Path::BOTH {
        let request = get(
            "hello.default.example.com",
            "/",
            &[
                ("K-Network-Probe", "probe"),
                ("Knative-Serving-Revision", "someone-elses"),
                ("Knative-Serving-Namespace", "kube-system"),
                ("K-Proxy-Request", "activator"),
                ("K-Original-Host", "evil.example.com"),
                ("k-anything", "x"),
            ],
        );
        let echo = echoed(path, request).await;
        let leaked: Vec<_> = echo
            .headers
            .iter()
            .filter(|(n, _)| n.starts_with("k-"))
            .collect();
        assert!(leaked.is_empty(), "{leaked:?}");
        assert_eq!(echo.header("knative-serving-revision"), Some("hello-00001"));
        assert_eq!(echo.header("knative-serving-namespace"), Some("default"));
    }
}

#[tokio::test]
async fn hop_by_hop_headers_are_not_forwarded() {
    for path in Path::BOTH {
        let request = get(
            "hello.default.example.com",
            "/",
            &[
                ("connection", "x-per-hop"),
                ("x-per-hop", "1"),
                ("proxy-authorization", "Basic c2VjcmV0"),
                ("te", "trailers"),
            ],
        );
        let echo = echoed(path, request).await;
        assert_eq!(echo.header("x-per-hop"), None);
        assert_eq!(echo.header("proxy-authorization"), None);
        assert_eq!(echo.header("te"), Some("trailers"));
    }
}
