//! `zoo data download mnist|fashion-mnist`: the four IDX archives, checked and resumable.

use std::time::Duration;

use crate::cli::DataCommand;
use crate::download;

/// Runs `zoo data ...`.
pub fn run(command: DataCommand) -> anyhow::Result<()> {
    let DataCommand::Download(args) = command;
    let mut source = download::source(&args.dataset)
        .expect("clap checked the dataset name")
        .with_mirrors(&args.mirrors);
    if let Some(file) = &args.checksums {
        source = source.with_checksums(file)?;
    }
    let dir = download::target_dir(&source, args.dir);
    download::download(&source, &dir, Duration::from_secs(args.timeout.max(1)))?;
    let dataset = match source.name {
        "fashion-mnist" => " --dataset fashion-mnist",
        _ => "",
    };
    println!(
        "{} is in {}; train on it with: cargo xtask train --data-dir {}{dataset}",
        source.name,
        dir.display(),
        dir.display()
    );
    Ok(())
}
