//! Progress of long work on stderr: a bar with an ETA on a terminal, plain lines at a steady
//! interval everywhere else (a CI log, `2>log`), nothing with `--quiet`.
//!
//! indicatif hides its bars when stderr is not a terminal, so without the plain lines a
//! 20-minute suite run in a log says nothing until it ends. The lines are what cargo and pip
//! print in logs: what, how far, elapsed, ETA. `DEPTHPRUNE_PROGRESS_SECONDS` sets the interval
//! (default 30 s).

use std::io::IsTerminal;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// The interval between plain progress lines, unless the environment sets another.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);

/// Progress of one piece of long work, counted in `unit`s (evaluations, searches, tensors).
pub struct Progress {
    kind: Kind,
}

enum Kind {
    Hidden,
    Bar(ProgressBar),
    Lines(Lines),
}

struct Lines {
    state: Arc<Shared>,
    ticker: Option<JoinHandle<()>>,
}

struct Shared {
    what: String,
    unit: &'static str,
    started: Instant,
    counts: Mutex<Counts>,
    stop: Condvar,
}

#[derive(Default)]
struct Counts {
    pos: u64,
    len: Option<u64>,
    message: String,
    finished: bool,
}

impl Progress {
    /// Starts reporting `what`, `len` units long when that is known.
    pub fn new(what: &str, len: Option<u64>, unit: &'static str, quiet: bool) -> Self {
        let kind = if quiet {
            Kind::Hidden
        } else if std::io::stderr().is_terminal() {
            Kind::Bar(bar(what, len, unit))
        } else {
            Kind::Lines(Lines::start(what, len, unit, interval()))
        };
        Self { kind }
    }

    /// Progress that never prints (for library callers that report nothing).
    pub fn hidden() -> Self {
        Self { kind: Kind::Hidden }
    }

    pub fn inc(&self, n: u64) {
        match &self.kind {
            Kind::Hidden => {}
            Kind::Bar(b) => b.inc(n),
            Kind::Lines(l) => l.state.counts.lock().expect("progress lock").pos += n,
        }
    }

    /// What is being worked on now (shown after the counts).
    pub fn set_message(&self, message: impl Into<String>) {
        let message = message.into();
        match &self.kind {
            Kind::Hidden => {}
            Kind::Bar(b) => b.set_message(message),
            Kind::Lines(l) => l.state.counts.lock().expect("progress lock").message = message,
        }
    }

    pub fn set_length(&self, len: u64) {
        match &self.kind {
            Kind::Hidden => {}
            Kind::Bar(b) => b.set_length(len),
            Kind::Lines(l) => l.state.counts.lock().expect("progress lock").len = Some(len),
        }
    }

    /// Ends the report: the bar is cleared, a log gets its last line.
    pub fn finish(self) {
        drop(self);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        match &mut self.kind {
            Kind::Hidden => {}
            Kind::Bar(b) => b.finish_and_clear(),
            Kind::Lines(l) => l.stop(),
        }
    }
}

