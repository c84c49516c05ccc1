//! AFL target: create and update bodies (JSON, YAML, protobuf) of every served kind.
//! Input: a target byte, a flags byte (encoding, verb, field validation), the body.

#[path = "../../apiserver/tests/fuzzing/mod.rs"]
mod fuzzing;

use std::sync::LazyLock;

use fuzzing::{BodyRequest, Harness};

fn main() {
    // Built in the forked child, on the first input: the store's writer thread must
    // live in the process that runs the cases.
    static HARNESS: LazyLock<Harness> = LazyLock::new(Harness::new);
    afl::fuzz!(|data: &[u8]| {
        if let Some((target, flags, body)) = fuzzing::split(data) {
            HARNESS.body(BodyRequest::from_bytes(target, flags), body);
        }
    });
}
