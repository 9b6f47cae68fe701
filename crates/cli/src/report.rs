//! `report.html`: several runs side by side in one self-contained page (every picture inlined,
//! no script, no server): a table of their figures, bar charts of seconds per epoch and test
//! accuracy, and each run's curves and confusion matrix. Written by `zoo report RUN...` and by
//! `zoo compare`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use base64::Engine as _;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::plots::{self, CONFUSION_PNG, CURVES_SVG, FIT_PNG, REGIONS_PNG};
use zoo_train::run::artifacts::{write_atomic, Summary, SUMMARY_FILE};

/// `report.html`, the default file name.
pub const REPORT_FILE: &str = "report.html";

/// One run (or one row of a comparison) in the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Its label in the table and the charts (the run folder's name, or the backend).
    pub name: String,
    /// The model trained.
    pub model: String,
    /// The backend and device it trained on.
    pub backend: String,
    /// The device's name.
    pub device: String,
    /// Epochs trained.
    pub epochs: Option<usize>,
    /// Mean seconds of one training pass.
    pub seconds_per_epoch: Option<f64>,
    /// Test accuracy (classifiers only).
    pub test_accuracy: Option<f64>,
    /// Mean test loss.
    pub test_loss: Option<f64>,
    /// The run folder, whose pictures the report shows.
    pub dir: Option<PathBuf>,
    /// Why the run has no figures, if it failed.
    pub error: Option<String>,
}

impl Entry {
    /// The entry of the run folder `dir`, from its `summary.json`.
    pub fn from_run(dir: &Path) -> anyhow::Result<Entry> {
        if !dir.join(SUMMARY_FILE).is_file() {
            anyhow::bail!(
                "{} is not a finished run: it has no {SUMMARY_FILE} (pass folders that `zoo train` completed)",
                dir.display()
            );
        }
        let summary = Summary::read(dir)?;
        let name = dir
            .file_name()
            .map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into());
        Ok(Entry::from_summary(name, &summary, Some(dir.to_path_buf())))
    }

    /// The entry of a run's summary, labelled `name`.
    pub fn from_summary(name: String, summary: &Summary, dir: Option<PathBuf>) -> Entry {
        Entry {
            name,
            model: summary.model.clone(),
            backend: summary.backend.clone(),
            device: summary.device.clone(),
            epochs: Some(summary.epochs),
            seconds_per_epoch: Some(summary.seconds_per_epoch),
            test_accuracy: summary.test_accuracy,
            test_loss: Some(summary.test_loss),
            dir,
            error: None,
        }
    }
}

/// Writes the report of `entries` to `path`, atomically.
pub fn write(path: &Path, title: &str, entries: &[Entry]) -> anyhow::Result<()> {
    let page = render(title, entries)?;
    write_atomic(path, page.as_bytes())
        .with_context(|| format!("cannot write the report {}", path.display()))
}

