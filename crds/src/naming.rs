//! Revision naming, following Knative's `kmeta.ChildName`: `<parent><suffix>`,
//! and when that passes 63 characters the parent is cut and an md5 of it keeps
//! the name unique.

use md5::{Digest, Md5};

/// The longest name Kubernetes accepts for a DNS label.
pub const MAX_NAME_LEN: usize = 63;
const MD5_HEX_LEN: usize = 32;
const HEAD: usize = MAX_NAME_LEN - MD5_HEX_LEN;

/// `<config>-%05d` of the Configuration's generation (`hello-00001`), shortened with an md5
/// past 63 characters.
pub fn revision_name(config_name: &str, generation: i64) -> String {
    child_name(config_name, &format!("-{generation:05}"))
}

/// Knative's `kmeta.ChildName`: the same inputs always give the same ≤ 63 character name.
pub fn child_name(parent: &str, suffix: &str) -> String {
    if parent.len() + suffix.len() <= MAX_NAME_LEN {
        return format!("{parent}{suffix}");
    }
    if suffix.len() >= HEAD {
        // The suffix alone leaves no room: hash everything and keep what fits.
        let hash = md5_hex(&format!("{parent}{suffix}"));
        let mut out = format!("{}{hash}", prefix(parent, HEAD));
        if out.len() < MAX_NAME_LEN {
            out.push_str(prefix(suffix, MAX_NAME_LEN - out.len()));
        }
        return trim_non_alphanumeric_tail(out);
    }
    format!(
        "{}{}{suffix}",
        prefix(parent, HEAD - suffix.len()),
        md5_hex(parent)
    )
}

fn md5_hex(s: &str) -> String {
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The first `n` bytes of `s`, backing off to a char boundary (Kubernetes names are ASCII,
/// but this is a public function and must not panic).
fn prefix(s: &str, n: usize) -> &str {
    let mut n = n.min(s.len());
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    &s[..n]
}

fn trim_non_alphanumeric_tail(mut s: String) -> String {
    while s.ends_with(|c: char| !c.is_ascii_alphanumeric()) {
        s.pop();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_plain() {
        assert_eq!(revision_name("hello", 1), "hello-00001");
        assert_eq!(revision_name("hello", 123_456), "hello-123456");
    }

    #[test]
    fn exactly_63_is_untouched() {
        let parent = "a".repeat(57);
        assert_eq!(revision_name(&parent, 1), format!("{parent}-00001"));
    }

    #[test]
    fn long_names_are_hashed_to_63() {
        let parent = "a".repeat(60);
        let name = revision_name(&parent, 1);
        assert_eq!(name.len(), 63);
        assert!(name.ends_with("-00001"));
        assert!(name.starts_with(&"a".repeat(25)));
        assert_eq!(&name[25..57], md5_hex(&parent));
    }

    #[test]
    fn long_suffix_hashes_everything() {
        let suffix = format!("-{}", "b".repeat(59));
        let name = child_name("parent", &suffix);
        assert_eq!(name.len(), 63);
        assert!(name.starts_with("parent"));
        assert_eq!(&name[6..38], md5_hex(&format!("parent{suffix}")));
    }
}
