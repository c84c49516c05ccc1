use super::*;

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

const LOG: &[u8] = b"2024-05-01T10:00:00Z stdout F one
2024-05-01T10:00:01.5Z stderr F two
2024-05-01T10:00:02Z stdout P thr
2024-05-01T10:00:02Z stdout F ee
2024-05-01T10:00:03Z stdout F four
";

fn render(query: &LogQuery, bytes: &[u8]) -> String {
    String::from_utf8(Renderer::new(query).render(bytes).0).unwrap()
}

#[test]
fn parses_the_kubelet_options() {
    let now = at("2024-05-01T10:00:10Z");
    let q = LogQuery::parse(
        "follow=true&previous=1&timestamps=false&tailLines=5&limitBytes=100&sinceSeconds=8&container=x",
        now,
    )
    .unwrap();
    assert_eq!(
        q,
        LogQuery {
            follow: true,
            previous: true,
            timestamps: false,
            tail_lines: Some(5),
            limit_bytes: Some(100),
            since: Some(at("2024-05-01T10:00:02Z")),
        }
    );
    let q = LogQuery::parse("sinceTime=2024-05-01T10%3A00%3A01Z&tailLines=-1", now).unwrap();
    assert_eq!(q.since, Some(at("2024-05-01T10:00:01Z")));
    assert_eq!(q.tail_lines, None);
    assert_eq!(LogQuery::parse("", now).unwrap(), LogQuery::default());
}

#[test]
fn bad_options_name_the_parameter() {
    let now = at("2024-05-01T10:00:10Z");
    for (query, wanted) in [
        ("follow=maybe", "follow"),
        ("tailLines=ten", "tailLines"),
        (
            "limitBytes=0",
            "limitBytes: Invalid value: 0: must be greater than 0",
        ),
        ("sinceSeconds=-3", "sinceSeconds"),
        ("sinceTime=yesterday", "sinceTime"),
        (
            "sinceSeconds=3&sinceTime=2024-05-01T10:00:01Z",
            "at most one of",
        ),
    ] {
        let err = LogQuery::parse(query, now).unwrap_err();
        assert!(err.contains(wanted), "{query}: {err}");
    }
}

#[test]
fn renders_lines_joining_pieces_with_timestamps_on_request() {
    let plain = LogQuery::default();
    assert_eq!(render(&plain, LOG), "one\ntwo\nthree\nfour\n");
    let stamped = LogQuery {
        timestamps: true,
        ..LogQuery::default()
    };
    let text = render(&stamped, LOG);
    assert!(
        text.starts_with("2024-05-01T10:00:00Z one\n2024-05-01T10:00:01.5Z two\n"),
        "{text}"
    );
}

#[test]
fn since_skips_older_records_and_limit_cuts_the_output() {
    let since = LogQuery {
        since: Some(at("2024-05-01T10:00:01Z")),
        ..LogQuery::default()
    };
    assert_eq!(render(&since, LOG), "two\nthree\nfour\n");
    let limited = LogQuery {
        limit_bytes: Some(6),
        ..LogQuery::default()
    };
    let mut renderer = Renderer::new(&limited);
    assert_eq!(renderer.render(LOG).0, b"one\ntw");
    assert!(renderer.done());
    assert!(renderer.render(LOG).0.is_empty());
}

#[test]
fn a_trailing_piece_waits_for_its_newline() {
    let q = LogQuery::default();
    let mut renderer = Renderer::new(&q);
    let (out, consumed) =
        renderer.render(b"2024-05-01T10:00:00Z stdout F one\n2024-05-01T10:00:01Z std");
    assert_eq!(out, b"one\n");
    assert_eq!(consumed, 34);
}

#[test]
fn tail_takes_the_last_raw_lines() {
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
    assert_eq!(render(&LogQuery::default(), tail(LOG, 1)), "four\n");
    assert_eq!(render(&LogQuery::default(), tail(LOG, 2)), "ee\nfour\n");
    assert_eq!(tail(LOG, 0), b"");
    assert_eq!(tail(LOG, 50), LOG);
    assert_eq!(text(tail(b"a\nb\n", 1)), "b\n");
    assert_eq!(tail(b"", 3), b"");
}
