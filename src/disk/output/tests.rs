//! Output files: written whole or not at all, and never through a link.

use super::*;
use std::time::Duration;

#[test]
fn unfinished_outputs_are_removed_finished_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.o");
    for existed in [false, true] {
        if existed {
            fs::write(&path, b"old object").unwrap();
        }
        let mut out = OutputFile::create(&path, Symlink::Replace).unwrap();
        out.write_all(b"half").unwrap();
        drop(out);
        assert!(!path.exists(), "existed before: {existed}");
    }
    fs::write(&path, b"old object, longer").unwrap();
    let mut out = OutputFile::create(&path, Symlink::Replace).unwrap();
    out.write_all(b"new").unwrap();
    out.finish().unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"new");
}

/// A second writer of the same output waits for the first and then
/// writes its whole object; after an abandoned first writer it makes a
/// new file instead of writing into the removed one.
#[test]
fn writers_of_one_output_take_turns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.o");
    for abandon in [false, true] {
        fs::write(&path, vec![b'o'; 120]).unwrap();
        let mut first = OutputFile::create(&path, Symlink::Replace).unwrap();
        let second = {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut out = OutputFile::create(&path, Symlink::Replace).unwrap();
                out.write_all(&[b'B'; 80]).unwrap();
                out.finish().unwrap();
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        first.write_all(&[b'A'; 100]).unwrap();
        if abandon {
            drop(first);
        } else {
            first.finish().unwrap();
        }
        second.join().unwrap();
        assert_eq!(fs::read(&path).unwrap(), [b'B'; 80], "abandon: {abandon}");
    }
}

/// A writer that dies before `finish` (SIGKILL: no destructor) leaves
/// a file whose start is zeros, never the new head over the old tail.
#[test]
fn an_abandoned_output_has_no_valid_head() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.o");
    let old: Vec<u8> = (0..500u32).map(|i| (i % 251) as u8 + 1).collect();
    for new_len in [10usize, 64, 300, 500, 900] {
        fs::write(&path, &old).unwrap();
        let new: Vec<u8> = (0..new_len).map(|i| (i % 13) as u8 + 100).collect();
        let mut out = OutputFile::create(&path, Symlink::Replace).unwrap();
        out.write_all(&new).unwrap();
        // As a kill leaves it: the descriptor closed, nothing cleaned up.
        drop(out.file.take());
        std::mem::forget(out);
        let left = fs::read(&path).unwrap();
        assert!(
            left[..64.min(left.len())].iter().all(|&b| b == 0),
            "{new_len}"
        );
        let mut out = OutputFile::create(&path, Symlink::Replace).unwrap();
        out.write_all(&new).unwrap();
        out.finish().unwrap();
        assert_eq!(fs::read(&path).unwrap(), new, "{new_len}");
    }
}

#[test]
fn an_abandoned_new_output_is_zeros_not_empty() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.o");
    for (old_len, new_len) in [(None, 0usize), (None, 10), (Some(20), 30), (None, 900)] {
        let _ = fs::remove_file(&path);
        if let Some(len) = old_len {
            fs::write(&path, vec![7u8; len]).unwrap();
        }
        let mut out = OutputFile::create(&path, Symlink::Replace).unwrap();
        out.write_all(&vec![9u8; new_len]).unwrap();
        drop(out.file.take());
        std::mem::forget(out);
        let left = fs::read(&path).unwrap();
        assert!(
            left.len() >= 64,
            "{old_len:?} {new_len}: {} bytes",
            left.len()
        );
        assert!(left[..64].iter().all(|&b| b == 0), "{old_len:?} {new_len}");
        let mut out = OutputFile::create(&path, Symlink::Replace).unwrap();
        out.write_all(&vec![9u8; new_len]).unwrap();
        out.finish().unwrap();
        assert_eq!(fs::read(&path).unwrap(), vec![9u8; new_len]);
    }
}

