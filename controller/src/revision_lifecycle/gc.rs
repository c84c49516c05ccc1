//! Which of a Configuration's revisions to delete, by `config-gc`: Knative's
//! revision GC. Only revisions no route references ("non-active") are candidates, the
//! latest created and latest ready revision never are, and neither is one annotated
//! `serving.knative.dev/no-gc`. Pure: facts and the time in, names out.

use std::time::Duration;

use super::gc_config::GcConfig;

/// What GC needs to know about one revision. Times are seconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionFacts {
    pub name: String,
    pub created: u64,
    /// When it was last routed: its routing-state change time, else its creation.
    pub last_active: u64,
    /// Routed, or the Configuration's latest created or ready revision.
    pub active: bool,
    pub preserved: bool,
}

/// The revisions to delete, oldest last-active first.
pub fn collect(config: &GcConfig, revisions: &[RevisionFacts], now: u64) -> Vec<String> {
    let mut non_active: Vec<&RevisionFacts> = revisions.iter().filter(|r| !r.active).collect();
    // Most recently active first, so deletion walks from the back.
    non_active.sort_by(|a, b| b.last_active.cmp(&a.last_active).then(a.name.cmp(&b.name)));
    let mut deleted = Vec::new();
    let mut kept = non_active.len();
    for r in non_active.iter().rev() {
        if kept <= config.min_non_active_revisions {
            break;
        }
        if !r.preserved && stale(config, r, now) {
            deleted.push(r.name.clone());
            kept -= 1;
        }
    }
    if let Some(max) = config.max_non_active_revisions {
        let remaining: Vec<&&RevisionFacts> = non_active
            .iter()
            .filter(|r| !deleted.contains(&r.name))
            .collect();
        let mut over = remaining.len().saturating_sub(max);
        for r in remaining.iter().rev() {
            if over == 0 {
                break;
            }
            if !r.preserved {
                deleted.push(r.name.clone());
                over -= 1;
            }
        }
    }
    deleted
}

/// Stale once every age rule that is on has passed; with both off, age deletes nothing
/// (only the maximum does).
fn stale(config: &GcConfig, r: &RevisionFacts, now: u64) -> bool {
    let passed = |since: u64, retain: Option<Duration>| {
        retain.map(|d| since.saturating_add(d.as_secs()) <= now)
    };
    let rules = [
        passed(r.created, config.retain_since_create_time),
        passed(r.last_active, config.retain_since_last_active_time),
    ];
    rules.iter().any(Option::is_some) && rules.iter().flatten().all(|&p| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: u64 = 3600;

    fn rev(name: &str, created: u64, last_active: u64, active: bool) -> RevisionFacts {
        RevisionFacts {
            name: name.into(),
            created,
            last_active,
            active,
            preserved: false,
        }
    }

    fn config(
        min: usize,
        max: Option<usize>,
        create: Option<u64>,
        active: Option<u64>,
    ) -> GcConfig {
        GcConfig {
            retain_since_create_time: create.map(|h| Duration::from_secs(h * HOUR)),
            retain_since_last_active_time: active.map(|h| Duration::from_secs(h * HOUR)),
            min_non_active_revisions: min,
            max_non_active_revisions: max,
        }
    }

    #[test]
    fn defaults_keep_twenty_and_everything_young() {
        let now = 100 * HOUR;
        let revs: Vec<_> = (0..25)
            .map(|i| rev(&format!("r{i:02}"), i, i, false))
            .collect();
        // All older than 48 h and inactive for more than 15 h: five may go, oldest first.
        let gone = collect(&GcConfig::default(), &revs, now);
        assert_eq!(gone, ["r00", "r01", "r02", "r03", "r04"]);
        // Recently active ones stay whatever their age.
        let recent: Vec<_> = (0..25)
            .map(|i| rev(&format!("r{i:02}"), i, now - HOUR, false))
            .collect();
        assert!(collect(&GcConfig::default(), &recent, now).is_empty());
    }

    #[test]
    fn active_latest_and_preserved_revisions_are_never_deleted() {
        let now = 100 * HOUR;
        let mut revs = vec![
            rev("routed", 0, 0, true),
            rev("old", 0, 0, false),
            rev("kept", 0, 0, false),
        ];
        revs[2].preserved = true;
        let gone = collect(&config(0, None, Some(1), Some(1)), &revs, now);
        assert_eq!(gone, ["old"]);
    }

    #[test]
    fn the_maximum_deletes_the_least_recently_active_beyond_it() {
        let revs: Vec<_> = (0..5).map(|i| rev(&format!("r{i}"), i, i, false)).collect();
        // Age rules off: only the maximum acts.
        let gone = collect(&config(0, Some(2), None, None), &revs, 10);
        assert_eq!(gone, ["r0", "r1", "r2"]);
        assert!(collect(&config(0, None, None, None), &revs, 10).is_empty());
    }

    #[test]
    fn the_minimum_holds_even_when_everything_is_stale() {
        let revs: Vec<_> = (0..5).map(|i| rev(&format!("r{i}"), 0, i, false)).collect();
        let gone = collect(&config(3, None, Some(0), Some(0)), &revs, 10 * HOUR);
        assert_eq!(gone, ["r0", "r1"]);
    }
}
