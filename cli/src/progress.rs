//! A progress line on stderr for long operations, only when stderr is a terminal.

use std::io::{IsTerminal, Read, Write};
use std::time::{Duration, Instant};

pub(crate) struct Progress<R> {
    inner: R,
    done: u64,
    total: u64,
    label: &'static str,
    last: Option<Instant>,
    shown: bool,
}

fn mib(n: u64) -> f64 {
    n as f64 / (1024.0 * 1024.0)
}

impl<R: Read> Progress<R> {
    pub(crate) fn new(inner: R, total: u64, label: &'static str) -> Self {
        // Small inputs finish before a line would help.
        let on = std::io::stderr().is_terminal() && total >= 8 << 20;
        Progress { inner, done: 0, total, label, last: if on { Some(Instant::now()) } else { None }, shown: false }
    }

    pub(crate) fn finish(&self) {
        if self.shown {
            eprint!("\r\x1b[K");
            let _ = std::io::stderr().flush();
        }
    }
}

impl<R: Read> Read for Progress<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        self.show();
        Ok(n)
    }
}

impl<R> Progress<R> {
    fn show(&mut self) {
        if let Some(last) = self.last {
            if last.elapsed() >= Duration::from_millis(200) {
                let pct = (self.done * 100).checked_div(self.total).unwrap_or(100);
                eprint!("\r{} {:.1} MiB / {:.1} MiB ({pct}%)", self.label, mib(self.done), mib(self.total));
                let _ = std::io::stderr().flush();
                self.last = Some(Instant::now());
                self.shown = true;
            }
        }
    }
}

/// A progress line driven by a byte count instead of a reader.
pub(crate) struct Ticker {
    inner: Progress<std::io::Empty>,
}

impl Ticker {
    pub(crate) fn new(total: u64, label: &'static str) -> Self {
        Ticker { inner: Progress::new(std::io::empty(), total, label) }
    }

    pub(crate) fn tick(&mut self, done: u64) {
        self.inner.done = done;
        self.inner.show();
    }

    pub(crate) fn finish(&self) {
        self.inner.finish();
    }
}
