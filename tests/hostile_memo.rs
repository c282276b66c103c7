//! The inode memo (`<cache_dir>/inode-memo`) attacked: files that keep
//! their identity while what a compile would read changes, a memo from
//! another boot or machine, hostile or broken memo files, and many
//! compiles writing it at once. Every object must be the compiler's.

use crate::common::*;
use std::fs;
use std::path::Path;
use std::process::Command;

const V111: &str = "#define VAL 111\n";
const V222: &str = "#define VAL 222\n";
const MAIN: &str = "#include <sub/x.h>\nint val(void) { return VAL; }\n";
const ARGS: [&str; 7] = ["gcc", "-Iinc1", "-Iinc2", "-c", "main.c", "-o", "main.o"];

/// A checkout whose `main.c` includes `<sub/x.h>`, found in `inc2`; `inc1`,
/// searched first, has no `sub`.
fn write_checkout(dir: &Path) {
    write_file(&dir.join("main.c"), MAIN);
    write_file(&dir.join("inc2/sub/x.h"), V111);
    write_file(&dir.join("inc1/other.h"), "\n");
}

/// Checkout `co/a` built through objcache (its object, the compiler's,
/// is returned), and a fresh copy of it at `co/b` (returned), not built.
fn built_then_copied(env: &TestEnv) -> (std::path::PathBuf, Vec<u8>) {
    let a = env.root().join("co/a");
    write_checkout(&a);
    settle_stamps();
    let o111 = plain_main(&a);
    assert_bytes_eq(&cached_main(env, &a, &[]), &o111, "the first build");
    let b = env.root().join("co/b");
    fresh_copy(&a, &b);
    (b, o111)
}

/// The object the compiler makes in `dir` now.
fn plain_main(dir: &Path) -> Vec<u8> {
    plain_object("gcc", dir, &ARGS[1..], "main.o")
}

/// Compiles `main.c` in `dir` through objcache (base_dir the env's root,
/// hash_dir off: checkouts elsewhere share the manifest); the object.
fn cached_main(env: &TestEnv, dir: &Path, extra: &[(&str, &str)]) -> Vec<u8> {
    cached_main_booted(env, dir, extra, None)
}

/// `cached_main`, with `boot_id` (a file) in place of the kernel's boot id
/// when given, as after a reboot or on another machine.
fn cached_main_booted(
    env: &TestEnv,
    dir: &Path,
    extra: &[(&str, &str)],
    boot_id: Option<&Path>,
) -> Vec<u8> {
    let mut cmd = env.objcache_in(dir, ARGS);
    cmd.env("CCACHE_BASEDIR", env.root())
        .env("CCACHE_NOHASHDIR", "1");
    for (k, v) in extra {
        cmd.env(k, v);
    }
    if let Some(boot_id) = boot_id {
        cmd = in_another_boot(&cmd, boot_id);
    }
    let out = run_with_timeout(&mut cmd, std::time::Duration::from_secs(60));
    assert!(out.success(), "{}", out.dump());
    read(&dir.join("main.o"))
}

/// A probe directory's "none of these names here" holds by its identity
/// only for names whose first component is absent: a header created in an
/// existing subdirectory (`inc1/sub/x.h`) or through `..` changes the
/// stamps of that subdirectory, not of the probe directory. Before, the
/// memo remembered `inc1` as holding no `sub/x.h` though `inc1/sub`
/// existed, and the header created there later was not compiled.
#[test]
fn a_header_created_in_a_subdirectory_of_a_probed_dir_is_compiled() {
    require("gcc");
    let env = TestEnv::new();
    let (b, o111) = built_then_copied(&env);
    fs::create_dir(b.join("inc1/sub")).unwrap();
    settle_stamps();
    for round in ["learned", "recalled"] {
        let hits = env.stat("direct_cache_hit");
        assert_bytes_eq(&cached_main(&env, &b, &[]), &o111, round);
        assert_eq!(env.stat("direct_cache_hit"), hits + 1, "{round}: a hit");
    }
    write_file(&b.join("inc1/sub/x.h"), V222);
    let o222 = plain_main(&b);
    assert_ne!(o111, o222);
    assert_bytes_eq(&cached_main(&env, &b, &[]), &o222, "the shadowing header");
}

