//! A predict request's body read into the model's inputs, and its answers as JSON: what each kind
//! of model takes and gives (docs/serve.md).

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use zoo_train::data::{PredictFlags, Reads};
use zoo_train::run::serve::{ServeInputs, Served};
use zoo_train::task::Answer;

use super::models::About;

/// The first bytes of every PNG file.
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// A request's inputs and how to read them.
pub struct Request {
    /// The inputs, until [`Request::take_inputs`].
    inputs: ServeInputs,
    /// How they are read.
    pub flags: PredictFlags,
    /// What the model reads.
    reads: Reads,
    /// The points a toy's request sent, to echo beside their answers.
    points: Vec<Vec<f64>>,
}

/// A sentence: text to split into words, or the words themselves.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Sentence {
    Text(String),
    Words(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sentences {
    sentences: Vec<Sentence>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Points {
    points: Vec<Vec<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Lines {
    inputs: Vec<String>,
}

/// A client's mistake: its status and message.
type Refusal = (StatusCode, String);

impl Request {
    /// Reads `body` (sent as `content_type`) as the inputs of a model that reads `reads`.
    pub fn read(
        reads: Reads,
        content_type: &str,
        body: &[u8],
        invert: bool,
    ) -> Result<Request, Refusal> {
        let flags = PredictFlags {
            invert,
            ..PredictFlags::default()
        };
        if invert && reads != Reads::Pictures {
            return Err(bad(
                "?invert is for pictures; this model reads something else".into(),
            ));
        }
        match reads {
            Reads::Pictures => picture(content_type, body, flags),
            Reads::Sentences => sentences(content_type, body, flags),
            Reads::Points(width) => points(content_type, body, width, flags),
            Reads::Lines => {
                let lines: Lines = json_body(content_type, body, r#"{"inputs": ["..."]}"#)?;
                Ok(Request {
                    inputs: ServeInputs::Lines(lines.inputs),
                    flags,
                    reads,
                    points: Vec::new(),
                })
            }
        }
    }
}

impl Request {
    /// The inputs, for the model's queue; the request keeps what its answers need.
    pub fn take_inputs(&mut self) -> ServeInputs {
        std::mem::replace(&mut self.inputs, ServeInputs::Lines(Vec::new()))
    }
}

fn bad(message: String) -> Refusal {
    (StatusCode::BAD_REQUEST, message)
}

fn picture(content_type: &str, body: &[u8], flags: PredictFlags) -> Result<Request, Refusal> {
    if !content_type.starts_with("image/png") {
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "this model reads a PNG picture: send it as the body with Content-Type: image/png \
                 (the request's was `{content_type}`)"
            ),
        ));
    }
    if !body.starts_with(PNG_SIGNATURE) {
        return Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            "the body is not a PNG file (it lacks PNG's signature); send the picture's file as it \
             is, e.g. curl --data-binary @digit.png"
                .into(),
        ));
    }
    Ok(Request {
        inputs: ServeInputs::Pictures(vec![("the picture".into(), body.to_vec())]),
        flags,
        reads: Reads::Pictures,
        points: Vec::new(),
    })
}

fn json_body<T: serde::de::DeserializeOwned>(
    content_type: &str,
    body: &[u8],
    shape: &str,
) -> Result<T, Refusal> {
    if !content_type.is_empty() && !content_type.starts_with("application/json") {
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "this model reads JSON {shape} with Content-Type: application/json (the \
                 request's was `{content_type}`)"
            ),
        ));
    }
    serde_json::from_slice(body).map_err(|e| bad(format!("the body is not JSON {shape}: {e}")))
}

