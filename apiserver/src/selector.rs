//! Label and field selectors, parsed and matched the way kube-apiserver does
//! for `?labelSelector=` and `?fieldSelector=` on list and watch.
//!
//! Label grammar (apimachinery `labels.Parse`): comma-joined requirements
//! `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, `k>1`,
//! `k<1`. Field grammar (`fields.ParseSelector`): comma-joined `f=v`, `f==v`,
//! `f!=v` with `\` escaping, restricted to the fields the resource supports.

mod field;
mod selectable;

use serde_json::{Map, Value};
use thiserror::Error;

pub use field::FieldSelector;
pub use selectable::{SelectableField, selectable_fields};

/// Why a selector string was rejected; the server returns it as a 400.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SelectorError {
    #[error("unable to parse requirement: {0}")]
    Label(String),
    #[error("invalid selector: '{selector}'; can't understand '{term}'")]
    FieldSyntax { selector: String, term: String },
    #[error("field label not supported: {0}")]
    UnsupportedField(String),
}

// === LabelSelector ===

#[derive(Debug, Clone, PartialEq, Eq)]
enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
    Gt,
    Lt,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Requirement {
    key: String,
    op: Operator,
    values: Vec<String>,
}

/// A parsed label selector; every requirement must hold (logical AND).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Ident(String),
    Bang,
    Eq,
    DoubleEq,
    NotEq,
    Gt,
    Lt,
    Comma,
    Open,
    Close,
}

fn is_special(c: char) -> bool {
    matches!(c, '!' | '=' | ',' | '(' | ')' | '<' | '>')
}

fn lex(s: &str) -> Vec<Token> {
    let chars: Vec<char> = s.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        i += 1;
        let next_is_eq = chars.get(i) == Some(&'=');
        let token = match c {
            c if c.is_whitespace() => continue,
            '!' if next_is_eq => {
                i += 1;
                Token::NotEq
            }
            '!' => Token::Bang,
            '=' if next_is_eq => {
                i += 1;
                Token::DoubleEq
            }
            '=' => Token::Eq,
            '>' => Token::Gt,
            '<' => Token::Lt,
            ',' => Token::Comma,
            '(' => Token::Open,
            ')' => Token::Close,
            _ => {
                let start = i - 1;
                while chars
                    .get(i)
                    .is_some_and(|c| !c.is_whitespace() && !is_special(*c))
                {
                    i += 1;
                }
                Token::Ident(chars[start..i].iter().collect())
            }
        };
        tokens.push(token);
    }
    tokens
}

/// Label keys are qualified names: optional DNS-subdomain prefix and `/`,
/// then a name of at most 63 alphanumerics, `-`, `_`, `.`.
fn validate_key(key: &str) -> Result<(), SelectorError> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let bad = |why: &str| Err(SelectorError::Label(format!("key {key:?}: {why}")));
    if let Some(p) = prefix {
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if p.len() > 253 || !p.split('.').all(label_ok) {
            return bad("prefix must be a DNS-1123 subdomain");
        }
    }
    if name.is_empty() {
        return bad("name part must be non-empty");
    }
    if !is_label_value(name) {
        return bad(
            "name part must be 63 characters or less, alphanumeric, '-', '_' or '.', starting and ending alphanumeric",
        );
    }
    Ok(())
}

fn is_label_value(v: &str) -> bool {
    let alnum = |c: Option<char>| c.is_none_or(|c| c.is_ascii_alphanumeric());
    v.len() <= 63
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && alnum(v.chars().next())
        && alnum(v.chars().last())
}

