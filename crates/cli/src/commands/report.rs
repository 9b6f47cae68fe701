//! `zoo report RUN...`: finished runs side by side in one self-contained HTML page.

use crate::cli::ReportArgs;
use crate::report::{self, Entry};

/// Runs `zoo report`.
pub fn run(args: ReportArgs) -> anyhow::Result<()> {
    let entries = (args.runs.iter())
        .map(|dir| Entry::from_run(dir))
        .collect::<anyhow::Result<Vec<_>>>()?;
    report::write(&args.out, &args.title, &entries)?;
    println!("Report of {} runs: {}", entries.len(), args.out.display());
    Ok(())
}
