//! Counters as ccache 4.13 counts them: which counter a call increments in
//! each situation, the local storage read/write counters per entry file,
//! the size counters against a walk of the cache directory, and a wrapper
//! reached through itself counting one call.

use crate::common::*;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

const SOURCE: &str = "int counted(int x) { return x * 3; }\n";

/// The counters that changed between two `--print-stats`, timestamps and
/// the size counters (miss inputs' count too) left out.
fn changed(before: &Stats, after: &Stats) -> Vec<(String, u64)> {
    after
        .into_iter()
        .filter(|(k, _)| {
            !k.contains("timestamp")
                && *k != "files_in_cache"
                && *k != "miss_inputs_in_cache"
                && *k != "cache_size_kibibyte"
        })
        .filter(|(k, v)| get(before, k) != **v)
        .map(|(k, v)| (k.clone(), v - get(before, k)))
        .collect()
}

/// Counter name and how much it grew.
type Delta = Vec<(String, u64)>;

fn counts(pairs: &[(&str, u64)]) -> Delta {
    let mut v: Vec<(String, u64)> = pairs.iter().map(|(k, n)| (k.to_string(), *n)).collect();
    v.sort();
    v
}

/// Runs `gcc a` plainly and through objcache (with `vars`) in `cwd` and
/// requires the same exit code, stdout and stderr; returns the counters the
/// objcache call changed.
fn like_plain(env: &TestEnv, cwd: &Path, a: &[&str], vars: &[(&str, &str)]) -> Vec<(String, u64)> {
    require("gcc");
    let before = env.stats();
    let p = plain("gcc", cwd, a);
    let mut cmd = env.objcache_in(cwd, std::iter::once("gcc").chain(a.iter().copied()));
    cmd.envs(vars.iter().copied());
    let o = run(&mut cmd);
    assert_eq!(
        o.code(),
        p.code(),
        "exit code of {a:?}\nplain: {}\nobjcache: {}",
        p.dump(),
        o.dump()
    );
    assert_bytes_eq(&o.stdout, &p.stdout, &format!("stdout of {a:?}"));
    assert_bytes_eq(&o.stderr, &p.stderr, &format!("stderr of {a:?}"));
    // ccache's counters; why a miss missed is tests/explain.rs's subject.
    let mut delta = changed(&before, &env.stats());
    delta.retain(|(name, _)| !name.starts_with("miss_reason_"));
    delta
}

/// As [`like_plain`] for a compile that succeeds, also comparing the object.
fn compiled_like_plain(
    env: &TestEnv,
    cwd: &Path,
    a: &[&str],
    obj: &str,
    vars: &[(&str, &str)],
) -> Vec<(String, u64)> {
    let expected = plain_object("gcc", cwd, a, obj);
    rm(&cwd.join(obj));
    let delta = like_plain(env, cwd, a, vars);
    assert_bytes_eq(
        &read(&cwd.join(obj)),
        &expected,
        &format!("object of {a:?}"),
    );
    delta
}

#[test]
fn a_ccache_disable_comment_counts_disabled() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    fs::write(dir.join("d.c"), format!("/* ccache:disable */\n{SOURCE}")).unwrap();
    for _ in 0..2 {
        let delta = compiled_like_plain(&env, &dir, &["-c", "d.c"], "d.o", &[]);
        assert_eq!(delta, counts(&[("disabled", 1)]));
    }
    assert!(
        cache_entry_files(&env.cache_dir).is_empty(),
        "nothing stored"
    );
    // Only the first 4 KiB are searched, as in ccache.
    let late = format!("{SOURCE}/*{}*/\n/* ccache:disable */\n", "x".repeat(5000));
    fs::write(dir.join("late.c"), late).unwrap();
    let delta = compiled_like_plain(&env, &dir, &["-c", "late.c"], "late.o", &[]);
    assert_eq!(get_delta(&delta, "cache_miss"), 1, "{delta:?}");
}

fn get_delta(delta: &[(String, u64)], name: &str) -> u64 {
    delta.iter().find(|(k, _)| k == name).map_or(0, |(_, v)| *v)
}

