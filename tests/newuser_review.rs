//! Issue #25 tried as a new user and a hostile neighbour would: a
//! masquerade directory beside ccache's, the tables of the documents as a
//! Markdown renderer reads them, `--explain` with its output named late.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::*;

/// What ccache does with a compile, as far as finding its compiler goes:
/// run the first program of its own name in `PATH` that is not ccache
/// (with `CCACHE_DISABLE`, and as the compiler of a cached call alike).
/// Each run leaves a line in `$FAKE_CCACHE_RAN`.
const FAKE_CCACHE: &str = r#"#!/bin/sh
echo "$0" >> "$FAKE_CCACHE_RAN"
name=$(basename "$0")
me=$(readlink -f "$0")
IFS=:
for dir in $PATH; do
    candidate="$dir/$name"
    if [ -x "$candidate" ] && [ "$(readlink -f "$candidate")" != "$me" ]; then
        exec "$candidate" "$@"
    fi
done
echo "fake ccache: no $name" >&2
exit 127
"#;

/// `gcc -c hello.c` in `proj` with `PATH` set to `path`, bounded in time:
/// a loop of execs never ends by itself.
fn gcc_through(env: &TestEnv, proj: &Path, path: &str, ran: &Path) -> Out {
    let mut cmd = Command::new("gcc");
    clean_env(&mut cmd);
    cmd.env("PATH", path)
        .env("CCACHE_DIR", &env.cache_dir)
        .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent")
        .env("FAKE_CCACHE_RAN", ran)
        .args(["-c", "hello.c", "-o", "hello.o"])
        .current_dir(proj);
    run_with_timeout(&mut cmd, Duration::from_secs(30))
}

/// A user moving from ccache puts objcache's masquerade directory first
/// in `PATH` and leaves Debian's `/usr/lib/ccache` after it. objcache
/// once took ccache's `gcc` link for the compiler: ccache, run with
/// `CCACHE_DISABLE`, ran the first `gcc` in `PATH`, objcache's link
/// again, and the two exec'd each other for ever at full CPU. (With the
/// ccache directory first, ccache runs objcache's link, which must then
/// skip ccache's as well.)
#[test]
fn a_masquerade_dir_beside_ccaches_never_loops() {
    require("gcc");
    let env = TestEnv::new();
    let ccache = env.dir("ccache-bin").join("ccache");
    fs::write(&ccache, FAKE_CCACHE).unwrap();
    fs::set_permissions(&ccache, fs::Permissions::from_mode(0o755)).unwrap();
    let ccache_links = env.dir("usr-lib-ccache");
    symlink(&ccache, ccache_links.join("gcc")).unwrap();
    let links = env.dir("masq");
    let mut install = env.objcache();
    install.arg("--install-symlinks").arg(&links);
    run_ok(&mut install);
    assert!(links.join("gcc").is_symlink(), "no gcc link made");

    let proj = env.copy_fixture("hello", "proj");
    let expected = plain_object("gcc", &proj, ["-c", "hello.c", "-o", "hello.o"], "hello.o");
    let orig = std::env::var("PATH").unwrap_or_default();
    let ran = env.root().join("ccache-ran");
    let objcache_first = format!("{}:{}:{orig}", links.display(), ccache_links.display());
    let out = gcc_through(&env, &proj, &objcache_first, &ran);
    assert!(out.success(), "{}", out.dump());
    assert_bytes_eq(&read(&proj.join("hello.o")), &expected, "hello.o");
    assert!(
        !ran.exists(),
        "objcache ran ccache as its compiler: {}",
        String::from_utf8_lossy(&fs::read(&ran).unwrap_or_default())
    );
    assert_eq!(env.stat("cache_miss"), 1);

    rm(&proj.join("hello.o"));
    let ccache_first = format!("{}:{}:{orig}", ccache_links.display(), links.display());
    let out = gcc_through(&env, &proj, &ccache_first, &ran);
    assert!(out.success(), "{}", out.dump());
    assert_bytes_eq(&read(&proj.join("hello.o")), &expected, "hello.o");
    assert_eq!(env.hits(), 1, "objcache's link, run by ccache, hits");
}

