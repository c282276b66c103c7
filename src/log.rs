//! `log_file`: what objcache did and why, appended in one write per run so
//! lines of concurrent runs do not interleave.
//!
//! A `Log` is a cheap handle: the storage layer and the compile share one,
//! so their lines stay in the order they happened. Each line carries the
//! time since the log was opened (the start of the call), so the log shows
//! how long each step took. With `debug = true` the lines are also kept for
//! the call's own `<object>.<timestamp>.ccache-log`.

use std::cell::RefCell;
use std::io::Write;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Instant;

#[derive(Clone)]
pub struct Log {
    inner: Rc<Inner>,
}

struct Inner {
    file: Option<PathBuf>,
    lines: RefCell<String>,
    /// Every line of the call, for the debug log (`None`: not kept).
    kept: Option<RefCell<String>>,
    opened: Instant,
}

impl Log {
    pub fn new(file: Option<PathBuf>) -> Log {
        Log::keeping(file, false)
    }

    /// A log that also keeps its lines for [`Log::kept`] when `keep` is set.
    pub fn keeping(file: Option<PathBuf>, keep: bool) -> Log {
        Log {
            inner: Rc::new(Inner {
                file,
                lines: RefCell::new(String::new()),
                kept: keep.then(|| RefCell::new(String::new())),
                opened: Instant::now(),
            }),
        }
    }

    /// Whether lines go anywhere: a caller may skip preparing them.
    pub fn enabled(&self) -> bool {
        self.inner.file.is_some() || self.inner.kept.is_some()
    }

    pub fn note(&self, message: impl AsRef<str>) {
        if !self.enabled() {
            return;
        }
        let pid = std::process::id();
        let now = crate::clock::since_epoch();
        let elapsed = self.inner.opened.elapsed();
        let line = format!(
            "[{}.{:06} {pid}] +{}.{:03}ms {}\n",
            now.as_secs(),
            now.subsec_micros(),
            elapsed.as_millis(),
            elapsed.subsec_micros() % 1000,
            message.as_ref()
        );
        if let Some(kept) = &self.inner.kept {
            kept.borrow_mut().push_str(&line);
        }
        if self.inner.file.is_some() {
            self.inner.lines.borrow_mut().push_str(&line);
        }
    }

    /// Every line noted so far, when the log keeps them.
    pub fn kept(&self) -> Option<String> {
        self.inner.kept.as_ref().map(|k| k.borrow().clone())
    }

    pub fn flush(&self) {
        self.inner.flush();
    }
}

impl Inner {
    fn flush(&self) {
        let Some(path) = &self.file else {
            return;
        };
        let mut lines = self.lines.borrow_mut();
        if lines.is_empty() {
            return;
        }
        if let Ok(mut f) = crate::files::open_for_append(path) {
            let _ = f.write_all(lines.as_bytes());
        }
        lines.clear();
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_carry_the_elapsed_time_and_are_kept_for_debug() {
        let log = Log::keeping(None, true);
        log.note("first");
        log.note("second");
        let kept = log.kept().unwrap();
        let lines: Vec<&str> = kept.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].contains("] +") && lines[0].ends_with("ms first"));
        assert!(Log::new(None).kept().is_none());
    }
}
