//! Makes every file of `src/models/` a module of zoo-models and re-exports its public items at
//! the crate root: a model is added by adding its file (docs/design.md, "Adding a model"). With
//! the `pretrained` feature, also lists every folder of `pretrained/` (one trained model each) with
//! its files embedded: a pretrained model is added by adding its folder.

use std::path::{Path, PathBuf};

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let manifest = Path::new(&manifest);
    println!("cargo:rerun-if-changed=src/models");
    let mut code = String::new();
    for path in entries(&manifest.join("src").join("models"), |p| {
        has_extension(p, "rs")
    }) {
        code.push_str(&format!(
            "#[path = {:?}]\nmod {name};\npub use {name}::*;\n",
            path.display().to_string(),
            name = file_name(&path).trim_end_matches(".rs"),
        ));
    }
    write_out("models.rs", &code);
    if std::env::var_os("CARGO_FEATURE_PRETRAINED").is_some() {
        println!("cargo:rerun-if-changed=pretrained");
        write_out("pretrained.rs", &pretrained(&manifest.join("pretrained")));
    }
}

/// `[Pretrained { .. }, ...]`, one per folder of `dir` (none where `dir` is missing): its
/// weights, configs, score and README, and its text files (vocabularies), embedded.
fn pretrained(dir: &Path) -> String {
    let mut code = String::from("[\n");
    let folders = if dir.is_dir() {
        entries(dir, |p| p.is_dir())
    } else {
        Vec::new()
    };
    // `rerun-if-changed=pretrained` (printed by main) already covers every file below it; an
    // absolute path here would make a build from another workspace root over the same sources
    // (tests/tests/bring_your_own.rs) rerun this script and recompile everything above it.
    for folder in folders {
        let file = |f: &str| format!("{:?}", folder.join(f).display().to_string());
        let texts: Vec<String> = entries(&folder, |p| has_extension(p, "txt"))
            .iter()
            .map(|path| {
                format!(
                    "({:?}, include_str!({}))",
                    file_name(path),
                    file(file_name(path))
                )
            })
            .collect();
        code.push_str(&format!(
            "    Pretrained {{ name: {:?}, weights: include_bytes!({}), model_config: \
             include_str!({}), experiment: include_str!({}), score: include_str!({}), about: \
             include_str!({}), files: &[{}] }},\n",
            file_name(&folder),
            file("model.mpk"),
            file("model.json"),
            file("config.toml"),
            file("score.json"),
            file("README.md"),
            texts.join(", ")
        ));
    }
    code.push(']');
    code
}

/// The entries of `dir` that `keep` keeps, sorted.
fn entries(dir: &Path, keep: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a readable folder entry").path())
        .filter(|path| keep(path))
        .collect();
    paths.sort();
    paths
}

fn has_extension(path: &Path, extension: &str) -> bool {
    path.extension().is_some_and(|e| e == extension)
}

fn file_name(path: &Path) -> &str {
    path.file_name()
        .and_then(|s| s.to_str())
        .expect("UTF-8 file names")
}

/// Writes `code` to `OUT_DIR/name`.
fn write_out(name: &str, code: &str) {
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join(name);
    std::fs::write(&out, code).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
}