#[test]
fn ccache_disable_counts_nothing() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    fs::write(dir.join("t.c"), SOURCE).unwrap();
    let a = ["-c", "t.c"];
    let delta = compiled_like_plain(&env, &dir, &a, "t.o", &[("CCACHE_DISABLE", "1")]);
    assert_eq!(delta, vec![], "ccache counts nothing when disabled");
    let delta = compiled_like_plain(&env, &dir, &a, "t.o", &[]);
    assert_eq!(get_delta(&delta, "cache_miss"), 1, "{delta:?}");
}

#[test]
fn a_missing_or_directory_source_is_no_input_file() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    fs::create_dir(dir.join("d.c")).unwrap();
    for a in [&["-c", "missing.c"][..], &["-c", "d.c"], &["-O2", "-c"]] {
        let delta = like_plain(&env, &dir, a, &[]);
        assert_eq!(delta, counts(&[("no_input_file", 1)]), "{a:?}");
    }
}

#[test]
fn an_include_that_is_no_regular_file_is_bad_input_file() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    fs::write(dir.join("n.c"), format!("#include \"/dev/null\"\n{SOURCE}")).unwrap();
    let a = ["-c", "n.c"];
    let delta = compiled_like_plain(&env, &dir, &a, "n.o", &[]);
    // The manifest was looked up (and missed) before the preprocessor ran.
    let expected = [
        ("bad_input_file", 1),
        ("direct_cache_miss", 1),
        ("local_storage_read_miss", 1),
    ];
    assert_eq!(delta, counts(&expected));
    assert!(
        cache_entry_files(&env.cache_dir).is_empty(),
        "nothing stored"
    );
    // Depend mode reads the include from the compiler's `.d`.
    let a = ["-c", "n.c", "-MD"];
    let delta = compiled_like_plain(&env, &dir, &a, "n.o", &[("CCACHE_DEPEND", "1")]);
    assert_eq!(get_delta(&delta, "bad_input_file"), 1, "{delta:?}");
    assert_eq!(get_delta(&delta, "cache_miss"), 0, "{delta:?}");
    assert!(
        cache_entry_files(&env.cache_dir).is_empty(),
        "nothing stored"
    );
}

#[test]
fn an_output_that_cannot_be_written_is_bad_output_file() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    fs::write(dir.join("t.c"), SOURCE).unwrap();
    fs::create_dir(dir.join("out.o")).unwrap();
    for a in [
        &["-c", "t.c", "-o", "out.o"][..],
        &["-c", "t.c", "-o", "nodir/t.o"],
    ] {
        let delta = like_plain(&env, &dir, a, &[]);
        assert_eq!(delta, counts(&[("bad_output_file", 1)]), "{a:?}");
    }
    // Checked before any lookup, as in ccache: an output that became a
    // directory after a miss is no hit.
    let delta = compiled_like_plain(&env, &dir, &["-c", "t.c", "-o", "t.o"], "t.o", &[]);
    assert_eq!(get_delta(&delta, "cache_miss"), 1, "{delta:?}");
    fs::remove_file(dir.join("t.o")).unwrap();
    fs::create_dir(dir.join("t.o")).unwrap();
    let delta = like_plain(&env, &dir, &["-c", "t.c", "-o", "t.o"], &[]);
    assert_eq!(delta, counts(&[("bad_output_file", 1)]), "{delta:?}");
}

/// A `prefix_command` that changes `what` while the compiler runs.
fn toucher(dir: &Path, what: &str) -> String {
    let script = dir.join("touch-and-compile");
    // After a pause: file times come from a coarser clock than the call's
    // start, so a change in the same tick would look older than the start.
    let body = format!("#!/bin/sh\nsleep 0.1\necho '/* touched */' >> {what}\nexec \"$@\"\n");
    fs::write(&script, body).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    script.display().to_string()
}

