//! The README's first command: `bash scripts/demo.sh` compiles a fixture
//! twice and shows the second compile as a hit.

use crate::common::*;
use std::process::Command;

#[test]
fn the_demo_shows_a_hit() {
    require("gcc");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cmd = Command::new("bash");
    clean_env(&mut cmd);
    cmd.arg(root.join("scripts/demo.sh"))
        .env("OBJCACHE", objcache_bin())
        .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent");
    let out = run_ok(&mut cmd);
    let text = out.stdout_str();
    assert!(
        text.contains("hello from a cached object"),
        "{}",
        out.dump()
    );
    let hits = text
        .lines()
        .find(|l| l.trim_start().starts_with("Hits:"))
        .unwrap_or_default()
        .to_string();
    assert!(
        hits.contains(" 1 / 2"),
        "the second compile is a hit: {}",
        out.dump()
    );
}
