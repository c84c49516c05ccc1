//! The simulator's input: a CSV of per-second observations,
//! `second,concurrency,ready_pods`, seconds consecutive from 0.

/// One second of a trace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TraceRow {
    pub(crate) second: u64,
    /// `None`: no report arrived that second.
    pub(crate) concurrency: Option<f64>,
    pub(crate) ready_pods: u32,
}

pub(crate) const HEADER: [&str; 3] = ["second", "concurrency", "ready_pods"];

/// A malformed trace line (1-based; the header is line 1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("trace line {line}: {problem}")]
pub struct TraceError {
    pub line: usize,
    pub problem: TraceProblem,
}

/// What is wrong with a trace line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceProblem {
    #[error("the trace is empty; expected the header `second,concurrency,ready_pods`")]
    Empty,
    #[error("expected the header `second,concurrency,ready_pods`, found `{0}`")]
    Header(String),
    #[error("blank line")]
    Blank,
    #[error("expected 3 fields, found {0}")]
    FieldCount(usize),
    #[error("second {found:?} should be {expected} (seconds are consecutive from 0)")]
    Second { found: String, expected: u64 },
    #[error("concurrency {0:?} is not a non-negative finite number (leave it empty for no data)")]
    Concurrency(String),
    #[error("ready_pods {0:?} is not a non-negative integer")]
    ReadyPods(String),
}

/// Parses a whole trace. A final newline is optional, `\r\n` is accepted, and
/// fields may carry surrounding spaces.
pub(crate) fn parse_trace(csv: &str) -> Result<Vec<TraceRow>, TraceError> {
    let fail = |index: usize, problem| TraceError {
        line: index + 1,
        problem,
    };
    if csv.trim().is_empty() {
        return Err(fail(0, TraceProblem::Empty));
    }
    let mut lines = csv
        .strip_suffix('\n')
        .unwrap_or(csv)
        .split('\n')
        .enumerate();
    if let Some((i, header)) = lines.next() {
        let header = header.strip_suffix('\r').unwrap_or(header);
        if !header.split(',').map(str::trim).eq(HEADER) {
            return Err(fail(i, TraceProblem::Header(header.to_owned())));
        }
    }
    let mut rows = Vec::new();
    for (i, line) in lines {
        let expected = rows.len() as u64;
        let line = line.strip_suffix('\r').unwrap_or(line);
        rows.push(parse_row(line, expected).map_err(|p| fail(i, p))?);
    }
    Ok(rows)
}

fn parse_row(line: &str, expected: u64) -> Result<TraceRow, TraceProblem> {
    if line.trim().is_empty() {
        return Err(TraceProblem::Blank);
    }
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    let &[second, concurrency, ready_pods] = fields.as_slice() else {
        return Err(TraceProblem::FieldCount(fields.len()));
    };
    if second.parse::<u64>().ok() != Some(expected) {
        return Err(TraceProblem::Second {
            found: second.to_owned(),
            expected,
        });
    }
    let concurrency = match concurrency {
        "" => None,
        text => Some(
            text.parse::<f64>()
                .ok()
                .filter(|c| c.is_finite() && *c >= 0.0)
                .ok_or_else(|| TraceProblem::Concurrency(text.to_owned()))?,
        ),
    };
    let ready_pods = ready_pods
        .parse::<u32>()
        .map_err(|_| TraceProblem::ReadyPods(ready_pods.to_owned()))?;
    Ok(TraceRow {
        second: expected,
        concurrency,
        ready_pods,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(csv: &str) -> (usize, TraceProblem) {
        let e = parse_trace(csv).unwrap_err();
        (e.line, e.problem)
    }

    #[test]
    fn parses_rows_with_and_without_data() {
        let rows = parse_trace("second,concurrency,ready_pods\n0,1.5,1\r\n1,,2\n2, 3 ,0").unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].concurrency, Some(1.5));
        assert_eq!((rows[1].concurrency, rows[1].ready_pods), (None, 2));
        assert_eq!((rows[2].second, rows[2].concurrency), (2, Some(3.0)));
    }

    #[test]
    fn header_only_is_an_empty_trace() {
        assert!(
            parse_trace("second,concurrency,ready_pods\n")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn malformed_lines_are_named() {
        let h = "second,concurrency,ready_pods\n";
        assert_eq!(problem(""), (1, TraceProblem::Empty));
        assert_eq!(problem("\n"), (1, TraceProblem::Empty));
        assert_eq!(
            problem("s,c,r\n"),
            (1, TraceProblem::Header("s,c,r".into()))
        );
        assert_eq!(
            problem(&format!("{h}0,1\n")),
            (2, TraceProblem::FieldCount(2))
        );
        assert_eq!(
            problem(&format!("{h}0,1,1\n\n1,1,1")),
            (3, TraceProblem::Blank)
        );
        assert_eq!(
            problem(&format!("{h}0,1,1\n2,1,1")),
            (
                3,
                TraceProblem::Second {
                    found: "2".into(),
                    expected: 1
                }
            )
        );
        assert_eq!(
            problem(&format!("{h}0,-1,1")),
            (2, TraceProblem::Concurrency("-1".into()))
        );
        assert_eq!(
            problem(&format!("{h}0,NaN,1")),
            (2, TraceProblem::Concurrency("NaN".into()))
        );
        assert_eq!(
            problem(&format!("{h}0,1,")),
            (2, TraceProblem::ReadyPods(String::new()))
        );
        assert_eq!(
            problem(&format!("{h}0,1,1.5")),
            (2, TraceProblem::ReadyPods("1.5".into()))
        );
    }

    #[test]
    fn error_message_names_the_line() {
        let e = parse_trace("second,concurrency,ready_pods\n0,x,1").unwrap_err();
        assert_eq!(
            e.to_string(),
            "trace line 2: concurrency \"x\" is not a non-negative finite number (leave it empty for no data)"
        );
    }
}
