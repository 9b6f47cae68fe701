//! `zoo check`: whether a backend computes what Burn's CPU operations compute
//! ([`zoo_train::run::agree`]): each model's outputs on a batch of its data, then the LSTM's and GRU's
//! outputs and gradients, one line each, and exit status 1 when one disagrees. A model whose data
//! is not here is named with the reason and skipped.

use zoo_train::Registry;

use crate::cli::CheckArgs;

/// Runs `zoo check`.
#[cfg(feature = "ndarray")]
pub fn run(args: CheckArgs, registry: &Registry) -> anyhow::Result<()> {
    use zoo_train::run::agree::{Check, Outcome, RecurrentChecks, TOLERANCE};

    let placement = args.on.placement();
    placement.preflight()?;
    // On CUDA the LSTM kernel waits for this switch before training uses it; checking it is what
    // lets it.
    zoo_models::nn::fused::set_cuda_kernel(true);
    let names: Vec<String> = match args.models.is_empty() {
        true => registry
            .entries()
            .iter()
            .map(|r| r.name.to_string())
            .collect(),
        false => args.models.clone(),
    };
    let experiments = names
        .iter()
        .map(|name| registry.load(Some(name), None))
        .collect::<Result<Vec<_>, _>>()?;
    println!(
        "Checking {} against Burn's ndarray operations (same weights; agreement: relative \
         difference at most {TOLERANCE:e})",
        placement.backend
    );
    let mut checks: Vec<Check> = Vec::new();
    let mut device = None;
    for (name, experiment) in names.iter().zip(&experiments) {
        match experiment.agree(&placement)? {
            Outcome::Checked(checked) => {
                device.get_or_insert(checked.device);
                checked
                    .checks
                    .into_iter()
                    .for_each(|c| report(&c, &mut checks));
            }
            Outcome::NoData(why) => println!("  {name}: skipped, its data is not here: {why}"),
        }
    }
    let recurrent = placement.run(RecurrentChecks { quick: args.quick })?;
    (recurrent.checks)
        .into_iter()
        .for_each(|c| report(&c, &mut checks));
    let device = device.unwrap_or(recurrent.device);
    let failed: Vec<&Check> = checks.iter().filter(|c| !c.agrees()).collect();
    anyhow::ensure!(
        failed.is_empty(),
        "{} of {} checks differ on {} ({device}) from the CPU beyond {TOLERANCE:e}: {}",
        failed.len(),
        checks.len(),
        placement.backend,
        failed
            .iter()
            .map(|c| format!("{} ({}: {:e})", c.what, c.at, c.worst))
            .collect::<Vec<_>>()
            .join("; ")
    );
    println!(
        "All {} checks agree on {} ({device}).",
        checks.len(),
        placement.backend
    );
    Ok(())
}

/// Prints one check's line and keeps it.
#[cfg(feature = "ndarray")]
fn report(check: &zoo_train::run::agree::Check, checks: &mut Vec<zoo_train::run::agree::Check>) {
    let verdict = if check.agrees() { "agrees" } else { "DIFFERS" };
    println!(
        "  {:<66} {:>9.2e}  {verdict}  (worst: {})",
        check.what, check.worst, check.at
    );
    checks.push(check.clone());
}

/// Without the ndarray backend there is no reference to compare with.
#[cfg(not(feature = "ndarray"))]
pub fn run(_args: CheckArgs, _registry: &Registry) -> anyhow::Result<()> {
    anyhow::bail!(
        "`zoo check` compares with Burn's ndarray backend, which this build of zoo leaves out; \
         build it with `--features ndarray`"
    )
}
