//! When the Route reconciler's part of a fresh routing table is whole: every Route of
//! the first list has been reconciled once with every input loaded (the Configuration
//! and Revision caches, `config-domain`, `config-network`), or has been deleted since.
//! Until then the xDS server holds back its first response, so a restarted controller
//! never hands gateways a table that lacks a Route that exists.

use std::collections::BTreeSet;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::routing::{ObjectKey, RoutingTable};

#[derive(Debug)]
pub(crate) struct RoutePriming {
    routing: Arc<RoutingTable>,
    state: Mutex<State>,
}

#[derive(Debug)]
enum State {
    /// Before the first list: the Routes reconciled so far.
    Listing {
        settled: BTreeSet<ObjectKey>,
    },
    /// The first list's Routes not yet settled.
    Waiting {
        pending: BTreeSet<ObjectKey>,
    },
    Done,
}

impl RoutePriming {
    pub(crate) fn new(routing: Arc<RoutingTable>) -> Self {
        Self {
            routing,
            state: Mutex::new(State::Listing {
                settled: BTreeSet::new(),
            }),
        }
    }

    /// The first list of Routes arrived with `listed`.
    pub(crate) fn listed(&self, listed: BTreeSet<ObjectKey>) {
        let mut state = self.state.lock();
        if let State::Listing { settled } = &*state {
            let pending = listed.difference(settled).cloned().collect();
            *state = State::Waiting { pending };
            self.complete_if_done(&mut state);
        }
    }

    /// `key` was reconciled with every input loaded, or was deleted.
    pub(crate) fn settled(&self, key: &ObjectKey) {
        let mut state = self.state.lock();
        match &mut *state {
            State::Listing { settled } => {
                settled.insert(key.clone());
            }
            State::Waiting { pending } => {
                pending.remove(key);
                self.complete_if_done(&mut state);
            }
            State::Done => {}
        }
    }

    fn complete_if_done(&self, state: &mut State) {
        if matches!(state, State::Waiting { pending } if pending.is_empty()) {
            *state = State::Done;
            self.routing.routes_complete();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> ObjectKey {
        ObjectKey::new("default", name)
    }

    fn keys(names: &[&str]) -> BTreeSet<ObjectKey> {
        names.iter().map(|n| key(n)).collect()
    }

    #[test]
    fn complete_once_every_listed_route_settled_including_those_before_the_list() {
        let routing = RoutingTable::filled_by_watches();
        routing.backends_complete();
        let priming = RoutePriming::new(routing.clone());
        priming.settled(&key("a"));
        priming.listed(keys(&["a", "b", "c"]));
        priming.settled(&key("b"));
        assert!(!routing.is_whole(), "c is not settled");
        priming.settled(&key("c"));
        assert!(routing.is_whole());
    }

    #[test]
    fn an_empty_first_list_completes_at_once() {
        let routing = RoutingTable::filled_by_watches();
        routing.backends_complete();
        RoutePriming::new(routing.clone()).listed(BTreeSet::new());
        assert!(routing.is_whole());
    }

    #[test]
    fn only_the_first_list_counts() {
        let routing = RoutingTable::filled_by_watches();
        routing.backends_complete();
        let priming = RoutePriming::new(routing.clone());
        priming.listed(keys(&["a"]));
        priming.listed(keys(&["a", "b"]));
        priming.settled(&key("a"));
        assert!(routing.is_whole(), "a relist adds nothing to wait for");
    }
}
