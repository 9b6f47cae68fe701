//! The pictures a run writes beside its metrics, drawn with plotters (no Python, no system fonts:
//! DejaVu Sans is embedded): the training curves, the test set's confusion matrix, and for the
//! toys the fitted curve or the decision regions. Each file is rendered in memory and written
//! atomically, like every other artifact of a run.

use std::path::Path;
use std::sync::Once;

use anyhow::Context;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use zoo_train::data::{padded_span, Picture};
use zoo_train::run::artifacts::{write_atomic, EpochRow};

/// `curves.svg`: loss (and accuracy) per epoch, train and valid.
pub const CURVES_SVG: &str = "curves.svg";
/// `curves.png`: the same picture as [`CURVES_SVG`].
pub const CURVES_PNG: &str = "curves.png";
/// `confusion.png`: the test set's confusion matrix (classifiers and the tagger).
pub const CONFUSION_PNG: &str = "confusion.png";
/// `fit.png`: the regression toy's data and the fitted curve.
pub const FIT_PNG: &str = "fit.png";
/// `regions.png`: the classification toy's decision regions and its points.
pub const REGIONS_PNG: &str = "regions.png";

/// The font family every picture uses (the embedded DejaVu Sans).
pub(crate) const FONT: &str = "sans-serif";
const TRAIN_COLOUR: RGBColor = RGBColor(31, 119, 180);
const VALID_COLOUR: RGBColor = RGBColor(255, 127, 14);
/// Light and dark shades per class for the decision regions (cycled past four classes).
const CLASS_COLOURS: [(RGBColor, RGBColor); 4] = [
    (RGBColor(198, 219, 239), RGBColor(31, 119, 180)),
    (RGBColor(253, 208, 162), RGBColor(230, 85, 13)),
    (RGBColor(199, 233, 192), RGBColor(49, 163, 84)),
    (RGBColor(218, 218, 235), RGBColor(117, 107, 177)),
];

/// The `i`-th colour of the bar charts and class points.
pub(crate) fn palette(i: usize) -> RGBColor {
    CLASS_COLOURS[i % CLASS_COLOURS.len()].1
}

/// Registers the embedded font once: plotters measures and draws text with it, in SVG and PNG.
fn fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for (style, bytes) in [
            (FontStyle::Normal, dejavu::sans::regular()),
            (FontStyle::Bold, dejavu::sans::bold()),
        ] {
            if plotters::style::register_font(FONT, style, bytes).is_err() {
                unreachable!("the embedded DejaVu Sans font parses");
            }
        }
    });
}

fn drawing_error<E: std::fmt::Display>(error: E) -> anyhow::Error {
    anyhow::anyhow!("drawing failed: {error}")
}

type Drawn<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Renders `draw` as an SVG document.
pub(crate) fn svg_document(
    size: (u32, u32),
    draw: impl FnOnce(DrawingArea<SVGBackend, Shift>) -> Drawn<SVGBackend>,
) -> anyhow::Result<String> {
    fonts();
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        draw(root).map_err(drawing_error)?;
    }
    Ok(text)
}

/// Renders `draw` as a PNG file's bytes.
fn png(
    size: (u32, u32),
    draw: impl FnOnce(DrawingArea<BitMapBackend, Shift>) -> Drawn<BitMapBackend>,
) -> anyhow::Result<Vec<u8>> {
    fonts();
    let mut pixels = vec![0u8; size.0 as usize * size.1 as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        draw(root).map_err(drawing_error)?;
    }
    let mut bytes = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut bytes),
        &pixels,
        size.0,
        size.1,
        image::ExtendedColorType::Rgb8,
    )
    .context("cannot encode a PNG")?;
    Ok(bytes)
}

fn write_png(
    dir: &Path,
    name: &str,
    size: (u32, u32),
    draw: impl FnOnce(DrawingArea<BitMapBackend, Shift>) -> Drawn<BitMapBackend>,
) -> anyhow::Result<()> {
    write_atomic(&dir.join(name), &png(size, draw)?)
}

