//! The smallest compiled function, for the scale-to-zero benchmarks (`scale-bench`):
//! listens on 127.0.0.1:$PORT and answers every HTTP/1.1 request with a fixed 200 body.
//! `?sleep=MS` in the target holds the answer MS milliseconds (a function with work to
//! do). One thread per connection and plain std, so its start-up is the process's own:
//! no runtime to build before it listens.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

const BODY: &str = "hello from hello_fn\n";

fn serve(stream: TcpStream) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    let mut line = String::new();
    // Keep-alive, so a benchmark's back-to-back requests do not also measure connects;
    // requests are GETs without a body, so the head is all there is to read.
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let sleep_ms: u64 = line
            .split_once("sleep=")
            .and_then(|(_, rest)| {
                let digits = rest.split(|c: char| !c.is_ascii_digit()).next()?;
                digits.parse().ok()
            })
            .unwrap_or(0);
        let mut close = false;
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if header.eq_ignore_ascii_case("connection: close") {
                close = true;
            }
        }
        if sleep_ms > 0 {
            std::thread::sleep(Duration::from_millis(sleep_ms));
        }
        write!(
            writer,
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{BODY}",
            BODY.len()
        )?;
        if close {
            return Ok(());
        }
    }
}

fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "8080".into());
    let listener = TcpListener::bind(format!("127.0.0.1:{port}"))?;
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        std::thread::spawn(move || {
            // A client that goes away mid-request is not the function's error.
            let _ = serve(stream);
        });
    }
    Ok(())
}
