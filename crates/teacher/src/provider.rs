//! Providers: who answers a chat-completion request. [`HttpProvider`] speaks the chat-completions
//! protocol that Mistral (`https://api.mistral.ai/v1`) and every OpenAI-compatible server (vLLM,
//! Ollama, llama.cpp's server, OpenAI) share; the local model implements [`Provider`] in the service
//! layer, which owns the model runtime.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{CallError, CallErrorKind};

/// A boxed future, so that [`Provider`] can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One message of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Turn {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
}

impl Turn {
    /// A turn of `role`.
    pub fn new(role: &str, content: impl Into<String>) -> Self {
        Self {
            role: role.to_string(),
            content: content.into(),
        }
    }
}

/// A chat-completion request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// The conversation to complete.
    pub messages: Vec<Turn>,
    /// Most tokens in the answer.
    pub max_tokens: u32,
    /// Sampling temperature.
    pub temperature: f32,
    /// Ask for a JSON object (`response_format: {"type": "json_object"}`).
    pub json: bool,
    /// What the answer is for. A server is only told through the prompt; the built-in model is
    /// held to that task's JSON object while it writes. Not part of the cache key (the prompt
    /// already says it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<crate::Task>,
}

impl Request {
    /// A rough count of the prompt's tokens (four characters each), for the rate limiter.
    pub fn estimated_prompt_tokens(&self) -> u32 {
        let chars: usize = self.messages.iter().map(|m| m.content.len() + 8).sum();
        (chars / 4) as u32 + 1
    }
}

/// Tokens a request used, as the server counted them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens.
    pub prompt_tokens: u32,
    /// Completion tokens.
    pub completion_tokens: u32,
}

/// An answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The text of the first choice.
    pub text: String,
    /// Tokens used.
    pub usage: Usage,
    /// Why it stopped (`stop`, `length`...), when the server said.
    pub finish_reason: Option<String>,
}

/// Who answers requests.
pub trait Provider: Send + Sync {
    /// Answers one request.
    fn complete<'a>(&'a self, request: &'a Request)
    -> BoxFuture<'a, Result<Completion, CallError>>;

    /// The models the provider offers (`GET /models`).
    fn models(&self) -> BoxFuture<'_, Result<Vec<String>, CallError>>;

    /// What identifies the answers this provider gives, for the cache: kind, address and model.
    fn identity(&self) -> String;

    /// The model that answers.
    fn model(&self) -> &str;
}

/// Settings of an HTTP chat-completions provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// The API's base URL, up to and including the version (`https://api.mistral.ai/v1`).
    pub base_url: String,
    /// The model to ask.
    pub model: String,
    /// The API key, sent as a bearer token.
    pub api_key: Option<String>,
    /// How long one request may take.
    pub timeout: Duration,
}

/// Mistral's API.
pub const MISTRAL_BASE_URL: &str = "https://api.mistral.ai/v1";

/// A chat-completions server over HTTP.
#[derive(Debug, Clone)]
pub struct HttpProvider {
    config: HttpConfig,
    client: reqwest::Client,
    completions: String,
}

impl HttpProvider {
    /// Its [`Provider::identity`] for `base_url` and `model`, without building a client (the cache
    /// keys begin with it).
    pub fn identity_of(base_url: &str, model: &str) -> String {
        let base = base_url.trim().trim_end_matches('/');
        format!("http {base} {model}")
    }

    /// A provider with its own connection pool.
    pub fn new(config: HttpConfig) -> Result<Self, CallError> {
        let base = base_url(&config.base_url)?;
        if config.model.trim().is_empty() {
            return Err(CallError::new(CallErrorKind::Config, "no model named"));
        }
        let client = http_client(config.timeout)?;
        Ok(Self {
            completions: format!("{base}/chat/completions"),
            config: HttpConfig {
                base_url: base,
                ..config
            },
            client,
        })
    }

    fn authorise(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self.config.api_key.as_deref().filter(|k| !k.is_empty()) {
            Some(key) => builder.bearer_auth(key),
            None => builder,
        }
    }

    async fn send(&self, builder: reqwest::RequestBuilder) -> Result<Vec<u8>, CallError> {
        send(self.authorise(builder)).await
    }
}

/// Sends a request and reads its body; a status other than 2xx becomes a [`CallError`] with the
/// server's message and its `Retry-After`.
pub(crate) async fn send(builder: reqwest::RequestBuilder) -> Result<Vec<u8>, CallError> {
    let response = builder.send().await.map_err(transport)?;
    let status = response.status();
    let retry_after = retry_after(response.headers());
    let body = response.bytes().await.map_err(transport)?;
    if !status.is_success() {
        let detail = error_detail(&body);
        let mut e = CallError::new(
            CallErrorKind::Status(status.as_u16()),
            format!("HTTP {status}: {detail}"),
        );
        e.retry_after = retry_after;
        return Err(e);
    }
    Ok(body.to_vec())
}

