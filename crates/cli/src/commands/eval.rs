//! `zoo eval --run DIR` (or `--pretrained NAME`): reloads a trained model and evaluates it on the
//! test set; says whether the run's own figures (or the shipped model's) are reproduced.

use zoo_train::config::Overrides;
use zoo_train::run::artifacts::Summary;
use zoo_train::Registry;

use super::run_config;
use crate::cli::EvalArgs;
use crate::pretrained::score;

/// Runs `zoo eval`.
pub fn run(args: EvalArgs, registry: &Registry) -> anyhow::Result<()> {
    let folder = args.model.folder()?;
    let mut experiment = run_config(registry, &folder.path)?;
    experiment.apply(&Overrides::data_dir(args.data_dir))?;
    let test = experiment.evaluate(&folder.path, &args.on.placement())?;
    // What the run (or the shipped model) recorded: correct answers and their count (a tagger
    // counts tokens, the other models samples).
    let recorded = match folder.shipped {
        Some(shipped) => {
            let score = score(shipped)?;
            Some((
                "The shipped model's score",
                Some(score.correct),
                score.count,
            ))
        }
        None => Summary::read(&folder.path).ok().map(|summary| {
            let count = (summary.tagging.as_ref()).map_or(summary.test_samples, |t| t.tokens);
            ("The run's summary", summary.test_correct, count)
        }),
    };
    if let Some((whose, correct, count)) = recorded {
        let same = correct == test.correct && count == test.count;
        println!(
            "{whose} recorded {}/{count} correct: {}",
            correct.map_or("-".into(), |c| c.to_string()),
            if same {
                "reproduced exactly"
            } else {
                "NOT reproduced (different data or backend?)"
            }
        );
    }
    Ok(())
}