/// The same holes in the manifest's own record, in place: `inc1/sub`
/// (or a dangling `inc1/sub` symlink) exists when the miss records
/// `inc1`'s stamps, and `sub/x.h` appears there later without `inc1`'s
/// stamps changing. A directory whose candidates could appear that way
/// must be checked name by name on every lookup.
#[test]
fn a_header_appearing_below_a_probed_dir_in_place_is_compiled() {
    require("gcc");
    for (case, make) in [("a subdirectory", "dir"), ("a dangling symlink", "link")] {
        let env = TestEnv::new();
        let a = env.root().join("co/a");
        write_checkout(&a);
        match make {
            "dir" => fs::create_dir(a.join("inc1/sub")).unwrap(),
            _ => std::os::unix::fs::symlink("../elsewhere", a.join("inc1/sub")).unwrap(),
        }
        settle_stamps();
        let o111 = plain_main(&a);
        assert_bytes_eq(&cached_main(&env, &a, &[]), &o111, case);
        let hits = env.stat("direct_cache_hit");
        assert_bytes_eq(&cached_main(&env, &a, &[]), &o111, case);
        assert_eq!(env.stat("direct_cache_hit"), hits + 1, "{case}: a hit");
        match make {
            "dir" => write_file(&a.join("inc1/sub/x.h"), V222),
            _ => write_file(&a.join("elsewhere/x.h"), V222),
        }
        let o222 = plain_main(&a);
        assert_ne!(o111, o222, "{case}");
        assert_bytes_eq(&cached_main(&env, &a, &[]), &o222, case);
    }
}

/// `cmd` run in its own mount namespace with `boot_id` bound over the
/// kernel's boot id.
fn in_another_boot(cmd: &Command, boot_id: &Path) -> Command {
    let mut u = Command::new("unshare");
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => u.env(k, v),
            None => u.env_remove(k),
        };
    }
    if let Some(cwd) = cmd.get_current_dir() {
        u.current_dir(cwd);
    }
    let script = "mount --bind \"$0\" /proc/sys/kernel/random/boot_id && exec \"$@\"";
    u.args(["-m", "sh", "-c", script])
        .arg(boot_id)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    u
}

/// Can this test bind a file over the boot id (root, mount namespaces)?
fn can_fake_a_boot(boot_id: &Path) -> bool {
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", "mount --bind \"$0\" /proc/sys/kernel/random/boot_id && cat /proc/sys/kernel/random/boot_id"])
        .arg(boot_id)
        .output();
    match out {
        Ok(o) if o.status.success() && o.stdout == read(boot_id) => true,
        Ok(o) => {
            eprintln!(
                "SKIP: cannot fake a boot id: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            false
        }
        Err(e) => {
            eprintln!("SKIP: cannot run unshare: {e}");
            false
        }
    }
}

/// A cache restored onto another machine (or kept over a reboot) brings a
/// memo whose identities (device, inode, size, mode, mtime, ctime) a fresh
/// checkout there can have too: a fresh file system numbers inodes alike,
/// and that machine's clock, or a clock stepped back, may repeat a
/// second. The memo's check words are keyed with the boot id, so another
/// boot recalls nothing from it and hashes. Before, it recalled every digest.
#[test]
fn a_memo_from_another_boot_recalls_nothing() {
    require("gcc");
    require("unshare");
    let env = TestEnv::new();
    let fake = env.root().join("boot_id");
    fs::write(&fake, "0badb007-0000-4000-8000-00000000cafe\n").unwrap();
    if !can_fake_a_boot(&fake) {
        return;
    }
    let (b, o111) = built_then_copied(&env);
    settle_stamps();
    let log_of = |name: &str| env.root().join(format!("{name}.log"));
    let runs = [
        ("learns", None),
        ("recalls", None),
        ("other boot", Some(&fake)),
    ];
    for (name, boot) in runs {
        let log = log_of(name);
        let extra = [("CCACHE_LOGFILE", log.to_str().unwrap())];
        let obj = cached_main_booted(&env, &b, &extra, boot.map(|p| p.as_path()));
        assert_bytes_eq(&obj, &o111, name);
    }
    let log = |name| fs::read_to_string(log_of(name)).unwrap();
    assert!(
        log("recalls").contains("1 digests from the inode memo, 0 hashed"),
        "{}",
        log("recalls")
    );
    let other = log("other boot");
    assert!(
        other.contains("0 digests from the inode memo, 1 hashed"),
        "{other}"
    );
    assert_eq!(env.stat("direct_cache_hit"), 3);
}

