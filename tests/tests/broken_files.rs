//! Every file a user hands the zoo, broken: a run's weights, checkpoints, config and
//! vocabularies, PyTorch `.pt` and `.safetensors` files, truncated, corrupt, of the wrong kind,
//! oversized or missing. Each is one `error:` line naming the file and what to do, exit code 1,
//! no panic (`Run::error_line` checks all three), and the run folder the command read is left
//! as it was.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use zoo_tests::{workspace, zoo, Run};

/// A finished run of `model` (a toy: seconds) in `dir/name`.
fn trained(dir: &Path, model: &str, name: &str) -> PathBuf {
    let run = dir.join(name);
    let args = [
        "train",
        "--model",
        model,
        "--epochs",
        "3",
        "--out",
        run.to_str().unwrap(),
    ];
    zoo(dir, &args).assert_ok();
    run
}

/// Every file below `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(snapshot(&path));
        } else {
            files.insert(path.clone(), std::fs::read(&path).unwrap());
        }
    }
    files
}

/// `zoo args` fails cleanly (one line, exit 1, no panic) with a line holding every one of
/// `words`, and leaves `run` as it was.
fn refused(cwd: &Path, run: &Path, args: &[&str], words: &[&str]) -> String {
    let before = snapshot(run);
    let out: Run = zoo(cwd, args);
    let line = out.error_line().to_string();
    for word in words {
        assert!(
            line.contains(word),
            "`zoo {}`: no `{word}` in: {line}",
            args.join(" ")
        );
    }
    assert!(
        snapshot(run) == before,
        "`zoo {}` changed {}",
        args.join(" "),
        run.display()
    );
    line
}

/// The commands that read a run's weights, for the run `run`.
fn readers(run: &str) -> Vec<Vec<&str>> {
    vec![
        vec!["eval", "--run", run],
        vec!["predict", "--run", run, "2,2"],
        vec!["export", "--run", run, "--out", "out.safetensors"],
    ]
}

#[test]
fn a_broken_model_mpk_is_named_by_every_command_that_reads_it() {
    let tmp = tempfile::tempdir().unwrap();
    let run = trained(tmp.path(), "classification", "run");
    let weights = run.join("model.mpk");
    let good = std::fs::read(&weights).unwrap();
    let name = run.to_str().unwrap();
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("truncated", good[..good.len() / 2].to_vec(), "is cut short"),
        (
            "corrupt",
            [&[0xc1u8][..], &good[1..]].concat(),
            "not a weights file the zoo wrote",
        ),
        (
            "oversized",
            [&good[..], &[0u8; 64][..]].concat(),
            "64 bytes after the weights",
        ),
        ("empty", Vec::new(), "is cut short"),
    ];
    for (what, bytes, says) in cases {
        std::fs::write(&weights, &bytes).unwrap();
        for args in readers(name) {
            let line = refused(tmp.path(), &run, &args, &["model.mpk", says]);
            assert!(line.contains("restore it from a copy"), "{what}: {line}");
        }
    }
    // Another model's weights: the regression toy's (another shape) and a CNN's (other names).
    let regression = trained(tmp.path(), "regression", "regression");
    std::fs::copy(regression.join("model.mpk"), &weights).unwrap();
    for args in readers(name) {
        refused(
            tmp.path(),
            &run,
            &args,
            &["model.mpk", "do not fit", "[10, 2] in the model"],
        );
    }
    let shipped = workspace().join("crates/models/pretrained/small-cnn/model.mpk");
    std::fs::copy(shipped, &weights).unwrap();
    for args in readers(name) {
        refused(tmp.path(), &run, &args, &["model.mpk", "another model"]);
    }
    // And none at all.
    std::fs::remove_file(&weights).unwrap();
    refused(
        tmp.path(),
        &run,
        &readers(name)[0],
        &["model.mpk", "No such file"],
    );
}

#[test]
fn a_runs_config_edited_into_nonsense_names_the_file_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let run = trained(tmp.path(), "classification", "run");
    let config = run.join("config.toml");
    let good = std::fs::read_to_string(&config).unwrap();
    let name = run.to_str().unwrap();
    for (edit, says) in [
        (
            good.replace("hidden_size = 10", "hidden_size = \"many\""),
            "model.hidden_size",
        ),
        (good.replace("[train]", "[train\n"), "not valid TOML"),
        (
            good.replace("hidden_size = 10", "hidden_size = 20"),
            "do not fit",
        ),
        (
            good.replace("hidden_size = 10", "hidden_size = 10\nlayers = 3"),
            "unknown key `model.layers`",
        ),
        (
            String::from_utf8_lossy(&[0xff, 0xfe, 0x00, 0x41]).into_owned(),
            "config.toml",
        ),
    ] {
        std::fs::write(&config, &edit).unwrap();
        refused(tmp.path(), &run, &readers(name)[0], &["config.toml", says]);
    }
}

#[test]
fn a_taggers_run_without_its_vocabularies_or_with_broken_ones_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("toy");
    let toy = workspace().join("configs/pos-tagger-toy.toml");
    let args = [
        "train",
        "--config",
        toy.to_str().unwrap(),
        "--epochs",
        "2",
        "--out",
        run.to_str().unwrap(),
    ];
    zoo(tmp.path(), &args).assert_ok();
    let name = run.to_str().unwrap();
    let words = run.join("vocab-words.txt");
    let good = std::fs::read(&words).unwrap();
    let eval = ["eval", "--run", name];
    std::fs::write(&words, &good[..good.len() / 2]).unwrap();
    refused(tmp.path(), &run, &eval, &["model.mpk", "do not fit"]);
    std::fs::write(&words, [0xffu8, 0x00, 0xfe, 0x01]).unwrap();
    refused(tmp.path(), &run, &eval, &["vocab-words.txt"]);
    std::fs::remove_file(&words).unwrap();
    refused(tmp.path(), &run, &eval, &["vocab-words.txt"]);
}

