//! A hostile review of the hit-path speed-ups: the preamble scan that
//! decides which precompiled headers gcc may read, manifest format 5's
//! lazily unpacked probe candidates, and the `.d`, path and digest fast
//! paths. Each test is a way one of them gave a wrong object or broke a
//! build.

use crate::common::*;
use std::fs;
use std::path::Path;
use std::process::Command;

/// Builds a precompiled header defining `V` as `value` at `dir/pch.h.gch`.
fn build_pch(dir: &Path, value: u32, options: &[&str]) {
    let text = dir.join("pch-source.h");
    fs::write(&text, format!("#define V {value}\n")).unwrap();
    let out = run(Command::new("gcc")
        .current_dir(dir)
        .args(options)
        .args(["-x", "c-header"])
        .arg(&text)
        .args(["-o", "pch.h.gch"]));
    assert!(out.success(), "building pch.h.gch: {}", out.dump());
}

/// gcc 12 uses `pch.h.gch` for the `#include "pch.h"` of each of these
/// sources (measured with `-H`): nothing before it leaves a token or opens
/// a file. The scan took the BOM, a vertical tab, skipped text, a blank
/// after a line's backslash, a continued `//` comment in a CRLF file, the
/// digraph and trigraph spellings of `#`, an empty macro and `_Pragma` for
/// the source's first token, so the `.gch` was never hashed and a rebuilt
/// one was a hit with the old object.
#[test]
fn a_gch_gcc_uses_after_any_tokenless_preamble_is_hashed() {
    let cases: [(&str, &[&str]); 11] = [
        ("\u{feff}#include \"pch.h\"\n", &[]),
        ("\x0b#include \"pch.h\"\n", &[]),
        (
            "#if 0\nsome text, not code\n#endif\n#include \"pch.h\"\n",
            &[],
        ),
        (
            "#ifdef NOT_DEFINED\nint x;\n#endif\n#include \"pch.h\"\n",
            &[],
        ),
        (
            "#if defined(A) || \\  \n defined(B)\n#endif\n#include \"pch.h\"\n",
            &[],
        ),
        ("// note \\\r\nint x;\r\n#include \"pch.h\"\r\n", &[]),
        ("%:include \"pch.h\"\n", &[]),
        ("??=include \"pch.h\"\n", &["-trigraphs"]),
        ("#define EMPTY\nEMPTY\n#include \"pch.h\"\n", &[]),
        ("NOTHING\n#include \"pch.h\"\n", &["-DNOTHING="]),
        ("_Pragma(\"once\")\n#include \"pch.h\"\n", &[]),
    ];
    let mut served_old = Vec::new();
    for (preamble, options) in cases {
        let env = TestEnv::new();
        let dir = env.dir("w");
        write_file(&dir.join("pch.h"), "#define V 1\n");
        set_age(&dir.join("pch.h"), 3600);
        build_pch(&dir, 2, options);
        write_file(
            &dir.join("a.c"),
            &format!("{preamble}int f(void) {{ return V; }}\n"),
        );
        set_age(&dir.join("a.c"), 3600);
        let mut args: Vec<&str> = options.to_vec();
        args.extend(["-c", "a.c", "-o", "a.o"]);
        let c = Compile::new(&dir, "gcc", &args, "a.o");
        c.check(&env);
        c.check(&env);
        build_pch(&dir, 3, options);
        let expected = c.plain();
        if c.cached(&env).obj != expected.obj {
            served_old.push(preamble);
        }
    }
    assert!(
        served_old.is_empty(),
        "the object of the old pch.h.gch was served after: {served_old:?}"
    );
}

/// How often `needle` occurs in `hay`.
fn occurrences(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

/// `-X uncompressed` stores manifests uncompressed, but format 5 copied
/// each result's section of probe candidates as stored: still compressed
/// at the old level (and `-X 19` left them at it), though they are most
/// of a manifest. They are now compressed afresh at the new level.
#[test]
fn recompressing_manifests_recompresses_their_probe_candidates() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    fs::create_dir_all(dir.join("inc1")).unwrap();
    write_file(&dir.join("inc2/zz_probe_marker_header.h"), "int v;\n");
    write_file(
        &dir.join("a.c"),
        "#include \"zz_probe_marker_header.h\"\nint f(void) { return v; }\n",
    );
    for p in ["a.c", "inc2/zz_probe_marker_header.h"] {
        set_age(&dir.join(p), 3600);
    }
    let c = Compile::new(
        &dir,
        "gcc",
        &["-Iinc1", "-Iinc2", "-c", "a.c", "-o", "a.o"],
        "a.o",
    );
    c.check(&env);
    run_ok(env.objcache().args(["-X", "uncompressed"]));
    let marker = b"zz_probe_marker_header.h";
    let manifests: Vec<usize> = cache_entry_files(&env.cache_dir)
        .iter()
        .map(|p| read(p))
        .filter(|bytes| bytes.starts_with(b"OCMF"))
        .map(|bytes| occurrences(&bytes, marker))
        .collect();
    // The include's path, and the candidate name of the probe directory
    // inc1 (and of the source's own directory).
    assert!(
        manifests.len() == 1 && manifests[0] >= 2,
        "the manifest's candidate names are not stored uncompressed: {manifests:?}"
    );
    c.check(&env);
    assert_eq!(env.hits(), 1, "{:?}", env.stats());
}
