//! A hostile review of the timestamp-string rule, the precompiled-header
//! search, `-z`'s stamp, the memo trimming and the bookkeeping line of
//! `--show-usage`: each test is a way one of them gave a wrong object or a
//! wrong figure.

use crate::common::*;
use std::fs;
use std::path::Path;
use std::process::Command;

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

/// Builds a precompiled header defining `V` as `value` at `gch`.
fn pch(dir: &Path, value: u32, gch: &Path) {
    let text = dir.join("pch-source.h");
    fs::write(&text, format!("#define V {value}\n")).unwrap();
    let out = run(Command::new("gcc")
        .current_dir(dir)
        .args(["-x", "c-header"])
        .arg(&text)
        .arg("-o")
        .arg(gch));
    assert!(out.success(), "building {}: {}", gch.display(), out.dump());
}

/// gcc searches include directories by chain, not in the options' order:
/// `-iquote` only for `"…"`, `-I` before `-isystem`, and after `-I-` the
/// `-I`s before it for `"…"` only, never the source's own directory. The
/// search for `.gch` files that stopped at the first directory holding the
/// header, in the options' order, stopped before the `.gch` gcc read, so
/// a rebuilt precompiled header was a hit with the old object.
#[test]
fn a_gch_gcc_finds_before_the_header_is_hashed_whatever_the_option_order() {
    let cases: [(&[&str], &str, &str); 3] = [
        (&["-iquote", "q", "-I", "i"], "<h.h>", "i"),
        (&["-isystem", "q", "-I", "i"], "<h.h>", "i"),
        (&["-Ii", "-I-", "-Iq"], "\"h.h\"", "i"),
    ];
    for (options, include, gch_dir) in cases {
        let env = TestEnv::new();
        let dir = env.dir("w");
        for d in ["q", "i", "."] {
            write_file(&dir.join(d).join("h.h"), "#define V 1\n");
            set_age(&dir.join(d).join("h.h"), 3600);
        }
        let gch = dir.join(gch_dir).join("h.h.gch");
        pch(&dir, 2, &gch);
        write_file(
            &dir.join("a.c"),
            &format!("#include {include}\nint f(void) {{ return V; }}\n"),
        );
        set_age(&dir.join("a.c"), 3600);
        let mut args: Vec<&str> = options.to_vec();
        args.extend(["-c", "a.c", "-o", "a.o"]);
        let c = Compile::new(&dir, "gcc", &args, "a.o");
        c.check(&env);
        c.check(&env);
        pch(&dir, 3, &gch);
        c.check(&env);
    }
}
