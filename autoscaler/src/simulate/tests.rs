use super::*;

const HEADER: &str = "second,concurrency,ready_pods\n";

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|&(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn trace(rows: &[(&str, u32)]) -> String {
    let mut t = HEADER.to_owned();
    for (i, (c, r)) in rows.iter().enumerate() {
        t.push_str(&format!("{i},{c},{r}\n"));
    }
    t
}

#[test]
fn decides_at_positive_even_seconds_only() {
    let out = simulate(&trace(&[("35", 1); 6]), &[], &[]).unwrap();
    assert_eq!(
        out,
        "second,desired_pods,excess_burst_capacity,panic\n2,1,-146,0\n4,1,-146,0\n"
    );
}

#[test]
fn header_only_trace_gives_header_only_output() {
    assert_eq!(
        simulate(HEADER, &[], &[]).unwrap(),
        format!("{OUTPUT_HEADER}\n")
    );
}

#[test]
fn ticks_without_data_write_no_row() {
    let out = simulate(&trace(&[("", 0); 5]), &[], &[]).unwrap();
    assert_eq!(out, format!("{OUTPUT_HEADER}\n"));
}

#[test]
fn annotation_prefix_is_optional_and_cc_is_a_pseudo_annotation() {
    let t = trace(&[("20", 1); 3]);
    let short = simulate(
        &t,
        &[],
        &pairs(&[
            ("containerConcurrency", "10"),
            ("target-burst-capacity", "0"),
        ]),
    );
    let full = simulate(
        &t,
        &[],
        &pairs(&[
            ("containerConcurrency", "10"),
            ("autoscaling.knative.dev/target-burst-capacity", "0"),
        ]),
    );
    // cc 10 → target 7 → ceil(20 / 7) = 3; 3 on 1 ready panics.
    assert_eq!(short.unwrap(), format!("{OUTPUT_HEADER}\n2,3,0,1\n"));
    assert_eq!(full.unwrap(), format!("{OUTPUT_HEADER}\n2,3,0,1\n"));
}

#[test]
fn a_key_given_twice_keeps_the_last_value() {
    let t = trace(&[("20", 1); 3]);
    let out = simulate(
        &t,
        &pairs(&[
            ("target-burst-capacity", "5"),
            ("target-burst-capacity", "0"),
        ]),
        &[],
    );
    assert_eq!(out.unwrap(), format!("{OUTPUT_HEADER}\n2,1,0,0\n"));
}

#[test]
fn unknown_keys_are_errors_naming_the_key() {
    let t = trace(&[("1", 1)]);
    let err = simulate(&t, &pairs(&[("_example", "x")]), &[]).unwrap_err();
    assert_eq!(err, SimulateError::UnknownConfigKey("_example".into()));
    assert_eq!(
        err.to_string(),
        "unknown config-autoscaler key \"_example\""
    );
    let err = simulate(&t, &[], &pairs(&[("windw", "10s")])).unwrap_err();
    assert_eq!(err.to_string(), "unknown autoscaling annotation \"windw\"");
    let err = simulate(&t, &[], &pairs(&[("serving.knative.dev/creator", "me")])).unwrap_err();
    assert_eq!(
        err,
        SimulateError::UnknownAnnotation("serving.knative.dev/creator".into())
    );
}

#[test]
fn bad_values_are_errors_naming_the_key() {
    let t = trace(&[("1", 1)]);
    let err = simulate(&t, &pairs(&[("stable-window", "2s")]), &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "stable-window: must be between 6s and 1h, got 2s"
    );
    let err = simulate(&t, &[], &pairs(&[("window", "2s")])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "autoscaling.knative.dev/window: must be between 6s and 1h, got 2s"
    );
    for cc in ["-1", "1001", "x"] {
        let err = simulate(&t, &[], &pairs(&[("containerConcurrency", cc)])).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("containerConcurrency: must be an integer between 0 and 1000, got {cc}")
        );
    }
}

#[test]
fn malformed_trace_names_the_line() {
    let err = simulate(&format!("{HEADER}0,1,1\n1,1\n"), &[], &[]).unwrap_err();
    assert_eq!(err.to_string(), "trace line 3: expected 3 fields, found 2");
}

#[test]
fn rps_reads_the_column_as_requests_per_second() {
    // rps target 200 × 0.7 = 140: 150 rps → 2 pods on 3 ready, no panic;
    // EBC uses the rps total: floor(3 × 200 − 211 − 150) = 239.
    let t = trace(&[("150", 1), ("150", 3), ("150", 3)]);
    let out = simulate(&t, &[], &pairs(&[("metric", "rps")])).unwrap();
    assert_eq!(out, format!("{OUTPUT_HEADER}\n2,2,239,0\n"));
}
