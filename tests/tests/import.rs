//! `zoo import` of PyTorch-trained checkpoints, then `zoo eval`: the same test predictions as
//! PyTorch. yunjey's pytorch-tutorial MNIST LSTM (tools/make_fixtures.py) fits by name; the
//! tutorials' other classes (tools/make_seed_checkpoints.py: pytorch/examples' `Net`, Morvan's
//! `CNN` and `RNN`, the MNIST RNN tutorial's `Rnn`) import with the `--rename` flags `zoo import` proposes when they do not fit. `zoo export`
//! then gives the file's own tensors back, bit for bit.

use std::path::Path;

use zoo_tests::{workspace, zoo, Run};

/// How far apart two libraries' probabilities of their two likeliest classes may be for an
/// image they answer differently: float rounding can only swap classes within a hair of a tie.
const TIE: f64 = 1e-4;

/// `zoo eval --run RUN --predictions FILE` held to PyTorch's answers in `reference` (its
/// `predictions`, `runner_up` and `margin` per test image, tools/pytorch_predictions.py): every
/// image answered alike, or, where the zoo chose another class, PyTorch's runner-up is the zoo's
/// choice and both libraries' two likeliest classes lie within [`TIE`] of each other. Returns
/// the images answered differently.
fn assert_answers_as_pytorch(dir: &Path, run: &str, reference: &serde_json::Value) -> Vec<usize> {
    let file = dir.join(format!("{run}.answers"));
    let eval = zoo(
        dir,
        &[
            "eval",
            "--run",
            run,
            "--predictions",
            file.to_str().unwrap(),
        ],
    );
    eval.assert_ok();
    let text = std::fs::read_to_string(&file).unwrap();
    let ours: Vec<(u64, f64, u64, f64)> = text
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            (
                f[0].parse().unwrap(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
            )
        })
        .collect();
    let column = |key: &str| reference[key].as_array().unwrap().clone();
    let (theirs, runner_up, margin) =
        (column("predictions"), column("runner_up"), column("margin"));
    assert_eq!(ours.len(), theirs.len(), "{run}: one answer per test image");
    let mut differing = Vec::new();
    for (i, &(class, p1, second, p2)) in ours.iter().enumerate() {
        if class == theirs[i].as_u64().unwrap() {
            continue;
        }
        let (their_runner_up, their_margin) =
            (runner_up[i].as_u64().unwrap(), margin[i].as_f64().unwrap());
        assert!(
            class == their_runner_up
                && second == theirs[i].as_u64().unwrap()
                && p1 - p2 < TIE
                && their_margin < TIE,
            "{run}, test image {i}: zoo {class} ({p1}, then {second} {p2}), PyTorch {} \
             (then {their_runner_up}, margin {their_margin})",
            theirs[i]
        );
        differing.push(i);
    }
    eprintln!("{run}: {} of {} test images answered as PyTorch does; differing, each within {TIE} of a tie: {differing:?}", ours.len() - differing.len(), ours.len());
    differing
}

fn correct_in(stdout: &str) -> u64 {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("Test set: "))
        .unwrap_or_else(|| panic!("no test line in:\n{stdout}"));
    let after = line.split("Accuracy: ").nth(1).unwrap();
    after.split('/').next().unwrap().parse().unwrap()
}

#[test]
fn a_pytorch_trained_mnist_lstm_scores_as_in_pytorch() {
    let fixtures = workspace().join("tests/fixtures");
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures.join("mnist_lstm_1epoch.json")).unwrap(),
    )
    .unwrap();
    let pytorch = reference["correct"].as_u64().unwrap();

    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("imported");
    let import = zoo(
        tmp.path(),
        &[
            "import",
            "--model",
            "mnist-lstm",
            "--from",
            fixtures.join("mnist_lstm_1epoch.pt").to_str().unwrap(),
            "--out",
            run.to_str().unwrap(),
        ],
    );
    import.assert_ok();
    let eval = zoo(tmp.path(), &["eval", "--run", run.to_str().unwrap()]);
    eval.assert_ok();
    let ours = correct_in(&eval.stdout);
    assert_eq!(ours, correct_in(&import.stdout));
    assert!(
        ours.abs_diff(pytorch) <= 2,
        "PyTorch: {pytorch}/10000 correct, zoo: {ours}/10000"
    );
    assert_answers_as_pytorch(tmp.path(), run.to_str().unwrap(), &reference);
}