/// The HTML page of `entries`.
pub fn render(title: &str, entries: &[Entry]) -> anyhow::Result<String> {
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        escape(title),
        escape(title)
    );
    page.push_str("<table>\n<tr><th>run</th><th>model</th><th>backend</th><th>device</th><th>epochs</th><th>s / epoch</th><th>test accuracy</th><th>test loss</th></tr>\n");
    for e in entries {
        let figure =
            |v: Option<f64>, digits: usize| v.map_or("—".into(), |v| format!("{v:.digits$}"));
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(&e.name),
            escape(&e.model),
            escape(&e.backend),
            escape(&e.device),
            e.epochs.map_or("—".into(), |n| n.to_string()),
            e.seconds_per_epoch.map_or("—".into(), significant),
            e.test_accuracy.map_or("—".into(), |a| format!("{:.2}%", 100.0 * a)),
            figure(e.test_loss, 4),
        );
        if let Some(error) = &e.error {
            let _ = writeln!(
                page,
                "<tr class=\"error\"><td colspan=\"8\">failed: {}</td></tr>",
                escape(error)
            );
        }
    }
    page.push_str("</table>\n<div class=\"charts\">\n");
    let seconds: Vec<(String, f64)> = entries
        .iter()
        .filter_map(|e| e.seconds_per_epoch.map(|s| (e.name.clone(), s)))
        .collect();
    if !seconds.is_empty() {
        page.push_str(&strip_prolog(&bar_chart(
            "seconds per epoch (lower is faster)",
            &seconds,
            "{} s",
        )?));
    }
    let accuracy: Vec<(String, f64)> = entries
        .iter()
        .filter_map(|e| e.test_accuracy.map(|a| (e.name.clone(), 100.0 * a)))
        .collect();
    if !accuracy.is_empty() {
        page.push_str(&strip_prolog(&bar_chart(
            "test accuracy, %",
            &accuracy,
            "{}%",
        )?));
    }
    page.push_str("</div>\n");
    for e in entries {
        let Some(dir) = &e.dir else { continue };
        let _ = writeln!(page, "<h2>{}</h2>", escape(&e.name));
        page.push_str("<div class=\"run\">\n");
        if let Ok(svg) = std::fs::read_to_string(dir.join(CURVES_SVG)) {
            page.push_str(&strip_prolog(&svg));
        }
        for (file, alt) in [
            (CONFUSION_PNG, "confusion matrix of the test set"),
            (FIT_PNG, "data and fitted curve"),
            (REGIONS_PNG, "decision regions"),
        ] {
            if let Ok(bytes) = std::fs::read(dir.join(file)) {
                let _ = writeln!(
                    page,
                    "<img alt=\"{alt}\" src=\"data:image/png;base64,{}\">",
                    base64::engine::general_purpose::STANDARD.encode(bytes)
                );
            }
        }
        page.push_str("</div>\n");
    }
    page.push_str("</body>\n</html>\n");
    Ok(page)
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin-bottom:1.5em}\
th,td{border:1px solid #ccc;padding:4px 10px;text-align:left}\
td.n{text-align:right;font-variant-numeric:tabular-nums}\
tr.error td{color:#b00}\
.charts,.run{display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-start}\
svg,img{max-width:100%;height:auto;border:1px solid #eee}";

/// Drops the XML declaration of an SVG document, so it can sit inside HTML.
fn strip_prolog(svg: &str) -> String {
    let body = match svg.find("<svg") {
        Some(start) => &svg[start..],
        None => svg,
    };
    format!("{body}\n")
}

/// At least two decimals and three significant digits: `17.69`, `0.0123`, `0.000450`.
fn significant(v: f64) -> String {
    let digits = if v.abs() > 0.0 && v.is_finite() {
        (2 - v.abs().log10().floor() as i32).max(2) as usize
    } else {
        2
    };
    format!("{v:.digits$}")
}

/// `&`, `<`, `>` and quotes as HTML entities.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One bar per `(label, value)`, each labelled with its value (`format`: `{} s` or `{}%`).
fn bar_chart(title: &str, bars: &[(String, f64)], format: &str) -> anyhow::Result<String> {
    let high = bars.iter().map(|b| b.1).fold(0.0f64, f64::max).max(1e-9) * 1.15;
    let n = bars.len();
    let width = (160 + 110 * n as u32).clamp(420, 1100);
    let value = |v: f64| format.replace("{}", &significant(v));
    plots::svg_document((width, 360), |root| {
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (plots::FONT, 20))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..n as f64, 0.0..high)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .label_style((plots::FONT, 14))
            .draw()?;
        chart.draw_series(bars.iter().enumerate().map(|(i, (_, v))| {
            let x = i as f64;
            Rectangle::new(
                [(x + 0.15, 0.0), (x + 0.85, *v)],
                plots::palette(i).filled(),
            )
        }))?;
        let centred = |anchor| {
            TextStyle::from((plots::FONT, 14).into_font()).pos(Pos::new(HPos::Center, anchor))
        };
        for (i, (name, v)) in bars.iter().enumerate() {
            let centre = i as f64 + 0.5;
            let (x, top) = chart.backend_coord(&(centre, *v));
            root.draw_text(&value(*v), &centred(VPos::Bottom), (x, top - 4))?;
            let (x, axis) = chart.backend_coord(&(centre, 0.0));
            root.draw_text(name, &centred(VPos::Top), (x, axis + 8))?;
        }
        root.present()
    })
}
