//! A hostile neighbour's and a new user's attacks on the scan of a
//! source's first `#include`s (which finds the precompiled headers gcc
//! may use) and on the partial read of a source whose facts the inode
//! memo recalls (`hash::source::Text`): a hit must write what gcc writes
//! for the files as they are, whatever the preamble holds, wherever the
//! 4 KiB cut falls in it and whatever happens to the file between the
//! reads.
//!
//! - literals gcc reads whole (a `'/*'`, a `'"'`, an escaped quote, a
//!   lone `'` in skipped text, a raw string over lines), comments opened
//!   or closed across a splice, and what reads otherwise from one
//!   dialect to another (`??/` and `??'` with trigraphs, `'` between
//!   digits in C23 and C++14): gcc took `p.h.gch` after each, and the
//!   scan missed it, so a rebuilt one was a hit with the old object;
//! - random preambles, each checked against the `.gch` gcc 12 takes in
//!   four dialects;
//! - each of those, and splices, `??/`, CRLF, NULs, an `#if 0` block,
//!   a cut `#include` name, an `#include MACRO`, placed across the cut;
//! - the file rewritten between the part read and the rest.

use crate::common::*;
use crate::lazy_source::{count, env_with_cache, settle};
use objcache::compiler::pch::preamble::{includes, Include};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

const RECALLED: &str = "recalled from the inode memo";
const READ_WHOLE: &str = "do not decide its precompiled headers: reading all of it";

/// Preambles after which gcc 12 takes `p.h.gch` (in the dialect of the
/// options given), where a reading of quotes and comments that ignores
/// character constants, escapes, raw strings, splices inside `/*` and
/// `*/` or the dialect took another include for the first or none.
const HIDDEN_GCH: &[(&str, &[&str])] = &[
    ("#define C '/*'\n#include \"p.h\"\n", &[]),
    (
        "#define Q '\"' /* a\n#include \"x.h\" */\n#include \"p.h\"\n",
        &[],
    ),
    ("#define S \"\\\"/*\"\n#include \"p.h\"\n", &[]),
    ("#if 0\ndon't /* \n#endif\n#include \"p.h\"\n", &[]),
    ("// what??/\n#include \"p.h\"\n", &[]),
    (
        "#define N 1 /\\\n* c\n#include \"x.h\" */\n#include \"p.h\"\n",
        &[],
    ),
    ("#define N 1 /* c *\\\n/\n#include \"p.h\"\n", &[]),
    (
        "#if 0\nR\"x(\n#endif\nint y;\n)x\"\n#endif\n#include \"p.h\"\n",
        &[],
    ),
    (
        "#define N a??'b /* c\n#include \"x.h\" */\n#include \"p.h\"\n",
        &["-trigraphs"],
    ),
    (
        "#define N 0x1'2 /* c\n#include \"x.h\" */\n#include \"p.h\"\n",
        &["-std=c2x"],
    ),
];

/// `p.h.gch` made by gcc with `opts` from a header defining `VALUE` as
/// `value`, with `p.h` itself left defining it as 1: gcc uses the `.gch`.
fn make_gch(dir: &Path, opts: &[&str], value: u32) {
    write_file(&dir.join("p.h"), &format!("#define VALUE {value}\n"));
    run_ok(
        clean_env(&mut std::process::Command::new("gcc"))
            .current_dir(dir)
            .args(opts)
            .args(["-x", "c-header", "p.h", "-o", "p.h.gch"]),
    );
    write_file(&dir.join("p.h"), "#define VALUE 1\n");
}

/// After each preamble of `HIDDEN_GCH`, a rebuilt `p.h.gch` is a miss
/// with gcc's new object, never a hit with the old one.
#[test]
fn a_gch_after_literals_splices_or_another_dialects_reading_is_hashed() {
    require("gcc");
    let env = TestEnv::new();
    for (i, (preamble, opts)) in HIDDEN_GCH.iter().enumerate() {
        let dir = env.dir(&format!("case{i}"));
        write_file(&dir.join("x.h"), "#define OTHER 3\n");
        write_file(
            &dir.join("t.c"),
            &format!("{preamble}int v = VALUE;\nint w; /* */\n"),
        );
        let args: Vec<&str> = opts.iter().copied().chain(["-c", "t.c"]).collect();
        let compile = Compile::new(&dir, "gcc", &args, "t.o");
        make_gch(&dir, opts, 2);
        let first = compile.check(&env);
        make_gch(&dir, opts, 7);
        let second = compile.check(&env);
        assert_ne!(first.obj, second.obj, "gcc took p.h.gch after {preamble:?}");
    }
    assert_eq!(env.hits(), 0, "{:?}", env.stats());
}

