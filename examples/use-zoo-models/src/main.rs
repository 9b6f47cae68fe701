//! Uses `zoo-models` the way another project would, with nothing but `zoo-models` and `burn`:
//!
//! 1. builds `mnist-lstm`'s [`MnistLstm`] and runs it on a batch of images;
//! 2. builds a PyTorch-compatible [`Lstm`](zoo_models::nn::Lstm) for shapes of its own (bidirectional, 2 layers,
//!    batch-first) and runs it on padded sequences of different lengths;
//! 3. with a path argument, loads the `model.mpk` of a `zoo train --model mnist-lstm` run (default
//!    config) and classifies with the trained weights.
//!
//! ```text
//! cargo run --release -p use-zoo-models [-- runs/mnist-lstm-.../model.mpk]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use burn::backend::NdArray;
use burn::module::Module;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder};
use burn::tensor::{Distribution, Tensor};
use zoo_models::nn::LstmConfig;
use zoo_models::{MnistLstm, MnistLstmConfig};

type B = NdArray;

fn main() -> ExitCode {
    match run(std::env::args_os().nth(1).map(PathBuf::from)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(model_file: Option<PathBuf>) -> Result<(), String> {
    let device = Default::default();

    // 1. A zoo model from its config: images [batch, 28 rows, 28 columns] → logits [batch, 10].
    let config = MnistLstmConfig::new();
    let model: MnistLstm<B> = config.init(&device);
    let images = Tensor::<B, 3>::random([4, 28, 28], Distribution::Normal(0.0, 1.0), &device);
    let logits = model.forward(images.clone());
    println!(
        "MnistLstm ({} parameters): images {:?} -> logits {:?}",
        model.num_params(),
        images.dims(),
        logits.dims()
    );

    // 2. The LSTM layer for shapes of our own, with nn.LSTM's arguments.
    let lstm = LstmConfig::new(6, 32)
        .with_num_layers(2)
        .with_bidirectional(true)
        .with_batch_first(true)
        .init::<B>(&device);
    let sequences = Tensor::<B, 3>::random([3, 12, 6], Distribution::Default, &device);
    let (outputs, state) = lstm.forward_packed(sequences.clone(), &[12, 7, 3], None);
    println!(
        "Lstm 6->32, 2 layers, bidirectional: sequences {:?} (lengths 12, 7, 3) -> outputs {:?}, h_n {:?}, c_n {:?}",
        sequences.dims(),
        outputs.dims(),
        state.hidden.dims(),
        state.cell.dims()
    );

    // 3. A trained run's weights.
    if let Some(file) = model_file {
        let fresh = model.num_params();
        let trained = MnistLstmConfig::new()
            .init::<B>(&device)
            .load_file(
                &file,
                &NamedMpkFileRecorder::<FullPrecisionSettings>::new(),
                &device,
            )
            .map_err(|e| format!("cannot load {}: {e}", file.display()))?;
        if trained.num_params() != fresh {
            return Err(format!(
                "{} holds {} parameters, the default mnist-lstm has {fresh}: pass the model.mpk of a run of the default config",
                file.display(),
                trained.num_params()
            ));
        }
        let classes = trained.forward(images).argmax(1).flatten::<1>(0, 1);
        println!(
            "Loaded {} ({} parameters); classes of the 4 random images: {:?}",
            file.display(),
            trained.num_params(),
            classes.into_data().to_vec::<i64>().unwrap_or_default()
        );
    }
    Ok(())
}
