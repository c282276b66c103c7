//! `log_file`: what objcache did and why, appended in one write per run so
//! lines of concurrent runs do not interleave.
//!
//! A `Log` is a cheap handle: the storage layer and the compile share one,
//! so their lines stay in the order they happened.

use std::cell::RefCell;
use std::io::Write;
use std::path::PathBuf;
use std::rc::Rc;

#[derive(Clone)]
pub struct Log {
    inner: Rc<Inner>,
}

struct Inner {
    file: Option<PathBuf>,
    lines: RefCell<String>,
}

impl Log {
    pub fn new(file: Option<PathBuf>) -> Log {
        Log {
            inner: Rc::new(Inner {
                file,
                lines: RefCell::new(String::new()),
            }),
        }
    }

    pub fn note(&self, message: impl AsRef<str>) {
        if self.inner.file.is_some() {
            let pid = std::process::id();
            let now = crate::clock::since_epoch();
            self.inner.lines.borrow_mut().push_str(&format!(
                "[{}.{:06} {pid}] {}\n",
                now.as_secs(),
                now.subsec_micros(),
                message.as_ref()
            ));
        }
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
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
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