#[test]
fn a_file_changed_during_the_compile_is_modified_input_file() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    fs::write(dir.join("m.h"), "#define THREE 3\n").unwrap();
    fs::write(
        dir.join("m.c"),
        "#include \"m.h\"\nint m(void) { return THREE; }\n",
    )
    .unwrap();
    let prefix = toucher(&dir, "m.h");
    let vars = [("CCACHE_PREFIX", prefix.as_str())];
    for _ in 0..2 {
        let delta = compiled_like_plain(&env, &dir, &["-c", "m.c"], "m.o", &vars);
        let expected = [
            ("direct_cache_miss", 1),
            ("local_storage_read_miss", 2),
            ("modified_input_file", 1),
            ("preprocessed_cache_miss", 1),
        ];
        assert_eq!(delta, counts(&expected), "not a miss, and nothing stored");
    }
    assert!(
        cache_entry_files(&env.cache_dir).is_empty(),
        "nothing stored"
    );
    let vars = [("CCACHE_PREFIX", prefix.as_str()), ("CCACHE_DEPEND", "1")];
    let a = ["-c", "m.c", "-MD"];
    let delta = compiled_like_plain(&env, &dir, &a, "m.o", &vars);
    assert_eq!(get_delta(&delta, "modified_input_file"), 1, "{delta:?}");
    assert_eq!(get_delta(&delta, "cache_miss"), 0, "{delta:?}");
    assert!(
        cache_entry_files(&env.cache_dir).is_empty(),
        "nothing stored"
    );
}

#[test]
fn unsupported_source_encoding_is_never_counted_for_gcc() {
    // ccache counts it for MSVC sources that are not UTF-8 only: a Latin-1
    // source is cached like any other.
    let env = TestEnv::new();
    let dir = env.dir("w");
    let mut src = b"const char *s = \"caf".to_vec();
    src.extend_from_slice(b"\xe9\";\n");
    fs::write(dir.join("l.c"), src).unwrap();
    let a = ["-finput-charset=ISO-8859-1", "-c", "l.c"];
    let delta = compiled_like_plain(&env, &dir, &a, "l.o", &[]);
    assert_eq!(get_delta(&delta, "cache_miss"), 1, "{delta:?}");
    let delta = compiled_like_plain(&env, &dir, &a, "l.o", &[]);
    assert_eq!(get_delta(&delta, "direct_cache_hit"), 1, "{delta:?}");
    assert_eq!(env.stat("unsupported_source_encoding"), 0);
}

#[test]
fn refused_options_and_directives_count_as_ccache_does() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    fs::write(dir.join("t.c"), SOURCE).unwrap();
    let asm = "__asm__(\".section .rodata\\n.incbin \\\"t.c\\\"\\n.text\");\nint i;\n";
    fs::write(dir.join("inc.c"), asm).unwrap();
    // An option is refused while the arguments are read; a directive only
    // shows in the preprocessed text, after the manifest was looked up.
    let option = counts(&[("unsupported_compiler_option", 1)]);
    let directive = counts(&[
        ("direct_cache_miss", 1),
        ("local_storage_read_miss", 1),
        ("unsupported_code_directive", 1),
    ]);
    let cases: [(&[&str], &str, &Delta); 5] = [
        (&["-c", "t.c", "-save-temps"], "t.o", &option),
        (&["-M", "t.c"], "t.o", &option),
        (&["-MM", "t.c", "-o", "t.dep"], "t.o", &option),
        (&["-c", "t.c", "-fmodules-ts"], "t.o", &option),
        (&["-c", "inc.c"], "inc.o", &directive),
    ];
    for (a, obj, expected) in cases {
        rm(&dir.join(obj));
        let p = plain("gcc", &dir, a);
        let delta = if p.success() && dir.join(obj).exists() {
            compiled_like_plain(&env, &dir, a, obj, &[])
        } else {
            like_plain(&env, &dir, a, &[])
        };
        assert_eq!(&delta, expected, "{a:?}");
    }
}

