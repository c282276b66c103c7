//! Attacks on what a hit takes from its source without reading it all:
//! the digest and macros recalled from the inode memo (`hash::source`),
//! by a file's identity. What is recalled must be what the text says, also
//! where an identity stands for two contents in turn.

use crate::common::*;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Two builds of one tree differ in a line of a source of 16 KiB or more,
/// the same size in both.
fn tree_with_value(dir: &Path, value: u32) {
    let filler: String = (0..1200)
        .map(|i| format!("int filler_{i} = {i};\n"))
        .collect();
    let text = format!("int value(void) {{ return {value}; }}\n{filler}");
    assert!(text.len() > 16 * 1024);
    write_file(&dir.join("big.c"), &text);
}

fn run_tool(args: &[&str]) -> Result<String, String> {
    match Command::new(args[0]).args(&args[1..]).output() {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).into_owned()),
        Ok(o) => Err(String::from_utf8_lossy(&o.stderr).into_owned()),
        Err(e) => Err(format!("{}: {e}", args[0])),
    }
}

/// An ext4 image of `tree` with the stamps a reproducible image build
/// gives every file (`mke2fs -d` with fixed times): its own UUID, but the
/// inode numbers and stamps of any other build of the same tree.
fn reproducible_image(tree: &Path, image: &Path) -> Result<(), String> {
    let (tree, image) = (tree.to_str().unwrap(), image.to_str().unwrap());
    run_tool(&[
        "mke2fs", "-q", "-F", "-t", "ext4", "-I", "128", "-d", tree, image, "8M",
    ])?;
    for field in ["mtime", "ctime", "atime"] {
        let set = format!("set_inode_field /big.c {field} 20250101000001");
        run_tool(&["debugfs", "-w", "-R", &set, image])?;
    }
    Ok(())
}

/// A loop device holding an image, mounted read-only; unmounted and
/// detached when dropped, also when the test fails.
struct LoopImage {
    device: String,
    mnt: PathBuf,
}

impl LoopImage {
    fn attach(image: &Path, mnt: &Path) -> Result<LoopImage, String> {
        let out = run_tool(&["losetup", "--find", "--show", image.to_str().unwrap()])?;
        let device = out.trim().to_string();
        fs::create_dir_all(mnt).unwrap();
        let img = LoopImage {
            device,
            mnt: mnt.to_path_buf(),
        };
        img.mount()?;
        Ok(img)
    }

    fn mount(&self) -> Result<(), String> {
        run_tool(&[
            "mount",
            "-o",
            "ro",
            &self.device,
            self.mnt.to_str().unwrap(),
        ])
        .map(drop)
    }

    /// Another image in this one's place: the same device, so the same
    /// `st_dev` for its files.
    fn swap_to(&self, image: &Path) {
        run_tool(&["umount", self.mnt.to_str().unwrap()]).unwrap();
        let of = format!("of={}", self.device);
        let what = format!("if={}", image.display());
        run_tool(&["dd", &what, &of, "bs=1M", "conv=fsync", "status=none"]).unwrap();
        self.mount().unwrap();
    }
}

impl Drop for LoopImage {
    fn drop(&mut self) {
        let mnt = self.mnt.to_str().unwrap();
        if run_tool(&["umount", mnt]).is_err() {
            let _ = run_tool(&["umount", "-l", mnt]);
        }
        let _ = run_tool(&["losetup", "-d", &self.device]);
    }
}

/// Two ext4 images of a tree that differ only in the text of `big.c`, as
/// two reproducible builds of a release give them, mounted in turn at one
/// place: device, inode, size, mode and stamps of `big.c` are the same in
/// both. The memo must not give the second image's source the digest of
/// the first's (a direct hit with the first image's object, before the
/// file system's id was part of the source's identity).
#[test]
fn a_reproducible_image_swapped_in_is_not_the_old_images_source() {
    if !is_root() {
        eprintln!("SKIP: loop-mounting images needs root");
        return;
    }
    let env = TestEnv::new();
    run_ok(env.objcache().arg("-z"));
    let root = env.dir("images");
    let (tree_a, tree_b) = (root.join("a"), root.join("b"));
    tree_with_value(&tree_a, 1);
    tree_with_value(&tree_b, 2);
    let (img_a, img_b) = (root.join("a.img"), root.join("b.img"));
    for (tree, img) in [(&tree_a, &img_a), (&tree_b, &img_b)] {
        if let Err(why) = reproducible_image(tree, img) {
            eprintln!("SKIP: cannot build an ext4 image with mke2fs -d: {why}");
            return;
        }
    }
    let loop_img = match LoopImage::attach(&img_a, &root.join("mnt")) {
        Ok(l) => l,
        Err(why) => {
            eprintln!("SKIP: cannot loop-mount an ext4 image: {why}");
            return;
        }
    };
    let src = loop_img.mnt.join("big.c");
    let out = env.dir("out");
    let obj = out.join("big.o");
    let obj = obj.to_str().unwrap();
    let compile = || Compile::new(&loop_img.mnt, "gcc", &["-c", "big.c", "-o", obj], obj);
    let identity = |m: fs::Metadata| (m.dev(), m.ino(), m.size(), m.mtime(), m.ctime());
    let first = identity(fs::metadata(&src).unwrap());
    compile().check(&env);
    compile().check(&env);
    assert_eq!(env.stat("direct_cache_hit"), 1);

    loop_img.swap_to(&img_b);
    assert_eq!(
        identity(fs::metadata(&src).unwrap()),
        first,
        "the images' sources must have one identity, or the test proves nothing"
    );
    // `check` compares with plain gcc's object of the second image's text.
    compile().check(&env);
    assert_eq!(env.stat("direct_cache_hit"), 1);
}
