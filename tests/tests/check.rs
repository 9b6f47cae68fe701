//! `zoo check` on the CPU: every model of `zoo models` gives Burn's own outputs through the zoo's
//! fused CPU operations, and so do the fused LSTM and GRU, outputs and every gradient, at every
//! shape; a model the zoo lacks is one clear error line.

use zoo_tests::zoo;

#[test]
fn every_model_and_the_fused_cpu_recurrences_agree_with_burns_operations() {
    let tmp = tempfile::tempdir().unwrap();
    let run = zoo(tmp.path(), &["check"]);
    run.assert_ok();
    let models = zoo(tmp.path(), &["models"]);
    let names: Vec<&str> = models
        .assert_ok()
        .stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(names.len() >= 9, "{}", models.stdout);
    for model in &names {
        let line = run
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{model} outputs ")))
            .unwrap_or_else(|| panic!("no check of {model}:\n{}", run.stdout));
        assert!(line.contains(" agrees "), "{line}");
    }
    // ndarray is the reference itself: the recurrences through the fused operations only, at
    // every shape (three LSTMs, the padded tagger batch among them, and two GRUs).
    let recurrent: Vec<&str> = (run.stdout.lines())
        .filter(|l| l.contains("LSTM ") || l.contains("GRU "))
        .collect();
    assert_eq!(recurrent.len(), 5, "{}", run.stdout);
    assert!(recurrent
        .iter()
        .all(|l| l.contains(", fused ") && l.contains(" agrees ")));
    for shape in ["GRU 28→128", "LSTM 100→128, bidirectional, padded"] {
        assert!(recurrent.iter().any(|l| l.contains(shape)), "{shape}");
    }
    let all = format!("All {} checks agree on ndarray", names.len() + 5);
    assert!(run.stdout.contains(&all), "{}", run.stdout);
}

#[test]
fn checking_a_model_the_zoo_lacks_names_the_ones_it_has() {
    let tmp = tempfile::tempdir().unwrap();
    let run = zoo(tmp.path(), &["check", "--model", "mnist-lstn"]);
    let line = run.error_line();
    assert!(line.contains("unknown model `mnist-lstn`"), "{line}");
    assert!(line.contains("mnist-lstm"), "{line}");
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}