/// Pieces of preambles for `the_scan_names_every_gch_gcc_takes`: the
/// includes name headers that all have a `.gch`.
const PIECES: &[&str] = &[
    "/* licence\n * text\n */\n",
    "// note\n",
    "// spliced \\\ncomment #include \"b.h\"\n",
    "/* a */ /* b\n */",
    "/* #include \"c.h\" */\n",
    "#define A 1\n",
    "#define B \\\n  2\n",
    "#define E\n",
    "#define P \"d.h\"\n",
    "#define F(x) x\n",
    "#include \"a.h\"\n",
    "#include <b.h>\n",
    "#  include P\n",
    "%:include \"c.h\"\n",
    "??=include <e.h>\n",
    "int x;\n",
    "E\n",
    "_Pragma(\"once\")\n",
    "\n",
    "\r\n",
    "#define C '/*'\n",
    "#define Q '\"' /* a\n",
    " */\n",
    "#define S \"\\\"/*\" /* x */\n",
    "don't /* \n",
    "// what??/\n",
    "#define N 0x1'2 /* c\n",
    "#define M 1'''x 1'.5 /* c\n",
    "#define R R\"x(\")x\" /* c\n",
    "#define D 1 /\\\n* c *\\\n/\n",
    "#define T a??'b \"??/\" ??/\n",
    "x??/\n",
    "#define U u8R\"(a)\" '\\'' \"\\\\\" /* e\n",
    "R\"y(\n#endif\n#include \"d.h\"\n)y\"\n",
    "#include \"p.h\" /* f\n",
    "#include \"x.h\" // g ??/\n",
];

/// The dialects gcc is checked in, by their options: C (gnu17), with
/// trigraphs, C23 (digit separators and trigraphs, no raw strings), and
/// C++ (gnu++17: separators and raw strings).
const DIALECTS: &[&[&str]] = &[&[], &["-trigraphs"], &["-std=c2x"], &["-x", "c++"]];

/// A directory per dialect with every header of `PIECES` and its `.gch`.
fn dialect_dirs(env: &TestEnv) -> Vec<std::path::PathBuf> {
    let headers = ["a.h", "b.h", "c.h", "d.h", "e.h", "p.h", "x.h"];
    let mut dirs = Vec::new();
    for (i, opts) in DIALECTS.iter().enumerate() {
        let dir = env.dir(&format!("dialect{i}"));
        let header_lang = match opts.contains(&"c++") {
            true => "c++-header",
            false => "c-header",
        };
        let base: Vec<&str> = (opts.iter().copied())
            .filter(|o| *o != "-x" && *o != "c++")
            .collect();
        for h in headers {
            write_file(&dir.join(h), &format!("int from_{};\n", &h[..1]));
            run_ok(
                clean_env(&mut std::process::Command::new("gcc"))
                    .current_dir(&dir)
                    .args(&base)
                    .args(["-x", header_lang, h, "-o", &format!("{h}.gch")]),
            );
        }
        dirs.push(dir);
    }
    dirs
}

/// The `.gch` gcc takes for `t.c` in `dir` with `opts`, as `-H` shows it
/// (`-E -fpch-preprocess` names one after a token too, which the compile
/// then does not use; empty: none), if the compile succeeds: only then
/// is it cached.
fn gch_taken(dir: &Path, opts: &[&str]) -> Option<String> {
    let out = run(clean_env(&mut std::process::Command::new("gcc"))
        .current_dir(dir)
        .args(opts)
        .args(["-I.", "-H", "-fsyntax-only", "t.c"]));
    if !out.success() {
        return None;
    }
    let text = out.stderr_str();
    let path = text
        .lines()
        .find_map(|l| l.strip_prefix("! "))
        .unwrap_or("");
    let name = path.rsplit('/').next().unwrap_or("");
    Some(name.trim_end_matches(".gch").to_string())
}