/// A base URL without its trailing slash, refused unless it is http:// or https://.
pub(crate) fn base_url(url: &str) -> Result<String, CallError> {
    let base = url.trim().trim_end_matches('/').to_string();
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(CallError::new(
            CallErrorKind::Config,
            format!("{base:?} is not an http:// or https:// address"),
        ));
    }
    Ok(base)
}

/// A client with its own connection pool, in which one request may take `timeout`.
pub(crate) fn http_client(timeout: Duration) -> Result<reqwest::Client, CallError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10).min(timeout))
        .pool_max_idle_per_host(256)
        .user_agent(concat!("grimoire/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| {
            CallError::new(
                CallErrorKind::Config,
                format!("cannot build the HTTP client: {e}"),
            )
        })
}

#[derive(Serialize)]
struct WireRequest<'a> {
    model: &'a str,
    messages: &'a [Turn],
    max_tokens: u32,
    temperature: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<ResponseFormat>,
}

#[derive(Serialize)]
struct ResponseFormat {
    r#type: &'static str,
}

#[derive(Deserialize)]
struct WireResponse {
    #[serde(default)]
    choices: Vec<WireChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireChoice {
    message: WireMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireMessage {
    #[serde(default)]
    content: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u32,
    #[serde(default)]
    completion_tokens: u32,
}

#[derive(Deserialize)]
struct WireModels {
    #[serde(default)]
    data: Vec<WireModel>,
}

#[derive(Deserialize)]
struct WireModel {
    id: String,
}

/// Reads a chat-completion response body.
pub fn parse_completion(body: &[u8]) -> Result<Completion, CallError> {
    let wire: WireResponse = serde_json::from_slice(body).map_err(|e| {
        CallError::new(
            CallErrorKind::Protocol,
            format!(
                "the answer is not a chat completion ({e}): {}",
                snippet(body)
            ),
        )
    })?;
    let Some(choice) = wire.choices.into_iter().next() else {
        return Err(CallError::new(
            CallErrorKind::Protocol,
            format!("the answer has no choices: {}", snippet(body)),
        ));
    };
    // Mistral may send the content as a list of chunks.
    let text = match choice.message.content {
        Some(serde_json::Value::String(s)) => s,
        Some(serde_json::Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(|t| t.as_str()))
            .collect(),
        _ => String::new(),
    };
    let usage = wire
        .usage
        .map(|u| Usage {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
        })
        .unwrap_or_default();
    Ok(Completion {
        text,
        usage,
        finish_reason: choice.finish_reason,
    })
}

impl Provider for HttpProvider {
    fn complete<'a>(
        &'a self,
        request: &'a Request,
    ) -> BoxFuture<'a, Result<Completion, CallError>> {
        Box::pin(async move {
            let wire = WireRequest {
                model: &self.config.model,
                messages: &request.messages,
                max_tokens: request.max_tokens,
                temperature: request.temperature,
                response_format: request.json.then_some(ResponseFormat {
                    r#type: "json_object",
                }),
            };
            let body = serde_json::to_vec(&wire)
                .map_err(|e| CallError::new(CallErrorKind::Config, e.to_string()))?;
            let builder = self
                .client
                .post(&self.completions)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
            let body = self.send(builder).await?;
            parse_completion(&body)
        })
    }

    fn models(&self) -> BoxFuture<'_, Result<Vec<String>, CallError>> {
        Box::pin(async move {
            let body = self
                .send(self.client.get(format!("{}/models", self.config.base_url)))
                .await?;
            let wire: WireModels = serde_json::from_slice(&body).map_err(|e| {
                CallError::new(
                    CallErrorKind::Protocol,
                    format!(
                        "the model list is not in the OpenAI shape ({e}): {}",
                        snippet(&body)
                    ),
                )
            })?;
            Ok(wire.data.into_iter().map(|m| m.id).collect())
        })
    }

    fn identity(&self) -> String {
        Self::identity_of(&self.config.base_url, &self.config.model)
    }

    fn model(&self) -> &str {
        &self.config.model
    }
}

fn transport(e: reqwest::Error) -> CallError {
    let kind = if e.is_timeout() {
        CallErrorKind::Timeout
    } else if e.is_builder() {
        CallErrorKind::Config
    } else {
        CallErrorKind::Connection
    };
    // The chain says what happened ("connection refused", "connection closed before message completed").
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    CallError::new(kind, message)
}

