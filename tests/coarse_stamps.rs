//! Files changed within one timestamp tick, on a file system with 1-second
//! stamps (ext4 with 128-byte inodes, loop-mounted; ext3, HFS+, FAT and some
//! NFS servers stamp as coarsely): a file written earlier in the second a
//! call starts in can be rewritten in that second without its size, mtime
//! or ctime changing, so its stamp proves nothing until the second is over.
//!
//! Each scenario waits for the start of a second, then writes, compiles and
//! rewrites; a round counts only when the rewrite really kept the file's
//! stamps (else it is tried again in a later second), and every scenario
//! runs several such rounds. Objects are compared with the plain compiler's.

use crate::common::*;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Rounds of each scenario that must land within one second.
const ROUNDS: usize = 2;
/// Attempts allowed for them (a slow machine may miss a second).
const ATTEMPTS: usize = 8;

/// A file's mtime and ctime.
fn stamps(path: &Path) -> (i64, i64, i64, i64) {
    let m = fs::metadata(path).unwrap();
    (m.mtime(), m.mtime_nsec(), m.ctime(), m.ctime_nsec())
}

/// Sleeps until just after the next second starts, so that what follows
/// has most of a second (the coarse clock lags by a tick at most).
fn wait_for_a_new_second() {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let into = now.subsec_nanos() as u64;
    std::thread::sleep(Duration::from_nanos(1_000_000_000 - into) + Duration::from_millis(30));
}

/// Sleeps until every stamp written so far is more than 2 s old (an even
/// second may be taken for FAT's 2-second tick).
fn wait_until_settled() {
    wait_for_a_new_second();
    wait_for_a_new_second();
    wait_for_a_new_second();
}

/// Runs `round` until `ROUNDS` of its attempts report that the rewrite kept
/// the file's stamps (the cache emptied before each attempt).
fn same_second_rounds(env: &TestEnv, what: &str, mut round: impl FnMut() -> bool) {
    let mut done = 0;
    for _ in 0..ATTEMPTS {
        let _ = fs::remove_dir_all(&env.cache_dir);
        if round() {
            done += 1;
            if done == ROUNDS {
                return;
            }
        }
    }
    panic!("{what}: only {done} of {ROUNDS} rounds rewrote a file within one second");
}

fn cc(env: &TestEnv, dir: &Path, args: &[&str], sloppiness: &str) -> Out {
    let mut cmd = env.objcache_in(dir, std::iter::once("gcc").chain(args.iter().copied()));
    run_ok(cmd.env("CCACHE_SLOPPINESS", sloppiness))
}

const V111: &str = "#define VAL 111\n";
const V222: &str = "#define VAL 222\n";

/// The scenario, with the header included by the source and by
/// `-include`, and with `sloppiness = include_file_mtime,include_file_ctime`
/// (which lets the miss store and record its fresh header): a miss, then
/// the header rewritten (same size) in the same second. The second call
/// served the object of VAL 111 before (a direct hit on the unchanged
/// stamps); it must compile VAL 222.
#[test]
fn header_rewritten_in_the_second_of_a_miss_is_compiled() {
    require("gcc");
    let env = TestEnv::new();
    let Some(coarse) = CoarseFs::mount(env.root()) else {
        return;
    };
    let dir = &coarse.mnt;
    let hdr = dir.join("hdr.h");
    write_file(
        &dir.join("main.c"),
        "#include \"hdr.h\"\nint val(void) { return VAL; }\n",
    );
    write_file(&dir.join("forced.c"), "int val(void) { return VAL; }\n");
    let sloppy = "include_file_mtime,include_file_ctime";
    let cases: [(&[&str], &str); 3] = [
        (&["-c", "main.c", "-o", "main.o"], ""),
        (&["-include", "hdr.h", "-c", "forced.c", "-o", "main.o"], ""),
        (&["-c", "main.c", "-o", "main.o"], sloppy),
    ];
    for (args, sloppiness) in cases {
        let object_of = |text| {
            write_file(&hdr, text);
            plain_object("gcc", dir, args, "main.o")
        };
        let (o111, o222) = (object_of(V111), object_of(V222));
        assert_ne!(o111, o222);
        let what = format!("{args:?}, sloppiness {sloppiness:?}");
        same_second_rounds(&env, &what, || {
            wait_for_a_new_second();
            write_file(&hdr, V111);
            let before = stamps(&hdr);
            cc(&env, dir, args, sloppiness);
            assert_bytes_eq(&read(&dir.join("main.o")), &o111, "the miss");
            write_file(&hdr, V222);
            let same_second = stamps(&hdr) == before;
            cc(&env, dir, args, sloppiness);
            let what = format!("{what}: after hdr.h was rewritten in the miss's second");
            assert_bytes_eq(&read(&dir.join("main.o")), &o222, &what);
            same_second
        });
    }
}

