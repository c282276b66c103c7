//! scripts/build-release.sh prints the path of the binary it built; the
//! demo, the Debian package and the benchmarks run what it prints.

use std::path::Path;
use std::process::Command;

use crate::common::*;

/// With CARGO_TARGET_DIR set (a shared target directory), the printed
/// path is in that directory, not in the checkout's target/. The release
/// build itself (minutes) is left to a stand-in `cargo build`.
#[test]
fn build_release_prints_the_binary_in_cargo_target_dir() {
    let env = TestEnv::new();
    let stub = env.dir("stub");
    let real_cargo = env!("CARGO");
    write_file(
        &stub.join("cargo"),
        &format!("#!/bin/sh\n[ \"$1\" = build ] && exit 0\nexec '{real_cargo}' \"$@\"\n"),
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
