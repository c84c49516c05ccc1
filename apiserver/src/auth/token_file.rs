//! `--token-auth-file`: kube-apiserver's static token file (`token,user,uid,"g1,g2"`),
//! plus an optional fifth column naming the namespaces a token may touch
//! (`"team-a,team-b"`; without it the token is unrestricted). Any bad line fails the
//! whole file, naming the line and the rule, so the server never starts with half of
//! its tokens.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::csv;
use super::{Scope, User};

/// Larger token files are refused rather than read into memory.
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// One token and who it authenticates.
#[derive(Debug, Clone)]
pub struct TokenEntry {
    pub line: usize,
    pub token: String,
    pub user: User,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenFileError {
    #[error("cannot read the token file {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("the token file {0} is {1} bytes; at most 16 MiB is read")]
    TooLarge(PathBuf, u64),
    #[error("token file {path}, line {line}: {message}")]
    Line {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// A bad line of the file, before the file's path is known.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct LineError {
    pub(crate) line: usize,
    pub(crate) message: String,
}

pub fn load(path: &Path) -> Result<Vec<TokenEntry>, TokenFileError> {
    let read = |e| TokenFileError::Read(path.to_path_buf(), e);
    let size = std::fs::metadata(path).map_err(read)?.len();
    if size > MAX_FILE_BYTES {
        return Err(TokenFileError::TooLarge(path.to_path_buf(), size));
    }
    let bytes = std::fs::read(path).map_err(read)?;
    let text = String::from_utf8(bytes).map_err(|_| TokenFileError::Line {
        path: path.to_path_buf(),
        line: 1,
        message: "the file is not UTF-8 text".into(),
    })?;
    parse(&text).map_err(|e| TokenFileError::Line {
        path: path.to_path_buf(),
        line: e.line,
        message: e.message,
    })
}

pub(crate) fn parse(text: &str) -> Result<Vec<TokenEntry>, LineError> {
    let records = csv::records(text).map_err(|e| LineError {
        line: e.line,
        message: e.message.to_string(),
    })?;
    let mut first_seen: HashMap<String, usize> = HashMap::new();
    let mut entries = Vec::with_capacity(records.len());
    for record in records {
        let line = record.line;
        let bad = |message: String| LineError { line, message };
        let entry = entry(record).map_err(bad)?;
        if let Some(earlier) = first_seen.insert(entry.token.clone(), line) {
            return Err(bad(format!(
                "the token is already given on line {earlier}; each token must name one user"
            )));
        }
        entries.push(entry);
    }
    Ok(entries)
}

fn entry(record: csv::Record) -> Result<TokenEntry, String> {
    let line = record.line;
    let mut fields = record.fields.into_iter();
    let n = fields.len();
    if !(3..=5).contains(&n) {
        return Err(format!(
            "expected 3 to 5 columns (token, user name, user uid, \"groups\", \"namespaces\"), found {n}"
        ));
    }
    let token = fields.next().unwrap_or_default();
    let name = fields.next().unwrap_or_default();
    let uid = fields.next().unwrap_or_default();
    if token.is_empty() {
        return Err("the token (column 1) is empty".into());
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(
            "the token (column 1) must be printable ASCII without spaces, as a bearer token in an HTTP header is"
                .into(),
        );
    }
    if name.is_empty() {
        return Err("the user name (column 2) is empty".into());
    }
    let groups = match fields.next() {
        Some(g) if !g.is_empty() => g.split(',').map(str::to_string).collect(),
        _ => Vec::new(),
    };
    let scope = match fields.next() {
        None => Scope::All,
        Some(list) => Scope::Namespaces(namespaces(&list)?),
    };
    Ok(TokenEntry {
        line,
        token,
        user: User {
            name,
            uid,
            groups,
            scope,
        },
    })
}

/// The fifth column: a comma-separated list of namespace names.
fn namespaces(list: &str) -> Result<BTreeSet<String>, String> {
    if list.trim().is_empty() {
        return Err(
            "the namespaces (column 5) are empty: list at least one namespace, or leave the column out for a token that may touch every namespace"
                .into(),
        );
    }
    list.split(',')
        .map(str::trim)
        .map(|ns| {
            if is_namespace_name(ns) {
                Ok(ns.to_string())
            } else {
                Err(format!(
                    "namespace \"{ns}\" (column 5) is not a valid namespace name: at most 63 lowercase letters, digits or '-', starting and ending with a letter or digit"
                ))
            }
        })
        .collect()
}

/// RFC 1123 label, as Kubernetes requires of namespace names.
fn is_namespace_name(s: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes.iter().all(|&b| alnum(b) || b == b'-')
        && bytes.first().copied().is_some_and(alnum)
        && bytes.last().copied().is_some_and(alnum)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(ns: &[&str]) -> Scope {
        Scope::Namespaces(ns.iter().map(|s| (*s).to_string()).collect())
    }

    #[test]
    fn kube_format_with_and_without_namespaces() {
        let entries = parse(
            "# fnmesh tokens\n\
             admin-token,admin,0,\"system:masters\"\n\
             \n\
             alice-token,alice,1001,\"dev,qa\",\"team-a, team-b\"\n\
             bob-token,bob,1002,,team-c\n\
             carol-token,carol,1003\n",
        )
        .unwrap();
        assert_eq!(entries.len(), 4);
        let admin = &entries[0];
        assert_eq!((admin.line, admin.token.as_str()), (2, "admin-token"));
        assert_eq!(admin.user.groups, vec!["system:masters"]);
        assert_eq!(admin.user.scope, Scope::All);
        let alice = &entries[1];
        assert_eq!(alice.line, 4);
        assert_eq!(
            (alice.user.name.as_str(), alice.user.uid.as_str()),
            ("alice", "1001")
        );
        assert_eq!(alice.user.groups, vec!["dev", "qa"]);
        assert_eq!(alice.user.scope, scope(&["team-a", "team-b"]));
        assert_eq!(entries[2].user.scope, scope(&["team-c"]));
        assert!(entries[2].user.groups.is_empty());
        assert_eq!(entries[3].user.scope, Scope::All);
    }

    fn error(text: &str) -> LineError {
        parse(text).unwrap_err()
    }

    #[test]
    fn each_rule_names_its_line() {
        let cases = [
            ("t,alice\n", 1, "expected 3 to 5 columns"),
            ("t,a,1\nt2,b,2,g,ns,extra\n", 2, "found 6"),
            ("t,a,1\n,b,2\n", 2, "token (column 1) is empty"),
            ("t,a,1\n\"my token\",b,2\n", 2, "without spaces"),
            ("t,,1\n", 1, "user name (column 2) is empty"),
            ("t,a,1,,\"\"\n", 1, "namespaces (column 5) are empty"),
            ("t,a,1,,\"team-a,Team-B\"\n", 1, "namespace \"Team-B\""),
            ("t,a,1,,\"team-a,,team-b\"\n", 1, "namespace \"\""),
            ("t,a,1\n\nt,b,2\n", 3, "already given on line 1"),
            ("t,a,1\nt2,\"b,2\n", 2, "not closed"),
        ];
        for (text, line, rule) in cases {
            let e = error(text);
            assert_eq!(e.line, line, "{text:?}: {e:?}");
            assert!(e.message.contains(rule), "{text:?}: {}", e.message);
        }
    }

    #[test]
    fn namespace_names_follow_rfc_1123() {
        assert!(is_namespace_name("team-a"));
        assert!(is_namespace_name("a"));
        assert!(is_namespace_name(&"a".repeat(63)));
        for bad in ["", "-a", "a-", "A", "a.b", "a_b", &"a".repeat(64)] {
            assert!(!is_namespace_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn load_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.csv");
        std::fs::write(&path, "ok,a,1\nbad\n").unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("token file {}, line 2:", path.display())),
            "{e}"
        );
        let missing = load(&dir.path().join("none.csv")).unwrap_err().to_string();
        assert!(missing.contains("cannot read the token file"), "{missing}");
    }
}
