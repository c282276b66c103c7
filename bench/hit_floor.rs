//! The floor of a large-object hit (bench/large.py): a program that only
//! reads a cached object, checks its BLAKE3 digest and writes it to the
//! output (a temp file renamed into place once the digest matched, as a
//! hit does). No manifest, no headers, no entry: what any cache that
//! verifies its objects must spend.
//!
//!     hit_floor CACHED OUTPUT HEX_DIGEST    # exit 1 on a mismatch
//!     hit_floor --digest FILE               # prints FILE's digest

use std::io::{Read, Write};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() == 2 && args[0] == "--digest" {
        let bytes = std::fs::read(&args[1]).expect("read");
        println!("{}", blake3::hash(&bytes).to_hex());
        return;
    }
    let [cached, output, digest] = &args[..] else {
        eprintln!("usage: hit_floor CACHED OUTPUT HEX_DIGEST");
        std::process::exit(2);
    };
    // Streamed through a fixed buffer, as a hit streams an entry: reading
    // a 23 MB object whole costs more in page faults than the copy.
    let mut file = std::fs::File::open(cached).expect("open the cached object");
    let tmp = format!("{output}.tmp");
    let mut out = std::fs::File::create(&tmp).expect("create the output");
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).expect("read the cached object");
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).expect("write the output");
    }
    drop(out);
    if hasher.finalize().to_hex().as_str() != digest {
        let _ = std::fs::remove_file(&tmp);
        std::process::exit(1);
    }
    std::fs::rename(&tmp, output).expect("rename the output");
}
