//! AFL target: JSON, merge, strategic-merge and apply patches of every seeded kind.
//! Input: a target byte, a flags byte (patch type, /status, force), the patch body.

#[path = "../../apiserver/tests/fuzzing/mod.rs"]
mod fuzzing;

use std::sync::LazyLock;

use fuzzing::{Harness, PatchRequest};

fn main() {
    // Built in the forked child, on the first input (see api_body).
    static HARNESS: LazyLock<Harness> = LazyLock::new(Harness::new);
    afl::fuzz!(|data: &[u8]| {
        if let Some((target, flags, body)) = fuzzing::split(data) {
            HARNESS.patch(PatchRequest::from_bytes(target, flags), body);
        }
    });
}
