//! The progress bar of the long manager commands (`-c`, `-C`, `-X`,
//! `--evict-*`, `--trim-dir`, `--check`, `--show-usage`): on stderr, and
//! only when stderr is a terminal, so what the commands print (on stdout)
//! stays the same byte for byte, and a log or a pipe gets nothing extra.
//! Only the manager makes one: a compile never touches indicatif.

use std::borrow::Cow;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::disk::cleanup::Progress;

/// A bar for one command, erased when dropped so that the command's own
/// output follows on a clean line.
pub struct Bar {
    bar: ProgressBar,
    /// Where the bar goes once its first stage is set up: nothing is
    /// drawn before (an empty bar, or a stage half set).
    target: Mutex<Option<ProgressDrawTarget>>,
}

impl Bar {
    /// A bar titled `command` (`-c`, `--check`), hidden unless stderr is
    /// a terminal (indicatif's stderr target checks, and a `TERM=dumb`
    /// one counts as none).
    pub fn new(command: &'static str) -> Bar {
        let target = ProgressDrawTarget::stderr();
        let bar = ProgressBar::hidden();
        if target.is_hidden() {
            return Bar {
                bar,
                target: Mutex::new(None),
            };
        }
        // A template indicatif rejects would be a bug here; the default
        // style still shows the progress. `wide_bar` keeps the line within
        // the terminal's width, so it never wraps.
        if let Ok(style) =
            ProgressStyle::with_template("objcache {prefix}: {msg} [{wide_bar}] {pos}/{len}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(command);
        Bar {
            bar,
            target: Mutex::new(Some(target)),
        }
    }

    /// A stage of `total` steps (0: as many as there turn out to be).
    pub fn begin(&self, what: impl Into<Cow<'static, str>>, total: u64) {
        match total {
            0 => self.bar.unset_length(),
            n => self.bar.set_length(n),
        }
        self.bar.set_position(0);
        self.bar.set_message(what);
        let first = self.target.lock().map(|mut t| t.take());
        if let Ok(Some(target)) = first {
            self.bar.set_draw_target(target);
        }
    }

    /// `n` more steps done; callable from several threads at once.
    pub fn advance(&self, n: u64) {
        self.bar.inc(n);
    }
}

impl Progress for Bar {
    fn stage(&mut self, what: &'static str, total: u64) {
        self.begin(what, total);
    }

    fn step(&mut self) {
        self.advance(1);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
