//! Property tests of the binary readers of weights on damaged files: a run's `model.mpk`
//! (`zoo_train::run::load_weights`), PyTorch `.pt` and `.safetensors` files
//! (`zoo_models::import::file_tensors`). Real files, cut short, with bytes overwritten, inserted
//! or appended anywhere: each is read or refused, never a panic, and never an allocation larger
//! than the file (a length or shape in a header is never what decides one).
//!
//! proptest over real files rather than cargo-fuzz over raw bytes: the readers sit behind Burn and
//! burn-store, which a fuzzing build would instrument and rebuild whole (minutes on 2 cores), and
//! a damaged real file reaches deeper into their formats than random bytes. The case count is
//! bounded (64 a property), so CI's time is.

use std::path::Path;

use burn::backend::NdArray;
use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Recorder};
use burn::tensor::Tensor;
use proptest::prelude::*;
use zoo_models::{Mlp, MlpConfig};
use zoo_tests::alloc::{largest_allocation, CountingAllocator};
use zoo_tests::workspace;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

type B = NdArray;

/// What a read may allocate at once beside the file itself: buffers, names, messages.
const OVERHEAD: usize = 64 * 1024;

/// A damage done to a file.
#[derive(Debug, Clone)]
enum Damage {
    /// Cut at this place.
    Cut(prop::sample::Index),
    /// These bytes overwritten.
    Overwrite(Vec<(prop::sample::Index, u8)>),
    /// A byte inserted here.
    Insert(prop::sample::Index, u8),
    /// Bytes appended.
    Append(Vec<u8>),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        any::<prop::sample::Index>().prop_map(Damage::Cut),
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)
            .prop_map(Damage::Overwrite),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Damage::Insert(i, b)),
        proptest::collection::vec(any::<u8>(), 1..64).prop_map(Damage::Append),
    ]
}

fn damaged(mut bytes: Vec<u8>, damage: &Damage) -> Vec<u8> {
    match damage {
        Damage::Cut(at) => bytes.truncate(at.index(bytes.len() + 1)),
        Damage::Overwrite(places) => {
            for (at, byte) in places {
                let i = at.index(bytes.len());
                bytes[i] = *byte;
            }
        }
        Damage::Insert(at, byte) => bytes.insert(at.index(bytes.len() + 1), *byte),
        Damage::Append(tail) => bytes.extend(tail),
    }
    bytes
}

/// `classification`'s network with fresh weights, as a `model.mpk` the zoo writes holds it.
fn model_mpk() -> Vec<u8> {
    let model = MlpConfig::classification().init::<B>(&Default::default());
    let recorder = NamedMpkBytesRecorder::<FullPrecisionSettings>::default();
    Recorder::<B>::record(&recorder, burn::module::Module::into_record(model), ()).unwrap()
}

/// Writes `bytes` to `dir/name` and returns the path.
fn file(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_damaged_model_mpk_loads_whole_or_is_refused_by_name(damage in damage()) {
        let dir = tempfile::tempdir().unwrap();
        let bytes = damaged(model_mpk(), &damage);
        let path = file(dir.path(), "model.mpk", &bytes);
        // The first whole load of a process sets up what every later one reuses (a buffer of
        // Burn's CPU backend), whatever the file: done before measuring.
        let whole = file(dir.path(), "whole.mpk", &model_mpk());
        let model: Mlp<B> = MlpConfig::classification().init(&Default::default());
        zoo_train::run::load_weights(model, &whole, &Default::default()).unwrap();
        let model: Mlp<B> = MlpConfig::classification().init(&Default::default());
        let (loaded, largest) =
            largest_allocation(|| zoo_train::run::load_weights(model, &path, &Default::default()));
        prop_assert!(largest <= bytes.len() + OVERHEAD, "{largest} bytes at once for a {}-byte file", bytes.len());
        match loaded {
            // Damage the decoder cannot see (a weight's bytes changed): the model runs.
            Ok(model) => {
                let logits = model.forward(Tensor::<B, 2>::zeros([3, 2], &Default::default()));
                prop_assert_eq!(logits.dims(), [3, 2]);
            }
            Err(err) => {
                let line = format!("{err:#}");
                prop_assert!(line.contains("model.mpk") && !line.contains('\n'), "{}", line);
            }
        }
    }

    #[test]
    fn a_damaged_pytorch_file_is_read_or_refused_by_name(damage in damage()) {
        let dir = tempfile::tempdir().unwrap();
        let real = std::fs::read(workspace().join("tests/fixtures/seeds/seed004_rnn.pt")).unwrap();
        let bytes = damaged(real, &damage);
        let path = file(dir.path(), "weights.pt", &bytes);
        let (read, largest) = largest_allocation(|| zoo_models::import::file_tensors(&path, &[]));
        prop_assert!(largest <= bytes.len() + OVERHEAD, "{largest} bytes at once for a {}-byte file", bytes.len());
        if let Err(err) = read {
            prop_assert!(err.to_string().contains("weights.pt"), "{}", err);
        }
    }

    #[test]
    fn a_damaged_safetensors_file_is_read_or_refused_by_name(damage in damage()) {
        let dir = tempfile::tempdir().unwrap();
        let model: Mlp<B> = MlpConfig::classification().init(&Default::default());
        let real = zoo_models::import::to_safetensors(&model, &[]).unwrap();
        let bytes = damaged(real, &damage);
        let path = file(dir.path(), "weights.safetensors", &bytes);
        let (read, largest) = largest_allocation(|| zoo_models::import::file_tensors(&path, &[]));
        prop_assert!(largest <= bytes.len() + OVERHEAD, "{largest} bytes at once for a {}-byte file", bytes.len());
        if let Err(err) = read {
            prop_assert!(err.to_string().contains("weights.safetensors"), "{}", err);
        }
    }
}

#[test]
fn the_undamaged_files_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(dir.path(), "model.mpk", &model_mpk());
    let model: Mlp<B> = MlpConfig::classification().init(&Default::default());
    assert!(zoo_train::run::load_weights(model, &path, &Default::default()).is_ok());
    let pt = workspace().join("tests/fixtures/seeds/seed004_rnn.pt");
    assert_eq!(zoo_models::import::file_tensors(&pt, &[]).unwrap().len(), 6);
    let model: Mlp<B> = MlpConfig::classification().init(&Default::default());
    let safetensors = file(
        dir.path(),
        "w.safetensors",
        &zoo_models::import::to_safetensors(&model, &[]).unwrap(),
    );
    assert_eq!(
        zoo_models::import::file_tensors(&safetensors, &[])
            .unwrap()
            .len(),
        4
    );
}
