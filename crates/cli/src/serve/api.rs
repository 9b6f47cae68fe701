//! The HTTP API (docs/serve.md): `GET /health`, `GET /v1/models`, `POST
//! /v1/models/{name}/predict`, and the page at `/`. Every answer is JSON; every error is `{"error":
//! "..."}` with a 4xx status for the client's fault and 5xx for the server's.

use std::sync::mpsc::TrySendError;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tower_http::catch_panic::CatchPanicLayer;
use zoo_train::data::{PredictFlags, Reads};
use zoo_train::run::serve::{ModelFailed, ServeInputs, ServeRequest, Served};

use super::answers::{answers_json, Request};
use super::models::{About, Served as Model};

/// The largest request body taken, in bytes; a larger one is answered 413.
pub const BODY_LIMIT: usize = 1 << 20;

/// The page at `/`: one self-contained HTML file.
const PAGE: &str = include_str!("page.html");

/// What the handlers share: the served models.
pub struct Models {
    /// Each model's description and queue.
    pub served: Vec<Model>,
}

/// The server's routes over `models`.
pub fn router(models: Arc<Models>) -> Router {
    Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/health", get(health))
        .route("/v1/models", get(list))
        .route("/v1/models/{name}/predict", post(predict))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such page: the API is GET /health, GET /v1/models and POST /v1/models/{name}/predict (docs/serve.md)") })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::custom(|_| {
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the server failed on this request (its log has the panic); it goes on",
            )
        }))
        .with_state(models)
}

/// `{"error": message}` with `status`.
pub fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

async fn health(State(models): State<Arc<Models>>) -> Json<Value> {
    Json(json!({ "status": "ok", "models": models.served.len() }))
}

async fn list(State(models): State<Arc<Models>>) -> Json<Value> {
    let about: Vec<&About> = models.served.iter().map(|m| &m.about).collect();
    Json(json!({ "models": about }))
}

/// `?invert=true`.
#[derive(Debug, Deserialize)]
struct PredictQuery {
    #[serde(default)]
    invert: bool,
}

async fn predict(
    State(models): State<Arc<Models>>,
    Path(name): Path<String>,
    query: Result<Query<PredictQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(model) = models.served.iter().find(|m| m.about.name == name) else {
        let names: Vec<&str> = models
            .served
            .iter()
            .map(|m| m.about.name.as_str())
            .collect();
        return error(
            StatusCode::NOT_FOUND,
            format!(
                "no model `{name}` is served here; these are: {}",
                names.join(", ")
            ),
        );
    };
    let query = match query {
        Ok(Query(query)) => query,
        Err(rejection) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("{rejection}; the only parameter is ?invert=true or ?invert=false"),
            )
        }
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is over the limit of {BODY_LIMIT} bytes"),
            )
        }
        Err(rejection) => return error(rejection.status(), rejection.body_text()),
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut request = match Request::read(model.reads, content_type, &body, query.invert) {
        Ok(request) => request,
        Err((status, message)) => return error(status, message),
    };
    drop(body);
    match ask(model, request.take_inputs(), request.flags.clone()).await {
        Ok(served) => Json(answers_json(&model.about, &request, served)).into_response(),
        Err(response) => response,
    }
}

/// Puts the inputs in the model's queue and waits for its answers.
async fn ask(
    model: &Model,
    inputs: ServeInputs,
    flags: PredictFlags,
) -> Result<Vec<Served>, Response> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let reply = Box::new(move |answers| {
        let _ = sender.send(answers);
    });
    let request = ServeRequest {
        inputs,
        flags,
        reply,
    };
    match model.queue.try_send(request) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => {
            return Err(error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "`{}` has a full queue of requests; try again shortly",
                    model.about.name
                ),
            ))
        }
        Err(TrySendError::Disconnected(_)) => {
            return Err(error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("`{}` has stopped", model.about.name),
            ))
        }
    }
    match receiver.await {
        Ok(Ok(served)) => Ok(served),
        Ok(Err(err)) if err.is::<ModelFailed>() => {
            Err(error(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()))
        }
        Ok(Err(err)) => Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            in_api_terms(model.reads, &format!("{err:#}")),
        )),
        Err(_) => Err(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("`{}` stopped before answering", model.about.name),
        )),
    }
}

/// A reader's message with `zoo predict`'s flag named as the API's parameter.
fn in_api_terms(reads: Reads, message: &str) -> String {
    match reads {
        Reads::Pictures => message.replace("pass --invert", "add ?invert=true to the URL"),
        _ => message.to_string(),
    }
}
