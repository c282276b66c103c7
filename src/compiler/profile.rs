//! Coverage and profile options: what they make the object depend on (the
//! working directory, the output's absolute path) and which profile data a
//! compile reads, as gcc 12 and clang 14 do it.
//!
//! - `-fprofile-arcs` (also `--coverage`, gcc's `-fprofile-generate`)
//!   writes the absolute path of the `.gcda` into the object: the working
//!   directory joined with the output's name, mangled into `-fprofile-dir`
//!   when one is given.
//! - `-ftest-coverage` (also `--coverage`) writes a `.gcno` named after the
//!   output (`obj/x.o` → `obj/x.gcno`, no `-o` → `x.gcno` in the working
//!   directory), or at `-fprofile-note=PATH`. gcc writes the working
//!   directory into it; with `-fprofile-abs-path` the source's path as well.
//!   The object and the `.gcno` carry the same stamp and must come from the
//!   same compile.
//! - gcc's `-fprofile-use[=DIR]` and `-fbranch-probabilities` read the
//!   `.gcda` that `-fprofile-arcs` would write; clang's
//!   `-fprofile-use[=FILE|DIR]` and `-fprofile-instr-use[=FILE]` read an
//!   indexed profile (`default.profdata` unless named).

use std::path::{Path, PathBuf};

use super::Family;

#[derive(Debug, Clone, Default)]
pub struct Profiling {
    /// The object names its `.gcda` by absolute path.
    pub arcs: bool,
    /// A `.gcno` is written.
    pub notes: bool,
    /// `-fprofile-note=PATH`: where the `.gcno` goes.
    pub notes_path: Option<String>,
    /// `-fprofile-abs-path`: the `.gcno` names the source by absolute path.
    pub abs_path: bool,
    /// clang's `-fcoverage-mapping`: the object holds the compilation directory.
    pub coverage_mapping: bool,
    /// `-fprofile-dir=DIR` (or the DIR of `-fprofile-generate=`/`-fprofile-use=`
    /// for gcc, the last one given).
    pub dir: Option<String>,
    /// `-fprofile-use`, with its value if any.
    pub use_value: Option<Option<String>>,
    /// gcc's `-fbranch-probabilities`: reads the `.gcda` as `-fprofile-use` does.
    pub branch_probabilities: bool,
    /// clang's `-fprofile-instr-use`, with its value if any.
    pub instr_use: Option<Option<String>>,
}

/// Where profile data a compile reads comes from.
#[derive(Debug, PartialEq, Eq)]
pub enum ProfileData {
    /// The compile reads no profile data.
    None,
    /// It reads this file (relative to the working directory, or absolute).
    File(PathBuf),
    /// Where it reads from is not followed (the call is not cached).
    Unknown(String),
}

impl Profiling {
    /// Notes what `arg` says about coverage and profiles (the argument is
    /// hashed as every other).
    pub fn observe(&mut self, arg: &str) {
        let value = |prefix: &str| arg.strip_prefix(prefix).map(str::to_string);
        match arg {
            "--coverage" => {
                self.arcs = true;
                self.notes = true;
            }
            "-ftest-coverage" => self.notes = true,
            "-fno-test-coverage" => self.notes = false,
            "-fprofile-arcs" => self.arcs = true,
            "-fno-profile-arcs" => self.arcs = false,
            "-fprofile-abs-path" => self.abs_path = true,
            "-fno-profile-abs-path" => self.abs_path = false,
            "-fcoverage-mapping" => self.coverage_mapping = true,
            "-fno-coverage-mapping" => self.coverage_mapping = false,
            "-fbranch-probabilities" => self.branch_probabilities = true,
            "-fno-branch-probabilities" => self.branch_probabilities = false,
            "-fprofile-use" => self.use_value = Some(None),
            "-fno-profile-use" => self.use_value = None,
            "-fprofile-instr-use" => self.instr_use = Some(None),
            "-fprofile-generate" => self.arcs = true,
            _ => {
                if let Some(dir) = value("-fprofile-generate=") {
                    self.arcs = true;
                    self.dir = Some(dir);
                } else if let Some(v) = value("-fprofile-use=") {
                    self.use_value = Some(Some(v));
                } else if let Some(v) = value("-fprofile-instr-use=") {
                    self.instr_use = Some(Some(v));
                } else if let Some(dir) = value("-fprofile-dir=") {
                    self.dir = Some(dir);
                } else if let Some(path) = value("-fprofile-note=") {
                    self.notes_path = Some(path);
                }
            }
        }
    }

    /// The object (or the `.gcno`) depends on the working directory.
    pub fn needs_cwd(&self, output: &str, gcno_cwd_sloppy: bool) -> bool {
        (self.arcs && !output.starts_with('/'))
            || (self.notes && (!gcno_cwd_sloppy || self.abs_path))
            || self.coverage_mapping
    }

