//! The models the zoo ships trained (`crates/models/pretrained/`): `zoo eval --pretrained NAME`
//! reproduces the figure the README gives for each, with no training; `zoo export` writes them
//! as PyTorch loads them, and PyTorch counts what `zoo eval` counts.

use std::path::Path;
use std::process::Command;

use sha2::{Digest, Sha256};
use zoo_tests::{note_pytorch_check, workspace, zoo, Run};

/// `(correct, count)` of the `Test set: ... Accuracy: N/M (...)` line.
fn test_figure(run: &Run) -> (u64, u64) {
    let line = (run.stdout.lines())
        .find(|l| l.starts_with("Test set: "))
        .unwrap_or_else(|| panic!("no test line in:\n{}", run.stdout));
    let (correct, rest) = line
        .split_once("Accuracy: ")
        .and_then(|(_, a)| a.split_once('/'))
        .unwrap_or_else(|| panic!("no accuracy in {line}"));
    let count = rest.split_whitespace().next().unwrap();
    (correct.parse().unwrap(), count.parse().unwrap())
}

#[test]
fn every_shipped_model_reproduces_its_readme_figure_without_training() {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let mut shipped: Vec<String> = std::fs::read_dir(workspace().join("crates/models/pretrained"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    shipped.sort();
    assert_eq!(
        shipped,
        [
            "mnist-cnn",
            "mnist-lstm",
            "pos-tagger",
            "pos-tagger-char",
            "small-cnn"
        ]
    );
    for name in &shipped {
        let name = name.as_str();
        // From the repository's root, where the test data lies (data/...).
        let run = zoo(&workspace(), &["eval", "--pretrained", name]);
        run.assert_ok();
        assert!(
            run.stdout.contains("The shipped model's score recorded")
                && run.stdout.contains("reproduced exactly"),
            "{name}:\n{}",
            run.stdout
        );
        let (correct, count) = test_figure(&run);
        let row = format!("| `zoo eval --pretrained {name}` | {correct}/{count} |");
        assert!(
            readme.contains(&row),
            "the README has no row `{row}` for the shipped {name}"
        );
    }
    let run = zoo(&workspace(), &["eval", "--pretrained", "resnet-50"]);
    let line = run.error_line();
    assert!(
        line.contains("--pretrained resnet-50: the zoo ships no such model; it ships mnist-cnn,"),
        "{line}"
    );
}

/// Runs tools/check_export.py on `file` with the PyTorch class `class`: PyTorch's count of
/// correct test digits, or `None` where `import torch, safetensors` fails.
fn pytorch_count(file: &Path, class: &str) -> Option<u64> {
    let out = Command::new("python3")
        .current_dir(workspace())
        .args(["tools/check_export.py", file.to_str().unwrap(), class])
        .output()
        .ok()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && stderr.contains("ModuleNotFoundError") {
        return None;
    }
    assert!(out.status.success(), "check_export.py failed:\n{stderr}");
    Some(String::from_utf8_lossy(&out.stdout).trim().parse().unwrap())
}

#[test]
fn shipped_models_exported_load_in_pytorch_and_count_what_zoo_eval_counts() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, class, renames) in [
        ("mnist-cnn", "Net", vec![]),
        (
            "small-cnn",
            "CNN",
            vec!["--rename", r"^conv(\d)\.=conv$1.0."],
        ),
        ("mnist-lstm", "Rnn", vec![]),
        // The twin of the EWT tagger, words numbered by the vocab-*.txt written beside the file.
        ("pos-tagger", "Tagger", vec![]),
    ] {
        let file = tmp.path().join(format!("{name}.safetensors"));
        let mut args = vec![
            "export",
            "--pretrained",
            name,
            "--out",
            file.to_str().unwrap(),
        ];
        args.extend(&renames);
        zoo(tmp.path(), &args).assert_ok();
        let (zoo_correct, _) = test_figure(&zoo(&workspace(), &["eval", "--pretrained", name]));
        // What PyTorch counted on this very file (tools/check_export.py --record).
        let fixture: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(
                workspace().join(format!("tests/fixtures/export/{name}.json")),
            )
            .unwrap(),
        )
        .unwrap();
        let sha = format!("{:x}", Sha256::digest(std::fs::read(&file).unwrap()));
        assert_eq!(
            sha, fixture["sha256"],
            "{name}: the export differs from the file PyTorch counted"
        );
        assert_eq!(fixture["correct"], zoo_correct, "{name}: PyTorch's count");
        let live = pytorch_count(&file, class);
        note_pytorch_check(&format!("export of {name}"), live.is_some());
        if let Some(count) = live {
            assert_eq!(count, zoo_correct, "{name}: PyTorch's count now");
        }
    }
    // The tagger's vocabularies went beside its weights, as shipped.
    let shipped = workspace().join("crates/models/pretrained/pos-tagger");
    for file in ["vocab-words.txt", "vocab-tags.txt"] {
        assert_eq!(
            std::fs::read_to_string(tmp.path().join(file)).unwrap(),
            std::fs::read_to_string(shipped.join(file)).unwrap(),
            "{file}"
        );
    }
}
