//! Request bodies → the object they carry: JSON, YAML or Kubernetes protobuf, as the
//! Content-Type says. A body that is not one object is a `400 Bad Request` naming what
//! is wrong with it.

use serde_json::Value;

use crate::status::ApiError;

/// Decodes a create or update body into an object.
pub fn decode_object(content_type: &str, body: &[u8]) -> Result<Value, ApiError> {
    if crate::protobuf::is_protobuf_content_type(content_type) {
        // kubectl's typed clients (`kubectl create configmap …`) send protobuf.
        return crate::protobuf::decode(body).map_err(|e| ApiError::bad_request(e.to_string()));
    }
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) if content_type.contains("yaml") => {
            let text = std::str::from_utf8(body)
                .map_err(|_| ApiError::bad_request("body is not UTF-8"))?;
            super::yaml::decode_yaml(text).map_err(|ye| {
                ApiError::bad_request(format!("the body is neither JSON ({e}) nor YAML ({ye})"))
            })?
        }
        Err(e) => {
            return Err(ApiError::bad_request(format!(
                "couldn't get version/kind; json parse error: {e}"
            )));
        }
    };
    if !v.is_object() {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object",
        ));
    }
    Ok(v)
}
