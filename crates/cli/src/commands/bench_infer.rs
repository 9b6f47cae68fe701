//! The inference figures of `zoo bench --epoch`, as a user meets them: the whole process of `zoo
//! eval --run RUN` (the test set scored by a trained run) and of `zoo predict --run RUN DIGIT.png`
//! (one image), each timed from its start to its exit, against `tools/torch_predict.py` doing the
//! same with the PyTorch twin trained in the same round (the import of torch included, as in a
//! user's `python predict.py`). The two sides take turns; the least time of each is kept.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::Context;
use image::GrayImage;
use zoo_data::mnist::{MnistDataset, MnistSplit};

use super::bench_epoch::{least, ratio};
use super::compare::{figure, run_logged, tool_script};

/// One side's inference times, whole processes, seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Inference {
    /// Scoring the test set.
    pub eval: f64,
    /// Classifying one PNG (an MNIST model's; `None` for a tagger).
    pub predict: Option<f64>,
}

impl Inference {
    /// Each figure at its least of `self` and `other`.
    pub fn least(self, other: Inference) -> Inference {
        Inference {
            eval: self.eval.min(other.eval),
            predict: least(self.predict, other.predict),
        }
    }

    fn line(&self, who: &str, round: usize) -> String {
        format!(
            "[{who}] inference round {round}: eval {:.2} s, predict one image {} s (whole processes)",
            self.eval,
            figure(self.predict, 3),
        )
    }
}

/// What one model's inference turns work on.
pub struct Runs<'a> {
    /// This `zoo` binary.
    pub exe: &'a Path,
    /// The config both sides were trained with.
    pub config: &'a Path,
    /// The zoo's trained run.
    pub zoo_run: &'a Path,
    /// PyTorch's trained run (`tools/torch_reference.py --out`), if PyTorch took part.
    pub torch_run: Option<&'a Path>,
    /// The dataset folder.
    pub data_dir: Option<PathBuf>,
    /// Where the logs and the PNG go.
    pub dir: &'a Path,
}

impl Runs<'_> {
    /// `rounds` turns of the zoo's then PyTorch's processes; the least times of each side.
    pub fn take(&self, rounds: usize) -> anyhow::Result<(Inference, Option<Inference>)> {
        let digit = self.digit_png()?;
        let (mut zoo, mut torch) = (None::<Inference>, None::<Inference>);
        for round in 1..=rounds {
            let side = self.time("zoo", round, digit.as_deref(), |args| {
                let mut command = Command::new(self.exe);
                command.args(args).arg("--run").arg(self.zoo_run);
                if let (Some(data), true) = (&self.data_dir, args[0] == "eval") {
                    command.arg("--data-dir").arg(data);
                }
                Ok(command)
            })?;
            println!("{}", side.line("zoo", round));
            zoo = Some(zoo.map_or(side, |kept| kept.least(side)));
            let Some(torch_run) = self.torch_run else {
                continue;
            };
            let side = self.time("torch", round, digit.as_deref(), |args| {
                let mut command = Command::new("python3");
                command.arg(tool_script("torch_predict.py")?);
                command
                    .arg("--config")
                    .arg(self.config)
                    .arg("--run")
                    .arg(torch_run);
                if args[0] == "eval" {
                    command.arg("--eval");
                    if let Some(data) = &self.data_dir {
                        command.arg("--data-dir").arg(data);
                    }
                }
                command.args(&args[1..]);
                Ok(command)
            })?;
            println!("{}", side.line("torch", round));
            torch = Some(torch.map_or(side, |kept| kept.least(side)));
        }
        Ok((zoo.expect("at least one round"), torch))
    }

    /// One side's turn: the eval process, then the predict process of `digit`, each timed whole.
    /// `command` makes the side's process from `["eval"]` or `["predict", PNG]`.
    fn time(
        &self,
        who: &str,
        round: usize,
        digit: Option<&Path>,
        command: impl Fn(&[&str]) -> anyhow::Result<Command>,
    ) -> anyhow::Result<Inference> {
        let timed = |args: &[&str]| -> anyhow::Result<f64> {
            let log = self.dir.join(format!("{who}-{}-{round}.log", args[0]));
            let start = Instant::now();
            run_logged(command(args)?, &log)
                .with_context(|| format!("{who}'s {} failed", args[0]))?;
            Ok(start.elapsed().as_secs_f64())
        };
        let eval = timed(&["eval"])?;
        let predict = match digit {
            Some(png) => Some(timed(&["predict", &png.display().to_string()])?),
            None => None,
        };
        Ok(Inference { eval, predict })
    }

    /// The first test image of an MNIST folder, written as a 28×28 grey PNG into `dir`; `None`
    /// where the data is not MNIST's (a tagger's treebank).
    fn digit_png(&self) -> anyhow::Result<Option<PathBuf>> {
        let Some(data) = &self.data_dir else {
            return Ok(None);
        };
        let Ok(test) = MnistDataset::open(data, MnistSplit::Test) else {
            return Ok(None);
        };
        let png = self.dir.join("digit.png");
        GrayImage::from_raw(28, 28, test.pixels(0).to_vec())
            .context("an MNIST image is 28×28")?
            .save(&png)
            .with_context(|| format!("cannot write {}", png.display()))?;
        Ok(Some(png))
    }
}

/// The inference table: per model, both sides' whole-process times of scoring the test set
/// (with samples per second) and of classifying one image, and the ratios.
pub fn markdown(rows: &[(String, usize, Inference, Option<Inference>)]) -> String {
    let mut table = String::from(
        "Inference, whole processes from start to exit (least of the rounds): `zoo eval --run` \
         against `python3 tools/torch_predict.py --eval` over the test set, `zoo predict --run` \
         against `python3 tools/torch_predict.py` of one 28×28 PNG\n\n\
         | model | zoo eval s (samples/s) | PyTorch eval s (samples/s) | eval ratio \
         | zoo predict s | PyTorch predict s | predict ratio |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    let with_rate = |seconds: f64, samples: usize| {
        format!("{seconds:.2} ({:.0})", samples as f64 / seconds.max(1e-9))
    };
    for (model, samples, zoo, torch) in rows {
        table.push_str(&format!(
            "| {model} | {} | {} | {} | {} | {} | {} |\n",
            with_rate(zoo.eval, *samples),
            torch.map_or("-".into(), |t| with_rate(t.eval, *samples)),
            ratio(Some(zoo.eval), torch.map(|t| t.eval)),
            figure(zoo.predict, 3),
            figure(torch.and_then(|t| t.predict), 3),
            ratio(zoo.predict, torch.and_then(|t| t.predict)),
        ));
    }
    table
}
