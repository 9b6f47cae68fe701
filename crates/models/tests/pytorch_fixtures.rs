//! `zoo_models::nn::{Lstm, Gru}` against PyTorch's `nn.LSTM` / `nn.GRU`: outputs, final states and
//! the gradients of `output.sum() + h_n.sum() [+ c_n.sum()]` with respect to the input, the given
//! initial state and every weight, from the fixtures `tools/make_fixtures.py` writes (packed
//! batches through `pack_padded_sequence` among them, and `mnist-gru`'s own shape).

use std::collections::BTreeMap;
use std::path::Path;

use burn::backend::{Autodiff, NdArray};
use burn::module::Param;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use serde::Deserialize;
use zoo_models::nn::{GateWeights, GruConfig, LstmConfig, LstmState, RnnLayer};

type B = Autodiff<NdArray>;

#[derive(Deserialize)]
struct Array {
    shape: Vec<usize>,
    values: Vec<f32>,
}

impl Array {
    fn tensor<const D: usize>(&self) -> Tensor<B, D> {
        Tensor::from_data(
            TensorData::new(self.values.clone(), self.shape.clone()),
            &Default::default(),
        )
    }
}

#[derive(Deserialize)]
struct Fixture {
    kind: String,
    /// Each sequence's length, for a packed batch.
    #[serde(default)]
    lengths: Option<Vec<usize>>,
    input_size: usize,
    hidden_size: usize,
    num_layers: usize,
    bias: bool,
    batch_first: bool,
    bidirectional: bool,
    params: BTreeMap<String, Array>,
    input: Array,
    h0: Option<Array>,
    c0: Option<Array>,
    output: Array,
    h_n: Array,
    c_n: Option<Array>,
    grads: BTreeMap<String, Array>,
}

fn fixtures() -> Vec<(String, Fixture)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut all: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}; run tools/make_fixtures.py", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (
                p.file_stem().unwrap().to_string_lossy().into_owned(),
                serde_json::from_str(&text).unwrap(),
            )
        })
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(
        all.len() >= 8,
        "expected the 8 fixtures of tools/make_fixtures.py, found {}",
        all.len()
    );
    all
}

/// Copies PyTorch's `weight_ih_l{k}[_reverse]`, … into the zoo's layers.
fn load(layers: &mut [RnnLayer<B>], params: &BTreeMap<String, Array>) {
    for (k, layer) in layers.iter_mut().enumerate() {
        let set = |weights: &mut GateWeights<B>, suffix: &str| {
            let get = |name: &str| &params[&format!("{name}_l{k}{suffix}")];
            weights.weight_ih = Param::from_tensor(get("weight_ih").tensor());
            weights.weight_hh = Param::from_tensor(get("weight_hh").tensor());
            if weights.bias_ih.is_some() {
                weights.bias_ih = Some(Param::from_tensor(get("bias_ih").tensor()));
                weights.bias_hh = Some(Param::from_tensor(get("bias_hh").tensor()));
            }
        };
        set(&mut layer.forward, "");
        if let Some(reverse) = layer.reverse.as_mut() {
            set(reverse, "_reverse");
        }
    }
}

/// The gradient of the zoo's parameter named as PyTorch names it, flattened.
fn grad_of(
    layers: &[RnnLayer<B>],
    name: &str,
    grads: &<B as AutodiffBackend>::Gradients,
) -> Tensor<NdArray, 1> {
    let (field, rest) = name.rsplit_once("_l").unwrap();
    let (k, reverse) = match rest.strip_suffix("_reverse") {
        Some(k) => (k, true),
        None => (rest, false),
    };
    let layer = &layers[k.parse::<usize>().unwrap()];
    let w = if reverse {
        layer.reverse.as_ref().unwrap()
    } else {
        &layer.forward
    };
    let grad = match field {
        "weight_ih" => w.weight_ih.val().grad(grads).map(|g| g.flatten(0, 1)),
        "weight_hh" => w.weight_hh.val().grad(grads).map(|g| g.flatten(0, 1)),
        "bias_ih" => w.bias_ih.as_ref().unwrap().val().grad(grads),
        "bias_hh" => w.bias_hh.as_ref().unwrap().val().grad(grads),
        other => panic!("unknown parameter {other}"),
    };
    grad.unwrap_or_else(|| panic!("no gradient for {name}"))
}

