use super::*;

fn read(log: &ContainerLog, which: Which) -> String {
    log.files(which)
        .iter()
        .map(|f| String::from_utf8(fs::read(f).unwrap()).unwrap())
        .collect()
}

fn contents(text: &str) -> Vec<&str> {
    text.lines()
        .map(|l| l.splitn(4, ' ').nth(3).unwrap_or_default())
        .collect()
}

#[test]
fn records_are_cri_lines_and_an_exit_makes_them_the_previous_containers() {
    let dir = tempfile::tempdir().unwrap();
    let log = ContainerLog::create(dir.path().join("ns_d_abcde")).unwrap();
    log.container_started();
    log.write(Stream::Stdout, b"hello", true);
    log.write(Stream::Stderr, b"long li", false);
    log.write(Stream::Stderr, b"ne", true);
    let current = read(&log, Which::Current);
    let first: Vec<&str> = current.lines().next().unwrap().splitn(4, ' ').collect();
    assert!(first[0].parse::<Timestamp>().is_ok(), "{current}");
    assert_eq!(&first[1..], ["stdout", "F", "hello"]);
    assert!(
        current
            .lines()
            .nth(1)
            .unwrap()
            .contains(" stderr P long li")
    );
    assert_eq!(log.progress().borrow().containers, 1);

    log.container_exited();
    assert!(log.files(Which::Current).is_empty());
    assert_eq!(
        contents(&read(&log, Which::Previous)),
        ["hello", "long li", "ne"]
    );
    let progress = *log.progress().borrow();
    assert!(progress.has_previous && !progress.running);

    // The next container starts afresh; the one before is kept until it exits too.
    log.container_started();
    log.write(Stream::Stdout, b"second", true);
    assert_eq!(contents(&read(&log, Which::Current)), ["second"]);
    assert_eq!(
        contents(&read(&log, Which::Previous)),
        ["hello", "long li", "ne"]
    );
    log.container_exited();
    assert_eq!(contents(&read(&log, Which::Previous)), ["second"]);
}

#[test]
fn a_container_keeps_at_most_two_segments() {
    let dir = tempfile::tempdir().unwrap();
    let log = ContainerLog::create(dir.path().join("ns_d_abcde")).unwrap();
    log.container_started();
    let line = vec![b'x'; 4000];
    let per_segment = usize::try_from(MAX_SEGMENT).unwrap() / 4000 + 1;
    for _ in 0..per_segment * 3 {
        log.write(Stream::Stdout, &line, true);
    }
    let files = log.files(Which::Current);
    assert_eq!(files.len(), 2);
    let total: u64 = files.iter().map(|f| fs::metadata(f).unwrap().len()).sum();
    assert!(total <= 2 * MAX_SEGMENT + 8192, "{total}");
    assert_eq!(log.progress().borrow().segment, 3);
    log.container_exited();
    assert_eq!(log.files(Which::Previous).len(), 2);
}

#[test]
fn writes_without_a_running_container_are_dropped_and_remove_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let replica = dir.path().join("ns_d_abcde");
    let log = ContainerLog::create(replica.clone()).unwrap();
    log.write(Stream::Stdout, b"nobody", true);
    assert!(log.files(Which::Current).is_empty());
    log.container_started();
    log.remove();
    assert!(!replica.exists());
}

#[test]
fn stale_replica_directories_go_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let stale = ContainerLog::create(dir.path().join("ns_d_abcde")).unwrap();
    stale.container_started();
    stale.write(Stream::Stdout, b"old", true);
    let other = dir.path().join("keep_me");
    fs::create_dir(&other).unwrap();
    fs::write(other.join("notes.txt"), "mine").unwrap();
    fs::write(dir.path().join("file_at_top.log"), "mine").unwrap();
    remove_stale(dir.path());
    assert!(!stale.dir().exists());
    assert!(other.join("notes.txt").exists());
    assert!(dir.path().join("file_at_top.log").exists());
}
