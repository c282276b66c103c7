//! Command-line analysis (src/compiler/args.rs): `analyse` on argument
//! vectors cut from fuzzer bytes (NUL separates arguments), and response
//! files: `split_response_text` and `expand_response_files` over two
//! fuzzer-written files in a scratch directory. Never a panic, and the
//! expansion stays within its bounds.
//!
//! Input: `args \x01 content of file "a" \x01 content of file "b"`. `/`
//! is replaced in everything that can name a response file, so `@name`
//! reads only the scratch directory (never `/proc/kcore` or the like).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use objcache::compiler::args::{analyse, expand_response_files, split_response_text};

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap().keep())
}

fuzz_target!(|data: &[u8]| {
    let mut sections = data.splitn(3, |&b| b == 1);
    let arg_bytes = sections.next().unwrap_or_default();
    let args = objcache_fuzz::nul_split(arg_bytes);
    let _ = analyse(&args);

    let files = [sections.next(), sections.next()].map(|s| s.unwrap_or_default());
    let dir = scratch();
    for (name, content) in ["a", "b"].iter().zip(&files) {
        let _ = split_response_text(&String::from_utf8_lossy(content));
        let content: Vec<u8> = content
            .iter()
            .map(|&b| if b == b'/' { b'_' } else { b })
            .collect();
        std::fs::write(dir.join(name), content).unwrap();
    }
    let confined: Vec<String> = args.iter().map(|a| a.replace('/', "_")).collect();
    if let Ok(expanded) = expand_response_files(&confined, dir) {
        // Each file is read at most 2000 times and gives at most one
        // argument per byte (an empty '' is two).
        let read = files.iter().map(|f| f.len()).sum::<usize>() * 2000;
        assert!(
            expanded.len() <= confined.len() + read.min(16 << 20),
            "{} arguments from {} and {read} bytes",
            expanded.len(),
            confined.len()
        );
        let _ = analyse(&expanded);
    }
});
