//! The markdown table: each figure beside its same-run baseline, the ratio,
//! and the target it is held to.

use std::fmt::Write;

use crate::load::Stats;

pub enum Goal {
    /// No target for this figure.
    None,
    /// At least this fraction of the baseline.
    RatioAtLeast(f64),
    /// The figure itself at most this.
    AtMost(f64),
    /// The figure itself at least this.
    AtLeast(f64),
}

struct Line {
    item: String,
    measure: String,
    tandem: String,
    baseline: String,
    ratio: String,
    target: String,
    verdict: &'static str,
}

impl Line {
    fn new(item: &str, measure: String, tandem: String, baseline: String) -> Self {
        Self {
            item: item.into(),
            measure,
            tandem,
            baseline,
            ratio: String::new(),
            target: String::new(),
            verdict: "",
        }
    }
}

pub struct Report {
    title: String,
    notes: Vec<String>,
    lines: Vec<Line>,
}

pub fn rate(per_sec: f64, unit: &str) -> String {
    format!("{} {unit}/s", grouped(per_sec))
}

fn grouped(value: f64) -> String {
    if value >= 100.0 {
        let digits = format!("{:.0}", value);
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        out
    } else {
        format!("{value:.1}")
    }
}

fn latency(stats: &Stats) -> String {
    format!("{:.1} / {:.1} ms", stats.p50_ms(), stats.p99_ms())
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "**missed**"
    }
}

impl Report {
    pub fn new(title: String) -> Self {
        Self {
            title,
            notes: Vec::new(),
            lines: Vec::new(),
        }
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// Requests per second of `stats` against the baseline's, with the ratio.
    pub fn throughput(
        &mut self,
        item: &str,
        measure: &str,
        stats: &Stats,
        unit: &str,
        baseline: Option<&Stats>,
        goal: Goal,
    ) {
        let value = stats.per_sec();
        let (baseline_text, ratio) = match baseline {
            Some(b) => (rate(b.per_sec(), "tx"), Some(value / b.per_sec())),
            None => (String::new(), None),
        };
        let mut measure = measure.to_string();
        if stats.errors > 0 {
            let _ = write!(measure, " ({} errors)", stats.errors);
        }
        let line = Line::new(item, measure, rate(value, unit), baseline_text);
        self.push(line, value, ratio, goal, stats.errors == 0);
    }

    /// p50 / p99 of `stats` against the baseline's, with the p99 ratio.
    pub fn latency(
        &mut self,
        item: &str,
        measure: &str,
        stats: &Stats,
        baseline: Option<&Stats>,
        p99_at_most: Option<f64>,
    ) {
        let (baseline_text, ratio) = match baseline {
            Some(b) => (
                latency(b),
                format!("×{:.1} p99", stats.p99_ms() / b.p99_ms().max(0.001)),
            ),
            None => (String::new(), String::new()),
        };
        let (target, verdict) = match p99_at_most {
            Some(max) => (format!("p99 ≤ {max} ms"), verdict(stats.p99_ms() <= max)),
            None => (String::new(), ""),
        };
        self.lines.push(Line {
            item: item.into(),
            measure: measure.into(),
            tandem: latency(stats),
            baseline: baseline_text,
            ratio,
            target,
            verdict,
        });
    }

    /// A figure with no baseline of its own (or one given as text).
    pub fn figure(
        &mut self,
        item: &str,
        measure: &str,
        value: f64,
        text: String,
        baseline: String,
        goal: Goal,
    ) {
        self.push(
            Line::new(item, measure.into(), text, baseline),
            value,
            None,
            goal,
            true,
        );
    }

    fn push(&mut self, line: Line, value: f64, ratio: Option<f64>, goal: Goal, clean: bool) {
        let (target, met) = match goal {
            Goal::None => (String::new(), None),
            Goal::RatioAtLeast(min) => (
                format!("≥ {:.0} % of baseline", min * 100.0),
                Some(ratio.is_some_and(|r| r >= min)),
            ),
            Goal::AtMost(max) => (format!("≤ {}", grouped(max)), Some(value <= max)),
            Goal::AtLeast(min) => (format!("≥ {}", grouped(min)), Some(value >= min)),
        };
        self.lines.push(Line {
            ratio: ratio.map(|r| format!("{:.1} %", r * 100.0)).unwrap_or_default(),
            target,
            verdict: met.map(|m| verdict(m && clean)).unwrap_or(""),
            ..line
        });
    }

    pub fn render(&self) -> String {
        let mut out = format!("## {}\n\n", self.title);
        for note in &self.notes {
            let _ = writeln!(out, "- {note}");
        }
        out.push_str("\n| # | Measure | Tandem | Baseline (same run) | Ratio | Target | |\n|---|---|---|---|---|---|---|\n");
        for l in &self.lines {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                l.item, l.measure, l.tandem, l.baseline, l.ratio, l.target, l.verdict
            );
        }
        out
    }
}
