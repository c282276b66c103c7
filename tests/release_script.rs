//! scripts/build-release.sh prints the path of the binary it built; the
//! demo, the Debian package and the benchmarks run what it prints. It lays
//! out the functions of the hit path together, by scripts/hit-path.sh.

use std::path::Path;
use std::process::Command;

use crate::common::*;

/// With CARGO_TARGET_DIR set (a shared target directory), the printed
/// path is in that directory, not in the checkout's target/. The release
/// build itself (minutes) is left to a stand-in `cargo rustc`.
#[test]
fn build_release_prints_the_binary_in_cargo_target_dir() {
    let env = TestEnv::new();
    let stub = env.dir("stub");
    let real_cargo = env!("CARGO");
    write_file(
        &stub.join("cargo"),
        &format!("#!/bin/sh\ncase $1 in build|rustc) exit 0;; esac\nexec '{real_cargo}' \"$@\"\n"),
    );
    run_ok(Command::new("chmod").arg("+x").arg(stub.join("cargo")));
    let target = env.root().join("shared-target");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut script = Command::new("bash");
    script
        .arg(repo.join("scripts/build-release.sh"))
        .env(
            "PATH",
            format!(
                "{}:{}",
                stub.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("CARGO_TARGET_DIR", &target);
    let printed = run_ok(&mut script).stdout_str();
    assert!(
        printed.starts_with(&format!("{}/", target.display()))
            && printed.trim_end().ends_with("/release/objcache"),
        "{printed}"
    );
}

/// The names of scripts/hit-path.txt, without their hashes.
fn listed_objcache_functions(repo: &Path) -> Vec<String> {
    let script = format!(
        "source <(sed -n '/^unsuffixed()/,/^}}/p;/^normalise()/,/^}}/p' {0}/scripts/hit-path.sh)
         grep '^_ZN8objcache' {0}/scripts/hit-path.txt | normalise",
        repo.display()
    );
    let out = run_ok(Command::new("bash").arg("-c").arg(script)).stdout_str();
    out.lines().map(str::to_string).collect()
}

/// The list of the hit path's functions is kept with the code: most of
/// objcache's own functions it names are still functions of objcache (the
/// debug build has a symbol for each). When this fails, remake the list
/// as scripts/hit-path.sh says.
#[test]
fn the_hit_path_list_names_functions_objcache_still_has() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let listed = listed_objcache_functions(repo);
    assert!(listed.len() > 100, "{} names", listed.len());
    let script = format!(
        "source <(sed -n '/^unsuffixed()/,/^}}/p;/^normalise()/,/^}}/p' {}/scripts/hit-path.sh)
         nm --defined-only {} | awk '{{ print $3 }}' | normalise",
        repo.display(),
        objcache_bin().display()
    );
    let symbols = run_ok(Command::new("bash").arg("-c").arg(script)).stdout_str();
    let symbols: std::collections::HashSet<&str> = symbols.lines().collect();
    let gone: Vec<&String> = listed
        .iter()
        .filter(|n| !symbols.contains(n.as_str()))
        .collect();
    assert!(
        gone.len() * 10 <= listed.len(),
        "{} of {} listed functions are gone, such as {:?}",
        gone.len(),
        listed.len(),
        &gone[..gone.len().min(5)]
    );
}

/// `resolve` writes the exact names of the binary's symbols that the list
/// names, in a file named by its content.
#[test]
fn hit_path_resolve_names_symbols_of_the_binary() {
    let env = TestEnv::new();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = env.dir("orders");
    let mut resolve = Command::new("bash");
    resolve
        .arg(repo.join("scripts/hit-path.sh"))
        .arg("resolve")
        .arg(objcache_bin())
        .arg(&dir);
    let printed = run_ok(&mut resolve).stdout_str();
    let order = Path::new(printed.trim_end());
    assert_eq!(order.parent(), Some(dir.as_path()), "{printed}");
    let names = std::fs::read_to_string(order).unwrap();
    let nm = run_ok(Command::new("nm").arg("--defined-only").arg(objcache_bin())).stdout_str();
    let symbols: std::collections::HashSet<&str> =
        nm.lines().filter_map(|l| l.split(' ').nth(2)).collect();
    let names: Vec<&str> = names.lines().collect();
    assert!(names.len() > 200, "{} names", names.len());
    for name in &names {
        assert!(symbols.contains(name), "{name} is no symbol of the binary");
    }
    assert!(names.contains(&"main"), "main is on the hit path");
    // Named by content: the same list resolves to the same file.
    let again = run_ok(&mut resolve).stdout_str();
    assert_eq!(again, printed);
}

/// A stand-in for `cargo`: `cargo rustc` links a small C program where
/// the release binary goes, with the `-C link-arg`s it is given and the
/// linker `STUB_LD` (lld, Rust's own, by default), and logs each call
/// (`$RUN begin`, `$RUN end ARGS`) in `$STUB_LOG`; anything else is
/// the real cargo's.
fn stub_cargo(env: &TestEnv) -> std::path::PathBuf {
    let stub = env.dir("stub");
    let main = stub.join("main.c");
    write_file(&main, "int main(void) { return 0; }\n");
    let sysroot = run_ok(Command::new("rustc").args(["--print", "sysroot"])).stdout_str();
    let host = run_ok(Command::new("rustc").arg("-vV"))
        .stdout_str()
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .unwrap();
    let gcc_ld = format!("{}/lib/rustlib/{host}/bin/gcc-ld", sysroot.trim_end());
    let real_cargo = env!("CARGO");
    write_file(
        &stub.join("cargo"),
        &format!(
            r#"#!/bin/bash
case $1 in build) exit 0 ;; rustc) ;; *) exec '{real_cargo}' "$@" ;; esac
echo "${{RUN:-}} begin" >>"$STUB_LOG"
lds=() prev=
for a in "$@"; do
    [ "$prev" = -C ] && case $a in link-arg=*) lds+=("${{a#link-arg=}}") ;; esac
    prev=$a
