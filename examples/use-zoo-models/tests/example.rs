//! The example runs as documented: with no argument it builds and runs the zoo's models; a model
//! file it cannot load is one error line and exit 1. (`tests/tests/reuse.rs` runs it on a trained
//! run's weights.)

use std::process::Command;

#[test]
fn it_runs_the_models_and_refuses_a_missing_weights_file() {
    let out = Command::new(env!("CARGO_BIN_EXE_use-zoo-models"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("MnistLstm (214282 parameters): images [4, 28, 28] -> logits [4, 10]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("outputs [3, 12, 64], h_n [4, 3, 32]"),
        "{stdout}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_use-zoo-models"))
        .arg("no/such/model.mpk")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with("error: cannot load"), "{stderr}");
}
