//! `zoo import --model NAME --from FILE.pt`: a PyTorch state_dict becomes a run folder.

use zoo_train::config::Overrides;
use zoo_train::data::VocabFlags;
use zoo_train::run::artifacts::new_run_dir;
use zoo_train::run::import::ImportSource;
use zoo_train::Registry;

use crate::cli::ImportArgs;

/// Runs `zoo import`.
pub fn run(args: ImportArgs, registry: &Registry) -> anyhow::Result<()> {
    let mut experiment = registry.load(args.model.as_deref(), args.config.as_deref())?;
    experiment.apply(&Overrides::data_dir(args.data_dir))?;
    experiment.pin_data_dir();
    let placement = args.on.placement();
    placement.preflight()?;
    let name = format!("{}-import", experiment.model_name());
    let existed = args.out.as_deref().is_some_and(std::path::Path::exists);
    let dir = new_run_dir(args.out.as_deref(), &name)?;
    let vocab = VocabFlags {
        words: args.vocab_words,
        tags: args.vocab_tags,
    };
    let source = ImportSource {
        weights: &args.from,
        renames: &args.rename,
        vocab: &vocab,
    };
    let imported = experiment.import(source, &dir, &placement);
    if imported.is_err() && !existed {
        // A failed import leaves no empty run folder behind (one it wrote files into stays).
        let _ = std::fs::remove_dir(&dir);
    }
    imported.map(|_| ())
}