/// `Retry-After` in seconds or as an HTTP date (RFC 9110), or OpenAI's `retry-after-ms`.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    retry_after_at(headers, std::time::SystemTime::now())
}

fn retry_after_at(headers: &reqwest::header::HeaderMap, now: std::time::SystemTime) -> Option<Duration> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let seconds = |v: &str| v.parse::<f64>().ok();
    let d = text("retry-after-ms")
        .and_then(seconds)
        .map(|ms| ms / 1000.0)
        .or_else(|| text("retry-after").and_then(seconds))
        .or_else(|| {
            // A date: how long from now until then (a date already past means now).
            let when = httpdate::parse_http_date(text("retry-after")?).ok()?;
            Some(when.duration_since(now).unwrap_or_default().as_secs_f64())
        })?;
    (d.is_finite() && d >= 0.0).then(|| Duration::from_secs_f64(d.min(3600.0)))
}

/// The `message` of an OpenAI- or Mistral-shaped error body, or the start of the body.
fn error_detail(body: &[u8]) -> String {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let message = json.as_ref().and_then(|j| {
        j.pointer("/error/message")
            .or_else(|| j.get("message"))
            .or_else(|| j.get("detail"))
            .and_then(|m| m.as_str())
            .map(str::to_owned)
    });
    message.unwrap_or_else(|| snippet(body))
}

pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut s: String = text.chars().take(300).collect();
    if text.chars().count() > 300 {
        s.push('…');
    }
    if s.trim().is_empty() {
        "(empty body)".into()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn retry_after_reads_seconds_milliseconds_and_http_dates() {
        use reqwest::header::{HeaderMap, HeaderValue};
        let now = std::time::UNIX_EPOCH + Duration::from_secs(1_445_412_480); // Wed, 21 Oct 2015 07:28:00 GMT
        let with = |name: &'static str, value: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(name, HeaderValue::from_static(value));
            retry_after_at(&h, now)
        };
        assert_eq!(with("retry-after", "7"), Some(Duration::from_secs(7)));
        assert_eq!(with("retry-after-ms", "1500"), Some(Duration::from_millis(1500)));
        assert_eq!(with("retry-after", "Wed, 21 Oct 2015 07:28:30 GMT"), Some(Duration::from_secs(30)));
        assert_eq!(with("retry-after", "Wed, 21 Oct 2015 07:00:00 GMT"), Some(Duration::ZERO));
        assert_eq!(with("retry-after", "soon"), None);
        assert_eq!(with("retry-after", "-3"), None);
    }

    use super::*;

    #[test]
    fn completions_in_both_content_shapes() {
        let c = parse_completion(br#"{"choices":[{"message":{"content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}"#).unwrap();
        assert_eq!(
            (
                c.text.as_str(),
                c.usage.prompt_tokens,
                c.finish_reason.as_deref()
            ),
            ("hi", 3, Some("stop"))
        );
        let c = parse_completion(br#"{"choices":[{"message":{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}}]}"#).unwrap();
        assert_eq!(c.text, "ab");
        assert_eq!(
            parse_completion(b"<html>").unwrap_err().kind,
            CallErrorKind::Protocol
        );
        assert_eq!(
            parse_completion(br#"{"choices":[]}"#).unwrap_err().kind,
            CallErrorKind::Protocol
        );
    }

    #[test]
    fn errors_say_what_the_server_said() {
        assert_eq!(
            error_detail(br#"{"error":{"message":"Invalid API key"}}"#),
            "Invalid API key"
        );
        assert_eq!(
            error_detail(br#"{"message":"Unauthorized","request_id":"x"}"#),
            "Unauthorized"
        );
        assert_eq!(error_detail(b""), "(empty body)");
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", "150".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_millis(150)));
    }

    #[test]
    fn bad_settings_are_refused_before_any_request() {
        let cfg = |url: &str, model: &str| HttpConfig {
            base_url: url.into(),
            model: model.into(),
            api_key: None,
            timeout: Duration::from_secs(1),
        };
        assert_eq!(
            HttpProvider::new(cfg("api.mistral.ai", "m"))
                .unwrap_err()
                .kind,
            CallErrorKind::Config
        );
        assert_eq!(
            HttpProvider::new(cfg(MISTRAL_BASE_URL, " "))
                .unwrap_err()
                .kind,
            CallErrorKind::Config
        );
        assert!(HttpProvider::new(cfg("http://127.0.0.1:1/v1/", "m")).is_ok());
    }
}
