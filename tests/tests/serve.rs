//! `zoo serve` on 127.0.0.1: the API answers what `zoo predict` answers for the same inputs,
//! refuses every bad input with a 4xx and a JSON error and goes on serving, answers 200
//! concurrent requests, answers a panic inside the model with a 500 for that request alone, and
//! on SIGTERM finishes the requests in flight and exits 0; its page,
//! in headless Chromium, reads a digit drawn with the mouse and tags a typed sentence.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use zoo_tests::chromium::Browser;
use zoo_tests::{workspace, zoo, zoo_bin};

/// A `zoo serve` running on a free port, killed when dropped.
struct Server {
    child: Child,
    base: String,
    stderr: Option<std::process::ChildStderr>,
}

impl Server {
    /// `zoo serve ARGS --port 0`, once it says where it listens.
    fn start(args: &[&str]) -> Server {
        Server::start_with(args, &[])
    }

    /// [`Server::start`] with the environment variables `vars`.
    fn start_with(args: &[&str], vars: &[(&str, &str)]) -> Server {
        let mut child = Command::new(zoo_bin())
            .current_dir(workspace())
            .args(["serve", "--port", "0"])
            .args(args)
            .envs(vars.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start zoo serve");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let mut stderr = child.stderr.take();
        if line.is_empty() {
            let mut text = String::new();
            stderr.as_mut().unwrap().read_to_string(&mut text).unwrap();
            panic!("zoo serve did not start: {text}");
        }
        // `serving NAMES on http://127.0.0.1:PORT/ (...)`
        let base = line
            .split_whitespace()
            .find(|w| w.starts_with("http://127.0.0.1:"))
            .unwrap_or_else(|| panic!("no address in `{line}`"))
            .trim_end_matches('/')
            .to_string();
        Server {
            child,
            base,
            stderr: stderr.take(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Its exit code once it has ended, and all it wrote to stderr.
    fn ended(&mut self) -> (Option<i32>, String) {
        let status = self.child.wait().unwrap();
        let mut stderr = String::new();
        (self.stderr.take().unwrap())
            .read_to_string(&mut stderr)
            .unwrap();
        (status.code(), stderr)
    }

    /// SIGTERM, then [`Server::ended`].
    fn stop(&mut self) -> (Option<i32>, String) {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        self.ended()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// The status and JSON body of a response.
fn answer(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (u16, Value) {
    let mut response = response.expect("an HTTP answer");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().expect("a body");
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, body)
}

fn post(server: &Server, path: &str, content_type: &str, body: &[u8]) -> (u16, Value) {
    answer(
        agent()
            .post(server.url(path))
            .header("Content-Type", content_type)
            .send(body),
    )
}

/// `n` requests posting the PNG `png` to `url` at once, `meanwhile` run while they are in
/// flight; their answers in the order sent.
fn at_once(url: &str, png: &[u8], n: usize, meanwhile: impl FnOnce()) -> Vec<(u16, Value)> {
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..n)
            .map(|_| {
                scope.spawn(move || {
                    answer(
                        agent()
                            .post(url)
                            .header("Content-Type", "image/png")
                            .send(png),
                    )
                })
            })
            .collect();
        meanwhile();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    })
}

fn get(server: &Server, path: &str) -> (u16, Value) {
    answer(agent().get(server.url(path)).call())
}

fn digit(name: &str) -> (PathBuf, Vec<u8>) {
    let path = workspace().join("data/digits").join(name);
    let bytes = std::fs::read(&path).unwrap();
    (path, bytes)
}

/// `zoo predict`'s `PATH: 7  (7 1.000, 3 0.000, 2 0.000)` as `[(label, probability)]`.
fn predicted_classes(line: &str) -> Vec<(String, f64)> {
    let top = line.split_once("  (").unwrap().1.trim_end_matches(')');
    top.split(", ")
        .map(|pair| {
            let (label, p) = pair.split_once(' ').unwrap();
            (label.to_string(), p.parse().unwrap())
        })
        .collect()
}

#[test]
fn the_api_answers_what_zoo_predict_answers() {
    let server = Server::start(&[
        "--pretrained",
        "mnist-cnn",
        "--pretrained",
        "pos-tagger-char",
    ]);
    let (status, health) = get(&server, "/health");
    assert_eq!((status, &health["status"]), (200, &json!("ok")));
    let (status, models) = get(&server, "/v1/models");
    assert_eq!(status, 200);
    let models = models["models"].as_array().unwrap().clone();
    let names: Vec<&str> = models.iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["mnist-cnn", "pos-tagger-char"]);
    assert_eq!(models[0]["kind"], "image-classifier");
    assert_eq!(models[1]["kind"], "tagger");
    // The shipped models' recorded test figures (their score.json).
    assert!(
        models[0]["test"]["accuracy"].as_f64().unwrap() > 0.97,
        "{}",
        models[0]
    );
    assert!(
        models[1]["test"]["accuracy"].as_f64().unwrap() > 0.94,
        "{}",
        models[1]
    );

    // Pictures: each answer as `zoo predict` prints it (probabilities to its 3 decimals).
    let mut paths = Vec::new();
    for name in ["7.png", "2.png", "1.png"] {
        let (path, bytes) = digit(name);
        let (status, body) = post(&server, "/v1/models/mnist-cnn/predict", "image/png", &bytes);
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["model"], "mnist-cnn");
        let served: Vec<(String, f64)> = (body["answers"].as_array().unwrap().iter())
            .map(|a| {
                (
                    a["label"].as_str().unwrap().to_string(),
                    a["probability"].as_f64().unwrap(),
                )
            })
            .collect();
        let probabilities: Vec<f64> = served.iter().map(|(_, p)| *p).collect();
        assert!(
            probabilities.windows(2).all(|w| w[0] >= w[1]),
            "likeliest first: {body}"
        );
        paths.push((path, served));
    }
    let args: Vec<String> = paths.iter().map(|(p, _)| p.display().to_string()).collect();
    let mut predict_args = vec!["predict", "--pretrained", "mnist-cnn"];
    predict_args.extend(args.iter().map(String::as_str));
    let printed = zoo(&workspace(), &predict_args);
    printed.assert_ok();
    for ((path, served), line) in paths.iter().zip(printed.stdout.lines()) {
        assert!(line.starts_with(&path.display().to_string()), "{line}");
        let expected = predicted_classes(line);
        assert_eq!(served.len(), expected.len(), "{line}");
        for ((label, p), (want_label, want_p)) in served.iter().zip(&expected) {
            assert_eq!(label, want_label, "{line}");
            assert!(
                (p - want_p).abs() <= 0.0005 + 1e-9,
                "{p} vs {want_p} in {line}"
            );
        }
    }
    assert_eq!(paths[0].1[0].0, "7");

    // Sentences: the tags `zoo predict` prints, as text and as lists of words.
    let sentences = [
        "Mr. Smith went to Boston.",
        "I'd like to book a flight to Denver tomorrow.",
    ];
    let (status, body) = post(
        &server,
        "/v1/models/pos-tagger-char/predict",
        "application/json",
        json!({ "sentences": sentences }).to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{body}");
    let printed = zoo(
        &workspace(),
        &[
            "predict",
            "--pretrained",
            "pos-tagger-char",
            sentences[0],
            sentences[1],
        ],
    );
    printed.assert_ok();
    let as_pairs = |sentence: &Value| -> String {
        (sentence.as_array().unwrap().iter())
            .map(|w| {
                format!(
                    "{}/{}",
                    w["word"].as_str().unwrap(),
                    w["tag"].as_str().unwrap()
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let served: Vec<String> = body["sentences"]
        .as_array()
        .unwrap()
        .iter()
        .map(as_pairs)
        .collect();
    let expected: Vec<&str> = printed.stdout.lines().collect();
    assert_eq!(served, expected);
    assert!(
        served[0].contains("Smith/PROPN went/VERB to/ADP Boston/PROPN"),
        "{}",
        served[0]
    );

    let words: Vec<Vec<String>> = (body["sentences"].as_array().unwrap().iter())
        .map(|s| {
            (s.as_array().unwrap().iter())
                .map(|w| w["word"].as_str().unwrap().to_string())
                .collect()
        })
        .collect();
    let (status, split) = post(
        &server,
        "/v1/models/pos-tagger-char/predict",
        "application/json",
        json!({ "sentences": words }).to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{split}");
    assert_eq!(split["sentences"], body["sentences"]);
}

#[test]
fn bad_input_gets_a_4xx_in_the_users_terms_and_the_server_goes_on() {
    let server = Server::start(&["--pretrained", "mnist-cnn", "--pretrained", "pos-tagger"]);
    let (_, seven) = digit("7.png");
    let tagger = "/v1/models/pos-tagger/predict";
    let images = "/v1/models/mnist-cnn/predict";
    let blank = {
        let mut png = Vec::new();
        image::GrayImage::new(40, 40)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        png
    };
    let mut lying = seven.clone();
    lying.truncate(60);
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        (
            images,
            "image/png",
            vec![0u8; (1 << 20) + 1],
            413,
            "over the limit",
        ),
        (
            images,
            "text/plain",
            seven.clone(),
            415,
            "Content-Type: image/png",
        ),
        (
            images,
            "image/png",
            b"GIF89a not a png".to_vec(),
            422,
            "not a PNG file",
        ),
        (images, "image/png", lying, 422, "not a readable image"),
        (
            images,
            "image/png",
            blank.clone(),
            422,
            "add ?invert=true to the URL",
        ),
        (
            tagger,
            "application/json",
            b"{\"sentences\": [".to_vec(),
            400,
            "not JSON",
        ),
        (
            tagger,
            "application/json",
            b"{\"words\": []}".to_vec(),
            400,
            "unknown field `words`",
        ),
        (
            tagger,
            "application/json",
            br#"{"sentences": [["two words"]]}"#.to_vec(),
            400,
            "holds a space",
        ),
        (
            tagger,
            "application/json",
            br#"{"sentences": ["a", ["b"]]}"#.to_vec(),
            400,
            "not both",
        ),
        (
            "/v1/models/mnist-lsmt/predict",
            "image/png",
            seven.clone(),
            404,
            "mnist-cnn, pos-tagger",
        ),
        (
            "/v2/predict",
            "image/png",
            seven.clone(),
            404,
            "GET /v1/models",
        ),
        (
            "/v1/models/pos-tagger/predict?invert=true",
            "application/json",
            br#"{"sentences": ["a"]}"#.to_vec(),
            400,
            "?invert is for pictures",
        ),
        (
            "/v1/models/mnist-cnn/predict?invert=maybe",
            "image/png",
            seven.clone(),
            400,
            "?invert=true",
        ),
    ];
    for (path, content_type, body, status, says) in cases {
        let (got, answer) = post(&server, path, content_type, &body);
        let error = answer["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{path}: {answer}"));
        assert_eq!(got, status, "{path} ({content_type}): {error}");
        assert!(
            error.contains(says),
            "{path} ({content_type}): `{error}` lacks `{says}`"
        );
        assert!(!error.contains("panicked"), "{error}");
    }
    // A word the word-level tagger never saw is its `<unk>`, not an error.
    let (status, body) = post(
        &server,
        tagger,
        "application/json",
        br#"{"sentences": ["Zyxwv went home ."]}"#,
    );
    assert_eq!(status, 200, "{body}");
    // Still serving, and right.
    let (status, body) = post(&server, images, "image/png", &seven);
    assert_eq!((status, &body["answers"][0]["label"]), (200, &json!("7")));
}

#[test]
fn two_hundred_concurrent_requests_are_all_answered() {
    let server = Server::start(&["--pretrained", "mnist-cnn"]);
    let (_, seven) = digit("7.png");
    let url = server.url("/v1/models/mnist-cnn/predict");
    let started = Instant::now();
    let answers = at_once(&url, &seven, 200, || {});
    let labels: Vec<&str> = (answers.iter())
        .map(|(status, body)| {
            assert_eq!(*status, 200, "{body}");
            body["answers"][0]["label"].as_str().unwrap()
        })
        .collect();
    assert_eq!(labels.len(), 200);
    assert!(labels.iter().all(|l| *l == "7"), "{labels:?}");
    eprintln!(
        "200 concurrent requests answered in {:.2} s",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn a_full_queue_answers_503_and_the_server_goes_on() {
    // One request may wait; the model holds each batch's first request for a second.
    let server = Server::start(&[
        "--pretrained",
        "mnist-cnn",
        "--queue",
        "1",
        "--batch-window",
        "1000",
    ]);
    let (_, seven) = digit("7.png");
    let url = server.url("/v1/models/mnist-cnn/predict");
    let answers = at_once(&url, &seven, 6, || {});
    let busy: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == 503)
        .map(|(_, b)| b)
        .collect();
    assert!(!busy.is_empty(), "{answers:?}");
    assert!(
        busy[0]["error"].as_str().unwrap().contains("full queue"),
        "{}",
        busy[0]
    );
    assert!(
        answers.iter().all(|(s, _)| *s == 200 || *s == 503),
        "{answers:?}"
    );
    assert!(answers.iter().any(|(s, _)| *s == 200), "{answers:?}");
    let (status, body) = post(&server, "/v1/models/mnist-cnn/predict", "image/png", &seven);
    assert_eq!((status, &body["answers"][0]["label"]), (200, &json!("7")));
}

#[test]
fn sigterm_answers_the_requests_in_flight_then_exits_0() {
    // A long batch window keeps the requests waiting in the model's queue when SIGTERM comes.
    let mut server = Server::start(&["--pretrained", "mnist-cnn", "--batch-window", "1500"]);
    let (_, seven) = digit("7.png");
    let url = server.url("/v1/models/mnist-cnn/predict");
    let pid = server.child.id().to_string();
    let answers = at_once(&url, &seven, 8, || {
        std::thread::sleep(Duration::from_millis(500));
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
    });
    let statuses: Vec<u16> = answers.iter().map(|(status, _)| *status).collect();
    assert_eq!(statuses, vec![200; 8]);
    let (code, stderr) = server.ended();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("answering the requests in flight"),
        "{stderr}"
    );
}

#[test]
fn a_panic_in_the_model_is_a_500_for_its_request_and_the_server_goes_on() {
    // Two panics injected inside the model's batch (zoo-cli's `failpoints` feature, on in
    // `cargo xtask test`): the first batch holds one request; the second holds eight, sent at
    // once within the batch window.
    let message = "panic injected by the test";
    let failpoints = format!("serve-batch=2*panic({message})");
    let mut server = Server::start_with(
        &["--pretrained", "mnist-cnn", "--batch-window", "300"],
        &[("FAILPOINTS", &failpoints)],
    );
    let (_, seven) = digit("7.png");
    let (status, body) = post(&server, "/v1/models/mnist-cnn/predict", "image/png", &seven);
    assert_eq!(
        status, 500,
        "{body}: no panic was injected; zoo must be built with its `failpoints` feature (as \
         `cargo xtask test` builds it, or ZOO_TEST_FEATURES=wgpu,failpoints)"
    );
    assert!(
        body["error"].as_str().unwrap().contains("the model failed"),
        "{body}"
    );
    // The batch of eight fails as a whole; each request is run again alone and answered.
    let url = server.url("/v1/models/mnist-cnn/predict");
    let answers = at_once(&url, &seven, 8, || {});
    for (status, body) in &answers {
        assert_eq!((*status, &body["answers"][0]["label"]), (200, &json!("7")));
    }
    assert_eq!(get(&server, "/health").0, 200);
    let (code, stderr) = server.stop();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stderr.matches(message).count(), 2, "{stderr}");
}

#[test]
fn a_model_that_cannot_load_stops_the_server_before_it_listens() {
    let empty = tempfile::tempdir().unwrap();
    let run = zoo(
        Path::new("."),
        &[
            "serve",
            "--run",
            empty.path().to_str().unwrap(),
            "--port",
            "0",
        ],
    );
    let line = run.error_line();
    assert!(line.contains("config.toml"), "{line}");
}

/// The page at `/` in headless Chromium: a 7 drawn with the mouse on its canvas is answered 7,
/// and a typed sentence gets `zoo predict`'s tags.
#[test]
fn the_page_reads_a_drawn_digit_and_tags_a_typed_sentence() {
    let server = Server::start(&[
        "--pretrained",
        "mnist-cnn",
        "--pretrained",
        "pos-tagger-char",
    ]);
    let Some(mut page) = Browser::open(&server.url("/")) else {
        eprintln!(
            "note: chromium is not installed; the page is not tried (apt-get install chromium)"
        );
        return;
    };
    page.wait_for(
        "document.body.dataset.ready === 'true'",
        Duration::from_secs(30),
    );
    assert_eq!(
        page.eval("document.getElementById('digit-model').value"),
        "mnist-cnn"
    );

    // A 7: a bar along the top, then down to the bottom left, in one stroke of the mouse.
    let (left, top) = page.corner("#digit-canvas");
    let stroke = [(70.0, 70.0), (210.0, 70.0), (120.0, 230.0)];
    let at = |(x, y): (f64, f64)| (left + x, top + y);
    page.mouse("mousePressed", at(stroke[0]));
    for pair in stroke.windows(2) {
        for k in 1..=20 {
            let f = f64::from(k) / 20.0;
            let point = (
                pair[0].0 + f * (pair[1].0 - pair[0].0),
                pair[0].1 + f * (pair[1].1 - pair[0].1),
            );
            page.mouse("mouseMoved", at(point));
        }
    }
    page.mouse("mouseReleased", at(stroke[2]));
    page.wait_for(
        "document.body.dataset.digitAnswered === '1'",
        Duration::from_secs(30),
    );
    assert_eq!(
        page.eval("document.getElementById('digit-error').textContent"),
        ""
    );
    assert_eq!(
        page.eval("document.getElementById('digit-best').textContent"),
        "7"
    );
    let ranked =
        page.eval("[...document.querySelectorAll('#digit-answers li')].map(li => li.textContent)");
    assert!(ranked[0].as_str().unwrap().starts_with("7 "), "{ranked}");

    // Clear empties the canvas and the answers.
    let clear = page.corner("#clear");
    page.click((clear.0 + 5.0, clear.1 + 5.0));
    assert_eq!(
        page.eval("document.getElementById('digit-answers').children.length"),
        0
    );

    // A sentence typed into the box, tagged on a click of the button.
    let sentence = "I'd like to book a flight to Boston.";
    page.eval("(() => { const box = document.getElementById('sentence'); box.value = ''; box.focus(); })()");
    page.type_text(sentence);
    let button = page.corner("#tag-button");
    page.click((button.0 + 5.0, button.1 + 5.0));
    page.wait_for(
        "document.body.dataset.tagAnswered === '1'",
        Duration::from_secs(30),
    );
    let shown = page.eval(
        "[...document.querySelectorAll('#tags .tag')].map(t => t.firstChild.textContent + '/' + t.querySelector('small').textContent).join(' ')",
    );
    let printed = zoo(
        &workspace(),
        &["predict", "--pretrained", "pos-tagger-char", sentence],
    );
    printed.assert_ok();
    assert_eq!(shown.as_str().unwrap(), printed.stdout.trim());
}
