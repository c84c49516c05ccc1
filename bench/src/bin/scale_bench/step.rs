//! A step from zero to many clients: replicas against the KPA's count over time.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::io::BufReader;
use tokio::net::TcpStream;

use super::harness::*;
use super::summary;

/// One sample of the revision's scale while the step runs.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Scale {
    actual: u64,
    desired: u64,
    kpa_desired: f64,
    panic: f64,
    proxy: f64,
}

pub(crate) async fn step(
    bin: &Path,
    hello: &Path,
    clients: usize,
    seconds: usize,
    rounds: usize,
) -> anyhow::Result<()> {
    // Knative's default windows (60 s stable, 6 s panic) and targets (100 per replica,
    // 70% utilisation): the KPA as it runs out of the box.
    let fnmesh = Fnmesh::start(bin, hello, &[])?;
    let revisions = fnmesh.revisions()?;
    for round in 0..rounds {
        let service = format!("step-{round}");
        let revision = format!("{service}-00001");
        fnmesh.deploy(&service, &[])?;
        wait_for_zero(&revisions, &revision).await?;
        let stop = Arc::new(AtomicBool::new(false));
        let host = Arc::new(format!("{service}.default.example.com"));
        let ingress = Arc::new(fnmesh.ingress.clone());
        let t0 = Instant::now();
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                let (stop, host, ingress) = (stop.clone(), host.clone(), ingress.clone());
                tokio::spawn(async move {
                    // (seconds since the step, latency) of every answered request.
                    let mut done = Vec::new();
                    let mut errors = 0usize;
                    while !stop.load(Ordering::Relaxed) {
                        let Ok(stream) = TcpStream::connect(ingress.as_str()).await else {
                            errors += 1;
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        };
                        let mut conn = BufReader::new(stream);
                        while !stop.load(Ordering::Relaxed) {
                            let start = Instant::now();
                            match get(&mut conn, &host, "/?sleep=50", false).await {
                                Ok((200, _)) => done.push((
                                    start.duration_since(t0).as_secs_f64(),
                                    start.elapsed(),
                                )),
                                Ok(_) => errors += 1,
                                Err(_) => {
                                    errors += 1;
                                    break;
                                }
                            }
                        }
                    }
                    (done, errors)
                })
            })
            .collect();
        let mut series: Vec<(f64, Scale)> = Vec::new();
        while t0.elapsed() < Duration::from_secs(seconds as u64) {
            let (actual, desired) = replicas(&revisions, &revision).await?;
            let [kpa_desired, panic, proxy] = fnmesh
                .gauges(
                    &revision,
                    [
                        "fnmesh_autoscaler_desired_pods",
                        "fnmesh_autoscaler_panic_mode",
                        "fnmesh_autoscaler_proxy_mode",
                    ],
                )
                .await?;
            let scale = Scale {
                actual,
                desired,
                kpa_desired,
                panic,
                proxy,
            };
            if series.last().is_none_or(|(_, last)| *last != scale) {
                series.push((t0.elapsed().as_secs_f64(), scale));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        stop.store(true, Ordering::Relaxed);
        let (mut done, mut errors) = (Vec::new(), 0);
        for task in tasks {
            let (d, e) = task.await?;
            done.extend(d);
            errors += e;
        }
        println!(
            "step {round}: 0 → {clients} clients (50 ms requests), time series (s since the step):"
        );
        for (t, s) in &series {
            println!(
                "  {t:6.2}  actualReplicas {} desiredReplicas {} kpa_desired {} panic {} proxy {}",
                s.actual, s.desired, s.kpa_desired, s.panic, s.proxy
            );
        }
        // The KPA's count at the end is the one the step settles on.
        let target = series.last().map_or(0.0, |(_, s)| s.kpa_desired);
        let first = |f: &dyn Fn(&Scale) -> bool| {
            series
                .iter()
                .find(|(_, s)| f(s))
                .map_or("never".to_string(), |(t, _)| format!("{t:.2} s"))
        };
        println!(
            "step {round}: KPA desired {target}: first desired at {}, first ready at {}, \
             ready = KPA desired from {}",
            first(&|s| s.kpa_desired >= target),
            first(&|s| s.actual as f64 >= target),
            // The sample after the last one where they differed.
            match series
                .iter()
                .rposition(|(_, s)| s.actual as f64 != s.kpa_desired)
            {
                Some(i) => series.get(i + 1),
                None => series.first(),
            }
            .map_or("never".to_string(), |(t, _)| format!("{t:.2} s")),
        );
        for window in (0..seconds).step_by(5) {
            let mut lat: Vec<Duration> = done
                .iter()
                .filter(|(t, _)| (*t as usize) >= window && (*t as usize) < window + 5)
                .map(|(_, l)| *l)
                .collect();
            if !lat.is_empty() {
                let rps = lat.len() as f64 / 5.0;
                println!(
                    "  {window:3}–{:3} s: {rps:.0} rps, latency {}",
                    window + 5,
                    summary(&mut lat)
                );
            }
        }
        println!("  errors: {errors}");
        fnmesh.kubectl(&["delete", "ksvc", &service], None)?;
    }
    Ok(())
}