/// A small deterministic generator (xorshift64).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// A preamble of up to nine pieces and conditionals, which it closes
/// (so that more of them compile), then an include and a token.
fn preamble(rng: &mut Rng) -> String {
    let mut text = String::from("#define E\n");
    let mut depth = 0;
    for _ in 0..1 + rng.below(9) {
        let n = rng.below(PIECES.len() + 4);
        let Some(conditional) = n.checked_sub(PIECES.len()) else {
            text.push_str(PIECES[n]);
            continue;
        };
        match (conditional, depth) {
            (0, _) => text.push_str("#if 0\n"),
            (1, _) => text.push_str("#ifdef Y\n"),
            (2, 1..) => text.push_str("#else\n"),
            (3, 1..) => text.push_str("#endif\n"),
            _ => continue,
        }
        depth = match conditional {
            0 | 1 => depth + 1,
            3 => depth - 1,
            _ => depth,
        };
    }
    text.push_str(&"#endif\n".repeat(depth));
    text + "#include \"a.h\"\nint z;\n"
}

/// Random preambles of the pieces above: every `.gch` gcc takes for one, in each dialect, is one the scan names (or the scan
/// says an include is unknown, which counts every `.gch` there).
#[test]
fn the_scan_names_every_gch_gcc_takes() {
    require("gcc");
    require("g++");
    let env = TestEnv::new();
    let dirs = dialect_dirs(&env);
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (mut compiled, mut taken) = (0, 0);
    for _ in 0..100 {
        let text = preamble(&mut rng);
        let scanned = includes(text.as_bytes(), true, &[], true).expect("a whole text decides");
        let named = |name: &str| {
            scanned.iter().any(|i| match i {
                Include::Named { name: n, .. } => n == name,
                Include::Unknown => true,
            })
        };
        for (dir, opts) in dirs.iter().zip(DIALECTS) {
            fs::write(dir.join("t.c"), &text).unwrap();
            let Some(gch) = gch_taken(dir, opts) else {
                continue;
            };
            compiled += 1;
            if gch.is_empty() {
                continue;
            }
            taken += 1;
            assert!(
                named(&gch),
                "gcc {opts:?} takes {gch}.gch, the scan names {scanned:?}, for:\n{text}"
            );
        }
    }
    eprintln!("gcc took a .gch in {taken} of {compiled} compiles");
    assert!(
        taken > 60,
        "gcc took a .gch in {taken} of {compiled} compiles"
    );
}

/// Preambles with the byte the 4 KiB cut falls before marked `|`, each
/// followed by `int v = VALUE;`: gcc takes `p.h.gch` after each.
const ACROSS_THE_CUT: &[&str] = &[
    "#define A 1 \\|\n#include \"x.h\"\n#include \"p.h\"\n",
    "#define A 1 \\ \t|\r\n#include \"x.h\"\n#include \"p.h\"\n",
    "// c ??/|\n#include \"p.h\"\n",
    "/|* open\n#include \"x.h\" */\n#include \"p.h\"\n",
    "#define A 1\r|\n#include \"p.h\"\r\n",
    "#include \"p.|h\"\n",
    "#if 0\n#include \"x.h\"\n#en|dif\n#include \"p.h\"\n",
    "#define P \"p.h\"\n|#include P\n",
    "#define Q '\"' /* a|\n#include \"x.h\" */\n#include \"p.h\"\n",
    "#define C '/|*'\n#include \"p.h\"\n",
    "#if 0\nR\"x(\n#en|dif\nint y;\n)x\"\n#endif\n#include \"p.h\"\n",
    "\0\0|\0#include \"p.h\"\n",
];

/// A source over 16 KiB whose `preamble` (see `ACROSS_THE_CUT`) is placed
/// after a licence so that its `|` falls on byte 4096.
fn across_the_cut(preamble: &str) -> String {
    let (before, after) = preamble.split_once('|').unwrap();
    let stars = 4096 - before.len() - "/*\n*/\n".len();
    let filler: String = (0..1200).map(|i| format!("int filler_{i};\n")).collect();
    let text = format!(
        "/*\n{}*/\n{before}{after}int v = VALUE;\n{filler}",
        "*".repeat(stars)
    );
    assert_eq!(&text.as_bytes()[4096..4096 + after.len()], after.as_bytes());
    text
}

