//! A replica's name: five characters from the alphabet Kubernetes uses for
//! generated names (no vowels, no look-alikes), like the random suffix of a
//! ReplicaSet's Pod, which is what it becomes.

use std::hash::BuildHasher;

const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
const LENGTH: usize = 5;

/// A random name for replica `id` that `taken` does not reject.
pub(crate) fn unique(id: u64, taken: impl Fn(&str) -> bool) -> String {
    // `RandomState` is seeded randomly per process and per instance: enough for
    // names that need only differ among one Deployment's replicas.
    (0u64..)
        .map(|attempt| {
            spell(std::collections::hash_map::RandomState::new().hash_one((id, attempt)))
        })
        .find(|name| !taken(name))
        .unwrap_or_default()
}

fn spell(mut bits: u64) -> String {
    let base = ALPHABET.len() as u64;
    (0..LENGTH)
        .map(|_| {
            let c = ALPHABET[usize::try_from(bits % base).unwrap_or(0)];
            bits /= base;
            char::from(c)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_characters_from_the_alphabet_and_not_taken() {
        let first = unique(1, |_| false);
        assert_eq!(first.len(), LENGTH);
        assert!(first.bytes().all(|b| ALPHABET.contains(&b)));
        let other = unique(1, |n| n == first);
        assert_ne!(other, first);
    }
}
