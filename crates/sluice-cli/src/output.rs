//! Printing for people and for scripts: aligned tables, sizes, progress bars, and `--json`.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use comfy_table::{Cell, ContentArrangement, Table, presets};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use sluice_version::progress::{Progress, Unit};

/// Parses TOML `text` read from `name`; an error names the file, line and column.
pub fn parse_toml<T: serde::de::DeserializeOwned>(text: &str, name: &str) -> anyhow::Result<T> {
    toml::from_str(text).map_err(|e| {
        let at = e
            .span()
            .map(|s| {
                let (line, col) = sluice_store::config::line_col(text, s.start);
                format!(":{line}:{col}")
            })
            .unwrap_or_default();
        anyhow::anyhow!("{name}{at}: {}", e.message())
    })
}

/// Prints `value` as pretty JSON on stdout.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// An aligned table with a header and no borders, like `git` or `kubectl` print.
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.iter().map(|h| Cell::new(h.to_uppercase())));
    t
}

/// Prints a table, trimming the padding comfy-table leaves at line ends.
pub fn print_table(t: &Table) {
    for line in t.to_string().lines() {
        println!("{}", line.trim_end().strip_prefix(' ').unwrap_or(line.trim_end()));
    }
}

/// `1.2 MB`.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// `1,234,567`.
pub fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A progress bar on stderr that appears only when a phase has run for more than a second and
/// stderr is a terminal (never with `--json`).
pub struct Bar {
    enabled: bool,
    state: Mutex<Option<(ProgressBar, Instant, bool)>>,
}

impl Bar {
    /// A bar, disabled when `quiet` or stderr is not a terminal.
    pub fn new(quiet: bool) -> Bar {
        Bar {
            enabled: !quiet && std::io::stderr().is_terminal(),
            state: Mutex::new(None),
        }
    }
}

impl Progress for Bar {
    fn start(&self, label: &str, total: Option<u64>, unit: Unit) {
        if !self.enabled {
            return;
        }
        let pb = match total {
            Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::hidden()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden()),
        };
        let template = match (total, unit) {
            (Some(_), Unit::Bytes) => "{msg:24} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            (Some(_), Unit::Items) => "{msg:24} [{bar:30}] {pos}/{len} eta {eta}",
            (None, _) => "{spinner} {msg} {elapsed}",
        };
        pb.set_style(
            ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        pb.set_message(label.to_string());
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((old, _, _)) = s.take() {
            old.finish_and_clear();
        }
        *s = Some((pb, Instant::now(), false));
    }

    fn advance(&self, n: u64) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((pb, started, shown)) = s.as_mut() {
            pb.inc(n);
            if !*shown && started.elapsed() > Duration::from_secs(1) {
                pb.set_draw_target(ProgressDrawTarget::stderr());
                *shown = true;
            }
        }
    }

    fn finish(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((pb, _, _)) = s.take() {
            pb.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_counts() {
        assert_eq!(size(999), "999 B");
        assert_eq!(size(1_500_000), "1.5 MB");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(12), "12");
    }
}