/// A hit that had to hash a header (its stamp changed, its content did not)
/// learns the header's stamp; learned within the header's second, the
/// stamp would match a rewrite later in that second.
#[test]
fn header_rewritten_in_the_second_a_hit_saw_it_is_compiled() {
    require("gcc");
    let env = TestEnv::new();
    let Some(coarse) = CoarseFs::mount(env.root()) else {
        return;
    };
    let dir = &coarse.mnt;
    let hdr = dir.join("hdr.h");
    let args = ["-c", "main.c", "-o", "main.o"];
    write_file(
        &dir.join("main.c"),
        "#include \"hdr.h\"\nint val(void) { return VAL; }\n",
    );
    let object_of = |text| {
        write_file(&hdr, text);
        plain_object("gcc", dir, args, "main.o")
    };
    let (o111, o222) = (object_of(V111), object_of(V222));
    same_second_rounds(&env, "miss, hit, rewrite", || {
        write_file(&hdr, V111);
        wait_until_settled();
        cc(&env, dir, &args, "");
        let direct_hits = env.stat("direct_cache_hit");
        wait_for_a_new_second();
        write_file(&hdr, V111);
        let before = stamps(&hdr);
        cc(&env, dir, &args, "");
        assert_bytes_eq(&read(&dir.join("main.o")), &o111, "the hit");
        assert_eq!(
            env.stat("direct_cache_hit"),
            direct_hits + 1,
            "a direct hit"
        );
        write_file(&hdr, V222);
        let same_second = stamps(&hdr) == before;
        cc(&env, dir, &args, "");
        let what = "after hdr.h was rewritten in the second of a direct hit";
        assert_bytes_eq(&read(&dir.join("main.o")), &o222, what);
        same_second
    });
}

/// A compiler (a script in front of gcc) that, when it compiles, first
/// copies `$REWRITE_FROM` over `$REWRITE_TO`: a build step racing the
/// compile.
fn racing_compiler(env: &TestEnv) -> PathBuf {
    let bin = env.dir("bin");
    let gcc = bin.join("gcc");
    let real = which("gcc").expect("gcc");
    write_file(
        &gcc,
        &format!(
            "#!/bin/sh\ncase \" $* \" in\n  *\" -E \"*) ;;\n  *\" -c \"*) [ -n \"$REWRITE_TO\" ] && cp \"$REWRITE_FROM\" \"$REWRITE_TO\" ;;\nesac\nexec {} \"$@\"\n",
            real.display()
        ),
    );
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&gcc, fs::Permissions::from_mode(0o755)).unwrap();
    gcc
}

