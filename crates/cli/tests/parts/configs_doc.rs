//! docs/configs.md against the code: every key a config file may set, section by section and
//! model by model, is on the page, and every key on the page is one the code reads.

use std::collections::{BTreeMap, BTreeSet};

use zoo_cli::models::registry;

/// The keys of docs/configs.md's tables: `train`, `optimizer`, `data`, and `model NAME` for each
/// model's table.
fn documented() -> BTreeMap<String, BTreeSet<String>> {
    let page = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/configs.md");
    let text = std::fs::read_to_string(page).unwrap_or_else(|e| panic!("{page}: {e}"));
    let mut tables: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut section = String::new();
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix("## `[") {
            section = heading.trim_end_matches("]`").to_string();
        } else if let Some(model) = line.strip_prefix("### `") {
            section = format!("model {}", model.trim_end_matches('`'));
        } else if let Some(row) = line.strip_prefix("| `") {
            let key = row.split('`').next().unwrap_or_default();
            tables
                .entry(section.clone())
                .or_default()
                .insert(key.to_string());
        }
    }
    tables
}

#[test]
fn the_config_page_documents_every_key_and_no_other() {
    let page = documented();
    let mut code: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for registration in registry().entries() {
        for (section, keys) in registration.keys() {
            let table = match section {
                "model" => format!("model {}", registration.name),
                other => other.to_string(),
            };
            code.entry(table)
                .or_default()
                .extend(keys.iter().map(|k| k.to_string()));
        }
    }
    let tables: BTreeSet<&String> = page.keys().chain(code.keys()).collect();
    let mut wrong = Vec::new();
    for table in tables {
        let (on_page, in_code) = (page.get(table).cloned(), code.get(table).cloned());
        let (on_page, in_code) = (on_page.unwrap_or_default(), in_code.unwrap_or_default());
        for key in in_code.difference(&on_page) {
            wrong.push(format!(
                "{table}: `{key}` is read by the code, missing from the page"
            ));
        }
        for key in on_page.difference(&in_code) {
            wrong.push(format!(
                "{table}: `{key}` is on the page, unknown to the code"
            ));
        }
    }
    assert!(wrong.is_empty(), "docs/configs.md:\n{}", wrong.join("\n"));
}

#[test]
fn the_page_is_read_table_by_table() {
    // The parser above finds the tables it is meant to: a test that could not fail otherwise.
    let page = documented();
    assert!(page["train"].contains("keep_best"));
    assert!(page["data"].contains("chars"));
    assert!(page["model pos-tagger-char"].contains("crf"));
    assert_eq!(
        page.keys().filter(|k| k.starts_with("model ")).count(),
        registry().entries().len()
    );
}
