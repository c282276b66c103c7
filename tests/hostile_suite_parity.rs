//! A hostile review of the ccache-suite work of issue 23: make escapes in
//! `.d` files, `hard_link` on a miss, `__DATE__` in direct mode, the lone
//! `.gch` and remote manifest merging. Each test is a way to a wrong
//! object, a broken build or a hang that the work left open.

use crate::common::direct_mode::settle;
use crate::common::*;
use std::fs;

/// A name with a newline in a `.d` reads as two lines: gcc writes the
/// header `Q/h<newline>Q/h:` (found through `-I 'Q/h<newline>Q'`) so that
/// the `.d` looks like one naming `Q/h` with `-MP`'s phony target for it.
/// Depend mode must not take `Q/h` for the header read: a change to the
/// real header would hit with the old object.
#[test]
fn depend_mode_never_takes_a_name_with_a_newline_for_a_phony_target() {
    for cc in ["gcc", "clang"] {
        if !have(cc) {
            eprintln!("skipping {cc}: not installed");
            continue;
        }
        let env = TestEnv::new();
        let dir = env.dir("w");
        fs::create_dir_all(dir.join("Q/h\nQ")).unwrap();
        fs::write(dir.join("Q/h"), "int decoy;\n").unwrap();
        let real = dir.join("Q/h\nQ/h:");
        fs::write(&real, "int real = 1;\n").unwrap();
        fs::write(
            dir.join("a.c"),
            "#include \"h:\"\nint main(void) { return real; }\n",
        )
        .unwrap();
        let u = Compile::new(&dir, cc, &["-I", "Q/h\nQ", "-MMD", "-c", "a.c"], "a.o")
            .dep("a.d")
            .env("CCACHE_DEPEND", "1");
        settle();
        u.check(&env);
        fs::write(&real, "int real = 2;\n").unwrap();
        settle();
        u.check(&env);
    }
}