#[test]
fn a_broken_checkpoint_is_skipped_for_the_epoch_before_or_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let run = trained(tmp.path(), "classification", "run");
    // Unfinished after epoch 3: its end-of-run files gone.
    for file in ["model.mpk", "summary.json"] {
        std::fs::remove_file(run.join(file)).unwrap();
    }
    let name = run.to_str().unwrap();
    let cut = |epoch: usize| {
        let file = run.join(format!("checkpoint/model-{epoch}.mpk"));
        let bytes = std::fs::read(&file).unwrap();
        std::fs::write(&file, &bytes[..bytes.len() / 3]).unwrap();
    };
    // Epoch 3's weights cut short: epoch 2's are whole, and the run resumes from there.
    cut(3);
    let resumed = zoo(tmp.path(), &["train", "--resume", name, "--epochs", "3"]);
    resumed.assert_ok();
    assert!(
        resumed
            .stderr
            .contains("model-3.mpk is cut short or corrupt: resuming after epoch 2"),
        "{}",
        resumed.stderr
    );
    assert!(
        resumed.stdout.contains("Resuming after epoch 2 of 3"),
        "{}",
        resumed.stdout
    );
    // Every kept checkpoint cut short: refused, nothing removed.
    for file in ["model.mpk", "summary.json"] {
        std::fs::remove_file(run.join(file)).unwrap();
    }
    cut(2);
    cut(3);
    refused(
        tmp.path(),
        &run,
        &["train", "--resume", name],
        &["checkpoint", "cannot be resumed"],
    );
}

#[test]
fn files_that_are_not_a_state_dict_are_refused_by_import() {
    let tmp = tempfile::tempdir().unwrap();
    let broken = workspace().join("tests/fixtures/broken");
    let real = workspace().join("tests/fixtures/seeds/seed004_cnn.pt");
    let real_bytes = std::fs::read(&real).unwrap();
    let truncated = tmp.path().join("truncated.pt");
    std::fs::write(&truncated, &real_bytes[..real_bytes.len() / 2]).unwrap();
    let empty = tmp.path().join("empty.safetensors");
    std::fs::write(&empty, b"").unwrap();
    let garbage = tmp.path().join("garbage.pt");
    std::fs::write(&garbage, [0x80u8; 300]).unwrap();
    let cases: Vec<(PathBuf, &str)> = vec![
        (
            broken.join("whole_model.pt"),
            "torch.save(model.state_dict(), path)",
        ),
        (
            broken.join("tensor.pt"),
            "torch.save(model.state_dict(), path)",
        ),
        (
            broken.join("not_pytorch.pt"),
            "torch.save(model.state_dict(), path)",
        ),
        (truncated, "torch.save(model.state_dict(), path)"),
        (garbage, "torch.save(model.state_dict(), path)"),
        (
            broken.join("lying_header.safetensors"),
            "safetensors.torch.save_file",
        ),
        (empty, "safetensors.torch.save_file"),
    ];
    let folder = tmp.path().join("untouched");
    std::fs::create_dir(&folder).unwrap();
    for (file, says) in cases {
        let out = folder.join("imported");
        let args = [
            "import",
            "--model",
            "small-cnn",
            "--from",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        let name = file.file_name().unwrap().to_str().unwrap();
        refused(tmp.path(), &folder, &args, &[name, says]);
        assert!(!out.exists(), "{name}: no run folder is written");
    }
}

#[test]
fn a_safetensors_file_imports_as_its_state_dict_does() {
    // The export of an imported PyTorch file, imported again: the same test figure.
    let tmp = tempfile::tempdir().unwrap();
    let real = workspace().join("tests/fixtures/seeds/seed004_cnn.pt");
    let config = tmp.path().join("cnn.toml");
    std::fs::write(
        &config,
        "[model]\nname = \"small-cnn\"\n\n[data]\nmean = 0.0\nstd = 1.0\n",
    )
    .unwrap();
    let renames = [
        "--rename",
        r"^conv1\.0\.=conv1.",
        "--rename",
        r"^conv2\.0\.=conv2.",
    ];
    let from_pt = [
        &[
            "import",
            "--config",
            config.to_str().unwrap(),
            "--from",
            real.to_str().unwrap(),
            "--out",
            "a",
        ][..],
        &renames,
    ]
    .concat();
    let first = zoo(tmp.path(), &from_pt);
    first.assert_ok();
    zoo(
        tmp.path(),
        &["export", "--run", "a", "--out", "a.safetensors"],
    )
    .assert_ok();
    let again = [
        "import",
        "--config",
        config.to_str().unwrap(),
        "--from",
        "a.safetensors",
        "--out",
        "b",
    ];
    let second = zoo(tmp.path(), &again);
    second.assert_ok();
    let test_line = |run: &Run| {
        run.stdout
            .lines()
            .find(|l| l.starts_with("Test set:"))
            .map(str::to_string)
    };
    assert_eq!(test_line(&first), test_line(&second));
    assert!(
        test_line(&first).is_some_and(|l| l.contains("9491/10000")),
        "{:?}",
        test_line(&first)
    );
}
