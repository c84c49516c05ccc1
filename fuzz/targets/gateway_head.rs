//! AFL target: the gateway fast path's request head parser and rewriter. Input: the
//! bytes a client sends. Properties (no panic; a forwarded head is canonical, carries
//! nothing internal or hop-by-hop, keeps the client's framing, is not steered by
//! internal headers, and rewrites stably): `gateway/src/h1/fuzz.rs`, which the
//! proptest in `gateway/src/h1/fuzz/tests.rs` also runs.

use std::sync::LazyLock;

use gateway::head_fuzz::HeadFuzzer;

fn main() {
    static FUZZER: LazyLock<HeadFuzzer> = LazyLock::new(HeadFuzzer::new);
    afl::fuzz!(|data: &[u8]| FUZZER.check(data));
}
