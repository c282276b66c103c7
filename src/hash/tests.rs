//! The key recipe's shape: which fields each key takes, in which order,
//! and that the compiler's identity is remembered through the memo the
//! recipe is given.

use std::cell::RefCell;
use std::path::Path;

use super::recipe::{HashedKey, Recipe};
use super::source::{SourceFacts, Text};
use crate::compiler::args::{analyse, ArgsAnalysis};
use crate::compiler::{Compiler, CompilerType};
use crate::config::Config;
use crate::key::{DigestMemo, MemoKind};
use crate::log::Log;

/// A memo in memory that notes what it was asked.
#[derive(Default)]
struct NotingMemo {
    kept: RefCell<Vec<Remembered>>,
    recalls: RefCell<usize>,
}

struct Remembered {
    kind: MemoKind,
    id: Vec<u8>,
    content: Vec<u8>,
}

impl DigestMemo for NotingMemo {
    fn recall(&self, kind: MemoKind, id: &[u8]) -> Option<Vec<u8>> {
        *self.recalls.borrow_mut() += 1;
        let kept = self.kept.borrow();
        let found = kept.iter().find(|m| m.kind == kind && m.id == id);
        found.map(|m| m.content.clone())
    }

    fn remember(&self, kind: MemoKind, id: &[u8], content: &[u8]) {
        self.kept.borrow_mut().push(Remembered {
            kind,
            id: id.to_vec(),
            content: content.to_vec(),
        });
    }
}

fn analysis(args: &[&str]) -> ArgsAnalysis {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    analyse(&args).unwrap()
}

fn labels(hashed: &HashedKey) -> Vec<&str> {
    hashed.fields.iter().map(|(l, _)| l.as_str()).collect()
}

struct Setup {
    config: Config,
    compiler: Compiler,
    log: Log,
}

impl Setup {
    fn new(compiler_path: &Path, check: &str) -> Setup {
        let mut config = Config::default();
        config.compiler_check = check.to_string();
        let compiler = Compiler {
            path: compiler_path.to_path_buf(),
            real: compiler_path.to_path_buf(),
            kind: CompilerType::Gcc,
        };
        let log = Log::new(None);
        Setup {
            config,
            compiler,
            log,
        }
    }

    fn recipe<'a>(
        &'a self,
        a: &'a ArgsAnalysis,
        source: &'a [u8],
        memo: &'a dyn DigestMemo,
        coarse_start_ns: i64,
    ) -> Recipe<'a> {
        Recipe {
            config: &self.config,
            compiler: &self.compiler,
            cwd: "/w",
            analysis: a,
            coarse_start_ns,
            source: Some(Box::leak(Box::new(Text::all(source.to_vec())))),
            // Leaked: a test's recipe borrows the facts as a session's does.
            source_facts: Some(Box::leak(Box::new(SourceFacts::of(source)))),
            memo,
            log: &self.log,
        }
    }
}

#[test]
fn each_key_takes_its_fields_in_order() {
    let setup = Setup::new(Path::new("/usr/bin/gcc"), "string:v1");
    let a = analysis(&["-c", "t.c", "-O2", "-o", "t.o"]);
    let memo = NotingMemo::default();
    let recipe = setup.recipe(&a, b"int x;\n", &memo, 0);
    let common = recipe.common().unwrap();
    let environment = [
        "LANG",
        "LC_ALL",
        "LC_CTYPE",
        "LC_MESSAGES",
        "CCC_OVERRIDE_OPTIONS",
        "COMPILER_PATH",
        "GCC_EXEC_PREFIX",
        "GCC_COMPARE_DEBUG",
    ];
    let mut want = vec!["format", "compiler-name", "compiler-string"];
    want.extend(["arg", "arg", "language"]);
    want.extend(environment);
    assert_eq!(labels(&common), want);
    // The preprocessor's arguments (none here) and the language go into
    // the manifest key when the result key leaves them out.
    assert!(a.shares_preprocessed);
    let manifest = recipe.manifest(&common.key, None).unwrap();
    let mut want = vec!["format", "kind", "common", "language", "input", "source"];
    want.extend(["CPATH", "C_INCLUDE_PATH", "CPLUS_INCLUDE_PATH"]);
    // `SOURCE_DATE_EPOCH` is left out: only the key of a source that names
    // `__DATE__` holds it, with the date (`hash::dated`).
    want.extend(["OBJC_INCLUDE_PATH", "OBJCPLUS_INCLUDE_PATH"]);
    assert_eq!(labels(&manifest), want);
    let result = recipe.result_of_preprocessed(&common.key, b"int x;\n", &[]);
    let result = result.unwrap();
    assert_eq!(
        labels(&result),
        ["format", "kind", "common", "preprocessed"]
    );
    // The same inputs make the same keys; another source another manifest key.
    assert_eq!(recipe.common().unwrap().key, common.key);
    let other = setup.recipe(&a, b"int y;\n", &memo, 0);
    assert_ne!(other.manifest(&common.key, None).unwrap().key, manifest.key);
    assert!(memo.kept.borrow().is_empty(), "string: needs no memo");
}

