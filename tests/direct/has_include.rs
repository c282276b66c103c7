//! `__has_include` and `__has_include_next`: a header that appears,
//! disappears or is found through an alias changes the result.

use super::*;

// ---------------------------------------------------------------------------
// __has_include
// ---------------------------------------------------------------------------

/// `#if __has_include("cfg.h")`: a header that did not exist is not in the
/// line markers; objcache probes where it would be found (a documented
/// ccache caveat, ccache issue #811, that objcache closes).
#[test]
fn has_include_of_new_header_is_not_a_direct_hit() {
    header_appearing_ends_direct_hit(
        &[(
            "src/t.c",
            "#if __has_include(\"cfg.h\")\n#include \"cfg.h\"\n#else\n#define CFG 0\n#endif\nint v(void) { return CFG; }\n",
        )],
        &["inc"],
        &["-Iinc"],
        ("inc/cfg.h", "#define CFG 7\n"),
    );
}

/// The angle form in a header, answered by a directory late on the path.
#[test]
fn has_include_in_a_header_of_a_header_created_later_is_not_a_direct_hit() {
    header_appearing_ends_direct_hit(
        &[
            (
                "inc/a.h",
                "#if __has_include(<opt/extra.h>)\n#include <opt/extra.h>\n#else\n#define EXTRA 1\n#endif\n",
            ),
            ("src/t.c", "#include \"a.h\"\nint v(void) { return EXTRA; }\n"),
        ],
        &["late"],
        &["-Iinc", "-Ilate"],
        ("late/opt/extra.h", "#define EXTRA 2\n"),
    );
}

/// A header that `__has_include` found but nothing includes: deleting it
/// changes the answer, so the direct hit must go.
#[test]
fn has_include_of_a_deleted_header_is_not_a_direct_hit() {
    let env = TestEnv::new();
    let root = env.dir("p");
    write_file(&root.join("inc/feature.h"), "/* marker only */\n");
    write_file(
        &root.join("src/t.c"),
        "#if __has_include(\"feature.h\")\n#define HAVE 1\n#else\n#define HAVE 0\n#endif\nint v(void) { return HAVE; }\n",
    );
    let u = Compile::new(
        &root,
        "gcc",
        &["-Iinc", "-c", "src/t.c", "-o", "t.o"],
        "t.o",
    );
    miss_then_direct_hit(&env, &u);
    fs::remove_file(root.join("inc/feature.h")).unwrap();
    no_direct_hit(&env, &u, "feature.h is gone: not a direct hit");
}

/// `__has_include_next` in a header: the directories after it are where
/// the answer comes from.
#[test]
fn has_include_next_of_a_header_created_later_is_not_a_direct_hit() {
    header_appearing_ends_direct_hit(
        &[
            (
                "a/cfg.h",
                "#if __has_include_next(<cfg.h>)\n#include_next <cfg.h>\n#else\n#define VAL 1\n#endif\n",
            ),
            ("src/t.c", "#include <cfg.h>\nint v(void) { return VAL; }\n"),
        ],
        &["b"],
        &["-Ia", "-Ib"],
        ("b/cfg.h", "#define VAL 2\n"),
    );
}

/// A quoted test in a macro is evaluated where the macro is used: the
/// source's directory counts, not only the header's that defines it.
#[test]
fn has_include_in_a_macro_is_tried_where_it_is_used() {
    header_appearing_ends_direct_hit(
        &[
            ("inc/cfg.h", "#define HAVE_FOO __has_include(\"foo.h\")\n"),
            (
                "src/t.c",
                "#include \"cfg.h\"\n#if HAVE_FOO\n#include \"foo.h\"\n#else\n#define FOO 1\n#endif\nint v(void) { return FOO; }\n",
            ),
        ],
        &[],
        &["-Iinc"],
        ("src/foo.h", "#define FOO 2\n"),
    );
}

