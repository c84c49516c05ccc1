use crate::breaker::BreakerPermit;
use crate::replica_set::Replica;

/// How a request picks among replicas with room, chosen from `containerConcurrency`
/// the way Knative's activator does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadBalancingPolicy {
    /// Unlimited concurrency: sample two replicas, take the one with fewer requests in
    /// flight. Cheap, and avoids the herd onto one "least loaded" replica.
    PowerOfTwoChoices,
    /// Tiny concurrency: the first replica (by address) with room, so load packs onto
    /// few replicas and the rest can scale down.
    FirstAvailable,
    /// Larger concurrency: rotate through replicas with room, spreading load evenly.
    RoundRobin,
}

/// Which replica a policy chose, and the slot it took there.
#[derive(Debug)]
pub(crate) struct Pick {
    pub(crate) index: usize,
    pub(crate) permit: BreakerPermit,
}

// === impl LoadBalancingPolicy ===

impl LoadBalancingPolicy {
    /// Knative's defaults: 0 → power of two choices, 1–3 → first available, more →
    /// round robin.
    pub fn for_container_concurrency(cc: usize) -> Self {
        match cc {
            0 => Self::PowerOfTwoChoices,
            1..=3 => Self::FirstAvailable,
            _ => Self::RoundRobin,
        }
    }

    /// Takes a slot on one replica, or `None` if none has room. `cursor` is the
    /// round-robin position, kept by the caller across picks.
    pub(crate) fn pick(
        self,
        replicas: &[Replica],
        cursor: &mut usize,
        rng: &mut fastrand::Rng,
    ) -> Option<Pick> {
        match self {
            Self::PowerOfTwoChoices => power_of_two(replicas, rng),
            Self::FirstAvailable => first_with_room(replicas, 0).map(|(pick, _)| pick),
            Self::RoundRobin => {
                let (pick, next) = first_with_room(replicas, *cursor)?;
                *cursor = next;
                Some(pick)
            }
        }
    }
}

/// Scans every replica once starting at `start` (wrapping); returns the pick and the
/// position after it.
fn first_with_room(replicas: &[Replica], start: usize) -> Option<(Pick, usize)> {
    let n = replicas.len();
    // The set may have shrunk since the cursor was stored.
    let start = if start >= n { 0 } else { start };
    (0..n).find_map(|offset| {
        let index = (start + offset) % n;
        let permit = replicas[index].breaker.try_acquire()?;
        Some((Pick { index, permit }, index + 1))
    })
}

fn power_of_two(replicas: &[Replica], rng: &mut fastrand::Rng) -> Option<Pick> {
    let n = replicas.len();
    let index = match n {
        0 => return None,
        1 => 0,
        _ => {
            let a = rng.usize(0..n);
            // Draw from the other n-1 so the two contestants differ.
            let mut b = rng.usize(0..n - 1);
            if b >= a {
                b += 1;
            }
            let (la, lb) = (
                replicas[a].breaker.in_flight(),
                replicas[b].breaker.in_flight(),
            );
            if la < lb || (la == lb && rng.bool()) {
                a
            } else {
                b
            }
        }
    };
    let permit = replicas[index].breaker.try_acquire()?;
    Some(Pick { index, permit })
}

#[cfg(test)]
mod tests;
