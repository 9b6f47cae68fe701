//! `zoo import` of PyTorch-trained checkpoints, then `zoo eval`: the same test predictions as
//! PyTorch. Seed 001's MNIST LSTM (tools/make_fixtures.py) fits by name; the seeds' other classes
//! (tools/make_seed_checkpoints.py: seed 000's `Net`, seed 004's `CNN` and `RNN`, seed 003's
//! `Rnn`) import with the `--rename` flags `zoo import` proposes when they do not fit. `zoo export`
//! then gives the file's own tensors back, bit for bit.

use std::path::Path;

use zoo_tests::{workspace, zoo, Run};

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
    }
}

/// `zoo` with `args` and then `extra` (owned strings).
fn zoo_with(dir: &Path, args: &[&str], extra: &[String]) -> Run {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(extra.iter().map(String::as_str));
    zoo(dir, &all)
}

/// The tensors of a `.safetensors` file: name → (dtype, shape, SHA-256 of its bytes).
fn safetensors_digests(
    path: &Path,
) -> std::collections::BTreeMap<String, (String, Vec<u64>, String)> {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(path).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..8 + header_len]).unwrap();
    let data = &bytes[8 + header_len..];
    header
        .into_iter()
        .filter(|(name, _)| name != "__metadata__")
        .map(|(name, entry)| {
            let offsets: Vec<usize> = entry["data_offsets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o.as_u64().unwrap() as usize)
                .collect();
            let digest = Sha256::digest(&data[offsets[0]..offsets[1]]);
            let shape = entry["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap())
                .collect();
            let dtype = entry["dtype"].as_str().unwrap().to_string();
            let hex = digest.iter().map(|b| format!("{b:02x}")).collect();
            (name, (dtype, shape, hex))
        })
        .collect()
}

#[test]
fn seed_000s_tagger_imports_with_its_own_vocabularies_and_exports_back_bit_for_bit() {
    let seeds = workspace().join("tests/fixtures/seeds");
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(seeds.join("seed000_tagger.json")).unwrap())
            .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = |p: &Path| p.to_str().unwrap().to_string();
    let config = path(&workspace().join("configs/pos-tagger-toy.toml"));
    let weights = path(&seeds.join("seed000_tagger.pt"));
    let vocabularies = [
        "--vocab-words".to_string(),
        path(&seeds.join("seed000_word_to_ix.json")),
        "--vocab-tags".to_string(),
        path(&seeds.join("seed000_tag_to_ix.json")),
    ];
    let base = ["import", "--config", &config, "--from", &weights];

    // Seed 000's names: the error proposes the one rename, and leaves no vocabulary behind.
    let plain = zoo_with(
        tmp.path(),
        &base,
        &[&vocabularies[..], &["--out".into(), "plain".into()]].concat(),
    );
    let line = plain.error_line();
    assert!(line.contains("word_embeddings.weight [9, 2]"), "{line}");
    let renames = proposed_renames(line);
    assert_eq!(renames, [r"^word_embeddings\.=embedding."], "{line}");
    assert!(!tmp.path().join("plain/vocab-words.txt").exists());

    // Without its vocabularies the shapes cannot fit, and the error says what decides them.
    let rename = ["--rename".to_string(), renames[0].clone()];
    let bare = zoo_with(
        tmp.path(),
        &base,
        &[&rename[..], &["--out".into(), "bare".into()]].concat(),
    );
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
    let import = zoo_with(
        tmp.path(),
        &base,
        &[
            &rename[..],
            &vocabularies[..],
            &["--out".into(), "tagger".into()],
        ]
        .concat(),
    );
    import.assert_ok();
    let eval = zoo(tmp.path(), &["eval", "--run", "tagger"]);
    eval.assert_ok();
    assert_eq!(
        correct_in(&eval.stdout),
        reference["correct"].as_u64().unwrap(),
        "{}",
        eval.stdout
    );
    for (sentence, tags) in reference["tagged"].as_object().unwrap() {
        let out = zoo(tmp.path(), &["predict", "--run", "tagger", sentence]);
        out.assert_ok();
        let expected: Vec<String> = sentence
            .split(' ')
            .zip(tags.as_array().unwrap())
            .map(|(word, tag)| format!("{word}/{}", tag.as_str().unwrap()))
            .collect();
        assert_eq!(out.stdout.trim_end(), expected.join(" "));
    }
    // Seed 000's dictionary has no <unk>: a word it lacks is an error naming it.
    let unknown = zoo(
        tmp.path(),
        &["predict", "--run", "tagger", "The cat ate the apple"],
    );
    let line = unknown.error_line();
    assert!(
        line.contains("input 1 (`The cat ate the apple`): the word `cat` is not in the vocabulary (9 tokens, no `<unk>`"),
        "{line}"
    );

    // Out again under seed 000's names: its tensors bit for bit, its vocabularies beside.
    let out = tmp.path().join("export/tagger.safetensors");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    zoo(
        tmp.path(),
        &[
            "export",
            "--run",
            "tagger",
            "--out",
            out.to_str().unwrap(),
            "--rename",
            r"^embedding\.=word_embeddings.",
        ],
    )
    .assert_ok();
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
    let words = std::fs::read_to_string(out.with_file_name("vocab-words.txt")).unwrap();
    assert_eq!(
        words,
        "# zoo vocabulary v1 lowercase=false\nThe\ndog\nate\nthe\napple\nEverybody\nread\nthat\nbook\n"
    );
    let tags = std::fs::read_to_string(out.with_file_name("vocab-tags.txt")).unwrap();
    assert_eq!(tags, "# zoo vocabulary v1 lowercase=false\nDET\nNN\nV\n");

    // The exported vocabularies are found beside a weights file by the next import.
    std::fs::copy(
        seeds.join("seed000_tagger.pt"),
        out.with_file_name("tagger.pt"),
    )
    .unwrap();
    let again = zoo_with(
        tmp.path(),
        &[
            "import",
            "--config",
            &config,
            "--from",
            &path(&out.with_file_name("tagger.pt")),
        ],
        &[&rename[..], &["--out".into(), "again".into()]].concat(),
    );
    again.assert_ok();
    assert_eq!(
        correct_in(&again.stdout),
        reference["correct"].as_u64().unwrap()
    );
}