#[test]
fn inputs_come_before_objections_to_options_as_in_ccache() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    fs::write(dir.join("t.c"), SOURCE).unwrap();
    fs::write(dir.join("u.c"), format!("{SOURCE}int u;\n")).unwrap();
    let cases: [(&[&str], &str); 9] = [
        (&["-E"], "no_input_file"),
        (&["-c", "missing.f90"], "no_input_file"),
        (&["-c", "-save-temps"], "no_input_file"),
        (&["-c", "-"], "no_input_file"),
        (&["-E", "t.c", "u.c"], "called_for_link"),
        (&["-save-temps", "t.c", "u.c"], "called_for_link"),
        (
            &["-c", "-save-temps", "t.c", "u.c"],
            "multiple_source_files",
        ),
        (&["-E", "t.c", "-o", "-"], "output_to_stdout"),
        (&["-E", "t.c"], "called_for_preprocessing"),
    ];
    for (a, counter) in cases {
        let delta = like_plain(&env, &dir, a, &[]);
        assert_eq!(delta, counts(&[(counter, 1)]), "{a:?}");
    }
}

#[test]
fn local_storage_reads_count_each_entry_file() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    fs::write(dir.join("t.c"), SOURCE).unwrap();
    let a = ["-c", "t.c"];
    // Direct mode: the manifest, then the result, are read.
    let miss = [
        ("cache_miss", 1),
        ("direct_cache_miss", 1),
        ("local_storage_miss", 1),
        ("local_storage_read_miss", 2),
        ("local_storage_write", 2),
        ("preprocessed_cache_miss", 1),
    ];
    assert_eq!(
        compiled_like_plain(&env, &dir, &a, "t.o", &[]),
        counts(&miss)
    );
    let hit = [
        ("direct_cache_hit", 1),
        ("local_storage_hit", 1),
        ("local_storage_read_hit", 2),
    ];
    let delta = compiled_like_plain(&env, &dir, &a, "t.o", &[]);
    let without_writes: Vec<_> = delta
        .into_iter()
        .filter(|(k, _)| k != "local_storage_write")
        .collect();
    assert_eq!(without_writes, counts(&hit));
    // A recache is no miss; it reads the manifest it updates (as ccache
    // counts it), writes the result, and leaves the manifest that already
    // leads to it (as ccache 4.7.5 does).
    let recache = [
        ("local_storage_read_hit", 1),
        ("local_storage_write", 1),
        ("recache", 1),
    ];
    let vars = [("CCACHE_RECACHE", "1")];
    assert_eq!(
        compiled_like_plain(&env, &dir, &a, "t.o", &vars),
        counts(&recache)
    );
    // A read-only miss reads both and writes nothing.
    let a = ["-c", "t.c", "-O1"];
    let mut miss = miss.to_vec();
    miss.retain(|(k, _)| *k != "local_storage_write");
    let vars = [("CCACHE_READONLY", "1")];
    assert_eq!(
        compiled_like_plain(&env, &dir, &a, "t.o", &vars),
        counts(&miss)
    );
    // Preprocessor mode reads the result only.
    let nodirect = [("CCACHE_NODIRECT", "1")];
    fs::write(dir.join("p.c"), format!("{SOURCE}int p;\n")).unwrap();
    let a = ["-c", "p.c"];
    let miss = [
        ("cache_miss", 1),
        ("local_storage_miss", 1),
        ("local_storage_read_miss", 1),
        ("local_storage_write", 1),
        ("preprocessed_cache_miss", 1),
    ];
    assert_eq!(
        compiled_like_plain(&env, &dir, &a, "p.o", &nodirect),
        counts(&miss)
    );
    let hit = [
        ("local_storage_hit", 1),
        ("local_storage_read_hit", 1),
        ("preprocessed_cache_hit", 1),
    ];
    assert_eq!(
        compiled_like_plain(&env, &dir, &a, "p.o", &nodirect),
        counts(&hit)
    );
    // Direct mode finds no manifest but the result: one read of each, and
    // the manifest is written.
    let hit = [
        ("direct_cache_miss", 1),
        ("local_storage_hit", 1),
        ("local_storage_read_hit", 1),
        ("local_storage_read_miss", 1),
        ("local_storage_write", 1),
        ("preprocessed_cache_hit", 1),
    ];
    assert_eq!(
        compiled_like_plain(&env, &dir, &a, "p.o", &[]),
        counts(&hit)
    );
    // Depend mode: the manifest is read, no result is looked up.
    fs::write(dir.join("dm.c"), format!("{SOURCE}int dm;\n")).unwrap();
    let a = ["-c", "dm.c", "-MD"];
    let miss = [
        ("cache_miss", 1),
        ("direct_cache_miss", 1),
        ("local_storage_miss", 1),
        ("local_storage_read_miss", 1),
        ("local_storage_write", 2),
    ];
    let depend = [("CCACHE_DEPEND", "1")];
    assert_eq!(
        compiled_like_plain(&env, &dir, &a, "dm.o", &depend),
        counts(&miss)
    );
}

