//! `zoo eval --run DIR`: reloads a run's model and evaluates it on the test set; says whether
//! the run's own figures are reproduced.

use zoo_train::config::Overrides;
use zoo_train::run::artifacts::Summary;
use zoo_train::Registry;

use super::run_config;
use crate::cli::EvalArgs;

/// Runs `zoo eval`.
pub fn run(args: EvalArgs, registry: &Registry) -> anyhow::Result<()> {
    let summary = Summary::read(&args.run).ok();
    let mut experiment = run_config(registry, &args.run)?;
    experiment.apply(&Overrides::data_dir(args.data_dir))?;
    let test = experiment.evaluate(&args.run, &args.on.placement())?;
    if let Some(summary) = summary {
        // A tagger counts tokens, the other models samples.
        let count = (summary.tagging.as_ref()).map_or(summary.test_samples, |t| t.tokens);
        let same = summary.test_correct == test.correct && count == test.count;
        println!(
            "The run's summary recorded {}/{count} correct: {}",
            summary.test_correct.map_or("-".into(), |c| c.to_string()),
            if same {
                "reproduced exactly"
            } else {
                "NOT reproduced (different data or backend?)"
            }
        );
    }
    Ok(())
}