/// One metric of one split over the epochs: `(epoch, value)`.
fn series(rows: &[EpochRow], split: &str, metric: fn(&EpochRow) -> Option<f64>) -> Vec<(f64, f64)> {
    rows.iter()
        .filter(|r| r.split == split)
        .filter_map(|r| {
            metric(r)
                .filter(|v| v.is_finite())
                .map(|v| (r.epoch as f64, v))
        })
        .collect()
}

/// Draws one panel of the curves: `metric` per epoch, train and valid.
fn curve_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    rows: &[EpochRow],
    name: &str,
    metric: fn(&EpochRow) -> Option<f64>,
) -> Drawn<DB> {
    let lines = [
        ("train", TRAIN_COLOUR, series(rows, "train", metric)),
        ("valid", VALID_COLOUR, series(rows, "valid", metric)),
    ];
    let epochs = rows.iter().map(|r| r.epoch).max().unwrap_or(1) as f64;
    let floor = (name == "loss").then_some(0.0);
    let (low, high) = padded_span(
        lines.iter().flat_map(|(_, _, s)| s.iter().map(|p| p.1)),
        floor,
    );
    let mut chart = ChartBuilder::on(area)
        .caption(format!("{name} per epoch"), (FONT, 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(0.5..epochs + 0.5, low..high)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(name)
        .x_labels((epochs as usize).min(12))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 16))
        .draw()?;
    for (split, colour, points) in lines {
        if points.is_empty() {
            continue;
        }
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
            .label(format!("{split} {name}"))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        // A marker per epoch while they can be told apart.
        if points.len() <= 30 {
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, colour.filled())))?;
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font((FONT, 15))
        // Where a falling loss or a rising accuracy leaves room.
        .position(if name == "loss" {
            SeriesLabelPosition::UpperRight
        } else {
            SeriesLabelPosition::LowerRight
        })
        .draw()?;
    Ok(())
}

fn draw_curves<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, rows: &[EpochRow]) -> Drawn<DB> {
    root.fill(&WHITE)?;
    let has_accuracy = rows.iter().any(|r| r.accuracy.is_some());
    if has_accuracy {
        let (left, right) = root.split_horizontally(root.dim_in_pixel().0 / 2);
        curve_panel(&left, rows, "loss", |r| Some(r.loss))?;
        curve_panel(&right, rows, "accuracy", |r| r.accuracy)?;
    } else {
        curve_panel(&root, rows, "loss", |r| Some(r.loss))?;
    }
    root.present()
}

/// Writes `curves.svg` and `curves.png` from the run's `metrics.csv` rows.
pub fn curves(dir: &Path, rows: &[EpochRow]) -> anyhow::Result<()> {
    let size = if rows.iter().any(|r| r.accuracy.is_some()) {
        (1100, 420)
    } else {
        (600, 420)
    };
    write_atomic(
        &dir.join(CURVES_SVG),
        svg_document(size, |root| draw_curves(root, rows))?.as_bytes(),
    )?;
    write_png(dir, CURVES_PNG, size, |root| draw_curves(root, rows))
}

/// White → dark blue.
pub fn shade(fraction: f64) -> RGBColor {
    let f = fraction.clamp(0.0, 1.0);
    let mix = |white: f64, dark: f64| (white + (dark - white) * f).round() as u8;
    RGBColor(mix(255.0, 8.0), mix(255.0, 48.0), mix(255.0, 107.0))
}

