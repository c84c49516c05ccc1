//! `--header-read-timeout-seconds`: how long the HTTP servers a command runs (ingress,
//! activator, API) give a client to send a whole request head before closing its
//! connection — the guard against heads trickled byte by byte (slowloris).

use std::time::Duration;

#[derive(Debug, Clone, Copy, clap::Args)]
pub(crate) struct HeadTimeoutArgs {
    /// Seconds a client may take to send a whole HTTP/1.1 request head, counted from
    /// when the server starts waiting for it (a keep-alive connection's idle time
    /// included); then the connection is closed.
    #[arg(
        long,
        env = "FNMESH_HEADER_READ_TIMEOUT_SECONDS",
        value_name = "SECONDS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    header_read_timeout_seconds: u64,
}

impl HeadTimeoutArgs {
    pub(crate) fn timeout(self) -> Duration {
        Duration::from_secs(self.header_read_timeout_seconds)
    }
}
