//! `--activator-queue-depth`: how many requests the activator holds per revision while
//! it has no room on a replica (none ready yet, or all at their containerConcurrency).
//! Past that, newcomers get `503` with `Retry-After` at once, so a flood at a revision
//! that never becomes ready costs bounded memory. Knative's activator holds 10,000.
//!
//! Every held request keeps sockets open (three in `fnmesh up`: client to gateway,
//! gateway to activator, the activator's side; one in `fnmesh activator`). A depth the
//! process's open-file limit cannot hold would make a flood at one revision take the
//! sockets every other revision needs (a 10,000-deep flood under a 20,000-file limit
//! turned healthy revisions' requests into 502s), so without the flag the default is
//! lowered to what fits in three quarters of the limit.

use std::path::Path;

/// Knative's depth, used when the open-file limit allows it.
const KNATIVE_DEPTH: usize = activator::DEFAULT_QUEUE_CAPACITY;

#[derive(Debug, Clone, Copy, clap::Args)]
pub(crate) struct QueueDepthArgs {
    /// Requests the activator holds per revision waiting for a replica; more are
    /// answered 503 with Retry-After [default: 10000, or what three quarters of the
    /// open-file limit can hold, whichever is less].
    #[arg(
        long,
        env = "FNMESH_ACTIVATOR_QUEUE_DEPTH",
        value_name = "REQUESTS",
        value_parser = parse_depth
    )]
    activator_queue_depth: Option<usize>,
}

impl QueueDepthArgs {
    /// The depth to use where each held request takes `sockets_per_request` of this
    /// process's open files.
    pub(crate) fn depth(self, sockets_per_request: usize) -> usize {
        let limit = open_file_limit(Path::new("/proc/self/limits"));
        let fits = limit.map(|limit| fitting_depth(limit, sockets_per_request));
        match (self.activator_queue_depth, fits) {
            (Some(depth), Some(fits)) if depth > fits => {
                tracing::warn!(
                    depth,
                    open_file_limit = limit,
                    "--activator-queue-depth needs more open files than the limit leaves: \
                     a flood may starve other connections (raise `ulimit -n`)"
                );
                depth
            }
            (Some(depth), _) => depth,
            (None, Some(fits)) if fits < KNATIVE_DEPTH => {
                tracing::info!(
                    depth = fits,
                    open_file_limit = limit,
                    "activator queue depth lowered to fit the open-file limit"
                );
                fits
            }
            (None, _) => KNATIVE_DEPTH,
        }
    }
}

/// Held requests that fit in three quarters of `limit` open files.
fn fitting_depth(limit: usize, sockets_per_request: usize) -> usize {
    (limit - limit / 4) / sockets_per_request.max(1)
}

/// The soft "Max open files" of a `/proc/<pid>/limits` file; `None` when unlimited or
/// unreadable.
fn open_file_limit(limits: &Path) -> Option<usize> {
    let text = std::fs::read_to_string(limits).ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn parse_depth(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(depth @ 1..) => Ok(depth),
        Ok(_) => Err("must be at least 1".to_owned()),
        Err(error) => Err(format!("must be a whole number: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_read_from_proc_limits() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("limits");
        std::fs::write(
            &file,
            "Limit                     Soft Limit           Hard Limit           Units     \n\
             Max processes             95000                95000                processes \n\
             Max open files            20000                40000                files     \n",
        )
        .unwrap();
        assert_eq!(open_file_limit(&file), Some(20_000));
        std::fs::write(&file, "Max open files  unlimited  unlimited  files\n").unwrap();
        assert_eq!(open_file_limit(&file), None);
        assert_eq!(open_file_limit(&dir.path().join("missing")), None);
    }

    #[test]
    fn three_sockets_a_request_under_20000_files_fit_5000() {
        assert_eq!(fitting_depth(20_000, 3), 5_000);
        assert_eq!(fitting_depth(1_048_576, 3), 262_144);
        assert_eq!(fitting_depth(20_000, 1), 15_000);
    }

    #[test]
    fn a_depth_given_is_kept() {
        let args = QueueDepthArgs {
            activator_queue_depth: Some(50),
        };
        assert_eq!(args.depth(3), 50);
    }
}
