//! Pictures as MNIST digits, for `zoo predict`: any image file (PNG; grey, colour or with
//! transparency, any size) becomes a 28×28 grey digit the way MNIST's digits were made.

use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use image::{GrayImage, Luma};

/// Side of an MNIST image.
pub const SIDE: usize = 28;
/// Side of the box MNIST's digits were scaled into, inside the 28×28 frame.
const DIGIT_BOX: u32 = 20;
/// A pixel brighter than this (of 255, after any inversion) is ink when finding the digit.
const INK: u8 = 40;
/// The widest and tallest picture read, in pixels (a photo of a digit is far smaller).
const MAX_SIDE: u32 = 4096;

/// A picture that cannot be read as a digit, with the file at fault and the fix.
#[derive(Debug, thiserror::Error)]
pub enum DigitError {
    /// The file cannot be opened.
    #[error("{}: cannot open the image: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file is not an image the decoder reads.
    #[error("{}: not a readable image ({message}); pass a PNG file", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The decoder's message.
        message: String,
    },
    /// Every pixel is background.
    #[error(
        "{}: no digit found: every pixel is background{}",
        path.display(),
        if *inverted { "" } else { " (for dark ink on a light background pass --invert)" }
    )]
    Blank {
        /// The file.
        path: PathBuf,
        /// Whether it was read as dark ink on light.
        inverted: bool,
    },
}

/// Reads `path` as MNIST reads a digit: light ink on a dark background (`invert` for a
/// dark-on-light drawing), 28×28. An image of exactly 28×28 is taken as it is; any other size is
/// cropped to its ink, scaled to fit 20×20 (aspect kept), and centred by its centre of mass in
/// the 28×28 frame, as MNIST's digits were. Transparent pixels count as background.
pub fn read_digit(path: &Path, invert: bool) -> Result<[u8; SIDE * SIDE], DigitError> {
    let bytes = std::fs::read(path).map_err(|source| DigitError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    digit_from_bytes(&bytes, invert, path)
}

/// [`read_digit`] for a picture file's bytes already in memory (`zoo serve`'s uploads), `name`
/// naming it in errors.
pub fn digit_from_bytes(
    bytes: &[u8],
    invert: bool,
    name: &Path,
) -> Result<[u8; SIDE * SIDE], DigitError> {
    let path = name;
    let unreadable = |message: String| DigitError::Unreadable {
        path: path.to_path_buf(),
        message,
    };
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| unreadable(e.to_string()))?;
    // A few bytes can declare a picture of gigabytes: no digit needs more than this.
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(u64::from(MAX_SIDE) * u64::from(MAX_SIDE) * 8);
    reader.limits(limits);
    let picture = reader.decode().map_err(|e| unreadable(e.to_string()))?;
    let rgba = picture.to_rgba8();
    let background = if invert { 255.0 } else { 0.0 };
    let grey = GrayImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let luma = 0.299 * f32::from(r) + 0.587 * f32::from(g) + 0.114 * f32::from(b);
        let alpha = f32::from(a) / 255.0;
        let value = (luma * alpha + background * (1.0 - alpha)).round() as u8;
        Luma([if invert { 255 - value } else { value }])
    });
    let frame = if (grey.width(), grey.height()) == (SIDE as u32, SIDE as u32) {
        grey
    } else {
        mnist_frame(&grey).ok_or_else(|| DigitError::Blank {
            path: path.to_path_buf(),
            inverted: invert,
        })?
    };
    let mut pixels = [0u8; SIDE * SIDE];
    pixels.copy_from_slice(frame.as_raw());
    Ok(pixels)
}