fn bar(what: &str, len: Option<u64>, unit: &'static str) -> ProgressBar {
    let (bar, template) = match len {
        Some(len) => (
            ProgressBar::new(len),
            format!("{{prefix}} [{{bar:30}}] {{pos}}/{{len}} {unit}, {{elapsed}} elapsed, ETA {{eta}} {{msg}}"),
        ),
        None => (
            ProgressBar::new_spinner(),
            format!("{{prefix}} {{spinner}} {{pos}} {unit}, {{elapsed}} elapsed {{msg}}"),
        ),
    };
    bar.set_style(
        ProgressStyle::with_template(&template)
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(what.to_string());
    if len.is_none() {
        bar.enable_steady_tick(Duration::from_millis(200));
    }
    bar
}

fn interval() -> Duration {
    std::env::var("DEPTHPRUNE_PROGRESS_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map_or(DEFAULT_INTERVAL, Duration::from_secs_f64)
}

impl Lines {
    fn start(what: &str, len: Option<u64>, unit: &'static str, every: Duration) -> Self {
        let state = Arc::new(Shared {
            what: what.to_string(),
            unit,
            started: Instant::now(),
            counts: Mutex::new(Counts {
                len,
                ..Counts::default()
            }),
            stop: Condvar::new(),
        });
        eprintln!(
            "{}",
            state.line(&state.counts.lock().expect("progress lock"))
        );
        let ticking = Arc::clone(&state);
        let ticker = std::thread::spawn(move || {
            let mut counts = ticking.counts.lock().expect("progress lock");
            loop {
                let (next, timeout) = ticking
                    .stop
                    .wait_timeout(counts, every)
                    .expect("progress lock");
                counts = next;
                if counts.finished {
                    return;
                }
                if timeout.timed_out() {
                    eprintln!("{}", ticking.line(&counts));
                }
            }
        });
        Self {
            state,
            ticker: Some(ticker),
        }
    }

    fn stop(&mut self) {
        let Some(ticker) = self.ticker.take() else {
            return;
        };
        {
            let mut counts = self.state.counts.lock().expect("progress lock");
            counts.finished = true;
            self.state.stop.notify_all();
            eprintln!("{}", self.state.line(&counts));
        }
        let _ = ticker.join();
    }
}

impl Shared {
    fn line(&self, c: &Counts) -> String {
        let elapsed = self.started.elapsed();
        let mut line = format!("progress: {}: {}", self.what, c.pos);
        if let Some(len) = c.len {
            line += &format!("/{len} {}", self.unit);
            if len > 0 {
                line += &format!(" ({:.0} %)", 100.0 * c.pos as f64 / len as f64);
            }
        } else {
            line += &format!(" {}", self.unit);
        }
        line += &format!(", {} elapsed", clock(elapsed));
        if c.finished {
            line += ", done";
        } else if let Some(eta) = eta(elapsed, c.pos, c.len) {
            line += &format!(", ETA {}", clock(eta));
        }
        if !c.message.is_empty() && !c.finished {
            line += &format!(" ({})", c.message);
        }
        line
    }
}

/// Remaining time at the rate so far; unknown before the first unit or without a length.
fn eta(elapsed: Duration, pos: u64, len: Option<u64>) -> Option<Duration> {
    let len = len?;
    (pos > 0).then(|| elapsed.mul_f64(len.saturating_sub(pos) as f64 / pos as f64))
}

/// `1h02m03s`, `2m05s`, `7s`.
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, s) => format!("{h}h{m:02}m{s:02}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_say_what_how_far_and_when() {
        let shared = Shared {
            what: "claims".into(),
            unit: "searches",
            started: Instant::now(),
            counts: Mutex::new(Counts::default()),
            stop: Condvar::new(),
        };
        let line = shared.line(&Counts {
            pos: 3,
            len: Some(12),
            message: "smollm2-135m ppl greedy seed 0".into(),
            finished: false,
        });
        assert!(
            line.starts_with("progress: claims: 3/12 searches (25 %), 0s elapsed, ETA 0s"),
            "{line}"
        );
        assert!(line.ends_with("(smollm2-135m ppl greedy seed 0)"), "{line}");
        let done = shared.line(&Counts {
            pos: 12,
            len: Some(12),
            message: String::new(),
            finished: true,
        });
        assert!(done.ends_with("elapsed, done"), "{done}");
    }

    #[test]
    fn eta_follows_the_rate_so_far() {
        let eta = eta(Duration::from_secs(10), 1, Some(4)).unwrap();
        assert_eq!(eta, Duration::from_secs(30));
        assert_eq!(super::eta(Duration::from_secs(10), 0, Some(4)), None);
        assert_eq!(super::eta(Duration::from_secs(10), 2, None), None);
        assert_eq!(clock(Duration::from_secs(3723)), "1h02m03s");
        assert_eq!(clock(Duration::from_secs(125)), "2m05s");
    }
}
