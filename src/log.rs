//! `log_file`: what objcache did and why, appended in one write per run so
//! lines of concurrent runs do not interleave.

use std::io::Write;
use std::path::PathBuf;

pub struct Log {
    file: Option<PathBuf>,
    lines: String,
}

impl Log {
    pub fn new(file: Option<PathBuf>) -> Log {
        Log {
            file,
            lines: String::new(),
        }
    }

    pub fn note(&mut self, message: impl AsRef<str>) {
        if self.file.is_some() {
            let pid = std::process::id();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            self.lines.push_str(&format!(
                "[{}.{:06} {pid}] {}\n",
                now.as_secs(),
                now.subsec_micros(),
                message.as_ref()
            ));
        }
    }

    pub fn flush(&mut self) {
        if let Some(path) = &self.file {
            if !self.lines.is_empty() {
                if let Ok(mut f) = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                {
                    let _ = f.write_all(self.lines.as_bytes());
                }
                self.lines.clear();
            }
        }
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        self.flush();
    }
}