/// The digit of `grey` cropped to its ink, scaled into 20×20 and centred by mass in 28×28;
/// `None` when there is no ink.
fn mnist_frame(grey: &GrayImage) -> Option<GrayImage> {
    let ink = |x: u32, y: u32| grey.get_pixel(x, y).0[0] > INK;
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
    for y in 0..grey.height() {
        for x in 0..grey.width() {
            if ink(x, y) {
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            }
        }
    }
    if x0 > x1 {
        return None;
    }
    let (width, height) = (x1 - x0 + 1, y1 - y0 + 1);
    let crop = image::imageops::crop_imm(grey, x0, y0, width, height).to_image();
    let scale = DIGIT_BOX as f32 / width.max(height) as f32;
    let (w, h) = (
        ((width as f32 * scale).round() as u32).clamp(1, DIGIT_BOX),
        ((height as f32 * scale).round() as u32).clamp(1, DIGIT_BOX),
    );
    let digit = image::imageops::resize(&crop, w, h, FilterType::Triangle);
    // Centre of mass of the scaled digit, to sit at the frame's centre.
    let (mut mass, mut mx, mut my) = (0f64, 0f64, 0f64);
    for (x, y, p) in digit.enumerate_pixels() {
        let v = f64::from(p.0[0]);
        mass += v;
        mx += v * f64::from(x);
        my += v * f64::from(y);
    }
    let centre = |m: f64, size: u32| {
        let at = if mass > 0.0 {
            m / mass
        } else {
            f64::from(size) / 2.0
        };
        let offset = (SIDE as f64 / 2.0 - at).round() as i64;
        offset.clamp(0, (SIDE as u32 - size) as i64)
    };
    let mut frame = GrayImage::new(SIDE as u32, SIDE as u32);
    image::imageops::overlay(&mut frame, &digit, centre(mx, w), centre(my, h));
    Some(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn save(dir: &Path, name: &str, picture: &image::DynamicImage) -> std::path::PathBuf {
        let path = dir.join(name);
        picture.save(&path).unwrap();
        path
    }

    #[test]
    fn a_28_pixel_grey_image_is_taken_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let grey = GrayImage::from_fn(28, 28, |x, y| Luma([((x * 9 + y) % 256) as u8]));
        let path = save(dir.path(), "d.png", &grey.clone().into());
        assert_eq!(read_digit(&path, false).unwrap().to_vec(), grey.into_raw());
    }

    #[test]
    fn a_large_dark_on_light_colour_drawing_becomes_a_centred_mnist_digit() {
        let dir = tempfile::tempdir().unwrap();
        // A dark blue vertical bar, off-centre, on white, 280×200.
        let picture = image::RgbImage::from_fn(280, 200, |x, y| {
            if (40..60).contains(&x) && (20..180).contains(&y) {
                image::Rgb([10, 20, 90])
            } else {
                image::Rgb([255, 255, 255])
            }
        });
        let path = save(dir.path(), "bar.png", &picture.into());
        let digit = read_digit(&path, true).unwrap();
        let ink: Vec<(usize, usize)> = (0..SIDE * SIDE)
            .filter(|&i| digit[i] > INK)
            .map(|i| (i % SIDE, i / SIDE))
            .collect();
        let rows =
            ink.iter().map(|p| p.1).max().unwrap() - ink.iter().map(|p| p.1).min().unwrap() + 1;
        assert!(
            (19..=21).contains(&rows),
            "the bar spans {rows} rows, not the 20 of MNIST's box"
        );
        let mean_x = ink.iter().map(|p| p.0).sum::<usize>() as f64 / ink.len() as f64;
        assert!((12.5..=15.5).contains(&mean_x), "centred by mass: {mean_x}");
        // Without --invert the white background is taken for ink: a block, not a thin stroke.
        let block = read_digit(&path, false)
            .unwrap()
            .iter()
            .filter(|&&p| p > INK)
            .count();
        assert!(
            block > 2 * ink.len(),
            "{block} ink pixels without --invert, {} with",
            ink.len()
        );
    }

    #[test]
    fn blank_and_unreadable_images_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let blank = save(dir.path(), "blank.png", &GrayImage::new(100, 100).into());
        let message = read_digit(&blank, false).unwrap_err().to_string();
        assert!(
            message.contains("no digit found") && message.contains("--invert"),
            "{message}"
        );
        let text = dir.path().join("notes.png");
        std::fs::write(&text, "not a picture").unwrap();
        let message = read_digit(&text, false).unwrap_err().to_string();
        assert!(
            message.contains("notes.png") && message.contains("not a readable image"),
            "{message}"
        );
        let message = read_digit(&dir.path().join("missing.png"), false)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("missing.png") && message.contains("cannot open"),
            "{message}"
        );
    }
}
