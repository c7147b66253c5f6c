//! Progress bars on stderr, drawn with indicatif when stderr is a terminal.
//!
//! Labels are blob titles from the artifact, so they are escaped like every other line.

use crate::printer::{escape, to_stderr};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use packctl::progress::Reporter;
use std::sync::Mutex;

/// One bar per blob.
pub struct Bars {
    multi: MultiProgress,
    bars: Mutex<Vec<ProgressBar>>,
    style: ProgressStyle,
}

impl Bars {
    pub fn new() -> Self {
        let style = ProgressStyle::with_template(
            "{msg:32!} {bar:28.cyan/blue} {bytes:>10}/{total_bytes:<10} {binary_bytes_per_sec:>12}",
        )
        .expect("a valid template")
        .progress_chars("=> ");
        Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: Mutex::new(Vec::new()),
            style,
        }
    }

    fn bar(&self, id: usize) -> Option<ProgressBar> {
        self.bars.lock().expect("not poisoned").get(id).cloned()
    }
}

impl Reporter for Bars {
    fn blob_started(&self, label: &str, size: u64) -> usize {
        let bar = self.multi.add(ProgressBar::new(size));
        bar.set_style(self.style.clone());
        bar.set_message(escape(label).into_owned());
        let mut bars = self.bars.lock().expect("not poisoned");
        bars.push(bar);
        bars.len() - 1
    }

    fn blob_progress(&self, id: usize, bytes: u64) {
        if let Some(bar) = self.bar(id) {
            bar.inc(bytes);
        }
    }

    fn blob_finished(&self, id: usize, transferred: bool) {
        if let Some(bar) = self.bar(id) {
            if transferred {
                bar.finish();
            } else {
                bar.finish_and_clear();
            }
        }
    }

    fn status(&self, message: &str) {
        let _ = self.multi.println(escape(message));
    }
}

/// One line per blob on stderr, for `-v` when no bars are drawn.
pub struct Lines {
    blobs: Mutex<Vec<(String, u64)>>,
}

impl Lines {
    pub fn new() -> Self {
        Lines {
            blobs: Mutex::new(Vec::new()),
        }
    }
}

impl Reporter for Lines {
    fn blob_started(&self, label: &str, size: u64) -> usize {
        let mut blobs = self.blobs.lock().expect("not poisoned");
        blobs.push((escape(label).into_owned(), size));
        blobs.len() - 1
    }

    fn blob_finished(&self, id: usize, transferred: bool) {
        let blobs = self.blobs.lock().expect("not poisoned");
        if let Some((label, size)) = blobs.get(id) {
            let what = if transferred { "sent" } else { "already there" };
            to_stderr(&format!(
                "  {label} ({}): {what}",
                crate::commands::human_bytes(*size)
            ));
        }
    }

    fn status(&self, message: &str) {
        to_stderr(&escape(message));
    }
}
