//! `zoo check` on the CPU: every model of `zoo models` gives Burn's own outputs through the zoo's
//! fused CPU operations, and so does the fused LSTM, outputs and every gradient, at both shapes;
//! a model the zoo lacks is one clear error line.

use zoo_tests::zoo;

#[test]
fn every_model_and_the_fused_cpu_lstm_agree_with_burns_operations() {
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
    // ndarray is the reference itself: the LSTM through the fused operation only, both shapes.
    let lstm: Vec<&str> = run.stdout.lines().filter(|l| l.contains("LSTM ")).collect();
    assert_eq!(lstm.len(), 2, "{}", run.stdout);
    assert!(lstm
        .iter()
        .all(|l| l.contains(", fused ") && l.contains(" agrees ")));
    let all = format!("All {} checks agree on ndarray", names.len() + 2);
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