fn sentences(content_type: &str, body: &[u8], flags: PredictFlags) -> Result<Request, Refusal> {
    let shape = r#"{"sentences": ["Mr. Smith went to Boston ."]}"#;
    let sentences: Sentences = json_body(content_type, body, shape)?;
    let split = sentences
        .sentences
        .iter()
        .any(|s| matches!(s, Sentence::Words(_)));
    let mut lines = Vec::new();
    for (i, sentence) in sentences.sentences.into_iter().enumerate() {
        let line = match (sentence, split) {
            (Sentence::Words(words), _) => {
                if let Some(word) = words
                    .iter()
                    .find(|w| w.is_empty() || w.contains(char::is_whitespace))
                {
                    return Err(bad(format!(
                        "sentence {}: the word `{word}` is empty or holds a space; a list of words \
                         gives each word alone",
                        i + 1
                    )));
                }
                words.join(" ")
            }
            (Sentence::Text(_), true) => {
                return Err(bad(
                    "give every sentence as text, or every one as a list of words, not both".into(),
                ))
            }
            (Sentence::Text(text), false) => {
                if text.contains('\n') {
                    return Err(bad(format!(
                        "sentence {} holds a line break: give each sentence as its own string",
                        i + 1
                    )));
                }
                text
            }
        };
        lines.push(line);
    }
    Ok(Request {
        inputs: ServeInputs::Lines(lines),
        flags: PredictFlags { split, ..flags },
        reads: Reads::Sentences,
        points: Vec::new(),
    })
}

fn points(
    content_type: &str,
    body: &[u8],
    width: usize,
    flags: PredictFlags,
) -> Result<Request, Refusal> {
    let points: Points = json_body(content_type, body, r#"{"points": [[0.5, -1.0]]}"#)?;
    if let Some(point) = points.points.iter().find(|p| p.len() != width) {
        return Err(bad(format!(
            "the point {point:?} has {} number(s); this model reads points of {width}",
            point.len()
        )));
    }
    let lines = (points.points.iter())
        .map(|p| p.iter().map(f64::to_string).collect::<Vec<_>>().join(","))
        .collect();
    Ok(Request {
        inputs: ServeInputs::Lines(lines),
        flags,
        reads: Reads::Points(width),
        points: points.points,
    })
}

/// The answers as the API gives them: a picture's classes, each sentence's words and tags, each
/// point's classes or values.
pub fn answers_json(about: &About, request: &Request, served: Vec<Served>) -> Value {
    let class = |c: usize| {
        about
            .classes
            .get(c)
            .cloned()
            .unwrap_or_else(|| c.to_string())
    };
    let ranked = |top: &[(usize, f32)]| -> Value {
        (top.iter())
            .map(|&(c, p)| json!({ "label": class(c), "probability": p }))
            .collect()
    };
    match request.reads {
        Reads::Pictures => {
            let answers = match served.first().and_then(|s| s.answer.as_ref()) {
                Some(Answer::Class(top)) => ranked(top),
                _ => json!([]),
            };
            json!({ "model": about.name, "answers": answers })
        }
        Reads::Sentences => {
            let sentences: Vec<Value> = (served.iter())
                .map(|s| match &s.answer {
                    Some(Answer::Tags(tags)) => (s.label.split(' ').zip(tags))
                        .map(|(word, &tag)| json!({ "word": word, "tag": class(tag) }))
                        .collect(),
                    _ => json!([]),
                })
                .collect();
            json!({ "model": about.name, "sentences": sentences })
        }
        Reads::Points(_) | Reads::Lines => {
            let results: Vec<Value> = (served.iter().enumerate())
                .map(|(i, s)| {
                    let input = match request.points.get(i) {
                        Some(point) => json!(point),
                        None => json!(s.label),
                    };
                    match &s.answer {
                        Some(Answer::Class(top)) => json!({ "input": input, "answers": ranked(top) }),
                        Some(Answer::Values(values)) => json!({ "input": input, "values": values }),
                        Some(Answer::Tags(tags)) => json!({ "input": input, "tags": (tags.iter()).map(|&t| class(t)).collect::<Vec<_>>() }),
                        None => json!({ "input": input }),
                    }
                })
                .collect();
            json!({ "model": about.name, "results": results })
        }
    }
}
