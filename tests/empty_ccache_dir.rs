//! `CCACHE_DIR=` (set but empty) is no directory, as in ccache: the cache
//! and its primary configuration are in the default places, whatever
//! `cache_dir` the system configuration sets, never a `ccache.conf` in
//! whatever directory the call runs in.

use crate::common::*;
use std::path::Path;

/// `objcache ARGS` in `cwd` with `CCACHE_DIR=` and the home directory `home`.
fn manager(env: &TestEnv, cwd: &Path, home: &Path, args: &[&str]) -> String {
    manager_with(env, cwd, home, args, "/nonexistent")
}

/// `manager`, with the system configuration file `system`.
fn manager_with(env: &TestEnv, cwd: &Path, home: &Path, args: &[&str], system: &str) -> String {
    let mut cmd = env.objcache_in(cwd, args);
    cmd.env("CCACHE_DIR", "")
        .env("OBJCACHE_SYSTEM_CONFIG", system)
        .env("HOME", home)
        .env_remove("XDG_CACHE_HOME")
        .env_remove("XDG_CONFIG_HOME");
    run_ok(&mut cmd).stdout_str()
}

#[test]
fn an_empty_ccache_dir_means_the_default_places() {
    let env = TestEnv::new();
    let home = env.dir("home");
    let work = env.dir("work");
    let user_config = home.join(".config/ccache/ccache.conf");
    write_file(&user_config, "max_files = 4321\n");
    write_file(&work.join("ccache.conf"), "max_size = 1234M\n");

    let shown = manager(&env, &work, &home, &["-p"]);
    assert!(
        shown.contains(&format!("({}) max_files = 4321", user_config.display())),
        "the user's config is the primary one:\n{shown}"
    );
    assert!(
        !shown.contains("(ccache.conf)"),
        "./ccache.conf read as the primary config:\n{shown}"
    );
    let cache_dir = manager(&env, &work, &home, &["-k", "cache_dir"]);
    let expected = home.join(".cache/ccache");
    assert_eq!(cache_dir.trim_end(), expected.to_str().unwrap());
    let stats = manager(&env, &work, &home, &["-sv"]);
    let config_line = format!("{}", user_config.display());
    assert!(
        stats
            .lines()
            .any(|l| l.starts_with("Config file:") && l.ends_with(&config_line)),
        "{stats}"
    );

    // Over a cache_dir of the system configuration, for the cache and the
    // primary file alike (ccache's suite `upgrade`, test 5).
    let system = env.root().join("system.conf");
    write_file(
        &system,
        &format!("cache_dir = {}\n", env.root().join("nowhere").display()),
    );
    let system = system.to_str().unwrap();
    let cache_dir = manager_with(&env, &work, &home, &["-k", "cache_dir"], system);
    assert_eq!(cache_dir.trim_end(), expected.to_str().unwrap());
    let shown = manager_with(&env, &work, &home, &["-p"], system);
    assert!(
        shown.contains(&format!("({}) max_files = 4321", user_config.display())),
        "the user's config is the primary one:\n{shown}"
    );
    // Without CCACHE_DIR, the system's cache_dir holds both.
    let mut cmd = env.objcache_in(&work, ["-sv"]);
    cmd.env_remove("CCACHE_DIR")
        .env("OBJCACHE_SYSTEM_CONFIG", system)
        .env("HOME", &home);
    let stats = run_ok(&mut cmd).stdout_str();
    let nowhere = env.root().join("nowhere/ccache.conf");
    assert!(
        stats
            .lines()
            .any(|l| l.starts_with("Config file:") && l.ends_with(nowhere.to_str().unwrap())),
        "{stats}"
    );
}
