//! A hostile review of the timestamp-string rule, the precompiled-header
//! search, `-z`'s stamp, the memo trimming and the bookkeeping line of
//! `--show-usage`: each test is a way one of them gave a wrong object or a
//! wrong figure.

use crate::common::*;
use std::fs;

/// A header that pastes `__TIMESTAMP__` together (direct mode sees no
/// name) gives its own mtime: a preprocessed hit, like a miss, must not
/// record such a compile for direct mode, or a later call with the header
/// touched to another time replays the old stamp.
#[test]
fn a_preprocessed_hit_records_no_compile_that_shows_a_timestamp() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    write_file(
        &dir.join("stamp.h"),
        "#define CAT(a, b) a##b\nconst char *stamp = CAT(__TIME, STAMP__);\n",
    );
    write_file(
        &dir.join("a.c"),
        "#include \"stamp.h\"\nint f(void) { return 1; }\n",
    );
    // An hour old: no "time of day within the last ten minutes".
    set_age(&dir.join("stamp.h"), 3600);
    set_age(&dir.join("a.c"), 3600);
    let c = Compile::new(&dir, "gcc", &["-c", "a.c", "-o", "a.o"], "a.o");
    c.check(&env);
    c.check(&env);
    assert_eq!(env.stat("preprocessed_cache_hit"), 1, "{:?}", env.stats());
    set_age(&dir.join("stamp.h"), 7200);
    c.check(&env);
    assert_eq!(env.stat("direct_cache_hit"), 0, "{:?}", env.stats());
}
