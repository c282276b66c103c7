//! The man page as a reader gets it: `--generate man` renders with groff
//! and man without a warning, and `--help` points to it.

use std::process::Command;

use crate::common::*;

/// The man page, rendered by `groff -man` with every warning on: the
/// warnings it gives (none is the goal) and the text.
fn groff(page: &[u8]) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("objcache.1");
    std::fs::write(&file, page).unwrap();
    let out = run(Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-rLL=100n", "-P-cbou"])
        .arg(&file));
    assert!(out.success(), "groff: {}", out.dump());
    (out.stderr_str(), out.stdout_str())
}

#[test]
fn the_man_page_renders_without_warnings() {
    require("groff");
    let env = TestEnv::new();
    let page = run_ok(env.objcache().args(["--generate", "man"])).stdout;
    let (warnings, text) = groff(&page);
    assert_eq!(warnings, "", "groff warns about the man page");
    for section in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "CONFIGURATION",
        "ENVIRONMENT",
        "FILES",
        "EXIT STATUS",
        "EXAMPLES",
        "SEE ALSO",
    ] {
        assert!(
            text.lines().any(|l| l == section),
            "no section {section}:\n{text}"
        );
    }
    // Options and variables are typed as written, not hyphenated.
    assert!(text.contains("--evict-older-than"), "{text}");
    assert!(text.contains("CCACHE_NOHASHDIR"), "{text}");
    if have("man") {
        // man(1) as a user runs it on the generated page, with its checks.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("objcache.1");
        std::fs::write(&file, &page).unwrap();
        let out = run(Command::new("man")
            .args(["--warnings", "-l"])
            .arg(&file)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "80"));
        assert!(out.success(), "man: {}", out.dump());
        assert_eq!(out.stderr_str(), "", "man warns about the man page");
    }
}

#[test]
fn help_names_the_man_page_and_the_docs() {
    let env = TestEnv::new();
    let help = run_ok(env.objcache().arg("--help")).stdout_str();
    assert!(help.contains("man objcache"), "{help}");
    assert!(help.contains("--generate"), "{help}");
    assert!(help.contains("docs/"), "{help}");
}