#[test]
fn importing_into_the_wrong_shape_lists_the_mismatches_and_the_config_that_fits() {
    let fixtures = workspace().join("tests/fixtures");
    let tmp = tempfile::tempdir().unwrap();
    let run = zoo(
        tmp.path(),
        &[
            "import",
            "--model",
            "mnist-lstm-small",
            "--from",
            fixtures.join("mnist_lstm_1epoch.pt").to_str().unwrap(),
            "--out",
            "r",
        ],
    );
    let line = run.error_line();
    assert!(
        line.contains("the state_dict does not fit the model"),
        "{line}"
    );
    // PyTorch's names, as the file has them.
    assert!(
        line.contains("not in the model (4): lstm.bias_hh_l1 [512], "),
        "{line}"
    );
    assert!(
        line.contains("lstm.weight_hh_l0: model [256, 64], file [512, 128]"),
        "{line}"
    );
    assert!(
        line.contains(
            "the file's shapes are those of [model] hidden_size = 128, num_layers = 2 (put it \
             in a --config file)"
        ),
        "{line}"
    );
    assert!(!tmp.path().join("r/model.mpk").exists());
}

/// The `--rename` rules at the end of an import error, unquoted.
fn proposed_renames(line: &str) -> Vec<String> {
    let Some((_, flags)) = line.split_once("add: ") else {
        return Vec::new();
    };
    flags
        .split("--rename ")
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(|f| f.trim_matches('\'').to_string())
        .collect()
}