fn validate_value(key: &str, value: &str) -> Result<(), SelectorError> {
    if is_label_value(value) {
        Ok(())
    } else {
        Err(SelectorError::Label(format!(
            "values for key {key:?}: invalid value {value:?}: a valid label must be 63 characters or less, empty or alphanumeric with '-', '_' or '.' inside"
        )))
    }
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn err<T>(&self, what: &str) -> Result<T, SelectorError> {
        let found = match self.tokens.get(self.pos.saturating_sub(1)) {
            Some(t) => format!("{t:?}"),
            None => "end of input".to_owned(),
        };
        Err(SelectorError::Label(format!(
            "expected {what}, found {found}"
        )))
    }

    fn requirement(&mut self) -> Result<Requirement, SelectorError> {
        let negated = self.peek() == Some(&Token::Bang);
        if negated {
            self.pos += 1;
        }
        let Some(Token::Ident(key)) = self.next() else {
            return self.err("a label key");
        };
        validate_key(&key)?;
        let at_end = matches!(self.peek(), None | Some(Token::Comma));
        if negated || at_end {
            if negated && !at_end {
                return self.err("',' or end of input after '!key'");
            }
            let op = if negated {
                Operator::DoesNotExist
            } else {
                Operator::Exists
            };
            return Ok(Requirement {
                key,
                op,
                values: Vec::new(),
            });
        }
        let (op, values) = match self.next() {
            Some(Token::Eq | Token::DoubleEq) => (Operator::In, vec![self.single_value()?]),
            Some(Token::NotEq) => (Operator::NotIn, vec![self.single_value()?]),
            Some(Token::Gt) => (Operator::Gt, vec![self.integer()?]),
            Some(Token::Lt) => (Operator::Lt, vec![self.integer()?]),
            Some(Token::Ident(w)) if w == "in" => (Operator::In, self.value_set()?),
            Some(Token::Ident(w)) if w == "notin" => (Operator::NotIn, self.value_set()?),
            _ => return self.err("an operator (=, ==, !=, in, notin, <, >)"),
        };
        for v in &values {
            validate_value(&key, v)?;
        }
        Ok(Requirement { key, op, values })
    }

    /// `k=` is legal and means the empty value.
    fn single_value(&mut self) -> Result<String, SelectorError> {
        match self.peek() {
            Some(Token::Ident(v)) => {
                let v = v.clone();
                self.pos += 1;
                Ok(v)
            }
            None | Some(Token::Comma) => Ok(String::new()),
            Some(_) => {
                self.pos += 1;
                self.err("a label value")
            }
        }
    }

    fn integer(&mut self) -> Result<String, SelectorError> {
        match self.next() {
            Some(Token::Ident(v)) if v.parse::<i64>().is_ok() => Ok(v),
            _ => self.err("an integer value"),
        }
    }

    fn value_set(&mut self) -> Result<Vec<String>, SelectorError> {
        if self.next() != Some(Token::Open) {
            return self.err("'('");
        }
        let mut values = Vec::new();
        loop {
            // An empty slot, as in `in ()` or `in (a,)`, is the empty value.
            let value = match self.peek() {
                Some(Token::Ident(v)) => {
                    let v = v.clone();
                    self.pos += 1;
                    v
                }
                _ => String::new(),
            };
            values.push(value);
            match self.next() {
                Some(Token::Comma) => {}
                Some(Token::Close) => return Ok(values),
                _ => return self.err("',' or ')' in value set"),
            }
        }
    }
}

impl LabelSelector {
    /// Parses a label selector; the empty string selects everything.
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let mut parser = Parser {
            tokens: lex(s),
            pos: 0,
        };
        let mut requirements = Vec::new();
        while parser.peek().is_some() {
            requirements.push(parser.requirement()?);
            match parser.next() {
                None => break,
                Some(Token::Comma) if parser.peek().is_some() => {}
                _ => return parser.err("',' between requirements"),
            }
        }
        Ok(Self { requirements })
    }

    /// True if this selector selects everything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether an object's `metadata.labels` satisfy every requirement.
    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        self.matches_by(|key| labels.and_then(|l| l.get(key)).and_then(Value::as_str))
    }

    /// [`LabelSelector::matches`] over any view of the labels: `label(key)` is the
    /// value of label `key` (None when absent or not a string). The store keeps each
    /// object's labels apart from its JSON so a selector needs no parse.
    pub fn matches_by<'a>(&self, label: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.requirements.iter().all(|r| {
            let value = label(&r.key);
            let in_set = |v: &str| r.values.iter().any(|x| x == v);
            let compare = |v: &str, want: std::cmp::Ordering| {
                let parsed = (v.parse::<i64>(), r.values.first().map(|x| x.parse::<i64>()));
                matches!(parsed, (Ok(have), Some(Ok(bound))) if have.cmp(&bound) == want)
            };
            match (&r.op, value) {
                (Operator::Exists, v) => v.is_some(),
                (Operator::DoesNotExist, v) => v.is_none(),
                (Operator::In, Some(v)) => in_set(v),
                (Operator::NotIn, Some(v)) => !in_set(v),
                (Operator::NotIn, None) => true,
                (Operator::Gt, Some(v)) => compare(v, std::cmp::Ordering::Greater),
                (Operator::Lt, Some(v)) => compare(v, std::cmp::Ordering::Less),
                (Operator::In | Operator::Gt | Operator::Lt, None) => false,
            }
        })
    }
}

#[cfg(test)]
mod tests;
