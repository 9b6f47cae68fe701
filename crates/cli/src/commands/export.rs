//! `zoo export --run DIR --out FILE.safetensors [--rename FROM=TO ...]`: a run's weights for
//! PyTorch.

use zoo_train::Registry;

use super::run_config;
use crate::cli::ExportArgs;

/// Runs `zoo export`.
pub fn run(args: ExportArgs, registry: &Registry) -> anyhow::Result<()> {
    let folder = args.model.folder()?;
    let experiment = run_config(registry, &folder.path)?;
    let placement = args.on.placement();
    placement.preflight()?;
    let exported = experiment.export(&folder.path, &args.out, &args.rename, &placement)?;
    let tensors = exported.tensors;
    let what = match folder.shipped {
        Some(shipped) => format!("the shipped {}", shipped.name),
        None => folder.path.display().to_string(),
    };
    println!(
        "Exported {} tensors of {what} to {}:",
        tensors.len(),
        args.out.display()
    );
    for tensor in &tensors {
        println!("  {} {:?}", tensor.name, tensor.shape);
    }
    for file in &exported.beside {
        println!("Wrote {} beside it", file.display());
    }
    println!(
        "In PyTorch: model.load_state_dict(safetensors.torch.load_file(\"{}\"), strict=True)",
        args.out.display()
    );
    Ok(())
}