#[test]
fn the_compilers_identity_is_remembered_through_the_memo() {
    let dir = tempfile::tempdir().unwrap();
    let cc = dir.path().join("cc");
    std::fs::write(&cc, b"a compiler").unwrap();
    let setup = Setup::new(&cc, "content");
    let a = analysis(&["-c", "t.c", "-o", "t.o"]);
    let memo = NotingMemo::default();
    // Its ctime's tick is over well before this start.
    let start = crate::clock::coarse_now_ns() + 10_000_000_000;
    let first = setup.recipe(&a, b"", &memo, start).common().unwrap();
    assert_eq!(memo.kept.borrow().len(), 1);
    assert_eq!(memo.kept.borrow()[0].kind, MemoKind::Compiler);
    assert_eq!(
        memo.kept.borrow()[0].content,
        blake3::hash(b"a compiler").as_bytes()
    );
    // Recalled, not hashed again: a changed memo shows in the key.
    memo.kept.borrow_mut()[0].content = vec![7; 32];
    let second = setup.recipe(&a, b"", &memo, start).common().unwrap();
    assert_eq!(*memo.recalls.borrow(), 2);
    assert_eq!(memo.kept.borrow().len(), 1);
    assert_ne!(first.key, second.key);
}

/// A source of 20 KiB whose first `#include "pch.h"` comes after a long
/// licence, past the part of a recalled source that is read, with
/// `pch.h.gch` beside it; read a second time, so that its facts are
/// recalled from the memo in `dir`.
fn late_include_source(dir: &Path) -> (std::path::PathBuf, Vec<u8>, super::source::Source) {
    let licence: String = (0..100)
        .map(|i| format!(" * licence line {i:03} ..........................................\n"))
        .collect();
    let text = format!(
        "/*\n{licence} */\n#include \"pch.h\"\n{}",
        "int filler;\n".repeat(1200)
    );
    assert!(text.find("#include").unwrap() > 4096 && text.len() > 16 * 1024);
    let path = dir.join("t.c");
    std::fs::write(&path, &text).unwrap();
    std::fs::write(dir.join("pch.h.gch"), b"gch").unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    let file = std::fs::File::options().write(true).open(&path).unwrap();
    file.set_modified(old).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let memo = crate::disk::inode_memo::InodeMemo::new(dir, true);
    let now = crate::clock::coarse_now_ns;
    assert!(!super::source::read(&path, Some(&memo), now()).recalled);
    let source = super::source::read(&path, Some(&memo), now());
    assert!(source.recalled && !source.text.as_ref().unwrap().read().1);
    (path, text.into_bytes(), source)
}

/// The precompiled headers of a source read in part are those of its
/// whole text, which is read when the part does not decide them; and
/// never taken from a text other than the one the keys were made of.
#[test]
fn a_source_read_in_part_is_scanned_whole_when_the_part_does_not_decide() {
    let dir = tempfile::tempdir().unwrap();
    let (path, text, source) = late_include_source(dir.path());
    let setup = Setup::new(Path::new("/usr/bin/gcc"), "string:v1");
    let input = path.to_str().unwrap();
    let a = analysis(&["-c", input, "-o", "t.o"]);
    let memo = NotingMemo::default();
    let mut recipe = setup.recipe(&a, b"", &memo, 0);
    let text_read = source.text.unwrap();
    recipe.source = Some(&text_read);
    let found = recipe.precompiled_headers().unwrap();
    let paths: Vec<_> = found.iter().map(|p| p.path.clone()).collect();
    assert_eq!(paths, [dir.path().join("pch.h.gch")]);
    assert_eq!(text_read.whole(), Some(&text[..]));

    // Rewritten in place before the rest was read: not keyed at all.
    let (path, text, source) = late_include_source(dir.path());
    let mut other = text.clone();
    *other.last_mut().unwrap() = b' ';
    std::fs::write(&path, &other).unwrap();
    let text_read = source.text.unwrap();
    recipe.source = Some(&text_read);
    let e = recipe.precompiled_headers().unwrap_err();
    assert_eq!(
        e.counter,
        crate::stats::Counter::ModifiedInputFile,
        "{}",
        e.reason
    );
}
