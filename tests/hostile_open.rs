//! A hostile review of how objcache opens files: files the user names
//! (`log_file`, `stats_log`) that a neighbour replaced by a FIFO, raw
//! objects (`hard_link`, `file_clone`) planted huge or swapped while a hit
//! uses them, entries whose payload is compressed far beyond their file's
//! bound, and configuration files whose errors would flood a build log.
//! Every call finishes within seconds and a bounded memory, with the
//! compiler's object, output and exit code.

use crate::bookkeeping_files::{c_path, run_bounded};
use crate::common::*;
use std::fs;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

fn mkfifo(p: &Path) {
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path(p).as_ptr(), 0o644) }, 0);
}

/// A small project: its directory and the object gcc makes of `t.c`.
fn project(env: &TestEnv) -> (std::path::PathBuf, Vec<u8>) {
    let dir = env.dir("p");
    fs::write(
        dir.join("t.c"),
        "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n",
    )
    .unwrap();
    let expected = plain_object("gcc", &dir, ["-c", "t.c", "-o", "t.o"], "t.o");
    (dir, expected)
}

/// `log_file` and `stats_log` are often in `/tmp`, where anyone may put a
/// FIFO first: opening it for writing waited for a reader forever (so did
/// ccache 4.7.5). A reader that never reads must not stop a build either.
#[test]
fn a_fifo_as_log_file_or_stats_log_never_blocks() {
    require("gcc");
    let env = TestEnv::new();
    let (dir, expected) = project(&env);
    let fifo = env.root().join("objcache.log");
    mkfifo(&fifo);
    let compile = |what: &str, var: &str| {
        rm(&dir.join("t.o"));
        let mut cmd = env.objcache_in(&dir, ["gcc", "-c", "t.c", "-o", "t.o"]);
        cmd.env(var, &fifo);
        let out = run_bounded(&mut cmd, what);
        assert!(out.success(), "{what}: {}", out.dump());
        assert_bytes_eq(&read(&dir.join("t.o")), &expected, what);
    };
    for var in ["CCACHE_LOGFILE", "CCACHE_STATSLOG"] {
        compile(&format!("{var} a FIFO with no reader"), var);
    }
    // A reader that holds the FIFO open and never reads: the pipe, cut
    // to one page, fills after a few calls' log lines.
    let reader = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    // SAFETY: an open pipe of ours.
    unsafe { libc::fcntl(reader.as_raw_fd(), libc::F_SETPIPE_SZ, 4096) };
    for i in 0..20 {
        compile(&format!("call {i}, a FIFO nobody reads"), "CCACHE_LOGFILE");
    }
    drop(reader);
    assert!(env.hits() >= 20, "{:?}", env.stats());
}
