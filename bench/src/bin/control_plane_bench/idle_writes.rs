//! Who writes while nothing should change: watches every kind the platform writes
//! from the current resourceVersion for the idle period and counts the events per kind
//! (and per object, to name the busiest). An idle platform that is really idle shows
//! only its two Leases renewing.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use fnmesh_bench::{PLATFORM_KINDS, api_resource};
use futures::{StreamExt as _, TryStreamExt as _};
use kube::api::{Api, DynamicObject, ListParams, WatchEvent, WatchParams};
use tokio::time::Instant;

/// Events per kind during the window.
#[derive(Debug, Default)]
pub(crate) struct IdleWrites {
    per_kind: BTreeMap<String, Count>,
}

#[derive(Debug, Default)]
struct Count {
    events: usize,
    per_object: BTreeMap<String, usize>,
}

impl fmt::Display for IdleWrites {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total: usize = self.per_kind.values().map(|c| c.events).sum();
        write!(f, "{total} watch events")?;
        for (kind, count) in &self.per_kind {
            let busiest = count.per_object.iter().max_by_key(|(_, n)| **n);
            write!(
                f,
                "\n  {kind:<30} {:>7} events, {:>5} objects",
                count.events,
                count.per_object.len()
            )?;
            if let Some((name, n)) = busiest {
                write!(f, ", busiest {name} ({n})")?;
            }
        }
        Ok(())
    }
}

/// Watches every kind for `window` from now and counts what was written.
pub(crate) async fn count(client: &kube::Client, window: Duration) -> anyhow::Result<IdleWrites> {
    let until = Instant::now() + window;
    let mut tasks = Vec::new();
    for (group, version, kind, plural) in PLATFORM_KINDS {
        let ar = api_resource(group, version, kind, plural);
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
        let label = if group.is_empty() {
            kind.to_owned()
        } else {
            format!("{kind}.{group}")
        };
        tasks.push(tokio::spawn(async move {
            let from = api
                .list_metadata(&ListParams::default().limit(1))
                .await?
                .metadata
                .resource_version
                .unwrap_or_default();
            let seconds = u32::try_from(window.as_secs() + 5).unwrap_or(u32::MAX);
            let mut stream = api
                .watch(&WatchParams::default().timeout(seconds), &from)
                .await?
                .boxed();
            let mut count = Count::default();
            while let Ok(next) = tokio::time::timeout_at(until, stream.try_next()).await {
                match next? {
                    Some(
                        WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o),
                    ) => {
                        count.events += 1;
                        let name = format!(
                            "{}/{}",
                            o.metadata.namespace.unwrap_or_default(),
                            o.metadata.name.unwrap_or_default()
                        );
                        *count.per_object.entry(name).or_default() += 1;
                    }
                    Some(_) => {}
                    None => break,
                }
            }
            anyhow::Ok((label, count))
        }));
    }
    let mut writes = IdleWrites::default();
    for task in tasks {
        let (label, count) = task.await??;
        writes.per_kind.insert(label, count);
    }
    Ok(writes)
}
