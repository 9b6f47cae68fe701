//! `zoo predict --run DIR INPUT...`: a trained run's answer to each input, one line each.

use zoo_train::data::PredictFlags;
use zoo_train::Registry;

use super::run_config;
use crate::cli::{AnswerFormat, PredictArgs};

/// Runs `zoo predict`.
pub fn run(args: PredictArgs, registry: &Registry) -> anyhow::Result<()> {
    let inputs = match &args.file {
        None => args.inputs,
        Some(path) => {
            let text = if path.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())
                    .map_err(|e| anyhow::anyhow!("cannot read standard input: {e}"))?
            } else {
                std::fs::read_to_string(path).map_err(|e| {
                    anyhow::anyhow!("{}: cannot read the inputs: {e}", path.display())
                })?
            };
            text.lines().map(str::to_string).collect()
        }
    };
    let folder = args.model.folder()?;
    let experiment = run_config(registry, &folder.path)?;
    let flags = PredictFlags {
        invert: args.invert,
        conllu: args.format == AnswerFormat::Conllu,
        split: false,
    };
    let lines = experiment.predict(&folder.path, &inputs, &flags, &args.on.placement())?;
    for line in lines {
        // A CoNLL-U sentence ends with its blank line; an input that is no sentence is left out.
        if !(flags.conllu && line.is_empty()) {
            println!("{line}");
        }
    }
    Ok(())
}
