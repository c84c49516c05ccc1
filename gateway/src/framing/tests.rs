use super::*;

/// Feeds `input` in pieces of `step` bytes; returns what hyper would be handed and
/// whether the stream was cut.
fn pass(input: &[u8], step: usize) -> (Vec<u8>, bool) {
    let mut inspector = FramingInspector::default();
    let mut out = Vec::new();
    for piece in input.chunks(step) {
        inspector.push(piece);
        out.extend_from_slice(inspector.vetted());
        let n = inspector.vetted().len();
        inspector.consume(n);
    }
    inspector.finish();
    out.extend_from_slice(inspector.vetted());
    (out, inspector.is_rejected())
}

const GOOD: &[u8] = b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc\
GET /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n3\r\nxyz\r\n0\r\n\r\n\
GET /c HTTP/1.1\r\nHost: h\r\n\r\n";

#[test]
fn good_requests_pass_unchanged_however_they_arrive() {
    for step in [1, 2, 7, 64, GOOD.len()] {
        assert_eq!(pass(GOOD, step), (GOOD.to_vec(), false), "step {step}");
    }
}

#[test]
fn ambiguous_heads_are_replaced_and_the_stream_ends() {
    let cases: [&[u8]; 6] = [
        b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        b"POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        // A coding the gateway would drop when it re-frames: refused, not mangled.
        b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
    ];
    for case in cases {
        let mut input = GOOD.to_vec();
        input.extend_from_slice(case);
        input.extend_from_slice(b"GET /after HTTP/1.1\r\n\r\n");
        for step in [1, 5, input.len()] {
            let mut expected = GOOD.to_vec();
            expected.extend_from_slice(REJECTED_HEAD);
            assert_eq!(
                pass(&input, step),
                (expected, true),
                "{}",
                String::from_utf8_lossy(case)
            );
        }
    }
}

#[test]
fn repeated_equal_content_lengths_are_fine() {
    let input = b"POST / HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nok";
    assert_eq!(pass(input, 3), (input.to_vec(), false));
}

#[test]
fn http2_preface_upgrades_and_oversized_heads_pass_through() {
    let h2 = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0";
    assert_eq!(pass(h2, 4), (h2.to_vec(), false));

    let upgrade = b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_eq!(pass(upgrade, 9), (upgrade.to_vec(), false));

    let mut big = b"GET / HTTP/1.1\r\nX: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', MAX_HEAD_BYTES + 10));
    assert_eq!(pass(&big, 4096), (big.clone(), false));
}

#[test]
fn a_truncated_head_is_handed_over_at_eof() {
    let partial = b"GET / HTTP/1.1\r\nHost: h\r\n";
    assert_eq!(pass(partial, 3), (partial.to_vec(), false));
}