/// A file another process has open (an orphaned compiler still
/// writing it, a linker reading it) is replaced: what that process
/// writes later goes to the old file, not into the hit's object.
#[test]
fn an_output_open_elsewhere_is_replaced_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.o");
    fs::write(&path, b"old object").unwrap();
    let ino = |p: &Path| fs::metadata(p).unwrap().ino();
    let before = ino(&path);
    let mut orphan = fs::OpenOptions::new().write(true).open(&path).unwrap();
    write_output(&path, b"new object", Symlink::Replace).unwrap();
    assert_ne!(ino(&path), before);
    orphan.write_all(b"late bytes").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"new object");
    drop(orphan);
    // Open by nobody else: written in place, as a compiler keeps it.
    let before = ino(&path);
    write_output(&path, b"newer", Symlink::Replace).unwrap();
    assert_eq!(ino(&path), before);
    assert_eq!(fs::read(&path).unwrap(), b"newer");
    let reader = fs::File::open(&path).unwrap();
    assert!(!unshared(
        &fs::OpenOptions::new().write(true).open(&path).unwrap()
    ));
    drop(reader);
    assert!(unshared(
        &fs::OpenOptions::new().write(true).open(&path).unwrap()
    ));
}

/// A file open elsewhere in a directory where it cannot be unlinked
/// (immutable here; read-only or sticky for other users) is written in
/// place, as GNU as writes it, instead of failing the hit.
#[test]
fn an_output_that_cannot_be_unlinked_is_written_in_place() {
    struct Mutable<'a>(&'a Path);
    impl Drop for Mutable<'_> {
        fn drop(&mut self) {
            let _ = std::process::Command::new("chattr")
                .arg("-i")
                .arg(self.0)
                .status();
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("fixed");
    fs::create_dir(&sub).unwrap();
    let path = sub.join("x.o");
    fs::write(&path, b"old object").unwrap();
    let _orphan = fs::OpenOptions::new().write(true).open(&path).unwrap();
    let _guard = Mutable(&sub);
    let made_immutable = std::process::Command::new("chattr")
        .arg("+i")
        .arg(&sub)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !made_immutable {
        eprintln!("skipped: chattr +i is not possible here");
        return;
    }
    let ino = fs::metadata(&path).unwrap().ino();
    write_output(&path, b"new", Symlink::Replace).unwrap();
    assert_eq!(fs::metadata(&path).unwrap().ino(), ino);
    assert_eq!(fs::read(&path).unwrap(), b"new");
}

/// The object replaces a symlink, whose target keeps its bytes; a
/// `.d` is written through it (as gcc does both).
#[test]
fn symlinks_are_replaced_or_written_through_as_asked() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target");
    let link = dir.path().join("link.o");
    for (rule, through) in [(Symlink::Replace, false), (Symlink::WriteThrough, true)] {
        fs::write(&target, b"old").unwrap();
        let _ = fs::remove_file(&link);
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_output(&link, b"new", rule).unwrap();
        let is_link = fs::symlink_metadata(&link).unwrap().is_symlink();
        assert_eq!(is_link, through, "{rule:?}");
        assert_eq!(fs::read(&link).unwrap(), b"new", "{rule:?}");
        let kept: &[u8] = if through { b"new" } else { b"old" };
        assert_eq!(fs::read(&target).unwrap(), kept, "{rule:?}");
    }
}

#[test]
fn outputs_that_are_not_plain_files_get_bytes_only_when_finished() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target.o");
    let link = dir.path().join("link.o");
    fs::write(&target, b"old").unwrap();
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let mut out = OutputFile::create(&link, Symlink::WriteThrough).unwrap();
    out.write_all(b"unconfirmed").unwrap();
    drop(out);
    assert_eq!(fs::read(&target).unwrap(), b"old");
    assert!(fs::symlink_metadata(&link).unwrap().is_symlink());
    let mut out = OutputFile::create(&link, Symlink::WriteThrough).unwrap();
    out.write_all(b"new").unwrap();
    out.finish().unwrap();
    assert_eq!(fs::read(&target).unwrap(), b"new");
    assert!(fs::symlink_metadata(&link).unwrap().is_symlink());
}