fn draw_confusion<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    matrix: &[Vec<usize>],
    classes: &[String],
    title: &str,
) -> Drawn<DB> {
    root.fill(&WHITE)?;
    let n = matrix.len();
    let (left, cell, short) = confusion_layout(n, classes);
    let top = 56;
    let label = |i: usize| -> String {
        match classes.get(i) {
            Some(name) if short => name.clone(),
            Some(name) => format!("{name} ({i})"),
            None => i.to_string(),
        }
    };
    let column_label = |i: usize| if short { label(i) } else { i.to_string() };
    let centred = |size: i32| {
        TextStyle::from((FONT, size).into_font()).pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Center,
            plotters::style::text_anchor::VPos::Center,
        ))
    };
    root.draw_text(title, &centred(20), (left + cell * n as i32 / 2, 22))?;
    let font_size = (cell / 3).clamp(8, 16);
    for (t, row) in matrix.iter().enumerate() {
        let total: usize = row.iter().sum();
        let y = top + cell * t as i32;
        for (p, &count) in row.iter().enumerate() {
            let x = left + cell * p as i32;
            let fraction = count as f64 / total.max(1) as f64;
            root.draw(&Rectangle::new(
                [(x, y), (x + cell, y + cell)],
                shade(fraction).filled(),
            ))?;
            root.draw(&Rectangle::new(
                [(x, y), (x + cell, y + cell)],
                RGBColor(200, 200, 200),
            ))?;
            if count > 0 && cell >= 18 {
                let colour = if fraction > 0.5 { WHITE } else { BLACK };
                root.draw_text(
                    &count.to_string(),
                    &centred(font_size).color(&colour),
                    (x + cell / 2, y + cell / 2),
                )?;
            }
        }
        let style =
            TextStyle::from((FONT, 14).into_font()).pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Right,
                plotters::style::text_anchor::VPos::Center,
            ));
        root.draw_text(&label(t), &style, (left - 6, y + cell / 2))?;
    }
    let below = top + cell * n as i32;
    for p in 0..n {
        root.draw_text(
            &column_label(p),
            &centred(13),
            (left + cell * p as i32 + cell / 2, below + 12),
        )?;
    }
    root.draw_text(
        "predicted class",
        &centred(16),
        (left + cell * n as i32 / 2, below + 36),
    )?;
    let corner = TextStyle::from((FONT, 16).into_font());
    root.draw_text("true class", &corner, (8, top - 26))?;
    root.present()
}

/// Pixels per cell of an `n`-class matrix.
fn cell_size(n: usize) -> u32 {
    (640 / n.max(1) as u32).clamp(24, 64)
}

/// The left margin (row labels), the cell size, and whether the columns are labelled with the
/// class names (when every name fits in a cell) rather than with the rows' numbers.
fn confusion_layout(n: usize, classes: &[String]) -> (i32, i32, bool) {
    let cell = cell_size(n) as i32;
    let longest = classes.iter().map(|c| c.chars().count()).max().unwrap_or(1) as i32;
    let short = 8 * longest + 4 <= cell;
    let label_chars = if short { longest } else { longest + 5 };
    let left = 24 + 9 * label_chars;
    (left, cell, short)
}

/// Writes `confusion.png`: rows are the true classes, columns the predicted ones, each cell
/// shaded by its share of its row and labelled with its count. Classes that are neither a true
/// nor a predicted class of any sample (a tagger's padding and unknown tags) are left out.
pub fn confusion(dir: &Path, matrix: &[Vec<usize>], classes: &[String]) -> anyhow::Result<()> {
    let kept: Vec<usize> = (0..matrix.len())
        .filter(|&c| {
            matrix[c].iter().any(|&v| v > 0)
                || matrix.iter().any(|row| row.get(c).is_some_and(|&v| v > 0))
        })
        .collect();
    let matrix: Vec<Vec<usize>> = kept
        .iter()
        .map(|&t| kept.iter().map(|&p| matrix[t][p]).collect())
        .collect();
    let classes: Vec<String> = kept
        .iter()
        .map(|&c| classes.get(c).cloned().unwrap_or_else(|| c.to_string()))
        .collect();
    let (matrix, classes) = (&matrix[..], &classes[..]);
    let n = matrix.len().max(1);
    let (left, cell, _) = confusion_layout(n, classes);
    let size = (
        left as u32 + cell as u32 * n as u32 + 20,
        56 + cell as u32 * n as u32 + 60,
    );
    let total: usize = matrix.iter().flatten().sum();
    let correct: usize = matrix
        .iter()
        .enumerate()
        .map(|(i, r)| r.get(i).copied().unwrap_or(0))
        .sum();
    let title = format!(
        "test set: {correct}/{total} correct ({:.2}%)",
        100.0 * correct as f64 / total.max(1) as f64
    );
    write_png(dir, CONFUSION_PNG, size, |root| {
        draw_confusion(root, matrix, classes, &title)
    })
}

