//! How a hit writes its outputs: over an existing plain file in place
//! (same inode, old tail cut off), never through a name that shares its
//! inode with another file, and from large entries (read through a memory
//! mapping) exactly as from small ones, corrupt ones included.

use crate::common::*;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

const UNIT: [&str; 7] = ["gcc", "-c", "src/util.c", "-I", "include", "-MD", "-o"];

fn compile(env: &TestEnv, proj: &Path, output: &str) -> Out {
    let mut a: Vec<&str> = UNIT.to_vec();
    a.push(output);
    let out = run(&mut env.objcache_in(proj, a));
    assert!(out.success(), "{}", out.dump());
    out
}

/// A hit over longer and over shorter existing outputs leaves exactly the
/// cached bytes, in the same file (the inode is kept, as a compiler that
/// opens its output for writing keeps it).
#[test]
fn hit_overwrites_existing_outputs_in_place_and_cuts_the_old_tail() {
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    compile(&env, &proj, "first.o");
    let expected_o = read(&proj.join("first.o"));
    let expected_d = fs::read_to_string(proj.join("first.d"))
        .unwrap()
        .replace("first.o", "util.o");
    for (round, junk_len) in [("longer", expected_o.len() * 3), ("shorter", 10)] {
        fs::write(proj.join("util.o"), vec![0xa5u8; junk_len]).unwrap();
        fs::write(proj.join("util.d"), vec![b'x'; junk_len]).unwrap();
        let ino_o = fs::metadata(proj.join("util.o")).unwrap().ino();
        let ino_d = fs::metadata(proj.join("util.d")).unwrap().ino();
        let hits = env.hits();
        compile(&env, &proj, "util.o");
        assert_eq!(env.hits(), hits + 1, "{round}: {:?}", env.stats());
        assert_bytes_eq(
            &read(&proj.join("util.o")),
            &expected_o,
            &format!("object over a {round} file"),
        );
        assert_eq!(
            fs::read_to_string(proj.join("util.d")).unwrap(),
            expected_d,
            "{round}"
        );
        assert_eq!(fs::metadata(proj.join("util.o")).unwrap().ino(), ino_o);
        assert_eq!(fs::metadata(proj.join("util.d")).unwrap().ino(), ino_d);
    }
}

/// An output with a second name (a hard-linked snapshot of the build tree)
/// is replaced, not written through: the other name keeps its bytes.
#[test]
fn hit_never_writes_through_a_hard_linked_output() {
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    compile(&env, &proj, "util.o");
    let expected = read(&proj.join("util.o"));
    fs::write(proj.join("snapshot.o"), b"snapshot bytes").unwrap();
    rm(&proj.join("util.o"));
    fs::hard_link(proj.join("snapshot.o"), proj.join("util.o")).unwrap();
    compile(&env, &proj, "util.o");
    assert_eq!(env.hits(), 1, "{:?}", env.stats());
    assert_bytes_eq(&read(&proj.join("util.o")), &expected, "object");
    assert_eq!(read(&proj.join("snapshot.o")), b"snapshot bytes");
    assert_eq!(fs::metadata(proj.join("util.o")).unwrap().nlink(), 1);
}

/// With `hard_link`, a hit makes the output a link to a cache file; a later
/// hit of another unit into the same output must not write into that file,
/// or it would damage the first unit's entry.
#[test]
fn hit_into_an_output_linked_to_the_cache_keeps_the_cache_file() {
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let unit = |src: &str, link: bool| {
        let mut cmd = env.objcache_in(&proj, ["gcc", "-c", src, "-I", "include", "-o", "out.o"]);
        if link {
            cmd.env("CCACHE_HARDLINK", "1");
        }
        let out = run(&mut cmd);
        assert!(out.success(), "{}", out.dump());
        read(&proj.join("out.o"))
    };
    let util = unit("src/util.c", true);
    let math = unit("src/math.c", false);
    assert_eq!(unit("src/util.c", true), util, "hit with a link");
    assert!(fs::metadata(proj.join("out.o")).unwrap().nlink() > 1);
    assert_eq!(
        unit("src/math.c", false),
        math,
        "hit into the linked output"
    );
    assert_eq!(
        unit("src/util.c", true),
        util,
        "the linked entry still serves"
    );
    let s = env.stats();
    assert_eq!(hits(&s), 3, "{s:?}");
    assert_eq!(get(&s, "corrupt_cache_entry"), 0, "{s:?}");
}

