//! The way back from the relative paths base_dir's rewrite gives the
//! compiler (see `relative`) to the spelling the call's own arguments use,
//! for the paths the compiler writes: the dependencies of a `.d` and, with
//! `absolute_paths_in_stderr`, the files its diagnostics name.

use crate::paths::join;

/// Rewritten spellings and the absolute ones they stand for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PathMap {
    /// `(relative, absolute)`, longest relative spelling first, so the most
    /// specific prefix wins.
    pub(super) entries: Vec<(String, String)>,
}

impl PathMap {
    /// `false` when `relative` already stands for another spelling: the
    /// compiler's paths under it could then not be mapped back.
    pub(super) fn add(&mut self, relative: String, absolute: String) -> bool {
        if let Some((_, known)) = self.entries.iter().find(|(r, _)| *r == relative) {
            return *known == absolute;
        }
        self.entries.push((relative, absolute));
        self.entries
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        true
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The spelling the user's command would have used for a path the
    /// compiler wrote (a dependency, a file in a diagnostic), if the path
    /// came from a rewritten one. A trailing `:` (a phony make target, a
    /// diagnostic's `file:line`) is kept.
    pub fn original(&self, token: &str) -> Option<String> {
        self.entries.iter().find_map(|(rel, abs)| {
            let rest = token.strip_prefix(rel.as_str())?;
            (rest.is_empty() || rest.starts_with('/') || rest.starts_with(':')).then(|| {
                let mut out = String::with_capacity(abs.len() + rest.len());
                out.push_str(abs);
                out.push_str(rest);
                out
            })
        })
    }

    /// The working directory as the call spells it, when the compiler was
    /// given a path in it relative (`./x.c`, `-I.`).
    pub(super) fn working_dir(&self) -> Option<&str> {
        self.entries
            .iter()
            .find(|(r, _)| r == ".")
            .map(|(_, abs)| abs.as_str())
    }

    /// `original` for a dependency in a `.d`. gcc and clang drop a leading
    /// `./` there (`./x.c` and `./inc/a.h` become `x.c` and `inc/a.h`), so
    /// when the working directory was given relative, any other relative
    /// dependency came from it: the rewrite makes sure the call named no
    /// relative path of its own then (see `relative`).
    pub fn original_dependency(&self, dep: &str) -> Option<String> {
        self.original(dep).or_else(|| {
            let dir = self.working_dir()?;
            (!dep.starts_with('/')).then(|| join(dir, dep))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_prefers_the_longest_spelling() {
        let mut m = PathMap::default();
        m.add("..".into(), "/ci/a".into());
        m.add("../include".into(), "/ci/a//include".into());
        m.add("../src/x.c".into(), "/ci/a/src/../src/x.c".into());
        assert_eq!(
            m.original("../include/foo.h").as_deref(),
            Some("/ci/a//include/foo.h")
        );
        assert_eq!(
            m.original("../other/y.h").as_deref(),
            Some("/ci/a/other/y.h")
        );
        assert_eq!(
            m.original("../src/x.c:3:1:").as_deref(),
            Some("/ci/a/src/../src/x.c:3:1:")
        );
        assert_eq!(
            m.original("../includes/z.h").as_deref(),
            Some("/ci/a/includes/z.h")
        );
        assert_eq!(m.original("/usr/include/stdio.h"), None);
        assert_eq!(m.original("gen/a.h"), None);
        assert_eq!(m.original_dependency("gen/a.h"), None);
    }

    #[test]
    fn dependencies_without_their_dot_slash_come_from_the_working_directory() {
        let mut m = PathMap::default();
        m.add("./x.c".into(), "/p/x.c".into());
        m.add(".".into(), "/p".into());
        m.add("include".into(), "/p/include".into());
        // Diagnostics keep the `./`; a word without one is not a path of ours.
        assert_eq!(m.original("./a.h").as_deref(), Some("/p/a.h"));
        assert_eq!(m.original("./x.c:3:1:").as_deref(), Some("/p/x.c:3:1:"));
        assert_eq!(m.original("warning"), None);
        // A `.d` drops it.
        for (dep, want) in [
            ("x.c", "/p/x.c"),
            ("a.h", "/p/a.h"),
            ("sub/b.h", "/p/sub/b.h"),
            ("../up.h", "/p/../up.h"),
            ("include/c.h", "/p/include/c.h"),
        ] {
            assert_eq!(m.original_dependency(dep).as_deref(), Some(want), "{dep}");
        }
        assert_eq!(m.original_dependency("/usr/include/stdio.h"), None);
    }
}
