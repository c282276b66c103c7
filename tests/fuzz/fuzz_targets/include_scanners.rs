//! The scanners that read sources, preprocessed output and compiler
//! output: `__has_include` (`has_include::scan`, `mentions_operator`,
//! `aliases`), time and file macros, line markers and the include list of
//! preprocessed output, `.d` dependencies, `gcc -v` search directories,
//! assembler directives and the precompiled-header preamble. Never a
//! panic, and every range a scanner returns lies inside its input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use objcache::compiler::pch::preamble;
use objcache::hash::asm::unseen_input_directive;
use objcache::hash::includes::{
    includes_from_depfile, includes_from_preprocessed, parse_search_dirs,
};
use objcache::hash::record::{has_file_macro, has_time_macros};
use objcache::hash::has_include::{aliases, candidates, mentions_operator, operators, scan};
use objcache::hash::preprocessor::{hash_preprocessed, line_markers};
use objcache::key::KeyHasher;
use objcache::paths::BaseDirs;

fuzz_target!(|data: &[u8]| {
    let _ = (has_time_macros(data), has_file_macro(data));
    let _ = unseen_input_directive(data);
    let defines = [("P".to_string(), Some("\"p.h\"".to_string())), ("Q".to_string(), None)];
    let _ = preamble::includes(data, true, &defines, true);
    let _ = preamble::includes(data, true, &[], false);
    // A first part of a source decides the includes as the whole does, or
    // not at all.
    let cut = data.len() / 2;
    if let Some(part) = preamble::includes(&data[..cut], false, &defines, true) {
        assert_eq!(Some(part), preamble::includes(data, true, &defines, true));
    }

    let mut names = operators();
    if mentions_operator(data) {
        names.extend(aliases(data, &names));
    }
    let search = parse_search_dirs(data);
    if let Ok(tests) = scan(data, &names) {
        for test in &tests {
            let _ = candidates(test, &["/src", "."], &search);
        }
    }

    for marker in line_markers(data) {
        let (start, end) = marker.path;
        assert!(start <= end && end <= data.len(), "{start}..{end}");
    }
    let _ = includes_from_preprocessed(data, "input.c");
    let _ = includes_from_depfile(data, "input.c", false);
    let _ = includes_from_depfile(data, "input.c", true);
    let base = BaseDirs::one("/work");
    // Paths under /work/dir/sys are kept as spelled (a sysroot the debug
    // information names), the rest related to base_dir.
    let spelled = |path: &str| path.starts_with("/work/dir/sys");
    for (base_dir, without_cwd) in [(Some(&base), false), (None, true)] {
        let mut h = KeyHasher::new(false);
        hash_preprocessed(&mut h, data, "/work/dir", base_dir, without_cwd, &spelled);
        let _ = h.finish();
    }
});
