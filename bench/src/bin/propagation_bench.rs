//! Traffic-change propagation: how long from a Service's traffic write being
//! acknowledged by the API to the gateway serving the new split. Flips a Service between
//! two revisions N times (100/0 ↔ 0/100) and polls the ingress over one keep-alive
//! connection until every answer comes from the new revision.
//!
//! Usage: `propagation-bench <api url> <ingress host:port> <service> <rev-a> <rev-b> [N]`;
//! each revision's body must contain its name (the revisions of `bench/dataplane.sh` do).
#![allow(clippy::disallowed_types)] // wall-clock measurement against separate processes

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use kube::api::{Patch, PatchParams};

fn get(conn: &mut BufReader<TcpStream>, host: &str) -> anyhow::Result<String> {
    write!(conn.get_mut(), "GET / HTTP/1.1\r\nHost: {host}\r\n\r\n")?;
    let mut line = String::new();
    conn.read_line(&mut line)?;
    let mut len = 0;
    loop {
        line.clear();
        conn.read_line(&mut line)?;
        if line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            len = v.trim().parse()?;
        }
    }
    let mut body = vec![0; len];
    conn.read_exact(&mut body)?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [api_url, ingress, service, rev_a, rev_b, rest @ ..] = args.as_slice() else {
        bail!("usage: propagation-bench <api url> <ingress> <service> <rev-a> <rev-b> [N]");
    };
    let n: usize = rest.first().map_or(Ok(20), |s| s.parse())?;
    let api = fnmesh_bench::services(api_url)?;
    let host = format!("{service}.default.example.com");
    let mut conn = BufReader::new(TcpStream::connect(ingress).context("ingress")?);
    conn.get_ref().set_nodelay(true)?;
    let mut samples = Vec::new();
    for i in 0..=n {
        let (to, from) = if i % 2 == 0 {
            (rev_a, rev_b)
        } else {
            (rev_b, rev_a)
        };
        let patch = serde_json::json!({"spec": {"traffic": [
            {"revisionName": to, "percent": 100},
            {"revisionName": from, "percent": 0},
        ]}});
        api.patch(service, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        let acked = Instant::now();
        let deadline = acked + Duration::from_secs(10);
        // Served once 20 answers in a row come from the new revision.
        let mut streak = 0;
        let mut first = None;
        while streak < 20 {
            let body = get(&mut conn, &host)?;
            if body.contains(to.as_str()) {
                first.get_or_insert_with(Instant::now);
                streak += 1;
            } else {
                first = None;
                streak = 0;
            }
            if Instant::now() > deadline {
                bail!("no switch to {to} within 10 s");
            }
        }
        // The first flip also warms everything up; it is not a sample.
        if i > 0 {
            samples.push(first.unwrap_or(acked) - acked);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    samples.sort();
    let at = |p: f64| fnmesh_bench::percentile(&samples, p);
    println!(
        "traffic change propagation over {} flips: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        samples.len(),
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        samples.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    Ok(())
}