/// A test hidden in a `-D` value or behind a function-like wrapper is not followed:
/// such TUs are cached in preprocessor mode only.
#[test]
fn has_include_that_cannot_be_followed_is_not_recorded() {
    for (source, define) in [
        (
            "#if HAS\n#define V 2\n#else\n#define V 1\n#endif\nint v(void) { return V; }\n",
            Some("-DHAS=__has_include(<opt.h>)"),
        ),
        (
            "#define HI(x) __has_include(x)\n#if HI(<opt.h>)\n#define HAS 2\n#else\n#define HAS 1\n#endif\nint v(void) { return HAS; }\n",
            None,
        ),
        // The same `-D` in a response file.
        (
            "#if HAS\n#define V 2\n#else\n#define V 1\n#endif\nint v(void) { return V; }\n",
            Some("@defs.rsp"),
        ),
    ] {
        let env = TestEnv::new();
        let root = env.dir("p");
        write_file(&root.join("src/t.c"), source);
        write_file(&root.join("defs.rsp"), "-DHAS=__has_include(<opt.h>)\n");
        let mut a = vec!["-c", "src/t.c", "-o", "t.o"];
        a.extend(define);
        let u = Compile::new(&root, "gcc", &a, "t.o");
        settle();
        u.check(&env);
        settle();
        u.check(&env);
        expect(&env, c(0, 2, 1, 1, 1), "second call: a preprocessed hit");
    }
}

/// An alias of the operator (`#define HAS __has_include`, as xxhash.h has)
/// is followed like the operator itself, wherever it is used.
#[test]
fn has_include_through_an_alias_is_followed() {
    header_appearing_ends_direct_hit(
        &[
            (
                "inc/alias.h",
                "#ifdef __has_include\n#define HAS __has_include\n#else\n#define HAS(x) 0\n#endif\n",
            ),
            (
                "src/t.c",
                "#include \"alias.h\"\n#if HAS(<opt.h>)\n#include <opt.h>\n#else\n#define OPT 1\n#endif\nint v(void) { return OPT; }\n",
            ),
        ],
        &["late"],
        &["-Iinc", "-Ilate"],
        ("late/opt.h", "#define OPT 2\n"),
    );
}

/// An alias of an alias, defined in two headers, and a test the simple
/// lexer would take for a comment (after a raw-string-like literal).
#[test]
fn has_include_through_a_chain_of_aliases_is_followed() {
    header_appearing_ends_direct_hit(
        &[
            ("inc/a.h", "#define A __has_include\r\n"),
            ("inc/b.h", "#include \"a.h\"\n#define B A\n"),
            (
                "src/t.c",
                "#include \"b.h\"\n#if B(<opt.h>)\n#include <opt.h>\n#else\n#define OPT 1\n#endif\nint v(void) { return OPT; }\n",
            ),
        ],
        &["late"],
        &["-Iinc", "-Ilate"],
        ("late/opt.h", "#define OPT 2\n"),
    );
}

/// The standard C++ and C headers (which use `__has_include`, aliases of it
/// and `__has_##NAME` pasting) keep direct mode.
#[test]
fn standard_headers_keep_direct_mode() {
    for (cc, file, text) in [
        (
            "g++",
            "src/t.cpp",
            "#include <vector>\n#include <string>\n#include <type_traits>\n#include <atomic>\n#include <map>\n#include <memory>\n#include <algorithm>\n#include <functional>\nint v() { std::vector<int> x{1}; return x[0]; }\n",
        ),
        (
            "gcc",
            "src/t.c",
            "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include <unistd.h>\n#include <sys/stat.h>\nint v(void) { return 0; }\n",
        ),
    ] {
        let env = TestEnv::new();
        let root = env.dir("p");
        write_file(&root.join(file), text);
        let u = Compile::new(&root, cc, &["-c", file, "-o", "t.o"], "t.o");
        miss_then_direct_hit(&env, &u);
    }
}

/// `__has_include(MACRO)` cannot be followed: such a TU is cached in
/// preprocessor mode only.
#[test]
fn has_include_with_a_computed_name_is_not_recorded() {
    let env = TestEnv::new();
    let root = env.dir("p");
    write_file(
        &root.join("src/t.c"),
        "#define CFG \"cfg.h\"\n#if __has_include(CFG)\n#include CFG\n#endif\nint v(void) { return 0; }\n",
    );
    let u = Compile::new(&root, "gcc", &["-c", "src/t.c", "-o", "t.o"], "t.o");
    settle();
    u.check(&env);
    settle();
    u.check(&env);
    expect(&env, c(0, 2, 1, 1, 1), "second call: a preprocessed hit");
}
