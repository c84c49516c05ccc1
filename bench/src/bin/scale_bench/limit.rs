//! The platform-free bound: the function's own spawn → first response.

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::bail;

use super::summary;

pub(crate) fn limit(hello: &Path, n: usize) -> anyhow::Result<()> {
    let mut samples = Vec::new();
    for _ in 0..n {
        // A port the kernel just handed out and released, as the runner picks one.
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let start = Instant::now();
        let mut child = Command::new(hello)
            .env("PORT", port.to_string())
            .stdout(Stdio::null())
            .spawn()?;
        // Poll every 100 µs: ten times finer than the runner's 1 ms readiness probe, so
        // this is the bound, not another platform.
        let mut stream = loop {
            match std::net::TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => break s,
                Err(_) if start.elapsed() < Duration::from_secs(10) => {
                    std::thread::sleep(Duration::from_micros(100));
                }
                Err(e) => bail!("hello_fn did not listen within 10 s: {e}"),
            }
        };
        stream.write_all(b"GET / HTTP/1.1\r\nhost: limit\r\nconnection: close\r\n\r\n")?;
        let mut first = [0u8; 1];
        stream.read_exact(&mut first)?;
        let at_first_byte = start.elapsed();
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest)?;
        if !rest.starts_with(b"TTP/1.1 200") {
            bail!("unexpected answer {:?}", String::from_utf8_lossy(&rest));
        }
        samples.push(at_first_byte);
        child.kill()?;
        child.wait()?;
    }
    println!(
        "limit: spawn → first response byte, {}",
        summary(&mut samples)
    );
    Ok(())
}
