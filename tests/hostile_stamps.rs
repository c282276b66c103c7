//! A stamp (size, mtime, ctime) proves a header unchanged only while the
//! path still leads to the same file: two files written within one kernel
//! tick (one `git checkout`, `tar x` or `cp -r` writes hundreds per tick)
//! with the same size have equal stamps, so a symlink retargeted from one
//! to the other, or an include directory swapped by renames, changes what
//! the compiler reads without changing the stamp.

use crate::common::*;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

const V111: &str = "#define VAL 111\n";
const V222: &str = "#define VAL 222\n";

fn stamp(path: &Path) -> (u64, i64, i64, i64, i64) {
    let m = fs::metadata(path).unwrap();
    let t = (m.mtime(), m.mtime_nsec(), m.ctime(), m.ctime_nsec());
    (m.size(), t.0, t.1, t.2, t.3)
}

/// Writes `a` and `b` (same length) until they have equal stamps: both
/// written within one tick of the coarse clock, as a checkout writes them.
fn write_twins(a: &Path, b: &Path) {
    for _ in 0..100 {
        let _ = fs::remove_file(a);
        let _ = fs::remove_file(b);
        fs::write(a, V111).unwrap();
        fs::write(b, V222).unwrap();
        if stamp(a) == stamp(b) {
            return;
        }
    }
    panic!("{} and {} never got equal stamps", a.display(), b.display());
}

fn compile(env: &TestEnv, dir: &Path, args: &[&str]) {
    run_ok(&mut env.objcache_in(dir, std::iter::once("gcc").chain(args.iter().copied())));
}

/// Compiles twice (a miss that records the header, a direct hit), lets
/// `switch` point the include at the twin (calling it again switches
/// back), and checks that the next call gives the twin's object, not the
/// direct hit of the first.
fn check_switch(env: &TestEnv, dir: &Path, args: &[&str], mut switch: impl FnMut()) {
    let first = plain_object("gcc", dir, args, "main.o");
    switch();
    let expected = plain_object("gcc", dir, args, "main.o");
    assert_ne!(first, expected, "the twins must give different objects");
    switch();
    compile(env, dir, args);
    compile(env, dir, args);
    assert_eq!(env.stat("direct_cache_hit"), 1, "{:?}", env.stats());
    switch();
    compile(env, dir, args);
    assert_bytes_eq(
        &read(&dir.join("main.o")),
        &expected,
        "after the include was pointed at a file with the same stamp",
    );
}

#[test]
fn a_symlinked_header_retargeted_to_a_twin_is_compiled() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("src");
    fs::write(
        dir.join("main.c"),
        "#include \"x.h\"\nint val(void) { return VAL; }\n",
    )
    .unwrap();
    let (a, b, x) = (dir.join("a.h"), dir.join("b.h"), dir.join("x.h"));
    write_twins(&a, &b);
    let point = |target: &str| {
        let _ = fs::remove_file(&x);
        std::os::unix::fs::symlink(target, &x).unwrap();
    };
    point("a.h");
    let mut to_b = true;
    check_switch(&env, &dir, &["-c", "main.c", "-o", "main.o"], || {
        point(if to_b { "b.h" } else { "a.h" });
        to_b = !to_b;
    });
}

#[test]
fn an_include_directory_swapped_by_renames_is_compiled() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("src");
    fs::write(
        dir.join("main.c"),
        "#include \"x.h\"\nint val(void) { return VAL; }\n",
    )
    .unwrap();
    let (inc, next, old) = (dir.join("inc"), dir.join("next"), dir.join("old"));
    fs::create_dir(&inc).unwrap();
    fs::create_dir(&next).unwrap();
    write_twins(&inc.join("x.h"), &next.join("x.h"));
    let swap = || {
        fs::rename(&inc, &old).unwrap();
        fs::rename(&next, &inc).unwrap();
        fs::rename(&old, &next).unwrap();
    };
    check_switch(&env, &dir, &["-Iinc", "-c", "main.c", "-o", "main.o"], swap);
}

/// A header dated after 2262 (`touch -d 2300-01-01`, a tarball's bogus
/// date; ext4 keeps dates up to 2446) is past what nanoseconds since the
/// epoch hold in an i64: it must still be cached, as a file that is too
/// new for direct mode, not crash objcache into running the compiler.
#[test]
fn a_header_dated_after_2262_is_cached() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("src");
    fs::write(
        dir.join("main.c"),
        "#include \"x.h\"\nint val(void) { return VAL; }\n",
    )
    .unwrap();
    let header = dir.join("x.h");
    fs::write(&header, V111).unwrap();
    let year_2300 = std::time::UNIX_EPOCH + std::time::Duration::from_secs(10_413_792_000);
    let f = fs::File::options().write(true).open(&header).unwrap();
    f.set_modified(year_2300).unwrap();
    if fs::metadata(&header).unwrap().mtime() < 9_300_000_000 {
        eprintln!("SKIP: this file system cannot date a file after 2262");
        return;
    }
    let u = Compile::new(&dir, "gcc", &["-c", "main.c", "-o", "main.o"], "main.o");
    u.check(&env);
    u.check(&env);
    let s = env.stats();
    let counts = ["internal_error", "cache_miss"].map(|c| get(&s, c));
    assert_eq!(counts, [0, 1], "{s:?}");
    assert_eq!(hits(&s), 1, "{s:?}");
}

/// A header appearing in a directory searched before the one its name was
/// found in, while the call runs (a parallel build step generating it, a
/// checkout): the compile may read it although the preprocessed text the
/// key came from did not. Before, the object of the new header was stored
/// under the key of the old one, and served once the new header was gone.
#[test]
fn a_header_appearing_in_an_earlier_directory_during_a_compile_is_not_stored() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("src");
    fs::write(
        dir.join("main.c"),
        "#include \"x.h\"\nint val(void) { return VAL; }\n",
    )
    .unwrap();
    fs::create_dir(dir.join("first")).unwrap();
    fs::create_dir(dir.join("second")).unwrap();
    fs::write(dir.join("second/x.h"), V222).unwrap();
    fs::write(dir.join("shadow.h"), V111).unwrap();
    let args = ["-Ifirst", "-Isecond", "-c", "main.c", "-o", "main.o"];
    let expected = plain_object("gcc", &dir, args, "main.o");
    // A compiler that, when it compiles (not when it preprocesses), first
    // puts the shadowing header in place.
    let gcc = env.dir("bin").join("gcc");
    fs::write(
        &gcc,
        format!(
            "#!/bin/sh\ncase \" $* \" in\n  *\" -E \"*) ;;\n  *\" -c \"*) [ -n \"$SHADOW\" ] && cp shadow.h first/x.h ;;\nesac\nexec {} \"$@\"\n",
            which("gcc").unwrap().display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&gcc, fs::Permissions::from_mode(0o755)).unwrap();
    let call = |shadow: bool| {
        let mut cmd = env.objcache_in(&dir, [gcc.as_os_str()]);
        cmd.args(args);
        if shadow {
            cmd.env("SHADOW", "1");
        }
        run_ok(&mut cmd);
    };
    call(true);
    fs::remove_file(dir.join("first/x.h")).unwrap();
    for _ in 0..2 {
        call(false);
        assert_bytes_eq(
            &read(&dir.join("main.o")),
            &expected,
            "after the header that appeared during the first compile is gone",
        );
    }
}