fn max_diff<const D: usize>(ours: Tensor<NdArray, D>, theirs: &Array) -> f32 {
    assert_eq!(ours.dims().to_vec(), theirs.shape);
    let ours = ours.into_data().to_vec::<f32>().unwrap();
    ours.iter()
        .zip(&theirs.values)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

/// 1e-4 of the gradient's largest element (at least 1e-4): relative, since a gradient summed over
/// many steps and sequences is large.
fn gradient_tolerance(expected: &Array) -> f32 {
    let largest = expected.values.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    1e-4 * largest.max(1.0)
}

#[test]
fn every_fixture_matches_pytorch_forward_and_backward() {
    for (name, f) in fixtures() {
        let device = Default::default();
        let input: Tensor<B, 3> = f.input.tensor::<3>().require_grad();
        let h0: Option<Tensor<B, 3>> = f.h0.as_ref().map(|h| h.tensor::<3>().require_grad());
        let c0: Option<Tensor<B, 3>> = f.c0.as_ref().map(|c| c.tensor::<3>().require_grad());
        let lengths = f.lengths.as_deref();
        let (output, h_n, c_n, layers) = if f.kind == "lstm" {
            let mut lstm = LstmConfig::new(f.input_size, f.hidden_size)
                .with_num_layers(f.num_layers)
                .with_bias(f.bias)
                .with_batch_first(f.batch_first)
                .with_bidirectional(f.bidirectional)
                .init::<B>(&device);
            load(&mut lstm.layers, &f.params);
            let state = h0.clone().map(|hidden| LstmState {
                hidden,
                cell: c0.clone().unwrap(),
            });
            let (output, state) = match lengths {
                Some(lengths) => lstm.forward_packed(input.clone(), lengths, state),
                None => lstm.forward(input.clone(), state),
            };
            (output, state.hidden, Some(state.cell), lstm.layers)
        } else {
            let mut gru = GruConfig::new(f.input_size, f.hidden_size)
                .with_num_layers(f.num_layers)
                .with_bias(f.bias)
                .with_batch_first(f.batch_first)
                .with_bidirectional(f.bidirectional)
                .init::<B>(&device);
            load(&mut gru.layers, &f.params);
            let (output, h_n) = match lengths {
                Some(lengths) => gru.forward_packed(input.clone(), lengths, h0.clone()),
                None => gru.forward(input.clone(), h0.clone()),
            };
            (output, h_n, None, gru.layers)
        };
        let forward = [
            max_diff(output.clone().inner(), &f.output),
            max_diff(h_n.clone().inner(), &f.h_n),
            (c_n.clone()).map_or(0.0, |c| max_diff(c.inner(), f.c_n.as_ref().unwrap())),
        ];
        assert!(
            forward.iter().all(|&d| d <= 1e-5),
            "{name}: forward differs by {forward:?}"
        );

        let mut worst_grad = 0.0f32;
        let mut loss = output.sum() + h_n.sum();
        if let Some(c_n) = c_n {
            loss = loss + c_n.sum();
        }
        let grads = loss.backward();
        let states = [
            ("input", Some(&input)),
            ("h0", h0.as_ref()),
            ("c0", c0.as_ref()),
        ];
        for (what, tensor) in states {
            let (Some(tensor), Some(expected)) = (tensor, f.grads.get(what)) else {
                continue;
            };
            let d = max_diff(tensor.grad(&grads).unwrap(), expected);
            assert!(
                d <= gradient_tolerance(expected),
                "{name}: gradient of {what} differs by {d}"
            );
            worst_grad = worst_grad.max(d);
        }
        let is_state = |k: &str| ["input", "h0", "c0"].contains(&k);
        for (pname, expected) in f.grads.iter().filter(|(k, _)| !is_state(k)) {
            let ours = grad_of(&layers, pname, &grads);
            let flat = Array {
                shape: vec![expected.values.len()],
                values: expected.values.clone(),
            };
            let d = max_diff(ours, &flat);
            assert!(
                d <= gradient_tolerance(expected),
                "{name}: gradient of {pname} differs by {d}"
            );
            worst_grad = worst_grad.max(d);
        }
        // Shown with --nocapture: the figures the issue's bar is measured by.
        let worst_forward = forward.iter().copied().fold(0.0, f32::max);
        println!("{name}: forward max abs error {worst_forward:.1e}, gradients {worst_grad:.1e}");
    }
}

#[cfg(feature = "import")]
#[test]
fn state_dict_files_load_by_name_and_give_pytorchs_outputs() {
    use zoo_models::import::load_pytorch;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for (name, f) in fixtures() {
        let device = Default::default();
        let file = dir.join(format!("{name}.pt"));
        let input: Tensor<B, 3> = f.input.tensor();
        let (output, h_n) = if f.kind == "lstm" {
            let lstm = LstmConfig::new(f.input_size, f.hidden_size)
                .with_num_layers(f.num_layers)
                .with_bias(f.bias)
                .with_batch_first(f.batch_first)
                .with_bidirectional(f.bidirectional)
                .init::<B>(&device);
            let lstm = load_pytorch(lstm, &file, &[]).unwrap_or_else(|e| panic!("{e}"));
            let state = f.h0.as_ref().map(|h0| LstmState {
                hidden: h0.tensor(),
                cell: f.c0.as_ref().unwrap().tensor(),
            });
            let (output, state) = match f.lengths.as_deref() {
                Some(lengths) => lstm.forward_packed(input, lengths, state),
                None => lstm.forward(input, state),
            };
            (output, state.hidden)
        } else {
            let gru = GruConfig::new(f.input_size, f.hidden_size)
                .with_num_layers(f.num_layers)
                .with_bias(f.bias)
                .with_batch_first(f.batch_first)
                .with_bidirectional(f.bidirectional)
                .init::<B>(&device);
            let gru = load_pytorch(gru, &file, &[]).unwrap_or_else(|e| panic!("{e}"));
            let h0 = f.h0.as_ref().map(|h| h.tensor());
            match f.lengths.as_deref() {
                Some(lengths) => gru.forward_packed(input, lengths, h0),
                None => gru.forward(input, h0),
            }
        };
        let d = max_diff(output.inner(), &f.output).max(max_diff(h_n.inner(), &f.h_n));
        assert!(
            d <= 1e-5,
            "{name}: imported weights give outputs {d} away from PyTorch's"
        );
    }
}

#[cfg(feature = "import")]
#[test]
fn a_state_dict_that_does_not_fit_lists_every_problem() {
    use zoo_models::import::load_pytorch;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let device = Default::default();
    // lstm_1layer.pt is nn.LSTM(5, 4): ask for two layers of 6 units.
    let file = dir.join("lstm_1layer.pt");
    let wrong = LstmConfig::new(5, 6).with_num_layers(2).init::<B>(&device);
    let err = load_pytorch(wrong, &file, &[]).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "{}: the state_dict does not fit the model:",
            file.display()
        )),
        "{err}"
    );
    // PyTorch's names, the model's in its order, with their shapes.
    assert!(
        err.contains(
            "missing from the file (4): weight_ih_l1 [24, 6], weight_hh_l1 [24, 6], \
             bias_ih_l1 [24], bias_hh_l1 [24];"
        ),
        "{err}"
    );
    assert!(
        err.contains("weight_ih_l0: model [24, 5], file [16, 5]"),
        "{err}"
    );

    // A file with a layer the model lacks.
    let three = dir.join("lstm_3layers_batch_first.pt");
    let err = load_pytorch(LstmConfig::new(5, 4).init::<B>(&device), &three, &[])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not in the model (8): bias_hh_l1 [16], bias_hh_l2 [16],"),
        "{err}"
    );

    // A truncated file and a missing one.
    let tmp = std::env::temp_dir().join(format!("zoo-import-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let cut = tmp.join("cut.pt");
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let err = load_pytorch(LstmConfig::new(5, 4).init::<B>(&device), &cut, &[])
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "{}: cannot read it as a PyTorch state_dict",
            cut.display()
        )),
        "{err}"
    );
    let gone = tmp.join("gone.pt");
    let err = load_pytorch(LstmConfig::new(5, 4).init::<B>(&device), &gone, &[])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("gone.pt: cannot read it") && err.contains("no such file"),
        "{err}"
    );
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// Seed 004's `CNN` (tests/fixtures/seeds, tools/make_seed_checkpoints.py) into `SmallCnn` with
/// renames, and out again with the inverse renames: every tensor of the exported file is the
/// PyTorch file's, same name, shape and bits.
#[cfg(feature = "import")]
#[test]
fn import_then_export_gives_pytorchs_tensors_back_bit_for_bit() {
    use zoo_models::SmallCnnConfig;
    use zoo_models::import::{Rename, load_pytorch, to_safetensors};
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/seeds/seed004_cnn.pt");
    let rules =
        |rules: &[&str]| -> Vec<Rename> { rules.iter().map(|r| r.parse().unwrap()).collect() };
    let device = Default::default();
    let model = SmallCnnConfig::new().init::<NdArray>(&device);
    let model = load_pytorch(model, &file, &rules(&[r"^conv(\d)\.0\.=conv$1."])).unwrap();
    let bytes = to_safetensors(&model, &rules(&[r"^conv(\d)\.=conv$1.0."])).unwrap();
    let exported = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let original = burn_store::pytorch::PytorchReader::new(&file)
        .unwrap()
        .into_tensors();
    let mut names: Vec<&str> = exported.names();
    names.sort();
    let mut expected: Vec<&str> = original.keys().map(String::as_str).collect();
    expected.sort();
    assert_eq!(names, expected);
    for (name, snapshot) in &original {
        let view = exported.tensor(name).unwrap();
        assert_eq!(view.shape(), snapshot.shape.as_slice(), "{name}");
        let data = snapshot.to_data().unwrap();
        assert_eq!(view.data(), data.as_bytes(), "{name}: other bits");
    }
}
