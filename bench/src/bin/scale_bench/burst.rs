//! Many connections at once at a revision at zero.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use fnmesh_bench::percentile;
use tokio::io::BufReader;
use tokio::net::TcpStream;

use super::harness::*;
use super::{ms, summary};

pub(crate) async fn burst(
    bin: &Path,
    hello: &Path,
    connections: usize,
    rounds: usize,
) -> anyhow::Result<()> {
    let fnmesh = Fnmesh::start(bin, hello, &[])?;
    let revisions = fnmesh.revisions()?;
    let mut p50s = Vec::new();
    for round in 0..rounds {
        // A fresh Service per round: one that just served 1,000 requests would take a
        // stable window and a grace period to drain back to zero.
        let service = format!("burst-{round}");
        fnmesh.deploy(&service, &[])?;
        wait_for_zero(&revisions, &format!("{service}-00001")).await?;
        let (peak_before, rss_before) = memory_kib(fnmesh.pid())?;
        let host = Arc::new(format!("{service}.default.example.com"));
        let gate = Arc::new(tokio::sync::Barrier::new(connections));
        let ingress = Arc::new(fnmesh.ingress.clone());
        let started = Instant::now();
        let tasks: Vec<_> = (0..connections)
            .map(|_| {
                let (host, gate, ingress) = (host.clone(), gate.clone(), ingress.clone());
                tokio::spawn(async move {
                    gate.wait().await;
                    let start = Instant::now();
                    let answer = async {
                        let mut conn = BufReader::new(TcpStream::connect(ingress.as_str()).await?);
                        get(&mut conn, &host, "/", true).await
                    }
                    .await;
                    (answer.map(|(status, _)| status), start.elapsed())
                })
            })
            .collect();
        let (mut latencies, mut ok, mut failures) = (Vec::new(), 0, Vec::new());
        for task in tasks {
            let (answer, took) = task.await?;
            latencies.push(took);
            match answer {
                Ok(200) => ok += 1,
                Ok(status) => failures.push(format!("status {status}")),
                Err(e) => failures.push(e.to_string()),
            }
        }
        let wall = started.elapsed();
        let (peak_after, rss_after) = memory_kib(fnmesh.pid())?;
        let (actual, desired) = replicas(&revisions, &format!("{service}-00001")).await?;
        failures.sort();
        failures.dedup();
        let p50 = {
            latencies.sort();
            percentile(&latencies, 0.5)
        };
        p50s.push(p50);
        println!(
            "burst {round}: {ok}/{connections} answered 200 in {:.0} ms; latency {}; \
             fnmesh VmHWM {:.1} → {:.1} MiB, VmRSS {:.1} → {:.1} MiB; replicas {actual} \
             (desired {desired}) right after{}",
            ms(wall),
            summary(&mut latencies),
            peak_before as f64 / 1024.0,
            peak_after as f64 / 1024.0,
            rss_before as f64 / 1024.0,
            rss_after as f64 / 1024.0,
            if failures.is_empty() {
                String::new()
            } else {
                format!("; failures: {}", failures.join(", "))
            }
        );
        fnmesh.kubectl(&["delete", "ksvc", &service], None)?;
    }
    println!("burst: median p50 over rounds {}", summary(&mut p50s));
    Ok(())
}
