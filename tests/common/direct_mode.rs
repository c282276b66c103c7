//! Pacing and counters for the tests of direct mode (`direct`,
//! `relocation`, `config_keys`).
//!
//! Files whose mtime or ctime is not older than the start of a call are not
//! recorded in the manifest, so a test waits [`SETTLE`] after its last file
//! write before a compile whose manifest entry it relies on.

use super::{get, TestEnv};
use std::time::Duration;

/// Long enough for the kernel's coarse clock to move past the last write.
pub const SETTLE: Duration = Duration::from_millis(50);

pub fn settle() {
    std::thread::sleep(SETTLE);
}

/// The counters direct mode is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub direct_hit: u64,
    pub direct_miss: u64,
    pub pp_hit: u64,
    pub pp_miss: u64,
    pub miss: u64,
}

/// `Counts` in the order direct hit, direct miss, preprocessed hit,
/// preprocessed miss, cache miss.
pub fn c(direct_hit: u64, direct_miss: u64, pp_hit: u64, pp_miss: u64, miss: u64) -> Counts {
    Counts {
        direct_hit,
        direct_miss,
        pp_hit,
        pp_miss,
        miss,
    }
}

pub fn counts(env: &TestEnv) -> Counts {
    let s = env.stats();
    Counts {
        direct_hit: get(&s, "direct_cache_hit"),
        direct_miss: get(&s, "direct_cache_miss"),
        pp_hit: get(&s, "preprocessed_cache_hit"),
        pp_miss: get(&s, "preprocessed_cache_miss"),
        miss: get(&s, "cache_miss"),
    }
}

/// All five [`Counts`] are `expected`.
#[track_caller]
pub fn expect(env: &TestEnv, expected: Counts, what: &str) {
    let got = counts(env);
    assert_eq!(
        got,
        expected,
        "{what}: counters (direct_hit, direct_miss, pp_hit, pp_miss, miss) wrong; all stats: {:?}",
        env.stats()
    );
}

/// How the calls ended: (direct hits, preprocessed hits, misses).
pub fn outcomes(env: &TestEnv) -> (u64, u64, u64) {
    let st = env.stats();
    (
        get(&st, "direct_cache_hit"),
        get(&st, "preprocessed_cache_hit"),
        get(&st, "cache_miss"),
    )
}

/// The [`outcomes`] are `want`.
#[track_caller]
pub fn expect_outcomes(env: &TestEnv, want: (u64, u64, u64), what: &str) {
    assert_eq!(
        outcomes(env),
        want,
        "{what}: (direct hits, preprocessed hits, misses); all stats: {:?}",
        env.stats()
    );
}

/// Like [`expect_outcomes`], with direct and preprocessed hits added up.
#[track_caller]
pub fn expect_hits(env: &TestEnv, want: (u64, u64), what: &str) {
    let (dh, ph, miss) = outcomes(env);
    assert_eq!(
        (dh + ph, miss),
        want,
        "{what}: (hits, misses); all stats: {:?}",
        env.stats()
    );
}