/// `make -j8` in a fresh checkout: eight compiles of different sources
/// sharing twenty headers hash them and write the memo at once, without
/// locks. Every object is the compiler's, every compile a hit within the
/// timeout, and the memo then serves every header of the next round.
#[test]
fn eight_parallel_compiles_write_the_memo_at_once() {
    require("gcc");
    const UNITS: usize = 8;
    const SHARED: usize = 20;
    let env = TestEnv::new();
    let a = env.root().join("co/a");
    for h in 0..SHARED {
        write_file(
            &a.join(format!("inc/h{h}.h")),
            &format!("#define H{h} {h}\n"),
        );
    }
    let includes: String = (0..SHARED)
        .map(|h| format!("#include \"h{h}.h\"\n"))
        .collect();
    for u in 0..UNITS {
        let text = format!("{includes}int f{u}(void) {{ return H{u} + {u}; }}\n");
        write_file(&a.join(format!("u{u}.c")), &text);
    }
    let compile = |dir: &Path, u: usize, log: &Path| {
        let (src, obj) = (format!("u{u}.c"), format!("u{u}.o"));
        let mut cmd = env.objcache_in(dir, ["gcc", "-Iinc", "-c", &src, "-o", &obj]);
        cmd.env("CCACHE_BASEDIR", env.root())
            .env("CCACHE_NOHASHDIR", "1")
            .env("CCACHE_LOGFILE", log);
        cmd
    };
    let scratch = env.root().join("scratch.log");
    for u in 0..UNITS {
        run_ok(&mut compile(&a, u, &scratch));
    }
    let b = env.root().join("co/b");
    fresh_copy(&a, &b);
    settle_stamps();
    let expected: Vec<Vec<u8>> = (0..UNITS)
        .map(|u| {
            let (src, obj) = (format!("u{u}.c"), format!("u{u}.o"));
            plain_object("gcc", &b, ["-Iinc", "-c", &src, "-o", &obj], &obj)
        })
        .collect();
    for round in 0..2 {
        let logs: Vec<_> = (0..UNITS)
            .map(|u| env.root().join(format!("r{round}.u{u}.log")))
            .collect();
        let mut cmds: Vec<Command> = (0..UNITS).map(|u| compile(&b, u, &logs[u])).collect();
        std::thread::scope(|s| {
            for (u, cmd) in cmds.iter_mut().enumerate() {
                s.spawn(move || {
                    let out = run_with_timeout(cmd, std::time::Duration::from_secs(120));
                    assert!(out.success(), "round {round}, u{u}: {}", out.dump());
                });
            }
        });
        for (u, want) in expected.iter().enumerate() {
            let obj = read(&b.join(format!("u{u}.o")));
            assert_bytes_eq(&obj, want, &format!("round {round}, u{u}"));
        }
        assert_eq!(env.stat("direct_cache_hit"), ((round + 1) * UNITS) as u64);
        if round == 1 {
            let want = format!("{SHARED} digests from the inode memo, 0 hashed");
            for log in &logs {
                let text = fs::read_to_string(log).unwrap();
                assert!(text.contains(&want), "{}: {text}", log.display());
            }
        }
    }
    let memo = fs::symlink_metadata(env.cache_dir.join("inode-memo")).unwrap();
    assert!(memo.is_file() && memo.len() == 4 << 20, "{memo:?}");
}
