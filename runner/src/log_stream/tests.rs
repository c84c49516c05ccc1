use std::time::Duration;

use super::*;
use crate::container_log::Stream;

fn progress(running: bool, has_previous: bool) -> LogProgress {
    LogProgress {
        containers: 2,
        running,
        has_previous,
        ..LogProgress::default()
    }
}

fn query(previous: bool, follow: bool) -> LogQuery {
    LogQuery {
        previous,
        follow,
        ..LogQuery::default()
    }
}

#[test]
fn the_kubelets_rules_pick_the_container() {
    let pick = |p, q| source(&p, &q, "user-container", "hello-abc-x2k9p");
    let running = pick(progress(true, true), query(false, true)).unwrap();
    assert_eq!(
        running,
        Source {
            which: Which::Current,
            live: Some(2)
        }
    );
    // Backing off after a crash: both read the container that just ended.
    let waiting = progress(false, true);
    assert_eq!(
        pick(waiting, query(false, true)).unwrap(),
        Source {
            which: Which::Previous,
            live: None
        }
    );
    assert_eq!(
        pick(waiting, query(true, false)).unwrap().which,
        Which::Previous
    );
    assert_eq!(
        pick(progress(true, false), query(true, false)).unwrap_err(),
        r#"previous terminated container "user-container" in pod "hello-abc-x2k9p" not found"#
    );
    assert_eq!(
        pick(LogProgress::default(), query(false, false)).unwrap_err(),
        r#"container "user-container" in pod "hello-abc-x2k9p" is waiting to start: ContainerCreating"#
    );
}

async fn collect(mut rx: mpsc::Receiver<Bytes>) -> String {
    let mut all = Vec::new();
    while let Some(chunk) = rx.recv().await {
        all.extend_from_slice(&chunk);
    }
    String::from_utf8(all).unwrap()
}

#[tokio::test]
async fn tail_then_follow_until_the_container_ends() {
    let dir = tempfile::tempdir().unwrap();
    let log = ContainerLog::create(dir.path().join("ns_d_abcde")).unwrap();
    log.container_started();
    for line in ["one", "two", "three"] {
        log.write(Stream::Stdout, line.as_bytes(), true);
    }
    let q = LogQuery {
        follow: true,
        tail_lines: Some(2),
        ..LogQuery::default()
    };
    let src = source(&log.progress().borrow(), &q, "c", "p").unwrap();
    let (tx, rx) = mpsc::channel(4);
    let follower = tokio::spawn(send(log.clone(), q, src, tx));
    let collected = tokio::spawn(collect(rx));
    tokio::time::sleep(Duration::from_millis(50)).await;
    log.write(Stream::Stderr, b"four", true);
    tokio::time::sleep(Duration::from_millis(50)).await;
    log.write(Stream::Stdout, b"fi", false);
    log.write(Stream::Stdout, b"ve", true);
    log.container_exited();
    tokio::time::timeout(Duration::from_secs(5), follower)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(collected.await.unwrap(), "two\nthree\nfour\nfive\n");
}

#[tokio::test]
async fn a_follower_stays_with_its_container_across_segment_rotations() {
    let dir = tempfile::tempdir().unwrap();
    let log = ContainerLog::create(dir.path().join("ns_d_abcde")).unwrap();
    log.container_started();
    let q = LogQuery {
        follow: true,
        ..LogQuery::default()
    };
    let src = source(&log.progress().borrow(), &q, "c", "p").unwrap();
    let (tx, rx) = mpsc::channel(64);
    let follower = tokio::spawn(send(log.clone(), q, src, tx));
    let collected = tokio::spawn(collect(rx));
    let line = vec![b'x'; 1000];
    let lines = usize::try_from(crate::container_log::MAX_SEGMENT).unwrap() / 1000 + 10;
    for i in 0..lines {
        log.write(Stream::Stdout, &line, true);
        if i % 500 == 0 {
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    log.container_exited();
    tokio::time::timeout(Duration::from_secs(5), follower)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(collected.await.unwrap().lines().count(), lines);
}

#[tokio::test]
async fn without_follow_the_previous_container_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = ContainerLog::create(dir.path().join("ns_d_abcde")).unwrap();
    log.container_started();
    log.write(Stream::Stdout, b"crashed here", true);
    log.container_exited();
    log.container_started();
    log.write(Stream::Stdout, b"running now", true);
    let q = query(true, true);
    let src = source(&log.progress().borrow(), &q, "c", "p").unwrap();
    let (tx, rx) = mpsc::channel(4);
    send(log.clone(), q, src, tx).await;
    assert_eq!(collect(rx).await, "crashed here\n");
}