/// `zoo import` of `file` with `config` and the `renames`, into `out`.
fn import(dir: &Path, config: &Path, file: &Path, renames: &[String], out: &str) -> Run {
    let mut args = vec![
        "import".to_string(),
        "--config".into(),
        config.display().to_string(),
        "--from".into(),
        file.display().to_string(),
        "--out".into(),
        out.into(),
    ];
    for rule in renames {
        args.extend(["--rename".to_string(), rule.clone()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    zoo(dir, &args)
}

#[test]
fn the_seeds_own_classes_import_with_the_renames_the_error_proposes() {
    let seeds = workspace().join("tests/fixtures/seeds");
    let tmp = tempfile::tempdir().unwrap();
    for (name, expected_renames) in [
        ("seed000_net", vec![]),
        (
            "seed004_cnn",
            vec![r"^conv1\.0\.=conv1.", r"^conv2\.0\.=conv2."],
        ),
        ("seed004_rnn", vec![r"^out\.=fc.", r"^rnn\.=lstm."]),
        ("seed003_rnn", vec![r"^classifier\.=fc."]),
    ] {
        let reference: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(seeds.join(format!("{name}.json"))).unwrap(),
        )
        .unwrap();
        // The preprocessing the file was trained with, in a config of the user's own.
        let config = tmp.path().join(format!("{name}.toml"));
        std::fs::write(
            &config,
            format!(
                "[model]\nname = {}\n\n[data]\nmean = {}\nstd = {}\n",
                reference["model"], reference["mean"], reference["std"]
            ),
        )
        .unwrap();
        let file = seeds.join(format!("{name}.pt"));
        let first = import(tmp.path(), &config, &file, &[], &format!("{name}-plain"));
        let renames = if expected_renames.is_empty() {
            first.assert_ok();
            Vec::new()
        } else {
            let line = first.error_line();
            assert!(line.contains("the state_dict does not fit"), "{line}");
            let renames = proposed_renames(line);
            assert_eq!(renames, expected_renames, "{name}: {line}");
            let run = import(tmp.path(), &config, &file, &renames, name);
            run.assert_ok();
            renames
        };
        let out = if renames.is_empty() {
            format!("{name}-plain")
        } else {
            name.to_string()
        };
        let eval = zoo(tmp.path(), &["eval", "--run", &out]);
        eval.assert_ok();
        let ours = correct_in(&eval.stdout);
        let pytorch = reference["correct"].as_u64().unwrap();
        assert!(
            ours.abs_diff(pytorch) <= 3,
            "{name}: PyTorch {pytorch}/10000 correct, zoo {ours}/10000"
        );
        assert_answers_as_pytorch(tmp.path(), &out, &reference);
    }
}

/// The tensors of a `.safetensors` file: name → (dtype, shape, SHA-256 of its bytes).
fn safetensors_digests(
    path: &Path,
) -> std::collections::BTreeMap<String, (String, Vec<u64>, String)> {
    use sha2::{Digest, Sha256};
    (zoo_tests::safetensors(path).into_iter())
        .map(|(name, t)| {
            let hex = Sha256::digest(&t.bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            (name, (t.dtype, t.shape, hex))
        })
        .collect()
}

/// The sequence-models tutorial's tagger files (tools/make_seed_checkpoints.py).
fn seed_tagger(name: &str) -> String {
    let path = workspace().join("tests/fixtures/seeds").join(name);
    path.to_str().unwrap().to_string()
}

/// What PyTorch recorded of the sequence-models tutorial's tagger.
fn seed_tagger_reference() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(seed_tagger("seed000_tagger.json")).unwrap())
        .unwrap()
}

/// `zoo import` of the sequence-models tutorial's tagger `weights` into `out` with the toy config, the seed's JSON
/// dictionaries if `vocabularies`, and the `renames`.
fn import_seed_tagger(
    dir: &Path,
    weights: &str,
    vocabularies: bool,
    renames: &[&str],
    out: &str,
) -> Run {
    let config = workspace().join("configs/pos-tagger-toy.toml");
    let mut args = vec![
        "import",
        "--config",
        config.to_str().unwrap(),
        "--from",
        weights,
        "--out",
        out,
    ];
    let (words, tags) = (
        seed_tagger("seed000_word_to_ix.json"),
        seed_tagger("seed000_tag_to_ix.json"),
    );
    if vocabularies {
        args.extend(["--vocab-words", &words, "--vocab-tags", &tags]);
    }
    for rename in renames {
        args.extend(["--rename", rename]);
    }
    zoo(dir, &args)
}

/// The rename the sequence-models tutorial's tagger needs: its `self.word_embeddings` is the zoo's `embedding`.
const SEED_TAGGER_RENAME: &str = r"^word_embeddings\.=embedding.";

#[test]
fn seed_000s_tagger_imports_with_the_proposed_rename_and_its_json_vocabularies() {
    let reference = seed_tagger_reference();
    let tmp = tempfile::tempdir().unwrap();
    let weights = seed_tagger("seed000_tagger.pt");

    // The sequence-models tutorial's names: the error proposes the one rename, and leaves no vocabulary behind.
    let plain = import_seed_tagger(tmp.path(), &weights, true, &[], "plain");
    let line = plain.error_line();
    assert!(line.contains("word_embeddings.weight [9, 2]"), "{line}");
    assert_eq!(proposed_renames(line), [SEED_TAGGER_RENAME], "{line}");
    assert!(!tmp.path().join("plain/vocab-words.txt").exists());

    // Without its vocabularies the shapes cannot fit, and the error says what decides them.
    let bare = import_seed_tagger(tmp.path(), &weights, false, &[SEED_TAGGER_RENAME], "bare");
    assert!(
        bare.stdout.contains("No vocab-words.txt beside"),
        "{}",
        bare.stdout
    );
    let line = bare.error_line();
    assert!(
        line.contains("embedding.weight: model [11, 2], file [9, 2]")
            && line.contains("the vocabularies decide the embedding's rows (11 words)")
            && line.contains("--vocab-words"),
        "{line}"
    );

    // With both: PyTorch's tags, token for token.
    import_seed_tagger(tmp.path(), &weights, true, &[SEED_TAGGER_RENAME], "tagger").assert_ok();
    let eval = zoo(tmp.path(), &["eval", "--run", "tagger"]);
    eval.assert_ok();
    assert_eq!(
        correct_in(&eval.stdout),
        reference["correct"].as_u64().unwrap()
    );
    for (sentence, tags) in reference["tagged"].as_object().unwrap() {
        let out = zoo(tmp.path(), &["predict", "--run", "tagger", sentence]);
        out.assert_ok();
        let expected: Vec<String> = (sentence.split(' ').zip(tags.as_array().unwrap()))
            .map(|(word, tag)| format!("{word}/{}", tag.as_str().unwrap()))
            .collect();
        assert_eq!(out.stdout.trim_end(), expected.join(" "));
    }
    // The sequence-models tutorial's dictionary has no <unk>: a word it lacks is an error naming it.
    let unknown = zoo(
        tmp.path(),
        &["predict", "--run", "tagger", "The cat ate the apple"],
    );
    let line = unknown.error_line();
    assert!(
        line.contains(
            "input 1 (`The cat ate the apple`): the word `cat` is not in the vocabulary (9 \
             tokens, no `<unk>`"
        ),
        "{line}"
    );
}

#[test]
fn seed_000s_tagger_exports_back_bit_for_bit_with_its_vocabularies_beside() {
    let reference = seed_tagger_reference();
    let tmp = tempfile::tempdir().unwrap();
    let weights = seed_tagger("seed000_tagger.pt");
    import_seed_tagger(tmp.path(), &weights, true, &[SEED_TAGGER_RENAME], "tagger").assert_ok();

    // Out again under the sequence-models tutorial's names: its tensors bit for bit, its vocabularies beside.
    let out = tmp.path().join("export/tagger.safetensors");
    let out_arg = out.to_str().unwrap();
    let inverse = r"^embedding\.=word_embeddings.";
    let export = [
        "export", "--run", "tagger", "--out", out_arg, "--rename", inverse,
    ];
    zoo(tmp.path(), &export).assert_ok();
    let digests = safetensors_digests(&out);
    let expected = reference["sha256"].as_object().unwrap();
    assert_eq!(digests.len(), expected.len(), "{digests:?}");
    for (name, sha) in expected {
        let (dtype, _, ours) = &digests[name];
        assert_eq!(
            (dtype.as_str(), ours.as_str()),
            ("F32", sha.as_str().unwrap()),
            "{name}"
        );
    }
    let read = |file: &str| std::fs::read_to_string(out.with_file_name(file)).unwrap();
    let header = "# zoo vocabulary v1 lowercase=false\n";
    let words = "The\ndog\nate\nthe\napple\nEverybody\nread\nthat\nbook\n";
    assert_eq!(read("vocab-words.txt"), format!("{header}{words}"));
    assert_eq!(read("vocab-tags.txt"), format!("{header}DET\nNN\nV\n"));

    // The exported vocabularies are found beside a weights file by the next import.
    let beside = out.with_file_name("tagger.pt");
    std::fs::copy(&weights, &beside).unwrap();
    let again = import_seed_tagger(
        tmp.path(),
        beside.to_str().unwrap(),
        false,
        &[SEED_TAGGER_RENAME],
        "again",
    );
    again.assert_ok();
    assert_eq!(
        correct_in(&again.stdout),
        reference["correct"].as_u64().unwrap()
    );
}
