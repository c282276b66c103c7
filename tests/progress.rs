//! The long manager commands draw a progress bar on a terminal's stderr,
//! and nothing else changes: with pipes the output is what it was before
//! the bars (no bar, no escape sequence), and under a terminal stdout
//! holds exactly the bytes it holds with a pipe.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::common::*;

/// Each command with the bar's title, and an initial cache of `ENTRIES`
/// entry-named files spread over the buckets (most older than a day).
const COMMANDS: &[(&str, &str)] = &[
    ("-c", "objcache -c: "),
    ("--check", "objcache --check: "),
    ("-X 3", "objcache -X: "),
    ("--evict-older-than 1d", "objcache --evict: "),
    ("--evict-namespace none", "objcache --evict: "),
    (
        "--trim-dir REMOTE --trim-max-size 100k",
        "objcache --trim-dir: ",
    ),
    ("--show-usage", "objcache --show-usage: "),
    ("-C", "objcache -C: "),
];

const ENTRIES: u32 = 600;

/// A cache of `ENTRIES` files named like entries (their content is no
/// valid entry: `--check` removes them, the others count them), and a
/// `file:` remote storage directory for `--trim-dir`.
fn fill(cache: &Path, remote: &Path) {
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3 * 86400);
    for i in 0..ENTRIES {
        let name = format!(
            "{:064x}",
            u128::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c)
        );
        let dir = cache.join(&name[..1]).join(&name[1..2]);
        fs::create_dir_all(&dir).unwrap();
        let kind = if i % 3 == 0 { 'M' } else { 'R' };
        let path = dir.join(format!("{name}{kind}"));
        fs::write(&path, vec![i as u8; 1000 + i as usize]).unwrap();
        if i % 4 != 0 {
            let f = fs::File::options().write(true).open(&path).unwrap();
            f.set_times(fs::FileTimes::new().set_accessed(old).set_modified(old))
                .unwrap();
        }
        let remote_file = remote.join(&name[..2]).join(&name[2..]);
        fs::create_dir_all(remote_file.parent().unwrap()).unwrap();
        fs::write(remote_file, vec![1u8; 4000]).unwrap();
    }
}

/// A fresh cache and remote directory, and the command line with the
/// remote's path in place of `REMOTE`.
fn setup(args: &str) -> (TestEnv, String) {
    let env = TestEnv::new();
    let remote = env.dir("remote");
    fill(&env.cache_dir, &remote);
    let line = args.replace("REMOTE", remote.to_str().unwrap());
    (env, line)
}

/// `objcache ARGS` with pipes for stdout and stderr.
fn piped(env: &TestEnv, line: &str) -> Out {
    let out = run(env.objcache().args(line.split(' ')));
    assert!(out.success(), "{line}: {}", out.dump());
    out
}

/// `objcache ARGS` with stderr on a terminal (`script`) and stdout in a
/// file: what reached the terminal, and what reached the file.
fn on_terminal(env: &TestEnv, line: &str) -> (String, Vec<u8>) {
    let stdout_file = env.root().join("stdout.txt");
    let shell_line = format!(
        "{} {line} > {}",
        objcache_bin().display(),
        stdout_file.display()
    );
    let mut cmd = Command::new("script");
    clean_env(&mut cmd);
    cmd.env("CCACHE_DIR", &env.cache_dir)
        .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent")
        .env("TERM", "xterm")
        .args(["-qec", &shell_line, "/dev/null"])
        .current_dir(env.root());
    let out = run(&mut cmd);
    assert!(out.success(), "{line}: {}", out.dump());
    (out.stdout_str(), fs::read(&stdout_file).unwrap())
}

#[test]
fn each_long_command_draws_a_bar_on_a_terminal() {
    require("script");
    for (args, title) in COMMANDS {
        let (env, line) = setup(args);
        let (terminal, _) = on_terminal(&env, &line);
        assert!(
            terminal.contains(title),
            "{line}: no bar titled {title:?} on the terminal:\n{terminal:?}"
        );
        // Erased at the end: the last thing drawn clears the line.
        assert!(
            terminal.ends_with("\r\x1b[2K"),
            "{line}: the bar is left on the terminal:\n{terminal:?}"
        );
    }
}

#[test]
fn with_pipes_nothing_changes_and_stdout_is_the_same_under_a_terminal() {
    require("script");
    for (args, _) in COMMANDS {
        // Two identical caches: one for the piped run, one for the
        // terminal, so that both see the same state.
        let (env, line) = setup(args);
        let out = piped(&env, &line);
        assert_eq!(out.stderr_str(), "", "{line}: stderr is a pipe");
        assert!(
            !out.stdout.iter().any(|&b| b == b'\r' || b == 0x1b),
            "{line}: control characters in the output:\n{}",
            out.stdout_str()
        );
        let (twin, twin_line) = setup(args);
        let (_, stdout) = on_terminal(&twin, &twin_line);
        let mask = |text: &[u8], env: &TestEnv| {
            String::from_utf8_lossy(text).replace(env.root().to_str().unwrap(), "ROOT")
        };
        assert_eq!(
            mask(&stdout, &twin),
            mask(&out.stdout, &env),
            "{line}: stdout differs when stderr is a terminal"
        );
    }
}

#[test]
fn a_dumb_terminal_gets_no_bar() {
    require("script");
    let (env, line) = setup("-c");
    let stdout_file = env.root().join("stdout.txt");
    let mut cmd = Command::new("script");
    clean_env(&mut cmd);
    cmd.env("CCACHE_DIR", &env.cache_dir)
        .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent")
        .env("TERM", "dumb")
        .args([
            "-qec",
            &format!(
                "{} {line} > {}",
                objcache_bin().display(),
                stdout_file.display()
            ),
            "/dev/null",
        ]);
    let out = run(&mut cmd);
    assert!(out.success(), "{}", out.dump());
    assert_eq!(out.stdout_str(), "", "a dumb terminal got output on stderr");
}

/// The bars' maths must not cost a compile: the binary needs no libm.so
/// (loading it is nine system calls at every start, hits included).
#[test]
fn the_binary_loads_no_libm() {
    let out = Command::new("ldd").arg(objcache_bin()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // A static build has no shared libraries at all.
    assert!(!text.contains("libm.so"), "{text}");
}
