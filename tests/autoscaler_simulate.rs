//! `fnmesh autoscaler simulate` as a user runs it: the real binary on the golden traces
//! (worked out by hand from Knative's rules, autoscaler/tests/golden/README.md), and
//! the errors that name what is wrong.

mod common;

use std::path::Path;
use std::process::Command;

fn simulate(trace: &Path, args: &[String]) -> std::process::Output {
    Command::new(common::bin())
        .args(["autoscaler", "simulate", "--trace"])
        .arg(trace)
        .args(args)
        .output()
        .expect("run fnmesh")
}

#[test]
fn golden_traces_print_knatives_decisions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("autoscaler/tests/golden");
    let mut cases = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let args: Vec<String> = std::fs::read_to_string(dir.join("args"))
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .flat_map(|l| {
                l.split_once(' ')
                    .map(|(f, v)| [f.to_owned(), v.to_owned()])
                    .unwrap()
            })
            .collect();
        let out = simulate(&dir.join("trace.csv"), &args);
        assert!(
            out.status.success(),
            "{}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let expected = std::fs::read_to_string(dir.join("expected.csv")).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            expected,
            "{}",
            dir.display()
        );
        cases += 1;
    }
    assert!(cases >= 5, "found {cases} golden traces");
}

#[test]
fn a_bad_trace_or_key_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.csv");
    std::fs::write(&trace, "second,concurrency,ready_pods\n0,1,1\n1,abc,1\n").unwrap();
    let out = simulate(&trace, &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 3"), "{stderr}");

    std::fs::write(&trace, "second,concurrency,ready_pods\n0,1,1\n").unwrap();
    let out = simulate(&trace, &["--config".into(), "stable-windw=6s".into()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("stable-windw"));
    let out = simulate(&trace, &["--annotation".into(), "targett=5".into()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("targett"));
    let out = simulate(&trace, &["--config".into(), "stable-window=2s".into()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("stable-window"),
        "{stderr}"
    );
}