/// Wherever the cut falls in a preamble, a recalled source read in part
/// is read whole for it, and a rebuilt `p.h.gch` is a miss with gcc's
/// object.
#[test]
fn a_cut_anywhere_in_the_preamble_reads_the_rest() {
    require("gcc");
    let env = env_with_cache();
    for (i, preamble) in ACROSS_THE_CUT.iter().enumerate() {
        let dir = env.dir(&format!("cut{i}"));
        let log = env.dir("logs").join(format!("log{i}"));
        write_file(&dir.join("x.h"), "#define OTHER 3\n");
        write_file(&dir.join("big.c"), &across_the_cut(preamble));
        settle(&dir.join("big.c"));
        make_gch(&dir, &[], 2);
        let compile = Compile::new(&dir, "gcc", &["-c", "big.c"], "big.o")
            .env("CCACHE_LOGFILE", log.to_str().unwrap());
        let first = compile.check(&env);
        compile.check(&env);
        make_gch(&dir, &[], 7);
        let second = compile.check(&env);
        let what = format!("{preamble:?}: {}", fs::read_to_string(&log).unwrap());
        assert_ne!(first.obj, second.obj, "{what}");
        assert_eq!(env.hits(), i as u64 + 1, "{what}");
        assert_eq!(count(&log, RECALLED), 2, "{what}");
        assert!(count(&log, READ_WHOLE) >= 2, "{what}");
    }
}

/// A source over 16 KiB whose `#include "p.h"` lies past the cut, ending
/// in `int last = {last};`.
fn late_include(last: u32) -> String {
    let licence = " * licence text ...............................................\n";
    let filler: String = (0..1200).map(|i| format!("int filler_{i};\n")).collect();
    format!(
        "/*\n{}*/\n#include \"p.h\"\nint v = VALUE;\n{filler}int last = {last};\n",
        licence.repeat(70)
    )
}

/// The number of the `pread64` (counted from 1) with which the call
/// `cmd` reads the rest of a source of `len` bytes.
fn rest_read_number(cmd: &mut std::process::Command, trace: &Path, len: u64) -> usize {
    run_ok(cmd);
    let text = fs::read_to_string(trace).unwrap();
    let rest = format!(", {}, 4096) = ", len - 4096 + 1);
    let number = text.lines().position(|l| l.contains(&rest));
    let log = fs::read_to_string(trace.with_file_name("log")).unwrap_or_default();
    number.unwrap_or_else(|| panic!("no read of the rest in:\n{text}\n{log}")) + 1
}

/// `objcache gcc args` in `dir` run under strace with `options`, its
/// `pread64`s written to `trace`.
fn traced(
    env: &TestEnv,
    (dir, args): (&Path, &[&str]),
    options: &[&str],
    trace: &Path,
) -> std::process::Command {
    let mut cmd = env.objcache_in(dir, ["gcc"].iter().chain(args));
    cmd.env("CCACHE_LOGFILE", env.dir("logs").join("log"));
    let objcache = cmd.get_program().to_owned();
    let mut traced = std::process::Command::new("strace");
    traced.args(["-qq", "-e", "trace=pread64"]).args(options);
    traced.arg("-o").arg(trace);
    traced.arg(objcache).args(cmd.get_args()).current_dir(dir);
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => traced.env(k, v),
            None => traced.env_remove(k),
        };
    }
    traced
}