    /// The profile data this compile reads, for `output` compiled in `cwd`.
    pub fn data(&self, family: Family, output: &str, cwd: &str) -> ProfileData {
        match family {
            Family::Clang => {
                let named = self.instr_use.as_ref().or(self.use_value.as_ref());
                match named {
                    None => ProfileData::None,
                    Some(None) => ProfileData::File("default.profdata".into()),
                    Some(Some(p)) if Path::new(p).is_dir() => {
                        ProfileData::File(Path::new(p).join("default.profdata"))
                    }
                    Some(Some(p)) => ProfileData::File(p.into()),
                }
            }
            Family::Gcc => {
                if self.use_value.is_none() && !self.branch_probabilities {
                    return ProfileData::None;
                }
                let dir = match &self.use_value {
                    Some(Some(d)) => Some(d.as_str()),
                    _ => self.dir.as_deref(),
                };
                gcc_data_file(output, cwd, dir)
            }
        }
    }
}

/// The `.gcda` gcc reads for `-fprofile-use`: beside the object by absolute
/// path, or in DIR under the object's absolute path with `/` made `#`
/// (not mangled when the output is absolute: `DIR//abs/x.gcda`). Only
/// spellings whose mangling is certain are followed.
fn gcc_data_file(output: &str, cwd: &str, dir: Option<&str>) -> ProfileData {
    let stem = super::arg_files::with_extension(output, ".gcda");
    let Some(dir) = dir else {
        return ProfileData::File(if stem.starts_with('/') {
            stem.into()
        } else {
            Path::new(cwd).join(stem)
        });
    };
    if stem.starts_with('/') {
        return ProfileData::File(format!("{dir}/{stem}").into());
    }
    let clean = |p: &str| !p.split('/').any(|c| c.is_empty() || c == "." || c == "..");
    if !clean(&stem) || !cwd.starts_with('/') || !clean(&cwd[1..]) {
        return ProfileData::Unknown(format!(
            "where gcc looks for the profile of {output} in {dir} is not followed"
        ));
    }
    let mangled = format!("{cwd}/{stem}").replace('/', "#");
    ProfileData::File(Path::new(dir).join(mangled))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observed(args: &[&str]) -> Profiling {
        let mut p = Profiling::default();
        for a in args {
            p.observe(a);
        }
        p
    }

    #[test]
    fn gcc_reads_the_gcda_it_would_write() {
        let p = observed(&["-fprofile-use"]);
        let file = |p: &Profiling, out: &str| p.data(Family::Gcc, out, "/b/w");
        assert_eq!(
            file(&p, "obj/x.o"),
            ProfileData::File("/b/w/obj/x.gcda".into())
        );
        assert_eq!(file(&p, "/o/x.o"), ProfileData::File("/o/x.gcda".into()));
        let p = observed(&["-fprofile-use=pd"]);
        assert_eq!(
            file(&p, "obj/x.o"),
            ProfileData::File("pd/#b#w#obj#x.gcda".into())
        );
        assert_eq!(file(&p, "/o/x.o"), ProfileData::File("pd//o/x.gcda".into()));
        assert!(matches!(file(&p, "../x.o"), ProfileData::Unknown(_)));
        let p = observed(&["-fbranch-probabilities", "-fprofile-dir=/p"]);
        assert_eq!(file(&p, "x.o"), ProfileData::File("/p/#b#w#x.gcda".into()));
        assert_eq!(file(&observed(&["-O2"]), "x.o"), ProfileData::None);
    }

    #[test]
    fn clang_reads_an_indexed_profile() {
        let data = |args: &[&str]| observed(args).data(Family::Clang, "x.o", "/b");
        assert_eq!(
            data(&["-fprofile-instr-use"]),
            ProfileData::File("default.profdata".into())
        );
        assert_eq!(
            data(&["-fprofile-use=p.profdata"]),
            ProfileData::File("p.profdata".into())
        );
        assert_eq!(
            data(&["-fprofile-use=/"]),
            ProfileData::File("/default.profdata".into())
        );
    }

    #[test]
    fn what_depends_on_the_working_directory() {
        let cov = observed(&["--coverage"]);
        assert!(cov.needs_cwd("x.o", false));
        assert!(cov.needs_cwd("/abs/x.o", false));
        assert!(cov.needs_cwd("x.o", true), "the .gcda path");
        assert!(!cov.needs_cwd("/abs/x.o", true));
        assert!(observed(&["--coverage", "-fprofile-abs-path"]).needs_cwd("/abs/x.o", true));
        assert!(!observed(&["-fprofile-instr-generate"]).needs_cwd("x.o", false));
    }
}
