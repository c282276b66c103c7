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
