//! AFL target: label and field selectors and continue tokens on lists of every kind.
//! Input: a target byte, an unused byte, the selector text (lossy UTF-8).

#[path = "../../apiserver/tests/fuzzing/mod.rs"]
mod fuzzing;

use std::sync::LazyLock;

use fuzzing::Harness;

fn main() {
    // Built in the forked child, on the first input (see api_body).
    static HARNESS: LazyLock<Harness> = LazyLock::new(Harness::new);
    afl::fuzz!(|data: &[u8]| {
        if let Some((target, _, text)) = fuzzing::split(data) {
            HARNESS.selector(target, &String::from_utf8_lossy(text));
        }
    });
}
