//! `zoo predict --pretrained mnist-cnn IMAGE...` (the zoo's shipped CNN, the same as any run's
//! `--run DIR`): a real test digit written out as PNG,
//! the same digit drawn large, dark on light and in colour (`--invert`), and unreadable files.

use std::io::Read;
use std::path::Path;

use image::{GrayImage, Luma, Rgb, RgbImage};
use zoo_tests::{mnist_sample, zoo};

/// The first `n` test digits of the embedded sample and their labels.
fn test_digits(n: usize) -> Vec<(Vec<u8>, u8)> {
    let read = |name: &str| {
        let file = std::fs::File::open(mnist_sample().join(name)).unwrap();
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(file)
            .read_to_end(&mut bytes)
            .unwrap();
        bytes
    };
    let images = read("t10k-images-idx3-ubyte.gz");
    let labels = read("t10k-labels-idx1-ubyte.gz");
    (0..n)
        .map(|i| {
            (
                images[16 + i * 784..16 + (i + 1) * 784].to_vec(),
                labels[8 + i],
            )
        })
        .collect()
}

/// The class `zoo predict` printed for `image`: `path: CLASS  (top 3)`.
fn class_of(stdout: &str, image: &Path) -> String {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(&format!("{}: ", image.display())))
        .unwrap_or_else(|| panic!("no line for {}:\n{stdout}", image.display()));
    let rest = &line[image.display().to_string().len() + 2..];
    let (class, top) = rest.split_once("  (").expect("class then top 3");
    assert_eq!(
        top.matches(", ").count(),
        2,
        "three classes with probabilities: {line}"
    );
    class.to_string()
}

#[test]
fn predict_classifies_real_and_drawn_digits_and_names_unreadable_files() {
    let tmp = tempfile::tempdir().unwrap();
    // The zoo's shipped mnist-cnn: no training first (`--run DIR` takes a run of one's own).
    let model = ["--pretrained", "mnist-cnn"];
    let mut args: Vec<String> = ["predict", model[0], model[1]].map(String::from).to_vec();
    let mut drawn_args = args.clone();
    drawn_args.push("--invert".into());
    let mut expected = Vec::new();
    for (i, (pixels, label)) in test_digits(4).into_iter().enumerate() {
        // The digit exactly as the test set holds it, 28×28 grey.
        let real = tmp.path().join(format!("real-{i}.png"));
        GrayImage::from_raw(28, 28, pixels.clone())
            .unwrap()
            .save(&real)
            .unwrap();
        // The same digit drawn at 280×280: dark red ink on white, in colour.
        let drawn = tmp.path().join(format!("drawn-{i}.png"));
        RgbImage::from_fn(280, 280, |x, y| {
            let ink = f32::from(pixels[(y / 10 * 28 + x / 10) as usize]) / 255.0;
            let shade = |white: f32, dark: f32| (white + (dark - white) * ink).round() as u8;
            Rgb([shade(255.0, 120.0), shade(255.0, 0.0), shade(255.0, 10.0)])
        })
        .save(&drawn)
        .unwrap();
        args.push(real.display().to_string());
        drawn_args.push(drawn.display().to_string());
        expected.push((real, drawn, label.to_string()));
    }
    let run_predict = |args: &[String]| {
        let out = zoo(
            tmp.path(),
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        out.assert_ok();
        out.stdout
    };
    let real_out = run_predict(&args);
    let drawn_out = run_predict(&drawn_args);
    for (real, drawn, label) in &expected {
        // The first test digits (7, 2, 1, 0) are ones a trained CNN gets right.
        assert_eq!(&class_of(&real_out, real), label, "{real_out}");
        assert_eq!(&class_of(&drawn_out, drawn), label, "{drawn_out}");
    }

    // Not an image, and a file that does not exist: one clear line each, exit 1.
    let text = tmp.path().join("notes.png");
    std::fs::write(&text, "this is not a picture").unwrap();
    for bad in [text.clone(), tmp.path().join("missing.png")] {
        let out = zoo(
            tmp.path(),
            &["predict", model[0], model[1], bad.to_str().unwrap()],
        );
        assert_eq!(out.code, Some(1), "{}", out.stderr);
        let line = out.error_line();
        assert!(line.contains(&bad.display().to_string()), "{line}");
    }
    // A blank drawing asks for --invert.
    let blank = tmp.path().join("blank.png");
    GrayImage::from_pixel(200, 200, Luma([255]))
        .save(&blank)
        .unwrap();
    let out = zoo(
        tmp.path(),
        &[
            "predict",
            model[0],
            model[1],
            "--invert",
            blank.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, Some(1));
    assert!(
        out.error_line().contains("no digit found"),
        "{}",
        out.stderr
    );
}
