//! `--event-ttl`: how long the embedded API keeps an Event after its last write, as
//! kube-apiserver's flag of that name (a Go duration, default `1h0m0s`).

use std::time::Duration;

#[derive(Debug, Clone, Copy, clap::Args)]
pub(crate) struct EventTtlArgs {
    /// How long an Event is kept after its last write, a Go duration (`1h`, `30m`,
    /// `90s`) of at least one second.
    #[arg(
        long,
        env = "FNMESH_EVENT_TTL",
        value_name = "DURATION",
        default_value = "1h0m0s",
        value_parser = parse_ttl
    )]
    event_ttl: Duration,
}

impl EventTtlArgs {
    pub(crate) fn ttl(self) -> Duration {
        self.event_ttl
    }
}

fn parse_ttl(value: &str) -> Result<Duration, String> {
    let nanos = ::crds::validation::parse_go_duration(value)
        .ok_or_else(|| format!("--event-ttl: {value:?} is not a duration (e.g. 1h, 30m, 90s)"))?;
    let nanos = u64::try_from(nanos)
        .map_err(|_| format!("--event-ttl: {value:?} must not be negative or that long"))?;
    let ttl = Duration::from_nanos(nanos);
    if ttl < Duration::from_secs(1) {
        return Err(format!("--event-ttl: {value:?} must be at least 1s"));
    }
    Ok(ttl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_apiserver_durations_parse_and_bad_ones_name_the_flag() {
        assert_eq!(parse_ttl("1h0m0s"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_ttl("90s"), Ok(Duration::from_secs(90)));
        for bad in ["", "1x", "-1h", "500ms"] {
            let err = parse_ttl(bad).unwrap_err();
            assert!(err.starts_with("--event-ttl:"), "{bad:?}: {err}");
        }
    }
}