#[test]
fn a_hit_from_remote_storage_is_a_local_storage_miss() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    let remote = env.dir("remote");
    fs::write(dir.join("t.c"), SOURCE).unwrap();
    let url = format!("file:{}", remote.display());
    let vars = [("CCACHE_REMOTE_STORAGE", url.as_str())];
    let a = ["-c", "t.c"];
    let miss = compiled_like_plain(&env, &dir, &a, "t.o", &vars);
    assert_eq!(get_delta(&miss, "remote_storage_miss"), 1, "{miss:?}");
    assert_eq!(get_delta(&miss, "local_storage_miss"), 1, "{miss:?}");
    assert_eq!(get_delta(&miss, "remote_storage_write"), 2, "{miss:?}");
    run_ok(env.objcache().arg("-C"));
    // Manifest and result: each a local read miss and a remote read hit,
    // kept locally; the call is a remote hit and a local miss.
    let hit = [
        ("direct_cache_hit", 1),
        ("local_storage_miss", 1),
        ("local_storage_read_miss", 2),
        ("local_storage_write", 2),
        ("remote_storage_hit", 1),
        ("remote_storage_read_hit", 2),
    ];
    assert_eq!(
        compiled_like_plain(&env, &dir, &a, "t.o", &vars),
        counts(&hit)
    );
    // Now local: the remotes are not asked.
    let hit = [
        ("direct_cache_hit", 1),
        ("local_storage_hit", 1),
        ("local_storage_read_hit", 2),
    ];
    let delta = compiled_like_plain(&env, &dir, &a, "t.o", &vars);
    let without_writes: Delta = delta
        .into_iter()
        .filter(|(k, _)| k != "local_storage_write")
        .collect();
    assert_eq!(without_writes, counts(&hit));
}

/// (files, KiB) of the entry files (results, manifests, raw objects and
/// miss inputs) on disk, each file's KiB as its disk blocks make them;
/// files as `files_in_cache` counts them (miss inputs are not).
fn walk_totals(cache: &Path) -> (u64, u64) {
    let mut files = 0;
    let mut kib = 0;
    for p in walk_files(cache) {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let entry = name.len() == 65
            && name[..64].bytes().all(|b| b.is_ascii_hexdigit())
            && name.ends_with(['R', 'M', 'W', 'X']);
        if entry {
            files += u64::from(!is_miss_inputs(&p));
            kib += fs::metadata(&p).unwrap().blocks() * 512 / 1024;
        }
    }
    (files, kib)
}

#[track_caller]
fn assert_sizes_match_walk(env: &TestEnv, when: &str) {
    let s = env.stats();
    assert_eq!(
        (get(&s, "files_in_cache"), get(&s, "cache_size_kibibyte")),
        walk_totals(&env.cache_dir),
        "{when}: files_in_cache and cache_size_kibibyte against a walk of the cache dir"
    );
}

