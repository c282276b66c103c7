//! The floor of a large-object hit (bench/large.py): a program that only
//! reads a cached object, checks its BLAKE3 digest and writes it to the
//! output (a temp file renamed into place, as a hit does). No manifest, no
//! headers, no entry: what any cache that verifies its objects must spend.
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
    let mut file = std::fs::File::open(cached).expect("open the cached object");
    let len = file.metadata().expect("stat").len() as usize;
    let mut bytes = Vec::with_capacity(len + 1);
    file.read_to_end(&mut bytes)
        .expect("read the cached object");
    if blake3::hash(&bytes).to_hex().as_str() != digest {
        std::process::exit(1);
    }
    let tmp = format!("{output}.tmp");
    let mut out = std::fs::File::create(&tmp).expect("create the output");
    out.write_all(&bytes).expect("write the output");
    drop(out);
    std::fs::rename(&tmp, output).expect("rename the output");
}