/// The call is held (by strace) just before it reads the rest of a
/// recalled source whose first `#include` lies past the cut, and the
/// file is rewritten meanwhile (same size, its mtime set back, a change
/// past the cut): the rest is not the text the recalled digest is of, so
/// the call runs uncached (`modified_input_file`) with gcc's object of
/// the new text, and each text gives its own object afterwards. Were
/// the rest taken unchecked, the preamble would come from a text the keys
/// were not made of (here the call was a hit with the old text's object).
#[test]
fn a_source_rewritten_between_its_part_and_its_rest_runs_uncached() {
    require("gcc");
    if !have("strace") {
        eprintln!("SKIP: strace is not installed: the call cannot be held between its reads");
        return;
    }
    let env = env_with_cache();
    let dir = env.dir("race");
    let trace = env.dir("logs").join("trace");
    let source = dir.join("big.c");
    let (old, new) = (late_include(1), late_include(2));
    assert_eq!(old.len(), new.len());
    make_gch(&dir, &[], 2);
    let args = ["-c", "big.c", "-o", "big.o"];
    let object = |text: &str| {
        write_file(&source, text);
        plain_object("gcc", &dir, args, "big.o")
    };
    let objects = [object(&old), object(&new)];
    write_file(&source, &old);
    settle(&source);
    let mtime = fs::metadata(&source).unwrap().modified().unwrap();
    run_ok(
        env.objcache_in(&dir, ["gcc"].iter().chain(&args))
            .env("CCACHE_LOGFILE", env.dir("logs").join("log")),
    );
    let len = old.len() as u64;
    let call = (dir.as_path(), &args[..]);
    let number = rest_read_number(&mut traced(&env, call, &[], &trace), &trace, len);
    assert_eq!(
        env.hits(),
        1,
        "{:?} {}",
        env.stats(),
        fs::read_to_string(env.dir("logs").join("log")).unwrap_or_default()
    );

    // The dry run's trace must not be taken for the held call's.
    fs::remove_file(&trace).unwrap();
    let delay = format!("inject=pread64:delay_enter=2000000:when={number}");
    let mut held = traced(&env, call, &["-e", &delay], &trace).spawn().unwrap();
    let part = ", 4096, 0) = 4096";
    let started = std::time::Instant::now();
    while !fs::read_to_string(&trace)
        .unwrap_or_default()
        .contains(part)
    {
        assert!(started.elapsed().as_secs() < 30, "the part was never read");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let file = fs::OpenOptions::new().write(true).open(&source).unwrap();
    use std::os::unix::fs::FileExt;
    file.write_all_at(new.as_bytes(), 0).unwrap();
    file.set_modified(mtime).unwrap();
    assert!(held.wait().unwrap().success());
    let trace_text = fs::read_to_string(&trace).unwrap();
    assert!(
        trace_text
            .lines()
            .nth(number - 1)
            .unwrap()
            .ends_with("(DELAYED)"),
        "{trace_text}"
    );
    assert_bytes_eq(&read(&dir.join("big.o")), &objects[1], "the held call");
    assert_eq!(env.stat("modified_input_file"), 1, "{:?}", env.stats());
    assert_eq!(env.hits(), 1, "{:?}", env.stats());

    for (text, expected) in [(&new, &objects[1]), (&old, &objects[0])] {
        write_file(&source, text);
        run_ok(&mut env.objcache_in(&dir, ["gcc"].iter().chain(&args)));
        assert_bytes_eq(&read(&dir.join("big.o")), expected, "after the race");
    }
}

fn run_tool(args: &[&str]) -> Result<String, String> {
    match std::process::Command::new(args[0])
        .args(&args[1..])
        .output()
    {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).into_owned()),
        Ok(o) => Err(String::from_utf8_lossy(&o.stderr).into_owned()),
        Err(e) => Err(format!("{}: {e}", args[0])),
    }
}

/// An ext4 image holding `big.c` returning `value`, with the inode
/// numbers and stamps of any other such image (`mke2fs -d`, fixed
/// stamps), as reproducible builds of one tree give them.
fn reproducible_image(root: &Path, value: u32) -> Result<std::path::PathBuf, String> {
    let tree = root.join(format!("tree{value}"));
    let filler: String = (0..1200).map(|i| format!("int filler_{i};\n")).collect();
    write_file(
        &tree.join("big.c"),
        &format!("int value(void) {{ return {value}; }}\n{filler}"),
    );
    let image = root.join(format!("{value}.img"));
    let (t, i) = (tree.to_str().unwrap(), image.to_str().unwrap());
    run_tool(&[
        "mke2fs", "-q", "-F", "-t", "ext4", "-I", "128", "-d", t, i, "8M",
    ])?;
    for field in ["mtime", "ctime", "atime"] {
        let set = format!("set_inode_field /big.c {field} 20250101000001");
        run_tool(&["debugfs", "-w", "-R", &set, i])?;
    }
    Ok(image)
}

