//! The `stats_log` file: compiles append to it, and `--show-log-stats` /
//! `--print-log-stats` add up the very file the compiles wrote.

use crate::common::*;
use std::fs;

/// `stats_log = ~/…` names a file in the home directory for the manager
/// as for a compile (read as given, the manager looked for a directory
/// named `~` in its working directory).
#[test]
fn a_stats_log_in_the_home_directory_is_read_where_compiles_write_it() {
    require("gcc");
    let env = TestEnv::new();
    let home = env.dir("home");
    let work = env.dir("work");
    fs::write(work.join("main.c"), "int main(void) { return 0; }\n").unwrap();
    let with_log = |cmd: &mut std::process::Command| {
        cmd.env("HOME", &home)
            .env("CCACHE_STATSLOG", "~/objcache-stats.log");
    };
    for _ in 0..2 {
        let mut cmd = env.objcache_in(&work, ["gcc", "-c", "main.c", "-o", "main.o"]);
        with_log(&mut cmd);
        run_ok(&mut cmd);
    }
    let written = fs::read_to_string(home.join("objcache-stats.log")).unwrap();
    assert_eq!(written.matches("# ").count(), 2, "{written}");
    assert!(!work.join("~").exists(), "a compile wrote under ./~");

    let mut cmd = env.objcache_in(&work, ["--print-log-stats"]);
    with_log(&mut cmd);
    let stats = parse_print_stats(&run_ok(&mut cmd).stdout_str());
    assert_eq!(get(&stats, "cache_miss"), 1);
    assert_eq!(get(&stats, "direct_cache_hit"), 1);

    let mut cmd = env.objcache_in(&work, ["--show-log-stats"]);
    with_log(&mut cmd);
    let text = run_ok(&mut cmd).stdout_str();
    assert!(text.contains("Hits:"), "{text}");
}
