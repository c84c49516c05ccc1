//! Object names: `generateName` and the DNS rules Kubernetes holds names to.

use serde_json::Value;

use crate::resource::ResourceType;
use crate::status::{ApiError, Cause};

/// The alphabet Kubernetes uses for generated suffixes (no vowels, no look-alikes).
const SUFFIX_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// If the object has no name but a `generateName`, give it one.
pub fn assign_generated_name(obj: &mut Value) {
    let meta = crate::write::metadata_mut(obj);
    let has_name = meta
        .get("name")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    if has_name {
        return;
    }
    let Some(prefix) = meta.get("generateName").and_then(Value::as_str) else {
        return;
    };
    let bytes = uuid::Uuid::new_v4().into_bytes();
    let suffix: String = bytes[..5]
        .iter()
        .map(|b| SUFFIX_ALPHABET[*b as usize % SUFFIX_ALPHABET.len()] as char)
        .collect();
    // Kubernetes keeps generated names within 63 characters.
    let prefix: String = prefix.chars().take(58).collect();
    meta.insert("name".into(), Value::from(format!("{prefix}{suffix}")));
}

/// Names are DNS-1123 subdomains (serving kinds are further checked by `crds`).
pub fn validate(rt: &ResourceType, name: &str) -> Result<(), ApiError> {
    let message = if name.is_empty() {
        Some("Required value: name or generateName is required".to_string())
    } else {
        dns1123_subdomain(name).err()
    };
    match message {
        None => Ok(()),
        Some(message) => Err(ApiError::invalid(
            rt,
            name,
            vec![Cause {
                field: "metadata.name".into(),
                message,
                reason: "FieldValueInvalid",
            }],
        )),
    }
}

fn dns1123_subdomain(name: &str) -> Result<(), String> {
    if name.len() > 253 {
        return Err(format!(
            "Invalid value: \"{name}\": must be no more than 253 characters"
        ));
    }
    let ok = name.split('.').all(|label| {
        !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomain_rules() {
        assert!(dns1123_subdomain("hello").is_ok());
        assert!(dns1123_subdomain("a.b-c.d9").is_ok());
        for bad in ["Hello", "-a", "a-", "a..b", "a_b", "a/b", ""] {
            assert!(dns1123_subdomain(bad).is_err(), "{bad}");
        }
        assert!(dns1123_subdomain(&"a".repeat(254)).is_err());
    }

    #[test]
    fn generate_name_appends_five_characters() {
        let mut obj = serde_json::json!({"metadata": {"generateName": "hello-"}});
        assign_generated_name(&mut obj);
        let name = obj["metadata"]["name"].as_str().unwrap();
        assert!(name.starts_with("hello-") && name.len() == 11, "{name}");
    }
}