#[test]
fn size_counters_match_the_cache_dir_after_mixed_operations() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    let compile = |n: usize, vars: &[(&str, &str)]| {
        let src = format!("u{n}.c");
        write_big_source(&dir.join(&src), 3000 + 700 * n, n as u32);
        let mut cmd = env.objcache_in(&dir, ["gcc", "-c", src.as_str()]);
        cmd.envs(vars.iter().copied());
        run_ok(&mut cmd);
    };
    for n in 0..6 {
        compile(n, &[]);
    }
    assert_sizes_match_walk(&env, "after six stores");
    compile(1, &[("CCACHE_RECACHE", "1")]);
    compile(
        2,
        &[("CCACHE_RECACHE", "1"), ("CCACHE_COMPRESSLEVEL", "19")],
    );
    assert_sizes_match_walk(&env, "after overwriting two results");
    compile(6, &[("CCACHE_HARDLINK", "1")]);
    compile(7, &[("CCACHE_FILECLONE", "1")]);
    assert_sizes_match_walk(&env, "after storing raw objects");
    for entry in cache_entry_files(&env.cache_dir).iter().take(4) {
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3 * 86400);
        fs::File::options()
            .write(true)
            .open(entry)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    run_ok(env.objcache().args(["-X", "uncompressed"]));
    assert_sizes_match_walk(&env, "after -X");
    // A damaged result is removed when a hit finds it.
    let damaged = cache_entry_files(&env.cache_dir)
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with('R'))
        .unwrap();
    let mut bytes = read(&damaged);
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    fs::write(&damaged, bytes).unwrap();
    let corrupt = env.stat("corrupt_cache_entry");
    for n in 0..6 {
        compile(n, &[]);
    }
    assert_eq!(env.stat("corrupt_cache_entry"), corrupt + 1);
    assert_sizes_match_walk(&env, "after a damaged result was replaced");
    run_ok(env.objcache().args(["--evict-older-than", "2d"]));
    assert_sizes_match_walk(&env, "after --evict-older-than");
    let (_, kib) = walk_totals(&env.cache_dir);
    run_ok(
        env.objcache()
            .args(["--max-size", &format!("{}K", kib / 2)]),
    );
    run_ok(env.objcache().arg("-c"));
    assert_sizes_match_walk(&env, "after -c with half the size");
    compile(8, &[]);
    assert_sizes_match_walk(&env, "after a store that may clean up");
    run_ok(env.objcache().arg("-C"));
    assert_sizes_match_walk(&env, "after -C");
    assert_eq!(walk_totals(&env.cache_dir).0, 0, "-C removes every entry");
    compile(9, &[]);
    assert_sizes_match_walk(&env, "after a store into the cleared cache");
}

#[test]
fn a_wrapper_reached_through_itself_counts_one_call() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("w");
    fs::write(dir.join("t.c"), SOURCE).unwrap();
    let bin = objcache_bin();
    let bin = bin.to_str().unwrap();
    let mut runs = Vec::new();
    for _ in 0..2 {
        let before = env.stats();
        run_ok(&mut env.objcache_in(&dir, [bin, "gcc", "-c", "t.c"]));
        runs.push(changed(&before, &env.stats()));
    }
    assert_eq!(get_delta(&runs[0], "cache_miss"), 1, "{:?}", runs[0]);
    assert_eq!(get_delta(&runs[1], "direct_cache_hit"), 1, "{:?}", runs[1]);
    assert_eq!(get_delta(&runs[1], "cache_miss"), 0, "{:?}", runs[1]);
    // A masquerading `gcc` first in PATH, reached again through a
    // prefix_command that calls the compiler by its name.
    let masq = env.dir("masq");
    std::os::unix::fs::symlink(objcache_bin(), masq.join("gcc")).unwrap();
    let script = dir.join("by-name");
    fs::write(&script, "#!/bin/sh\nshift\nexec gcc \"$@\"\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", masq.display(), std::env::var("PATH").unwrap());
    fs::write(dir.join("u.c"), format!("{SOURCE}int u;\n")).unwrap();
    let expected = plain_object("gcc", &dir, ["-c", "u.c"], "u.o");
    for round in 0..2 {
        rm(&dir.join("u.o"));
        let before = env.stats();
        let mut cmd = std::process::Command::new(masq.join("gcc"));
        clean_env(&mut cmd);
        cmd.current_dir(&dir)
            .args(["-c", "u.c"])
            .env("PATH", &path)
            .env("CCACHE_DIR", &env.cache_dir)
            .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent")
            .env("CCACHE_PREFIX", &script);
        run_ok(&mut cmd);
        assert_bytes_eq(
            &read(&dir.join("u.o")),
            &expected,
            "object through the masquerade",
        );
        let delta = changed(&before, &env.stats());
        let (hit, miss) = (
            get_delta(&delta, "direct_cache_hit"),
            get_delta(&delta, "cache_miss"),
        );
        assert_eq!(
            (hit, miss),
            if round == 0 { (0, 1) } else { (1, 0) },
            "{delta:?}"
        );
    }
}
