//! Golden traces for `simulate`: each folder under `tests/golden/` holds a
//! `trace.csv`, the `args` it runs with (one `--config K=V` or
//! `--annotation K=V` per line, as the CLI takes them) and the
//! `expected.csv` worked out by hand from Knative's rules (see the README
//! there). Outputs must match byte for byte.

use std::fs;
use std::path::{Path, PathBuf};

type Pairs = Vec<(String, String)>;

fn parse_args(text: &str) -> (Pairs, Pairs) {
    let (mut config, mut annotations) = (Vec::new(), Vec::new());
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (flag, pair) = line
            .split_once(' ')
            .unwrap_or_else(|| panic!("bad args line {line:?}"));
        let (k, v) = pair
            .split_once('=')
            .unwrap_or_else(|| panic!("bad pair {pair:?}"));
        let target = match flag {
            "--config" => &mut config,
            "--annotation" => &mut annotations,
            _ => panic!("unknown flag {flag:?}"),
        };
        target.push((k.to_owned(), v.to_owned()));
    }
    (config, annotations)
}

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut dirs: Vec<_> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn run(dir: &Path) -> Result<(), String> {
    let read = |name: &str| fs::read_to_string(dir.join(name)).unwrap_or_default();
    let (config, annotations) = parse_args(&read("args"));
    let got = autoscaler::simulate(&read("trace.csv"), &config, &annotations)
        .map_err(|e| format!("{}: simulate failed: {e}", dir.display()))?;
    let want = read("expected.csv");
    if got == want {
        return Ok(());
    }
    let first_diff = got
        .lines()
        .zip(want.lines())
        .find(|(g, w)| g != w)
        .map_or_else(
            || "(one output is a prefix of the other)".to_owned(),
            |(g, w)| format!("first difference: got {g:?}, want {w:?}"),
        );
    Err(format!(
        "{}: {first_diff}\n--- got\n{got}--- want\n{want}",
        dir.display()
    ))
}

#[test]
fn golden_traces_match_byte_for_byte() {
    let cases = cases();
    assert!(
        cases.len() >= 5,
        "expected the golden cases, found {cases:?}"
    );
    let failures: Vec<String> = cases.iter().filter_map(|d| run(d).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
