//! A client that leaves before the response head ends the exchange on both paths: the
//! function (or the activator's queue) stops holding a request nobody awaits.

use std::net::SocketAddr;
use std::time::Duration;

use gateway::{Protocol, RouteTable};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::support::*;

/// What the silent endpoint saw of a connection.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Request,
    Closed,
}

/// An endpoint that reads requests and never answers; reports each request's arrival
/// and each connection's end.
async fn start_silent_upstream() -> (SocketAddr, mpsc::UnboundedReceiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (seen, events) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(1..) = stream.read(&mut buf).await {
                    let _ = seen.send(Seen::Request);
                }
                let _ = seen.send(Seen::Closed);
            });
        }
    });
    (addr, events)
}

async fn next(events: &mut mpsc::UnboundedReceiver<Seen>, path: Path) -> Seen {
    tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .unwrap_or_else(|_| panic!("{path:?}: nothing happened upstream"))
        .expect("the upstream runs")
}

#[tokio::test]
async fn a_client_that_leaves_before_the_head_closes_the_upstream_on_both_paths() {
    for path in Path::BOTH {
        let (upstream, mut events) = start_silent_upstream().await;
        let table = RouteTable::from_knative(
            DOMAIN,
            vec![knative_route("silent", &[("silent-00001", 100, None)])],
            vec![revision("silent-00001", Protocol::Http1, &[upstream])],
        )
        .unwrap();
        let gateway = RunningGateway::start_on(path, table).await;
        let mut client = TcpStream::connect(gateway.addr).await.unwrap();
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: silent.default.example.com\r\n\r\n")
            .await
            .unwrap();
        assert_eq!(next(&mut events, path).await, Seen::Request, "{path:?}");
        drop(client);
        assert_eq!(
            next(&mut events, path).await,
            Seen::Closed,
            "{path:?}: the client left, so the request is given up"
        );
    }
}