/// GitHub's Markdown ends a table at a blank line: rows after one, without
/// a header and a delimiter row of their own, show as a paragraph of pipes
/// (docs/configuration.md's last keys did).
#[test]
fn every_table_in_the_docs_starts_with_its_header() {
    let delimiter = |line: &str| {
        line.starts_with('|')
            && line.contains("---")
            && line.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '))
    };
    let mut bad = Vec::new();
    for (name, text) in crate::doc_commands::documents() {
        let lines: Vec<&str> = text.lines().collect();
        let mut fence: Option<&str> = None;
        for (i, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            for marker in ["```", "~~~"] {
                if trimmed.starts_with(marker) {
                    fence = match fence {
                        None => Some(marker),
                        Some(open) if open == marker => None,
                        open => open,
                    };
                }
            }
            let starts_table = line.starts_with('|')
                && fence.is_none()
                && (i == 0 || !lines[i - 1].starts_with('|'));
            if starts_table && !lines.get(i + 1).is_some_and(|l| delimiter(l)) {
                bad.push(format!("{name}:{}: {line:.70}", i + 1));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "table rows without a header and delimiter row above them (a blank line inside a table?):\n{}",
        bad.join("\n")
    );
}

/// `--explain`'s OUTPUT is optional, so `--explain --format json foo.o`
/// leaves `foo.o` to no option: the error says where it goes instead of
/// only that it is unexpected.
#[test]
fn explain_with_the_output_named_late_says_where_it_goes() {
    let env = TestEnv::new();
    let mut cmd = env.objcache();
    cmd.args(["--explain", "--format", "json", "build/foo.o"]);
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(1), "{}", out.dump());
    assert!(
        out.stderr_str().contains("--explain build/foo.o"),
        "{}",
        out.dump()
    );
    // Where the message says: taken as the output (of which this cache
    // has no miss on record).
    let mut right = env.objcache();
    right.args(["--explain", "build/foo.o", "--format", "json"]);
    let out = run(&mut right);
    assert!(
        out.stderr_str()
            .contains("no miss of build/foo.o on record"),
        "{}",
        out.dump()
    );
}

/// The compiler lookup skips ccache; a `prefix_command` lookup must not:
/// a prefix may be any program, one named ccache too.
#[test]
fn a_prefix_command_named_ccache_still_runs() {
    require("gcc");
    let env = TestEnv::new();
    let bin = env.dir("bin");
    let ran = env.root().join("prefix-ran");
    write_file(
        &bin.join("ccache"),
        &format!("#!/bin/sh\necho ran > '{}'\nexec \"$@\"\n", ran.display()),
    );
    fs::set_permissions(bin.join("ccache"), fs::Permissions::from_mode(0o755)).unwrap();
    let proj = env.copy_fixture("hello", "proj");
    let orig = std::env::var("PATH").unwrap_or_default();
    let mut cmd = env.objcache_in(&proj, ["gcc", "-c", "hello.c", "-o", "hello.o"]);
    cmd.env("PATH", format!("{}:{orig}", bin.display()))
        .env("CCACHE_PREFIX", "ccache");
    let out = run(&mut cmd);
    assert!(out.success(), "{}", out.dump());
    assert!(ran.exists(), "the prefix did not run: {}", out.dump());
}

/// `musl-gcc` (musl-tools) is a script that runs `x86_64-linux-gnu-gcc`
/// by name. Linked, its compiles were cached with the script as the
/// compiler's identity: a gcc upgrade would still have hit the old
/// objects. Unlinked, the gcc it runs comes through its own link and is
/// cached under gcc's identity.
#[test]
fn a_compiler_wrapper_script_gets_no_link_and_is_cached_through_its_gcc() {
    let Some(wrapper) = which("musl-gcc") else {
        eprintln!("SKIPPED a_compiler_wrapper_script_gets_no_link: no musl-gcc (musl-tools)");
        return;
    };
    let env = TestEnv::new();
    let links = env.dir("masq");
    run_ok(env.objcache().arg("--install-symlinks").arg(&links));
    for name in ["musl-gcc", "x86_64-linux-musl-gcc"] {
        assert!(
            fs::symlink_metadata(links.join(name)).is_err(),
            "{name} ({}) is a script and got a link",
            wrapper.display()
        );
    }
    let proj = env.copy_fixture("hello", "proj");
    let orig = std::env::var("PATH").unwrap_or_default();
    let path = format!("{}:{orig}", links.display());
    for round in 0..2 {
        let mut cmd = Command::new("musl-gcc");
        clean_env(&mut cmd);
        cmd.env("PATH", &path)
            .env("CCACHE_DIR", &env.cache_dir)
            .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent")
            .args(["-c", "hello.c", "-o", "hello.o"])
            .current_dir(&proj);
        let out = run_with_timeout(&mut cmd, Duration::from_secs(60));
        assert!(out.success(), "{}", out.dump());
        assert_eq!((env.misses(), env.hits()), (1, round));
    }
}