/// A source whose object carries `kib` KiB of incompressible data, so its
/// cache entry is far larger than the 64 KiB above which entries are mapped.
fn write_big_source(path: &Path, kib: usize) {
    let mut x: u32 = 2463534242;
    let mut src = String::from("const unsigned int big_table[] = {\n");
    for i in 0..kib * 256 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        src.push_str(&format!("{x}u,"));
        if i % 8 == 7 {
            src.push('\n');
        }
    }
    src.push_str("};\nunsigned int pick(unsigned int i) { return big_table[i % (sizeof big_table / sizeof *big_table)]; }\n");
    fs::write(path, src).unwrap();
}

/// Large entries (read through a mapping) hit with the exact object, and a
/// damaged or shortened large entry is a miss that still builds correctly.
#[test]
fn large_entries_hit_exactly_and_damaged_ones_miss() {
    let env = TestEnv::new();
    let proj = env.dir("big");
    write_big_source(&proj.join("big.c"), 400);
    let a = args(&["-c", "big.c", "-o", "big.o", "-O1"]);
    let expected = plain_object("gcc", &proj, &a, "big.o");
    assert!(expected.len() > 400 * 1024);
    let go = |round: &str| {
        let out =
            run(&mut env.objcache_in(&proj, std::iter::once("gcc".to_string()).chain(a.clone())));
        assert!(out.success(), "{round}: {}", out.dump());
        assert_bytes_eq(&read(&proj.join("big.o")), &expected, round);
    };
    go("miss");
    go("hit");
    assert_eq!((env.hits(), env.misses()), (1, 1));
    let result = cache_entry_files(&env.cache_dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with('R'))
        .max_by_key(|p| fs::metadata(p).unwrap().len())
        .expect("a result entry");
    assert!(fs::metadata(&result).unwrap().len() > 256 * 1024);

    let mut data = read(&result);
    let mid = data.len() / 2;
    data[mid] ^= 0x40;
    fs::write(&result, &data).unwrap();
    go("flipped byte");
    assert_eq!(env.stat("corrupt_cache_entry"), 1, "{:?}", env.stats());
    go("hit after repair");

    let data = read(&result);
    fs::write(&result, &data[..data.len() - 4096]).unwrap();
    go("shortened");
    let s = env.stats();
    assert_eq!(get(&s, "corrupt_cache_entry"), 2, "{s:?}");
    assert_eq!((hits(&s), get(&s, "cache_miss")), (2, 3), "{s:?}");
}

/// An entry holding two objects (a well-formed checksum around a bad
/// payload, as a confused remote could serve) is corrupt: the call compiles
/// and the output is there, with the compiler's bytes.
#[test]
fn entry_with_two_objects_is_corrupt_and_the_output_still_appears() {
    use objcache::disk::entry::{FileKind, ResultEntry};
    use objcache::key::Key;
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let a = ["gcc", "-c", "src/util.c", "-I", "include", "-o", "util.o"];
    assert!(run(&mut env.objcache_in(&proj, a)).success());
    let expected = read(&proj.join("util.o"));
    let result = cache_entry_files(&env.cache_dir)
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with('R'))
        .expect("a result entry");
    let name = result.file_name().unwrap().to_string_lossy().into_owned();
    let mut key = [0u8; 32];
    for (i, b) in key.iter_mut().enumerate() {
        *b = u8::from_str_radix(&name[2 * i..2 * i + 2], 16).unwrap();
    }
    let key = Key::from_bytes(key);
    let mut entry = ResultEntry::decode(&read(&result), &key).unwrap();
    let object = entry
        .files
        .iter()
        .find(|(k, _)| *k == FileKind::Object)
        .unwrap()
        .clone();
    entry.files.push(object);
    fs::write(&result, entry.encode(&key, "", Some(1)).unwrap()).unwrap();

    let out = run(&mut env.objcache_in(&proj, a));
    assert!(out.success(), "{}", out.dump());
    assert_bytes_eq(&read(&proj.join("util.o")), &expected, "object");
    let s = env.stats();
    assert_eq!(get(&s, "corrupt_cache_entry"), 1, "{s:?}");
    assert_eq!(hits(&s), 0, "{s:?}");
}