/// Draws what a run's data asked for: `fit.png` or `regions.png`.
pub fn picture(dir: &Path, picture: &Picture) -> anyhow::Result<()> {
    match picture {
        Picture::Fit { points, curve } => regression_fit(dir, points, curve),
        Picture::Regions {
            points,
            bounds,
            resolution,
            picked,
            classes,
        } => decision_regions(dir, points, *bounds, *resolution, picked, classes),
    }
}

/// Writes `fit.png`: the regression toy's points and the trained model's curve over their range.
pub fn regression_fit(
    dir: &Path,
    points: &[(f32, f32)],
    curve: &[(f32, f32)],
) -> anyhow::Result<()> {
    let (x0, x1) = padded_span(points.iter().chain(curve).map(|p| p.0 as f64), None);
    let (y0, y1) = padded_span(points.iter().chain(curve).map(|p| p.1 as f64), None);
    write_png(dir, FIT_PNG, (720, 480), |root| {
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("regression: data and fitted curve", (FONT, 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .x_desc("x")
            .y_desc("y")
            .label_style((FONT, 15))
            .draw()?;
        chart
            .draw_series(points.iter().map(|&(x, y)| {
                Circle::new((x as f64, y as f64), 3, TRAIN_COLOUR.mix(0.6).filled())
            }))?
            .label("training data")
            .legend(|(x, y)| Circle::new((x + 10, y), 4, TRAIN_COLOUR.filled()));
        chart
            .draw_series(LineSeries::new(
                curve.iter().map(|&(x, y)| (x as f64, y as f64)),
                RED.stroke_width(3),
            ))?
            .label("model")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(3)));
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .label_font((FONT, 15))
            .draw()?;
        root.present()
    })
}

/// Writes `regions.png`: the class the model picks at each cell of a `resolution²` grid over
/// `bounds` (`classes_at[row * resolution + column]`, row 0 at the bottom), with the points on top.
pub fn decision_regions(
    dir: &Path,
    points: &[([f32; 2], usize)],
    bounds: (f64, f64),
    resolution: usize,
    classes_at: &[usize],
    classes: &[String],
) -> anyhow::Result<()> {
    let (low, high) = bounds;
    let step = (high - low) / resolution as f64;
    write_png(dir, REGIONS_PNG, (640, 600), |root| {
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("classification: decision regions", (FONT, 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(48)
            .build_cartesian_2d(low..high, low..high)?;
        chart.draw_series(classes_at.iter().enumerate().map(|(i, &class)| {
            let (row, column) = (i / resolution, i % resolution);
            let x = low + column as f64 * step;
            let y = low + row as f64 * step;
            let colour = CLASS_COLOURS[class % CLASS_COLOURS.len()].0;
            Rectangle::new([(x, y), (x + step, y + step)], colour.filled())
        }))?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("x₁")
            .y_desc("x₂")
            .label_style((FONT, 15))
            .draw()?;
        for class in 0..classes.len().max(1) {
            let colour = CLASS_COLOURS[class % CLASS_COLOURS.len()].1;
            let name = classes
                .get(class)
                .cloned()
                .unwrap_or_else(|| class.to_string());
            chart
                .draw_series(
                    points
                        .iter()
                        .filter(|(_, c)| *c == class)
                        .map(|&(p, _)| Circle::new((p[0] as f64, p[1] as f64), 3, colour.filled())),
                )?
                .label(format!("class {class}: {name}"))
                .legend(move |(x, y)| Circle::new((x + 10, y), 4, colour.filled()));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .label_font((FONT, 15))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()?;
        root.present()
    })
}
