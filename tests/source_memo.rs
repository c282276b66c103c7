//! A source's digest and what the keys take from its text (its time
//! macros, `__FILE__`, an escape byte, `ccache:disable`) are recalled from
//! the inode memo for a source of 16 KiB or more whose identity the memo
//! knows (`hash::source`): a hit then neither hashes nor scans the text.
//! What is recalled must always be what the text says.

use crate::common::*;
use std::fs;
use std::path::Path;

const NOTE: &str = "recalled from the inode memo";

/// A C source over 16 KiB: `head` first, then filler.
fn large_source(path: &Path, head: &str, value: u32) {
    let filler: String = (0..1200)
        .map(|i| format!("int filler_{i} = {i};\n"))
        .collect();
    let text = format!("{head}\nint value(void) {{ return {value}; }}\n{filler}");
    assert!(text.len() > 16 * 1024);
    fs::write(path, text).unwrap();
}

fn compile(dir: &Path, log: &Path) -> Compile {
    Compile::new(dir, "gcc", &["-c", "big.c", "-o", "big.o"], "big.o")
        .env("CCACHE_LOGFILE", log.to_str().unwrap())
}

/// A test env whose cache directory exists, as the memo's must before
/// the first call can remember anything there.
fn env_with_cache() -> TestEnv {
    let env = TestEnv::new();
    run_ok(env.objcache().arg("-z"));
    env
}

/// Waits until `path`'s stamps are settled by objcache's rule (the end of
/// the tick their digits show), so that the next call may remember it.
fn wait_settled(path: &Path) {
    use std::os::unix::fs::MetadataExt;
    let m = fs::metadata(path).unwrap();
    let ctime = objcache::clock::file_time_ns(m.ctime(), m.ctime_nsec());
    while !objcache::clock::stamp_settled(ctime, objcache::clock::coarse_now_ns()) {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// `large_source`, stamped a minute ago and settled by objcache's rule.
fn settled_large_source(path: &Path, head: &str, value: u32) {
    large_source(path, head, value);
    set_age(path, 60);
    wait_settled(path);
}

fn recalled(log: &Path) -> usize {
    fs::read_to_string(log)
        .unwrap_or_default()
        .matches(NOTE)
        .count()
}

#[test]
fn a_large_source_is_recalled_on_the_next_hit() {
    let env = env_with_cache();
    let dir = env.dir("src");
    let log = env.dir("logs").join("log");
    let src = dir.join("big.c");
    settled_large_source(&src, "", 1);
    compile(&dir, &log).check(&env);
    assert_eq!(recalled(&log), 0, "the first call derives the facts");
    compile(&dir, &log).check(&env);
    compile(&dir, &log).check(&env);
    assert_eq!(env.stat("direct_cache_hit"), 2);
    assert_eq!(recalled(&log), 2, "{}", fs::read_to_string(&log).unwrap());

    // No memo: never recalled.
    compile(&dir, &log)
        .env("CCACHE_NOINODECACHE", "1")
        .check(&env);
    assert_eq!(recalled(&log), 2);
    assert_eq!(env.stat("direct_cache_hit"), 3);
}

/// The same size and mtime, other text: only the ctime tells them apart,
/// and the memo's identity holds it.
#[test]
fn a_source_rewritten_with_its_old_size_and_mtime_is_not_recalled() {
    let env = env_with_cache();
    let dir = env.dir("src");
    let log = env.dir("logs").join("log");
    let src = dir.join("big.c");
    settled_large_source(&src, "", 1);
    compile(&dir, &log).check(&env);
    compile(&dir, &log).check(&env);
    assert_eq!(recalled(&log), 1);
    let mtime = fs::metadata(&src).unwrap().modified().unwrap();
    let size = fs::metadata(&src).unwrap().len();
    large_source(&src, "", 2);
    fs::File::options()
        .write(true)
        .open(&src)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    assert_eq!(fs::metadata(&src).unwrap().len(), size);
    wait_settled(&src);
    // `check` compares with plain gcc's object of the new text.
    compile(&dir, &log).check(&env);
    assert_eq!(env.stat("direct_cache_hit"), 1);
    assert_eq!(env.misses(), 2);
}

/// What the text says is what a recalled source says: `ccache:disable`
/// still disables, `__TIME__` still keeps it out of direct mode,
/// `__DATE__` still puts the date in the key.
#[test]
fn recalled_facts_decide_as_the_text_does() {
    let env = env_with_cache();
    let dir = env.dir("src");
    let log = env.dir("logs").join("log");
    let src = dir.join("big.c");

    settled_large_source(&src, "/* ccache:disable */", 1);
    for _ in 0..3 {
        compile(&dir, &log).check(&env);
    }
    assert_eq!(env.stat("disabled"), 3);

    settled_large_source(&src, "const char *t = __TIME__;", 1);
    // Not compared with gcc's object: __TIME__ differs between compiles.
    for _ in 0..3 {
        compile(&dir, &log)
            .env("CCACHE_SLOPPINESS", "time_macros")
            .cached(&env);
    }
    let direct_before = env.stat("direct_cache_hit");
    for _ in 0..2 {
        compile(&dir, &log).cached(&env);
    }
    assert_eq!(
        env.stat("direct_cache_hit"),
        direct_before,
        "__TIME__: no direct mode"
    );
    assert!(recalled(&log) >= 2, "{}", fs::read_to_string(&log).unwrap());
}
