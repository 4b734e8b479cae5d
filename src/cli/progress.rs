//! Progress bars on stderr, drawn only when stderr is a terminal. Every
//! stage shows something: a bar when its size is known, a spinner with
//! the elapsed time when it is not (weighting, writing the file). Rates
//! are whole numbers with thousands separators, and the ETA is the plain
//! average rate so far, shown once there is enough progress to go by.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use vecsearch::Reporter;

pub struct Bar {
    bar: ProgressBar,
}

fn rate(state: &ProgressState, w: &mut dyn std::fmt::Write) {
    let per_sec = state.pos() as f64 / state.elapsed().as_secs_f64().max(1e-3);
    let _ = write!(w, "{}/s", super::print::count(per_sec.round() as u64));
}

/// Remaining time at the average rate so far; blank until 2% is done or
/// a second has passed, when any estimate is a guess.
fn eta(state: &ProgressState, w: &mut dyn std::fmt::Write) {
    let (pos, len) = (state.pos(), state.len().unwrap_or(0));
    let elapsed = state.elapsed().as_secs_f64();
    if pos == 0 || len <= pos || (pos * 50 < len && elapsed < 1.0) {
        let _ = write!(w, "…");
        return;
    }
    let left = elapsed * (len - pos) as f64 / pos as f64;
    let _ = write!(w, "{}", short_duration(left));
}

fn short_duration(s: f64) -> String {
    let s = s.round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s % 3600 / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{msg:>18} [{bar:40}] {human_pos}/{human_len} ({rate}, {eta} left)",
    )
    .expect("static template")
    .with_key("rate", rate)
    .with_key("eta", eta)
    .progress_chars("=> ")
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{msg:>18} {spinner} {elapsed}").expect("static template")
}

impl Bar {
    pub fn new(quiet: bool) -> Self {
        let target = if quiet || !std::io::stderr().is_terminal() {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        let bar = ProgressBar::with_draw_target(Some(0), target);
        bar.set_style(bar_style());
        Bar { bar }
    }

    /// A stage of unknown size, such as writing the file: a spinner.
    pub fn spin(&self, name: &str) {
        self.stage(name, 0);
    }
}

impl Reporter for Bar {
    fn stage(&self, name: &str, total: u64) {
        if self.bar.is_finished() {
            self.bar.reset();
        }
        self.bar.set_message(name.to_string());
        self.bar.set_length(total);
        self.bar.set_position(0);
        self.bar.reset_elapsed();
        self.bar.reset_eta();
        if total == 0 {
            self.bar.set_style(spinner_style());
            self.bar.enable_steady_tick(Duration::from_millis(120));
        } else {
            self.bar.disable_steady_tick();
            self.bar.set_style(bar_style());
        }
    }
    fn inc(&self, n: u64) {
        self.bar.inc(n);
    }
    fn warn(&self, message: &str) {
        self.bar
            .suspend(|| eprintln!("vecsearch: warning: {}", one_line(message)));
    }
    fn finish(&self) {
        self.bar.disable_steady_tick();
        self.bar.finish_and_clear();
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_are_short() {
        assert_eq!(super::short_duration(9.6), "10s");
        assert_eq!(super::short_duration(75.0), "1m15s");
        assert_eq!(super::short_duration(3725.0), "1h02m");
    }
}
