//! `zoo eval --run DIR` (or `--pretrained NAME`): reloads a trained model and evaluates it on the
//! test set; says whether the run's own figures (or the shipped model's) are reproduced, and
//! with `--predictions FILE` writes every test sample's answer.

use anyhow::Context;
use zoo_train::config::Overrides;
use zoo_train::run::artifacts::{write_atomic, Summary};
use zoo_train::task::{Answer, Tally};
use zoo_train::Registry;

use super::run_config;
use crate::cli::EvalArgs;
use crate::pretrained::{score, RunFolder};

/// Runs `zoo eval`.
pub fn run(args: EvalArgs, registry: &Registry) -> anyhow::Result<()> {
    let folder = args.model.folder()?;
    let mut experiment = run_config(registry, &folder.path)?;
    experiment.apply(&Overrides::data_dir(args.data_dir))?;
    let evaluation = experiment.evaluate(
        &folder.path,
        &args.on.placement(),
        args.predictions.is_some(),
    )?;
    let test = &evaluation.tally;
    let recorded = recorded(&folder)?;
    if let Some(recorded) = recorded {
        println!("{}", recorded.against(test));
    }
    if let (Some(path), Some(answers)) = (&args.predictions, &evaluation.answers) {
        if answers.iter().any(|a| matches!(a, Answer::Tags(_))) {
            anyhow::bail!(
                "--predictions {}: a tagger's test sentences are scored in batches sorted by \
                 length, not in the file's order; for its tags sentence by sentence use `zoo \
                 predict --run RUN --format conllu --file TEST.conllu`",
                path.display()
            );
        }
        let mut lines: String = (answers.iter())
            .map(|answer| answer.record(&evaluation.classes))
            .collect::<Vec<_>>()
            .join("\n");
        lines.push('\n');
        write_atomic(path, lines.as_bytes())
            .with_context(|| format!("--predictions {}", path.display()))?;
        println!(
            "Answers of the {} test samples: {}",
            answers.len(),
            path.display()
        );
    }
    Ok(())
}

/// What the run in `folder` (or the shipped model) recorded of its test set, where it did.
pub(crate) fn recorded(folder: &RunFolder) -> anyhow::Result<Option<Recorded>> {
    Ok(match folder.shipped {
        Some(shipped) => {
            let score = score(shipped)?;
            Some(Recorded {
                whose: "The shipped model's score",
                correct: Some(score.correct),
                count: score.count,
                loss: None,
            })
        }
        None => Summary::read(&folder.path).ok().map(|summary| Recorded {
            whose: "The run's summary",
            correct: summary.test_correct,
            // A tagger counts tokens, the other models samples.
            count: (summary.tagging.as_ref()).map_or(summary.test_samples, |t| t.tokens),
            loss: Some(summary.test_loss),
        }),
    })
}

/// What a run (or a shipped model) recorded of its test set.
pub(crate) struct Recorded {
    whose: &'static str,
    pub(crate) correct: Option<usize>,
    pub(crate) count: usize,
    /// The mean test loss, where recorded: what a model without an accuracy (the regression) is
    /// scored by.
    pub(crate) loss: Option<f64>,
}

impl Recorded {
    /// `<whose> recorded 9545/10000 correct: reproduced exactly`, or `NOT reproduced`; a model
    /// without an accuracy is held to its recorded mean loss.
    fn against(&self, test: &Tally) -> String {
        let (figure, same) = match (self.correct, self.loss) {
            (None, Some(loss)) => (
                format!("a mean loss of {loss:.6} over {}", self.count),
                loss == test.mean_loss() && self.count == test.count,
            ),
            (correct, _) => (
                format!(
                    "{}/{} correct",
                    correct.map_or("-".into(), |c| c.to_string()),
                    self.count
                ),
                correct == test.correct && self.count == test.count,
            ),
        };
        let verdict = if same {
            "reproduced exactly"
        } else {
            "NOT reproduced (different data or backend?)"
        };
        format!("{} recorded {figure}: {verdict}", self.whose)
    }
}
