//! Progress bars on stderr, drawn only when stderr is a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use vecsearch::Reporter;

pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    pub fn new(quiet: bool) -> Self {
        let target = if quiet || !std::io::stderr().is_terminal() {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        let bar = ProgressBar::with_draw_target(Some(0), target);
        bar.set_style(
            ProgressStyle::with_template("{msg:>18} [{bar:40}] {pos}/{len} ({per_sec}, {eta})")
                .expect("static template")
                .progress_chars("=> "),
        );
        Bar { bar }
    }
}

impl Reporter for Bar {
    fn stage(&self, name: &str, total: u64) {
        self.bar.set_message(name.to_string());
        self.bar.set_length(total);
        self.bar.set_position(0);
        self.bar.reset_eta();
    }
    fn inc(&self, n: u64) {
        self.bar.inc(n);
    }
    fn warn(&self, message: &str) {
        self.bar
            .suspend(|| eprintln!("vecsearch: warning: {}", one_line(message)));
    }
    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}
