//! A leader whose component keeps its runtime busy (a burst of reconciles) keeps its
//! Lease when the elector campaigns on its own thread, runtime and connections. On the
//! component's runtime it could not: a renewal waits for the runtime, the renew
//! deadline passes, and the replica stops leading (and re-reconciles everything when it
//! takes the Lease back). Real time, short timings: the component's runtime is held
//! for twice the renew deadline, the way a reconcile that does not yield holds it.

mod support;

use std::sync::mpsc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use leader_election::{ElectionConfig, LeaderElector, Leadership};
use support::{LEASE, NAMESPACE, config};

/// The shortest timings validation allows in whole seconds.
fn fast(identity: &str) -> ElectionConfig {
    ElectionConfig {
        lease_duration: Duration::from_secs(3),
        renew_deadline: Duration::from_secs(2),
        retry_period: Duration::from_secs(1),
        ..config(identity)
    }
}

/// The API server on a runtime of its own, as it is a process of its own in split mode.
fn api_elsewhere() -> (std::net::SocketAddr, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async move {
            let addr = apiserver::ApiServer::start_ephemeral(&path).await.unwrap();
            tx.send(addr).unwrap();
            std::future::pending::<()>().await;
        });
    });
    (rx.recv_timeout(Duration::from_secs(30)).unwrap(), dir)
}

fn client(addr: std::net::SocketAddr) -> Result<kube::Client, kube::Error> {
    let config = kube::Config::new(format!("http://{addr}").parse().unwrap());
    kube::Client::try_from(config)
}

/// Reports when the replica next becomes leader again (after losing it), from a thread
/// of its own (the component's runtime is the one being held). A loss that is not won
/// back shows in `is_leader`.
fn next_promotion(leadership: &Leadership) -> mpsc::Receiver<()> {
    let promotions = leadership.promotions();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut promotions = std::pin::pin!(promotions);
        if runtime.block_on(promotions.next()).is_some() {
            let _ = tx.send(());
        }
    });
    rx
}

async fn renew_time(addr: std::net::SocketAddr) -> jiff::Timestamp {
    let leases: Api<Lease> = Api::namespaced(client(addr).unwrap(), NAMESPACE);
    let spec = leases.get(LEASE).await.unwrap().spec.unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("a"));
    spec.renew_time.unwrap().0
}

#[test]
fn a_dedicated_elector_keeps_leading_while_its_components_runtime_is_held() {
    let (addr, _dir) = api_elsewhere();
    let component = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = fast("a");
    let held_for = config.renew_deadline * 2;
    let elector = component.block_on(async {
        let elector = LeaderElector::spawn_dedicated(move || client(addr), config).unwrap();
        let mut leadership = elector.leadership();
        tokio::time::timeout(Duration::from_secs(30), leadership.led())
            .await
            .expect("a lone candidate did not lead");
        elector
    });
    let promoted = next_promotion(&elector.leadership());
    let before = component.block_on(renew_time(addr));

    // The component's only thread, busy with something that does not yield.
    std::thread::sleep(held_for);

    let after = component.block_on(renew_time(addr));
    assert!(
        after > before,
        "no renewal while the component's runtime was held"
    );
    assert!(elector.leadership().is_leader());
    assert_eq!(
        promoted.try_recv(),
        Err(mpsc::TryRecvError::Empty),
        "leadership was lost and taken back while the component's runtime was held"
    );
    component.block_on(elector.release());
}
