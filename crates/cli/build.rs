//! Makes every file of `src/models/` (but `mod.rs`) a module of the `zoo` command line and lists
//! the registrations each one exports (`pub const REGISTER: &[Registration]`): a model joins the
//! zoo by adding its file (docs/design.md, "Adding a model").

use std::path::Path;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest).join("src").join("models");
    println!("cargo:rerun-if-changed=src/models");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a readable folder entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .filter(|path| path.file_name().is_some_and(|n| n != "mod.rs"))
        .collect();
    files.sort();
    let mut modules = String::new();
    let mut lists = String::new();
    for path in files {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("UTF-8 file names");
        modules.push_str(&format!(
            "#[path = {:?}]\npub mod {name};\n",
            path.display().to_string()
        ));
        lists.push_str(&format!("    {name}::REGISTER,\n"));
    }
    let code = format!(
        "{modules}\n/// The registrations of every model file, in file order.\nconst FILES: &[&[zoo_train::Registration]] = &[\n{lists}];\n"
    );
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("models.rs");
    std::fs::write(&out, code).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
}
