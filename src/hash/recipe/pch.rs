//! The precompiled headers in the common key: read for the key, and again
//! after the compile, which reads them itself.

use std::path::{Path, PathBuf};

use super::{unkeyable, Recipe, Unkeyable};
use crate::compiler::pch::preamble::Include;
use crate::compiler::Family;
use crate::stats::Counter;

/// One precompiled header's field of the common key (a `.gch` directory
/// gives one for each file in it): the file read and what it gave.
#[derive(Debug, Clone, PartialEq)]
pub struct PchInput {
    pub path: PathBuf,
    pub label: &'static str,
    pub value: Vec<u8>,
}

impl Recipe<'_> {
    /// The content of every precompiled header the compile may read (see
    /// `compiler::pch`), as the fields it adds to the common key. With
    /// `pch_external_checksum`, a `FILE.sum` beside one stands for it, as
    /// in ccache.
    pub fn precompiled_headers(&self) -> Result<Vec<PchInput>, Unkeyable> {
        let a = self.analysis;
        let mut out = Vec::new();
        if a.pch.creates {
            return Ok(out);
        }
        let family = crate::compiler::family(self.compiler);
        let preamble = self.preamble(family)?;
        let external = self.config.pch_external_checksum;
        for file in a.pch.inputs(family, &a.input, &preamble) {
            let unusable = |e: std::io::Error| {
                unkeyable(
                    Counter::CouldNotUsePrecompiledHeader,
                    format!("precompiled header {}: {e}", file.display()),
                )
            };
            let sum = PathBuf::from(format!("{}.sum", file.display()));
            if external && sum.is_file() {
                let value = std::fs::read(&sum).map_err(unusable)?;
                out.push(PchInput {
                    path: sum,
                    label: "pch-sum",
                    value,
                });
                continue;
            }
            let members = if file.is_dir() {
                // gcc tries the files of a `.gch` directory in turn.
                let mut m: Vec<PathBuf> = std::fs::read_dir(&file)
                    .map_err(unusable)?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .collect();
                m.sort();
                m
            } else {
                vec![file.clone()]
            };
            for member in members {
                let digest =
                    crate::disk::digests::file_digest(&member, self.memo, self.coarse_start_ns)
                        .map_err(unusable)?;
                out.push(PchInput {
                    path: member,
                    label: "pch",
                    value: digest.to_vec(),
                });
            }
        }
        Ok(out)
    }

    /// The source's first `#include`s (see `PchOptions::preamble`), from
    /// the part of its text that was read, or from all of it when that
    /// part does not decide them (read then, as the text the keys took).
    fn preamble(&self, family: Family) -> Result<Vec<Include>, Unkeyable> {
        let pch = &self.analysis.pch;
        let Some(text) = self.source else {
            return Ok(pch.preamble(family, &[], true).unwrap_or_default());
        };
        let (read, whole) = text.read();
        if let Some(preamble) = pch.preamble(family, read, whole) {
            return Ok(preamble);
        }
        let input = &self.analysis.input;
        // Said once: the check after a miss's compile scans the same text.
        if !text.whole_is_read() {
            self.log.note(format!(
                "the first {} bytes of {input} do not decide its precompiled headers: reading all of it",
                read.len()
            ));
        }
        let whole = text.whole().ok_or_else(|| {
            unkeyable(
                Counter::ModifiedInputFile,
                format!("{input} no longer holds the text its recalled digest is of"),
            )
        })?;
        Ok(pch.preamble(family, whole, true).unwrap_or_default())
    }

    /// Which precompiled header differs from `before` (what the key took)
    /// or changed in the call's start tick or later: one that appeared,
    /// went or was rewritten while the compiler ran may be what the object
    /// was built from.
    pub(super) fn precompiled_headers_changed(&self, before: &[PchInput]) -> Option<String> {
        let now = match self.precompiled_headers() {
            Ok(now) if now == before => now,
            Ok(now) => {
                let differs = |p: &&PchInput| !now.contains(p) || !before.contains(p);
                let path = now.iter().chain(before).find(differs).map(|p| &p.path);
                return Some(
                    path.map_or("a precompiled header".into(), |p| p.display().to_string()),
                );
            }
            Err(e) => return Some(e.reason),
        };
        let path = now
            .iter()
            .find(|p| self.unsettled(&Path::new(self.cwd).join(&p.path)))?;
        Some(path.path.display().to_string())
    }
}
