//! One request at a revision at zero, through the ingress.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::bail;
use tokio::io::BufReader;
use tokio::net::TcpStream;

use super::harness::*;
use super::{ms, summary};

pub(crate) async fn cold(
    bin: &Path,
    hello: &Path,
    n: usize,
    services: usize,
) -> anyhow::Result<()> {
    let fnmesh = Fnmesh::start(
        bin,
        hello,
        &[
            ("stable-window", "6s"),
            ("scale-to-zero-grace-period", "6s"),
        ],
    )?;
    let revisions = fnmesh.revisions()?;
    for i in 0..services {
        fnmesh.deploy(&format!("cold-{i}"), &[])?;
    }
    let mut samples = Vec::new();
    // Sample 0 warms up the path (first connections, first spawn) and is not counted.
    for s in 0..=n {
        let service = format!("cold-{}", s % services);
        let revision = format!("{service}-00001");
        wait_for_zero(&revisions, &revision).await?;
        // The previous sample's scale-down and EndpointSlice churn settle first.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut conn = BufReader::new(TcpStream::connect(&fnmesh.ingress).await?);
        conn.get_ref().set_nodelay(true)?;
        let host = format!("{service}.default.example.com");
        let start = Instant::now();
        let (status, _) = get(&mut conn, &host, "/", true).await?;
        let took = start.elapsed();
        if status != 200 {
            bail!("{service}: status {status}");
        }
        if s > 0 {
            samples.push(took);
        }
        eprintln!("sample {s}: {service} {:.2} ms", ms(took));
    }
    println!(
        "cold start through fnmesh (send → full response, revision at zero): {}",
        summary(&mut samples)
    );
    Ok(())
}
