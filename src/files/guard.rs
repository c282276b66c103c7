//! Holds the code to `files`' safe opens: a file opened any other way
//! (`fs::read`, `File::open`, `OpenOptions`…) follows symlinks, blocks on a
//! FIFO and reads a device or a huge file whole, so in a cache dir it must
//! not be. Each other open below is one that was reviewed, with the reason
//! it may open its file directly; a new one fails this test until it is
//! either moved to `files` or listed here.

/// What opens a file directly.
const PATTERNS: &[&str] = &[
    "fs::read(",
    "read_to_string(",
    "File::open(",
    "File::options(",
    "OpenOptions::new(",
];

/// (file under src/, text of the line, why it may open its file directly).
const REVIEWED: &[(&str, &str, &str)] = &[
    // The kernel's boot id, a /proc file no user can replace.
    (
        "disk/inode_memo.rs",
        "fs::File::open(boot_id_path)",
        "the boot id",
    ),
    // Files of the build: the compile reads them as the compiler would.
    (
        "hash/record.rs",
        "fs::read(resolve_in(self.cwd, self.input))",
        "the source",
    ),
    (
        "hash/record.rs",
        "fs::read(resolve_in(self.cwd, &f.path))",
        "a header",
    ),
    (
        "hash/record.rs",
        "fs::read(&real).map_err(|e| format!(\"{}: {e}\", f.path))",
        "a header",
    ),
    (
        "hash/record.rs",
        "fs::read(resolve_in(self.cwd, path))",
        "a header",
    ),
    (
        "hash/record.rs",
        "fs::read(&real).map_err(|e| format!(\"{candidate}: {e}\"))",
        "a header",
    ),
    (
        "wrap/checks.rs",
        "std::fs::read(paths::resolve_in(cwd, path))",
        "a source or header",
    ),
    (
        "wrap/miss_inputs.rs",
        "std::fs::read(&target.source)",
        "the source",
    ),
    (
        "hash/recipe/pch.rs",
        "std::fs::read(&sum)",
        "a precompiled header's .sum",
    ),
    ("hash/recipe.rs", "std::fs::read(&a.input)", "the source"),
    (
        "wrap/miss.rs",
        "std::fs::read(&a.output)",
        "the object the compiler wrote",
    ),
    (
        "disk/output.rs",
        "let created = fs::OpenOptions::new()",
        "a hit's output, created",
    ),
    (
        "disk/output.rs",
        "let mut through = fs::OpenOptions::new()",
        "a hit's output",
    ),
    (
        "disk/output.rs",
        "fs::OpenOptions::new()",
        "a hit's output, rewritten in place",
    ),
    (
        "hash/recipe/environment.rs",
        "std::fs::read_to_string(\"/proc/cpuinfo\")",
        "the kernel's CPU list",
    ),
    (
        "storage/remote_status.rs",
        "std::fs::read_to_string(format!(\"/proc/{pid}/stat\"))",
        "the kernel's record of a process",
    ),
    // Files the user names.
    (
        "manage/entries.rs",
        "fs::File::open(path)",
        "--hash-file's file, hashed as a stream like stdin",
    ),
];

#[test]
fn files_are_opened_only_through_the_files_module() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    crate::layering::sources(&src, &mut files);
    let mut used = vec![false; REVIEWED.len()];
    let mut unreviewed = Vec::new();
    for file in files {
        let rel = file
            .strip_prefix(&src)
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let test_only = rel.ends_with("tests.rs") || rel.starts_with("files");
        if test_only {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        // Unit tests may open what they like.
        let code = crate::layering::without_unit_tests(&text);
        for (n, line) in code.lines().enumerate() {
            if !PATTERNS.iter().any(|p| line.contains(p)) {
                continue;
            }
            let found = REVIEWED
                .iter()
                .position(|(f, text, _)| *f == rel && line.contains(text));
            match found {
                Some(i) => used[i] = true,
                None => unreviewed.push(format!("src/{rel}:{}: {}", n + 1, line.trim())),
            }
        }
    }
    assert!(
        unreviewed.is_empty(),
        "open these through crate::files (or review them into REVIEWED with a reason):\n{}",
        unreviewed.join("\n")
    );
    let stale: Vec<_> = REVIEWED
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|((f, text, _), _)| format!("{f}: {text}"))
        .collect();
    assert!(
        stale.is_empty(),
        "REVIEWED lists opens that are gone:\n{}",
        stale.join("\n")
    );
}
