//! Progress bars on stderr, drawn with indicatif when stderr is a terminal.
//!
//! Labels are blob titles from the artifact, so they are escaped like every other line.

use crate::printer::{escape, to_stderr};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use packctl::progress::Reporter;
use std::sync::Mutex;

/// One bar per blob, under one overall bar for a long job.
pub struct Bars {
    multi: MultiProgress,
    bars: Mutex<Vec<ProgressBar>>,
    style: ProgressStyle,
    job: Mutex<Option<Job>>,
}

/// The overall bar: over bytes when the job's size is known, else over items.
struct Job {
    bar: ProgressBar,
    items: usize,
    done: usize,
    bytes: u64,
    by_bytes: bool,
}

impl Job {
    fn message(&self) -> String {
        if self.by_bytes {
            format!("{}/{} items", self.done, self.items)
        } else {
            crate::commands::human_bytes(self.bytes)
        }
    }
}

impl Bars {
    pub fn new() -> Self {
        let style = ProgressStyle::with_template(
            // The bar takes what the terminal's width leaves, so a line never wraps.
            "{msg:24!} {wide_bar:.cyan/blue} {bytes:>10}/{total_bytes:<10} {binary_bytes_per_sec:>12}",
        )
        .expect("a valid template")
        .progress_chars("=> ");
        Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: Mutex::new(Vec::new()),
            style,
            job: Mutex::new(None),
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
        if let Some(job) = self.job.lock().expect("not poisoned").as_mut() {
            job.bytes += bytes;
            if job.by_bytes {
                job.bar.inc(bytes);
            } else {
                job.bar.set_message(job.message());
            }
        }
    }

    fn job_started(&self, what: &str, items: usize, bytes: Option<u64>) {
        let by_bytes = bytes.is_some_and(|b| b > 0);
        let (length, template) = if by_bytes {
            (
                bytes.unwrap_or_default(),
                "{prefix:.bold} {wide_bar:.green/white} {bytes:>10}/{total_bytes:<10} {msg:16} ETA {eta:>4}",
            )
        } else {
            (
                items as u64,
                "{prefix:.bold} {wide_bar:.green/white} {pos:>4}/{len:<4} items {msg:>10} ETA {eta:>4}",
            )
        };
        let bar = self.multi.insert(0, ProgressBar::new(length));
        bar.set_style(
            ProgressStyle::with_template(template)
                .expect("a valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(escape(what).into_owned());
        // The job before (a copy of several versions) stays, finished, above the next.
        if let Some(previous) = self.job.lock().expect("not poisoned").take() {
            previous.bar.finish();
        }
        let job = Job {
            bar,
            items,
            done: 0,
            bytes: 0,
            by_bytes,
        };
        job.bar.set_message(job.message());
        *self.job.lock().expect("not poisoned") = Some(job);
    }

    fn step_started(&self, message: &str) -> usize {
        let spinner = self.multi.add(ProgressBar::new_spinner());
        spinner.set_style(
            ProgressStyle::with_template("{spinner} {wide_msg} {elapsed:>4}")
                .expect("a valid template"),
        );
        spinner.set_message(escape(message).into_owned());
        spinner.enable_steady_tick(std::time::Duration::from_millis(120));
        let mut bars = self.bars.lock().expect("not poisoned");
        bars.push(spinner);
        bars.len() - 1
    }

    fn step_finished(&self, id: usize) {
        if let Some(spinner) = self.bar(id) {
            spinner.finish_and_clear();
        }
    }

    fn item_finished(&self) {
        let mut job = self.job.lock().expect("not poisoned");
        if let Some(job) = job.as_mut() {
            job.done += 1;
            if !job.by_bytes {
                job.bar.inc(1);
            }
            job.bar.set_message(job.message());
            if job.done >= job.items {
                job.bar.finish();
            }
        }
    }

    fn blob_finished(&self, id: usize, transferred: bool) {
        // Under an overall bar, finished blobs make way: a mirror moves hundreds of them.
        let mut job = self.job.lock().expect("not poisoned");
        let in_job = job.is_some();
        // An overall bar over bytes counts blobs as its items, and a blob the store had as
        // done in full.
        if let Some(job) = job.as_mut().filter(|j| j.by_bytes)
            && let Some(bar) = self.bar(id)
        {
            let left = bar.length().unwrap_or(0).saturating_sub(bar.position());
            job.bar.inc(left);
            job.done += 1;
            job.bar.set_message(job.message());
            if job.done >= job.items {
                job.bar.finish();
            }
        }
        drop(job);
        if let Some(bar) = self.bar(id) {
            if transferred && !in_job {
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
    /// What a blob that moved is: `sent`, `received`, `written`.
    done: &'static str,
}

impl Lines {
    pub fn new(done: &'static str) -> Self {
        Lines {
            blobs: Mutex::new(Vec::new()),
            done,
        }
    }
}

impl Reporter for Lines {
    fn step_started(&self, message: &str) -> usize {
        to_stderr(&escape(message));
        0
    }

    fn job_started(&self, what: &str, items: usize, bytes: Option<u64>) {
        // A job over bytes has blobs for items; the others count images or entries.
        let line = match bytes {
            Some(b) => format!(
                "{}: {}, {}",
                escape(what),
                crate::commands::count(items, "blob"),
                crate::commands::human_bytes(b)
            ),
            None => format!("{}: {items} items", escape(what)),
        };
        to_stderr(&line);
    }

    fn blob_started(&self, label: &str, size: u64) -> usize {
        let mut blobs = self.blobs.lock().expect("not poisoned");
        blobs.push((escape(label).into_owned(), size));
        blobs.len() - 1
    }

    fn blob_finished(&self, id: usize, transferred: bool) {
        let blobs = self.blobs.lock().expect("not poisoned");
        if let Some((label, size)) = blobs.get(id) {
            let what = if transferred {
                self.done
            } else {
                "already there"
            };
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