/// An overlay whose lower layer is an image on a loop device (read-only)
/// and whose upper directory stays when the image is swapped; all of it
/// unmounted and detached when dropped, also when the test fails.
struct Overlay {
    device: String,
    root: std::path::PathBuf,
}

impl Overlay {
    fn new(root: &Path, image: &Path) -> Result<Overlay, String> {
        for dir in ["lower", "upper", "work", "merged"] {
            fs::create_dir_all(root.join(dir)).unwrap();
        }
        let backing = root.join("device.img");
        fs::copy(image, &backing).unwrap();
        let device = run_tool(&["losetup", "--find", "--show", backing.to_str().unwrap()])?;
        let overlay = Overlay {
            device: device.trim().to_string(),
            root: root.to_path_buf(),
        };
        overlay.mount()?;
        Ok(overlay)
    }

    fn path(&self, dir: &str) -> String {
        self.root.join(dir).to_str().unwrap().to_string()
    }

    fn mount(&self) -> Result<(), String> {
        run_tool(&["mount", "-o", "ro", &self.device, &self.path("lower")])?;
        let options = format!(
            "lowerdir={},upperdir={},workdir={}",
            self.path("lower"),
            self.path("upper"),
            self.path("work")
        );
        let merged = self.path("merged");
        run_tool(&["mount", "-t", "overlay", "overlay", "-o", &options, &merged]).map(drop)
    }

    fn unmount(&self) {
        for dir in ["merged", "lower"] {
            if run_tool(&["umount", &self.path(dir)]).is_err() {
                let _ = run_tool(&["umount", "-l", &self.path(dir)]);
            }
        }
    }

    /// Another image as the lower layer, on the same device.
    fn swap_to(&self, image: &Path) {
        self.unmount();
        let (from, to) = (
            format!("if={}", image.display()),
            format!("of={}", self.device),
        );
        run_tool(&["dd", &from, &to, "bs=1M", "conv=fsync", "status=none"]).unwrap();
        self.mount().unwrap();
    }
}

impl Drop for Overlay {
    fn drop(&mut self) {
        self.unmount();
        let _ = run_tool(&["losetup", "-d", &self.device]);
    }
}

/// Two reproducible images of a tree, differing in `big.c` (same size),
/// in turn the lower layer of an overlay that keeps its upper directory:
/// the overlay shows `big.c` with one device, inode, size and stamps in
/// both, and its own id (kept in the upper directory), so the memo gave
/// the second image's source the first one's digest and the call was a
/// direct hit with the first image's object. Now, on an overlay, the
/// mount the file is seen through (never the same for two mounts in one
/// boot) is part of the source's identity.
#[test]
fn a_lower_layer_swapped_under_an_overlay_is_not_the_old_layers_source() {
    if !is_root() {
        eprintln!("SKIP: mounting images and overlays needs root");
        return;
    }
    require("gcc");
    let env = env_with_cache();
    let root = env.dir("overlay");
    let images = [1, 2].map(|value| reproducible_image(&root, value));
    let [Ok(first), Ok(second)] = &images else {
        eprintln!("SKIP: cannot build ext4 images with mke2fs -d: {images:?}");
        return;
    };
    let overlay = match Overlay::new(&root, first) {
        Ok(overlay) => overlay,
        Err(why) => {
            eprintln!("SKIP: cannot mount an image under an overlay: {why}");
            return;
        }
    };
    let merged = root.join("merged");
    let obj = env.dir("out").join("big.o");
    let obj = obj.to_str().unwrap();
    let compile = Compile::new(&merged, "gcc", &["-c", "big.c", "-o", obj], obj);
    let identity = || {
        let m = fs::metadata(merged.join("big.c")).unwrap();
        (m.dev(), m.ino(), m.size(), m.mtime(), m.ctime())
    };
    let before = identity();
    compile.check(&env);
    compile.check(&env);
    assert_eq!(env.hits(), 1, "{:?}", env.stats());

    overlay.swap_to(second);
    assert_eq!(
        identity(),
        before,
        "the layers' sources must have one identity, or the test proves nothing"
    );
    compile.check(&env);
    assert_eq!(env.hits(), 1, "{:?}", env.stats());
}