/// The source or a header rewritten while the compiler runs, in the second
/// it was last written in before the call: the stamps after the compile
/// equal those before, so only the tick rule tells that the object may not
/// be the one of the content the key was made from. Before, the object of
/// the rewritten file was stored under the key of the original one and
/// served to the next call with the original content.
#[test]
fn files_rewritten_during_a_compile_in_their_second_are_not_stored() {
    require("gcc");
    let env = TestEnv::new();
    let Some(coarse) = CoarseFs::mount(env.root()) else {
        return;
    };
    let dir = &coarse.mnt;
    let racing = racing_compiler(&env);
    let args = ["-c", "main.c", "-o", "main.o"];
    let cases = [
        (
            "main.c",
            "int val(void) { return 111; }\n",
            "int val(void) { return 222; }\n",
        ),
        ("hdr.h", V111, V222),
    ];
    for (file, original, rewritten) in cases {
        write_file(
            &dir.join("main.c"),
            "#include \"hdr.h\"\nint val(void) { return VAL; }\n",
        );
        write_file(&dir.join("hdr.h"), V111);
        let path = dir.join(file);
        write_file(&path, original);
        let expected = plain_object("gcc", dir, args, "main.o");
        let from = dir.join("rewritten");
        write_file(&from, rewritten);
        same_second_rounds(&env, file, || {
            wait_for_a_new_second();
            write_file(&path, original);
            let before = stamps(&path);
            let mut racing_call = env.objcache_in(dir, std::iter::once(racing.as_os_str()));
            racing_call
                .args(args)
                .env("REWRITE_FROM", &from)
                .env("REWRITE_TO", &path);
            run_ok(&mut racing_call);
            let same_second = stamps(&path) == before;
            write_file(&path, original);
            let mut call = env.objcache_in(dir, std::iter::once(racing.as_os_str()));
            run_ok(call.args(args));
            let what = format!("{file} as before the racing compile");
            assert_bytes_eq(&read(&dir.join("main.o")), &expected, &what);
            same_second
        });
    }
}

/// Files written well before the build still give direct hits on the
/// 1-second file system: the rule costs only files changed within the last
/// tick or two before a call.
#[test]
fn settled_files_on_a_one_second_file_system_hit_directly() {
    require("gcc");
    let env = TestEnv::new();
    let Some(coarse) = CoarseFs::mount(env.root()) else {
        return;
    };
    let dir = &coarse.mnt;
    write_file(&dir.join("hdr.h"), V111);
    write_file(
        &dir.join("main.c"),
        "#include \"hdr.h\"\nint val(void) { return VAL; }\n",
    );
    let u = Compile::new(dir, "gcc", &["-c", "main.c", "-o", "main.o"], "main.o");
    wait_until_settled();
    u.check(&env);
    u.check(&env);
    u.check(&env);
    let s = env.stats();
    let counts = ["cache_miss", "direct_cache_hit", "modified_input_file"].map(|c| get(&s, c));
    assert_eq!(counts, [1, 2, 0], "{s:?}");
}

/// A `.dwo` that a compile of another source to the same object rewrites
/// in place in the second the last one wrote it keeps its inode, size and
/// ctime. It was taken for no output: the entry was stored without it, and
/// a later hit wrote no `.dwo`.
#[test]
fn a_dwo_rewritten_in_the_second_of_the_last_compile_is_stored() {
    require("gcc");
    let env = TestEnv::new();
    let Some(coarse) = CoarseFs::mount(env.root()) else {
        return;
    };
    let dir = &coarse.mnt;
    write_file(&dir.join("a.c"), "int f(int x) { return x; }\n");
    write_file(&dir.join("b.c"), "int f(int y) { return y; }\n");
    let [from_a, from_b]: [Vec<&str>; 2] =
        ["a.c", "b.c"].map(|s| vec!["-g", "-gsplit-dwarf", "-c", s, "-o", "s.o"]);
    let dwo = dir.join("s.dwo");
    assert!(plain("gcc", dir, &from_b).success());
    let expected = read(&dwo);
    wait_until_settled();
    same_second_rounds(&env, "-gsplit-dwarf", || {
        rm(&dwo);
        wait_for_a_new_second();
        cc(&env, dir, &from_a, "");
        let before = stamps(&dwo);
        cc(&env, dir, &from_b, "");
        let same_second = stamps(&dwo) == before;
        rm(&dir.join("s.o"));
        rm(&dwo);
        let hits = env.hits();
        cc(&env, dir, &from_b, "");
        assert_eq!(env.hits(), hits + 1, "b.c again: a hit");
        assert!(dwo.exists(), "the hit of b.c wrote no .dwo");
        assert_bytes_eq(&read(&dwo), &expected, "the .dwo of the hit of b.c");
        same_second
    });
}
