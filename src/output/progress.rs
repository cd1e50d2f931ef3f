//! How progress looks on stderr: an indicatif bar or spinner for the
//! library's [`Progress`] reports, and `up`'s status line.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::progress::Progress;

/// A bar over `len` objects that turns into a spinner with a message when
/// the work waits on a service.
pub struct Bar(ProgressBar);

impl Bar {
    /// A bar of `len` raw objects compacted.
    pub fn objects(len: u64) -> Bar {
        let bar = ProgressBar::new(len);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} compacting [{bar:30}] {pos}/{len} objects, {bytes} read, {elapsed}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        Bar(bar)
    }

    /// A spinner with a message (`status`) and the time spent.
    pub fn spinner() -> Bar {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Bar(bar)
    }
}

impl Progress for Bar {
    fn advance(&self, bytes: u64) {
        self.0.inc(1);
        self.0.set_message(bytes.to_string());
    }

    fn status(&self, message: &str) {
        if self.0.length().is_some() {
            self.0.set_style(
                ProgressStyle::with_template("{spinner} {msg}, {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            self.0.unset_length();
            self.0.enable_steady_tick(Duration::from_millis(120));
        }
        self.0.set_message(message.to_string());
    }

    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// A line of status on stderr: redrawn in place on a terminal, one line per
/// update otherwise.
pub struct StatusLine {
    terminal: bool,
    drawn: bool,
}

impl StatusLine {
    pub fn new(terminal: bool) -> StatusLine {
        StatusLine {
            terminal,
            drawn: false,
        }
    }

    pub fn draw(&mut self, line: &str) {
        use std::io::Write as _;
        let mut stderr = std::io::stderr().lock();
        // A closed stderr must not stop the pipeline: the line is only news.
        let _ = if self.terminal {
            write!(stderr, "\r\x1b[2K{line}")
        } else {
            writeln!(stderr, "{line}")
        };
        let _ = stderr.flush();
        self.drawn = true;
    }

    /// Takes the line off a terminal, so that output can take its place.
    pub fn clear(&mut self) {
        if self.terminal && self.drawn {
            use std::io::Write as _;
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "\r\x1b[2K");
            let _ = stderr.flush();
        }
        self.drawn = false;
    }

    /// Ends the line so that what follows starts on its own.
    pub fn end(&mut self) {
        if self.terminal && self.drawn {
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr());
        }
        self.drawn = false;
    }
}
