//! `--activator-queue-depth`: how many requests the activator holds per revision while
//! it has no room on a replica (none ready yet, or all at their containerConcurrency).
//! Past that, newcomers get `503` with `Retry-After` at once, so a flood at a revision
//! that never becomes ready costs bounded memory. Knative's activator holds 10,000.

#[derive(Debug, Clone, Copy, clap::Args)]
pub(crate) struct QueueDepthArgs {
    /// Requests the activator holds per revision waiting for a replica; more are
    /// answered 503 with Retry-After.
    #[arg(
        long,
        env = "FNMESH_ACTIVATOR_QUEUE_DEPTH",
        value_name = "REQUESTS",
        default_value_t = activator::DEFAULT_QUEUE_CAPACITY,
        value_parser = parse_depth
    )]
    activator_queue_depth: usize,
}

impl QueueDepthArgs {
    pub(crate) fn depth(self) -> usize {
        self.activator_queue_depth
    }
}

fn parse_depth(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(depth @ 1..) => Ok(depth),
        Ok(_) => Err("must be at least 1".to_owned()),
        Err(error) => Err(format!("must be a whole number: {error}")),
    }
}