done
out=$CARGO_TARGET_DIR/{host}/release/objcache
mkdir -p "${{out%/*}}"
sleep "${{STUB_SLEEP:-0}}"
cc -B'{gcc_ld}' -fuse-ld="${{STUB_LD:-lld}}" '{main}' -o "$out" "${{lds[@]}}" || exit 101
echo "${{RUN:-}} end ${{lds[*]}}" >>"$STUB_LOG"
"#,
            main = main.display()
        ),
    );
    run_ok(Command::new("chmod").arg("+x").arg(stub.join("cargo")));
    stub
}

/// build-release.sh with the stand-in cargo, from `cwd`; the log of its
/// cargo calls is `log`.
fn build_release(stub: &Path, cwd: &Path, log: &Path) -> Command {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut script = Command::new("bash");
    script
        .arg(repo.join("scripts/build-release.sh"))
        .current_dir(cwd)
        .env(
            "PATH",
            format!(
                "{}:{}",
                stub.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("STUB_LOG", log)
        .env_remove("CDPATH")
        .env_remove("STUB_LD");
    script
}

/// The `end` lines of a stand-in cargo's log, from line `from` on.
fn links(log: &Path, from: usize) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .skip(from)
        .filter(|l| l.contains(" end"))
        .map(str::to_string)
        .collect()
}

/// A target directory with a comma and a space in its name, named
/// relative to the directory the script is run from, with CDPATH set: the
/// binary is linked with the ordering file (whose path `-Wl,` would split
/// at the comma), the one path printed is where it is, and a second run
/// links with the same arguments (no work for cargo) and prints the same.
#[test]
fn build_release_orders_in_a_target_dir_with_a_comma_twice() {
    let env = TestEnv::new();
    let stub = stub_cargo(&env);
    let cwd = env.dir("elsewhere");
    let log = env.root().join("log");
    let run = || {
        let mut script = build_release(&stub, &cwd, &log);
        script
            .env("CARGO_TARGET_DIR", "t a,b")
            .env("CDPATH", ".:/nonexistent");
        run_ok(&mut script).stdout_str()
    };
    let first = run();
    let bin = cwd.join("t a,b");
    assert!(
        first.starts_with(&format!("{}/", bin.display()))
            && first.ends_with("/release/objcache\n")
            && first.lines().count() == 1,
        "{first:?}"
    );
    assert!(Path::new(first.trim_end()).is_file(), "{first}");
    let linked = links(&log, 0);
    assert_eq!(linked.len(), 2, "{linked:?}");
    assert!(
        linked[1].contains(&format!(
            " -Xlinker --symbol-ordering-file={}/",
            bin.display()
        )),
        "{linked:?}"
    );
    let lines = std::fs::read_to_string(&log).unwrap().lines().count();
    // An earlier list's file, left from another checkout's build.
    let orders = Path::new(first.trim_end()).with_file_name("hit-path");
    write_file(&orders.join("1.order"), "main\n");
    let second = run();
    assert_eq!(second, first);
    assert_eq!(links(&log, lines), linked[1..], "the second run links anew");
    let kept: Vec<_> = std::fs::read_dir(&orders)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".order"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(linked[1].contains(&kept[0]), "{kept:?} {linked:?}");
}

/// After a change to a linker that takes no ordering file (GNU ld), the
/// build falls back to a link without it, once: the next run does not try
/// the file again.
#[test]
fn build_release_forgets_the_order_when_the_linker_is_not_lld() {
    let env = TestEnv::new();
    let stub = stub_cargo(&env);
    let log = env.root().join("log");
    let target = env.root().join("target");
    let run = |ld: &str| {
        let mut script = build_release(&stub, env.root(), &log);
        script.env("CARGO_TARGET_DIR", &target).env("STUB_LD", ld);
        let lines = std::fs::read_to_string(&log)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        let printed = run_ok(&mut script).stdout_str();
        assert!(Path::new(printed.trim_end()).is_file(), "{printed}");
        links(&log, lines)
    };
    assert_eq!(run("lld").len(), 2);
    let fallback = run("bfd");
    assert_eq!(fallback.len(), 1, "{fallback:?}");
    assert!(!fallback[0].contains("ordering"), "{fallback:?}");
    let lines = std::fs::read_to_string(&log).unwrap().lines().count();
    assert_eq!(run("bfd"), fallback);
    let tried = std::fs::read_to_string(&log).unwrap().lines().count() - lines;
    assert_eq!(tried, 2, "one call, not a failing one before it");
}

/// Two runs at once in one target directory take turns: neither relinks
/// the binary while the other is between its links or printing its path.
#[test]
fn two_build_release_runs_take_turns() {
    let env = TestEnv::new();
    let stub = stub_cargo(&env);
    let log = env.root().join("log");
    let target = env.root().join("target");
    let start = |name: &str| {
        let mut script = build_release(&stub, env.root(), &log);
        script
            .env("CARGO_TARGET_DIR", &target)
            .env("RUN", name)
            .env("STUB_SLEEP", "0.5")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (start("a"), start("b"));
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    let text = std::fs::read_to_string(&log).unwrap();
    let runs: Vec<&str> = text.lines().map(|l| &l[..1]).collect();
    let switches = runs.windows(2).filter(|w| w[0] != w[1]).count();
    assert_eq!(switches, 1, "the runs' calls interleave:\n{text}");
}

/// A list edited elsewhere: CRLF line ends, blank lines, an indented
/// comment, a name with blanks around it; and the script run by a relative
/// path with CDPATH set, from a directory with a backslash in its name.
/// The names resolve as in the committed list.
#[test]
fn hit_path_resolve_reads_an_edited_list() {
    let env = TestEnv::new();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    // A backslash in the checkout's path, which awk -v would take for an
    // escape.
    let scripts = env.dir("a\\b");
    std::fs::copy(
        repo.join("scripts/hit-path.sh"),
        scripts.join("hit-path.sh"),
    )
    .unwrap();
    let list = std::fs::read_to_string(repo.join("scripts/hit-path.txt")).unwrap();
    let edited = format!("  # edited\n\n \t\n  main \n{list}").replace('\n', "\r\n");
    write_file(&scripts.join("hit-path.txt"), &edited);
    let mut resolve = Command::new("bash");
    resolve
        .args(["a\\b/hit-path.sh", "resolve"])
        .arg(objcache_bin())
        .arg("orders")
        .current_dir(env.root())
        .env("CDPATH", ".:/nonexistent");
    let printed = run_ok(&mut resolve).stdout_str();
    let names = std::fs::read_to_string(env.root().join(printed.trim_end())).unwrap();
    assert_eq!(names.lines().next(), Some("main"));
    assert!(names.lines().count() > 200, "{names}");
}

/// `profile` without clang stops at once, with a message that names it,
/// before any profiled run.
#[test]
fn hit_path_profile_fails_without_clang() {
    let env = TestEnv::new();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin = env.dir("bin");
    for tool in ["valgrind", "gcc", "g++", "nm"] {
        write_file(&bin.join(tool), "#!/bin/sh\nexit 1\n");
        run_ok(Command::new("chmod").arg("+x").arg(bin.join(tool)));
    }
    std::os::unix::fs::symlink("/usr/bin/realpath", bin.join("realpath")).unwrap();
    std::fs::copy(objcache_bin(), env.root().join("objcache")).unwrap();
    let out = run(Command::new("/bin/bash")
        .arg(repo.join("scripts/hit-path.sh"))
        .args(["profile", "objcache"])
        .current_dir(env.root())
        .env("PATH", &bin));
    assert!(!out.success(), "{}", out.dump());
    assert!(
        out.stderr_str().contains("clang not found"),
        "{}",
        out.dump()
    );
}

/// `profile` makes the list of the default configuration's hits, also
/// when the caller's environment configures objcache otherwise (here: off,
/// and in depend mode). valgrind is a stand-in that runs the program and
/// writes an empty profile.
#[test]
fn hit_path_profile_ignores_the_callers_configuration() {
    let env = TestEnv::new();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let stub = env.dir("stub");
    write_file(
        &stub.join("valgrind"),
        "#!/bin/bash\nfor a; do case $a in --callgrind-out-file=*) : >\"${a#*=}\" ;; -*) ;; *) break ;; esac; shift; done\nexec \"$@\"\n",
    );
    run_ok(Command::new("chmod").arg("+x").arg(stub.join("valgrind")));
    let out = run_ok(
        clean_env(
            Command::new("bash")
                .arg(repo.join("scripts/hit-path.sh"))
                .arg("profile")
                .arg(objcache_bin()),
        )
        .env(
            "PATH",
            format!(
                "{}:{}",
                stub.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("CCACHE_DISABLE", "1")
        .env("CCACHE_DEPEND", "1")
        .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent"),
    );
    assert!(out.stdout_str().contains("\n*_ifunc\n"), "{}", out.dump());
}

/// A quote and a backslash in the target directory's name, which cargo
/// metadata's JSON escapes: the path printed is where the binary is, and
/// it is linked with the ordering file.
#[test]
fn build_release_takes_a_target_dir_with_a_quote_and_a_backslash() {
    let env = TestEnv::new();
    let stub = stub_cargo(&env);
    let log = env.root().join("log");
    let target = env.root().join("q\"b\\c");
    let mut script = build_release(&stub, env.root(), &log);
    script.env("CARGO_TARGET_DIR", &target);
    let printed = run_ok(&mut script).stdout_str();
    assert!(
        printed.starts_with(&format!("{}/", target.display())),
        "{printed}"
    );
    assert!(Path::new(printed.trim_end()).is_file(), "{printed}");
    let linked = links(&log, 0);
    assert!(
        linked.len() == 2 && linked[1].contains("--symbol-ordering-file="),
        "{linked:?}"
    );
}
