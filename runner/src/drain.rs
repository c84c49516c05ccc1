//! The wait between a replica leaving the endpoints and its SIGTERM, so that scaling
//! down fails no request. The replica set republishes the EndpointSlice without the
//! replica as soon as it is picked to stop; this then waits for the change to reach
//! every gateway and for the requests in flight on the replica to finish. Knative's
//! queue-proxy drains inside the pod; a local process has no such proxy, so the runner
//! reads the kernel's TCP table: the data plane closes its idle pooled connections to
//! an endpoint once the endpoint leaves its table, so an open connection to the
//! replica's port is a request still being served.

use std::time::Duration;

use tokio::time::Instant;

/// Enough for an endpoint change to reach every gateway (the measured p99 is ~20 ms).
const PROPAGATION: Duration = Duration::from_millis(250);
/// How often the TCP table is read while connections remain.
const POLL: Duration = Duration::from_millis(20);

/// Returns once no client connection to `port` is open (after the propagation
/// allowance), or after `limit`.
pub(crate) async fn wait_until_drained(port: u16, limit: Duration) {
    let deadline = Instant::now() + limit;
    tokio::time::sleep(PROPAGATION.min(limit)).await;
    while Instant::now() < deadline && established_to(port) > 0 {
        tokio::time::sleep(POLL.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}

/// Established TCP connections whose local port is `port` (IPv4 and IPv6).
fn established_to(port: u16) -> usize {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .map(|table| count_established(&table, port))
        .sum()
}

/// Rows of `/proc/net/tcp`: `sl local_address rem_address st …`, addresses as
/// `HEXIP:HEXPORT`, state `01` for ESTABLISHED.
fn count_established(table: &str, port: u16) -> usize {
    table
        .lines()
        .skip(1)
        .filter(|row| {
            let mut fields = row.split_whitespace().skip(1);
            let local_port = fields
                .next()
                .and_then(|local| local.rsplit_once(':'))
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
            let state = fields.nth(1);
            local_port == Some(port) && state == Some("01")
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:D431 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 20 4 30 10 -1
   3: 0100007F:1F90 0100007F:D432 08 00000000:00000000 00:00000000 00000000     0        0 4 1 0000000000000000 20 4 30 10 -1
";

    #[test]
    fn counts_only_established_connections_to_the_port() {
        // The listener (0A), the client side (local port D431) and a half-closed one
        // (08) do not count.
        assert_eq!(count_established(TABLE, 0x1F90), 1);
        assert_eq!(count_established(TABLE, 9999), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn an_open_connection_holds_the_drain_until_it_closes_or_the_limit() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (served, _) = listener.accept().unwrap();
        assert_eq!(established_to(port), 1);
        // A request in flight: the drain waits the whole limit.
        let limit = Duration::from_secs(5);
        let started = Instant::now();
        wait_until_drained(port, limit).await;
        assert!(started.elapsed() >= limit, "{:?}", started.elapsed());
        // Nothing open: only the propagation allowance.
        drop(client);
        drop(served);
        let started = Instant::now();
        wait_until_drained(port, limit).await;
        assert_eq!(started.elapsed(), PROPAGATION);
    }
}
