//! The CSV dialect of kube-apiserver's `--token-auth-file` (Go's `encoding/csv` with a
//! variable number of fields): fields split by commas, a field that starts with `"` is
//! quoted (`""` is a quote inside it, and it may span lines), blank lines are skipped,
//! `\r\n` ends a line like `\n`. One addition: a line whose first character is `#` is
//! a comment (Go's reader, as kube configures it, has no comments).

/// One record and the line it starts on (1-based).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) line: usize,
    pub(crate) fields: Vec<String>,
}

/// What is wrong with the text, and on which line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub(crate) line: usize,
    pub(crate) message: &'static str,
}

pub(crate) fn records(text: &str) -> Result<Vec<Record>, SyntaxError> {
    let text = text.replace("\r\n", "\n");
    let mut chars = text.chars().peekable();
    let mut line = 1;
    let mut out = Vec::new();
    loop {
        // At the start of a line: skip blank and comment lines.
        match chars.peek() {
            None => return Ok(out),
            Some('\n') => {
                chars.next();
                line += 1;
                continue;
            }
            Some('#') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
                line += 1;
                continue;
            }
            Some(_) => {}
        }
        let start = line;
        let mut fields = Vec::new();
        loop {
            let mut field = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                loop {
                    match chars.next() {
                        None => {
                            return Err(SyntaxError {
                                line: start,
                                message: "a quoted field is not closed (a `\"` is missing)",
                            });
                        }
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        Some('"') => break,
                        Some(c) => {
                            if c == '\n' {
                                line += 1;
                            }
                            field.push(c);
                        }
                    }
                }
                if !matches!(chars.peek(), None | Some(',' | '\n')) {
                    return Err(SyntaxError {
                        line,
                        message: "text after a quoted field's closing `\"` (a quote inside a quoted field is written `\"\"`)",
                    });
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ',' || c == '\n' {
                        break;
                    }
                    if c == '"' {
                        return Err(SyntaxError {
                            line,
                            message: "a `\"` inside a field that is not quoted (quote the whole field: \"a,b\")",
                        });
                    }
                    field.push(c);
                    chars.next();
                }
            }
            fields.push(field);
            match chars.next() {
                Some(',') => {}
                Some('\n') => {
                    line += 1;
                    break;
                }
                _ => break,
            }
        }
        out.push(Record {
            line: start,
            fields,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str) -> Vec<Vec<String>> {
        records(text)
            .unwrap()
            .into_iter()
            .map(|r| r.fields)
            .collect()
    }

    #[test]
    fn plain_and_quoted_fields() {
        assert_eq!(
            fields("t1,alice,1,\"g1,g2\"\nt2,bob,2\n"),
            vec![vec!["t1", "alice", "1", "g1,g2"], vec!["t2", "bob", "2"]]
        );
        assert_eq!(
            fields("a,\"say \"\"hi\"\"\",\"\"")[0],
            vec!["a", "say \"hi\"", ""]
        );
        assert_eq!(fields("a,,b,")[0], vec!["a", "", "b", ""]);
    }

    #[test]
    fn blank_lines_comments_and_crlf_are_skipped_with_lines_counted() {
        let r = records("# admins\r\n\r\nt1,a,1\r\n\n#x,y,z\nt2,b,2").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].line, r[1].line), (3, 6));
        assert_eq!(r[1].fields, vec!["t2", "b", "2"]);
    }

    #[test]
    fn a_quoted_field_may_span_lines() {
        let r = records("t1,a,1,\"g1,\ng2\"\nt2,b,2\n").unwrap();
        assert_eq!(r[0].fields[3], "g1,\ng2");
        assert_eq!((r[0].line, r[1].line), (1, 3));
    }

    #[test]
    fn stray_quotes_are_errors_naming_the_line() {
        let e = records("t1,a,1\nt2,b\"ob,2\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("not quoted"), "{}", e.message);
        let e = records("t1,a,1\n\nt2,\"bob\"x,2\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("closing"), "{}", e.message);
        let e = records("t1,a,1\nt2,\"bob,2\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("not closed"), "{}", e.message);
    }
}
