//! Mistral's managed fine-tuning API: upload the data (`POST /files`, purpose `fine-tune`), create a
//! job (`POST /fine_tuning/jobs`), start, cancel, list and read jobs. Requests go through the same
//! HTTP client, error reading and retry policy as the chat providers ([`crate::provider`],
//! [`crate::retry`]): rate limits and server errors are retried with backoff and `Retry-After`;
//! requests that would do the work twice if repeated (creating a job) are retried only when the
//! server said it did nothing (429).
//!
//! The key goes in the `Authorization` header and nowhere else: no type here that is serialised
//! holds it.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use crate::error::{CallError, CallErrorKind};
use crate::provider::{base_url, http_client, send, snippet};
use crate::retry::RetryPolicy;

/// Hyper-parameters of a job; what is left out Mistral chooses.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(rename = "MistralHyperparameters")]
pub struct Hyperparameters {
    /// Optimizer steps (Mistral counts a step as one batch of its own size).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training_steps: Option<u32>,
    /// Passes over the training data (instead of steps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epochs: Option<f64>,
    /// Peak learning rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub learning_rate: Option<f64>,
    /// Weight decay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_decay: Option<f64>,
    /// The share of steps that warm the learning rate up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warmup_fraction: Option<f64>,
    /// Longest sequence, in tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq_len: Option<u32>,
}

/// Where a job stands, as Mistral names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[ts(rename = "MistralStatus")]
pub enum JobStatus {
    /// Waiting for Mistral to look at it.
    Queued,
    /// Picked up.
    Started,
    /// Mistral is checking the data.
    Validating,
    /// The data passed; waits for a start (`auto_start` off).
    Validated,
    /// Training.
    Running,
    /// Mistral refused the data.
    FailedValidation,
    /// Training failed.
    Failed,
    /// Done: `fine_tuned_model` names the result.
    Success,
    /// Cancelled.
    Cancelled,
    /// A cancel was asked for and is under way.
    CancellationRequested,
    /// A status this version does not know.
    Unknown,
}

impl JobStatus {
    /// Whether the job will not change any more.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::FailedValidation | Self::Failed | Self::Success | Self::Cancelled
        )
    }

    /// Mistral's own name for it (`FAILED_VALIDATION`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "QUEUED",
            Self::Started => "STARTED",
            Self::Validating => "VALIDATING",
            Self::Validated => "VALIDATED",
            Self::Running => "RUNNING",
            Self::FailedValidation => "FAILED_VALIDATION",
            Self::Failed => "FAILED",
            Self::Success => "SUCCESS",
            Self::Cancelled => "CANCELLED",
            Self::CancellationRequested => "CANCELLATION_REQUESTED",
            Self::Unknown => "UNKNOWN",
        }
    }

    /// Reads Mistral's name; an unknown one is [`JobStatus::Unknown`].
    pub fn parse(s: &str) -> Self {
        const ALL: [JobStatus; 10] = [
            JobStatus::Queued,
            JobStatus::Started,
            JobStatus::Validating,
            JobStatus::Validated,
            JobStatus::Running,
            JobStatus::FailedValidation,
            JobStatus::Failed,
            JobStatus::Success,
            JobStatus::Cancelled,
            JobStatus::CancellationRequested,
        ];
        ALL.into_iter()
            .find(|status| status.as_str() == s)
            .unwrap_or(Self::Unknown)
    }
}

/// A file Mistral holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct UploadedFile {
    /// Its id, for a job's `training_files` or `validation_files`.
    pub id: String,
    /// Its name.
    #[serde(default)]
    pub filename: String,
    /// Its size.
    #[serde(default)]
    pub bytes: u64,
}

/// Something that happened to a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(rename = "MistralEvent")]
pub struct JobEvent {
    /// What (`status-updated`...).
    pub name: String,
    /// What it says, in words (the new status, or the error).
    pub message: String,
    /// When, in seconds since 1970.
    pub created_at: i64,
}

/// A checkpoint's losses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(rename = "MistralCheckpoint")]
pub struct Checkpoint {
    /// The step it was taken at.
    pub step: u64,
    /// Training loss.
    pub train_loss: Option<f64>,
    /// Validation loss.
    pub valid_loss: Option<f64>,
    /// Share of validation tokens predicted right.
    pub valid_mean_token_accuracy: Option<f64>,
    /// When, in seconds since 1970.
    pub created_at: i64,
}

/// What Mistral estimates for a job once it has read the data.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(rename = "MistralMetadata")]
pub struct JobMetadata {
    /// Its price for the training.
    pub cost: Option<f64>,
    /// The currency of `cost`.
    pub cost_currency: Option<String>,
    /// Tokens trained on in all.
    pub train_tokens: Option<u64>,
    /// Tokens per step.
    pub train_tokens_per_step: Option<u64>,
    /// Tokens in the data.
    pub data_tokens: Option<u64>,
    /// How long the training should take, in seconds.
    pub expected_duration_seconds: Option<u64>,
}

/// A fine-tuning job as Mistral describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Job {
    /// Its id.
    pub id: String,
    /// The base model.
    pub model: String,
    /// Where it stands.
    pub status: JobStatus,
    /// The tuned model's id, once it succeeded.
    pub fine_tuned_model: Option<String>,
    /// The suffix of that id.
    pub suffix: Option<String>,
    /// Whether training starts by itself once the data is validated.
    pub auto_start: bool,
    /// Training files.
    pub training_files: Vec<String>,
    /// Validation files.
    pub validation_files: Vec<String>,
    /// Its hyper-parameters.
    pub hyperparameters: Hyperparameters,
    /// Mistral's estimate of cost and duration.
    pub metadata: Option<JobMetadata>,
    /// Tokens trained so far.
    pub trained_tokens: Option<u64>,
    /// When it was created, in seconds since 1970.
    pub created_at: i64,
    /// When it last changed.
    pub modified_at: i64,
    /// What happened to it (only when read one at a time).
    pub events: Vec<JobEvent>,
    /// Its checkpoints' losses (only when read one at a time).
    pub checkpoints: Vec<Checkpoint>,
}

/// A job to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// The base model (`open-mistral-7b`, `mistral-small-latest`...).
    pub model: String,
    /// The uploaded training file.
    pub training_file: String,
    /// The uploaded validation file.
    pub validation_file: Option<String>,
    /// Hyper-parameters.
    pub hyperparameters: Hyperparameters,
    /// Appended to the tuned model's id.
    pub suffix: Option<String>,
    /// Start training as soon as the data is validated; off: wait for [`FineTuneClient::start`].
    pub auto_start: bool,
}

/// How to reach the API.
#[derive(Debug, Clone, PartialEq)]
pub struct FineTuneConfig {
    /// The base URL with its version (`https://api.mistral.ai/v1`).
    pub base_url: String,
    /// The API key.
    pub api_key: Option<String>,
    /// How long one request may take (an upload included).
    pub timeout: Duration,
    /// How failed requests are retried.
    pub retry: RetryPolicy,
}

/// A client of the fine-tuning API.
#[derive(Debug, Clone)]
pub struct FineTuneClient {
    client: reqwest::Client,
    base: String,
    key: Option<String>,
    retry: RetryPolicy,
}

/// Whether repeating a request could do its work twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repeat {
    /// Reads, uploads (a repeated upload leaves an unused file at worst), start and cancel.
    Safe,
    /// Creating a job: only retried when the server said it did nothing.
    OnlyIfRefused,
}

impl FineTuneClient {
    /// A client; fails on an address that is not http(s).
    pub fn new(config: FineTuneConfig) -> Result<Self, CallError> {
        Ok(Self {
            base: base_url(&config.base_url)?,
            client: http_client(config.timeout)?,
            key: config.api_key.filter(|k| !k.trim().is_empty()),
            retry: config.retry,
        })
    }

    /// The base URL in use.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    async fn call(
        &self,
        repeat: Repeat,
        make: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Vec<u8>, CallError> {
        let mut attempt = 1;
        loop {
            let mut builder = make();
            if let Some(key) = &self.key {
                builder = builder.bearer_auth(key);
            }
            match send(builder).await {
                Ok(body) => return Ok(body),
                Err(e) => {
                    let may_repeat = match repeat {
                        Repeat::Safe => true,
                        Repeat::OnlyIfRefused => e.kind == CallErrorKind::Status(429),
                    };
                    if !(may_repeat && self.retry.should_retry(&e, attempt)) {
                        return Err(e);
                    }
                    tokio::time::sleep(self.retry.delay(attempt, e.retry_after)).await;
                    attempt += 1;
                }
            }
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Uploads a JSONL file for fine-tuning (multipart, purpose `fine-tune`).
    pub async fn upload(
        &self,
        filename: &str,
        content: Vec<u8>,
    ) -> Result<UploadedFile, CallError> {
        let boundary = format!("grimoire-{:016x}", fastrand::u64(..));
        let body = multipart(&boundary, filename, &content);
        let url = self.url("/files");
        let bytes = self
            .call(Repeat::Safe, || {
                self.client
                    .post(&url)
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        format!("multipart/form-data; boundary={boundary}"),
                    )
                    .body(body.clone())
            })
            .await?;
        parse(&bytes, "an uploaded file")
    }

    /// Creates a job.
    pub async fn create(&self, job: &NewJob) -> Result<Job, CallError> {
        let body = serde_json::json!({
            "model": job.model,
            "training_files": [{ "file_id": job.training_file, "weight": 1 }],
            "validation_files": job.validation_file.iter().collect::<Vec<_>>(),
            "hyperparameters": job.hyperparameters,
            "suffix": job.suffix,
            "auto_start": job.auto_start,
        })
        .to_string();
        let url = self.url("/fine_tuning/jobs");
        let bytes = self
            .call(Repeat::OnlyIfRefused, || self.json_post(&url, body.clone()))
            .await?;
        parse_job(&bytes)
    }

    /// Reads one job, with its events and checkpoints.
    pub async fn job(&self, id: &str) -> Result<Job, CallError> {
        let url = self.url(&format!("/fine_tuning/jobs/{id}"));
        parse_job(&self.call(Repeat::Safe, || self.client.get(&url)).await?)
    }

    /// Every job of the account (the first 100), newest first.
    pub async fn jobs(&self) -> Result<Vec<Job>, CallError> {
        #[derive(Deserialize)]
        struct List {
            #[serde(default)]
            data: Vec<Value>,
        }
        let url = self.url("/fine_tuning/jobs?page=0&page_size=100");
        let bytes = self.call(Repeat::Safe, || self.client.get(&url)).await?;
        let list: List = parse(&bytes, "a job list")?;
        Ok(list.data.into_iter().map(job_from).collect())
    }

    /// Starts a validated job that was created with `auto_start` off.
    pub async fn start(&self, id: &str) -> Result<Job, CallError> {
        let url = self.url(&format!("/fine_tuning/jobs/{id}/start"));
        parse_job(
            &self
                .call(Repeat::Safe, || self.json_post(&url, String::new()))
                .await?,
        )
    }

    /// Asks for a job to be cancelled.
    pub async fn cancel(&self, id: &str) -> Result<Job, CallError> {
        let url = self.url(&format!("/fine_tuning/jobs/{id}/cancel"));
        parse_job(
            &self
                .call(Repeat::Safe, || self.json_post(&url, String::new()))
                .await?,
        )
    }

    fn json_post(&self, url: &str, body: String) -> reqwest::RequestBuilder {
        self.client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
    }
}

/// A `multipart/form-data` body with the file and `purpose=fine-tune`.
fn multipart(boundary: &str, filename: &str, content: &[u8]) -> Vec<u8> {
    let name = filename.replace(['"', '\r', '\n'], "_");
    let mut body = Vec::with_capacity(content.len() + 400);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: application/jsonl\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T, CallError> {
    serde_json::from_slice(body).map_err(|e| {
        CallError::new(
            CallErrorKind::Protocol,
            format!("the answer is not {what} ({e}): {}", snippet(body)),
        )
    })
}

/// Reads a job as the API returns it (unknown fields ignored, missing ones empty).
pub fn parse_job(body: &[u8]) -> Result<Job, CallError> {
    let value: Value = parse(body, "a fine-tuning job")?;
    if value.get("id").and_then(Value::as_str).is_none() {
        return Err(CallError::new(
            CallErrorKind::Protocol,
            format!("the answer is not a fine-tuning job: {}", snippet(body)),
        ));
    }
    Ok(job_from(value))
}

fn job_from(v: Value) -> Job {
    let text = |key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    let int = |v: &Value, key: &str| v.get(key).and_then(Value::as_i64).unwrap_or(0);
    // Files come as ids, or as objects with a `file_id`.
    let files = |key: &str| -> Vec<String> {
        v.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|f| f.as_str().or_else(|| f.get("file_id")?.as_str()))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let events = v
        .get("events")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|e| JobEvent {
                    name: e
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    message: event_message(e.get("data")),
                    created_at: int(e, "created_at"),
                })
                .collect()
        })
        .unwrap_or_default();
    let checkpoints = v
        .get("checkpoints")
        .and_then(Value::as_array)
        .map(|a| {
            let mut list: Vec<Checkpoint> = a
                .iter()
                .map(|c| {
                    let metric =
                        |k: &str| c.pointer(&format!("/metrics/{k}")).and_then(Value::as_f64);
                    Checkpoint {
                        step: c.get("step_number").and_then(Value::as_u64).unwrap_or(0),
                        train_loss: metric("train_loss"),
                        valid_loss: metric("valid_loss"),
                        valid_mean_token_accuracy: metric("valid_mean_token_accuracy"),
                        created_at: int(c, "created_at"),
                    }
                })
                .collect();
            list.sort_by_key(|c| c.step);
            list
        })
        .unwrap_or_default();
    fn of<T: serde::de::DeserializeOwned>(v: &Value, key: &str) -> Option<T> {
        serde_json::from_value(v.get(key)?.clone()).ok()
    }
    Job {
        id: text("id").unwrap_or_default(),
        model: text("model").unwrap_or_default(),
        status: text("status")
            .map(|s| JobStatus::parse(&s))
            .unwrap_or(JobStatus::Unknown),
        fine_tuned_model: text("fine_tuned_model"),
        suffix: text("suffix"),
        auto_start: v
            .get("auto_start")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        training_files: files("training_files"),
        validation_files: files("validation_files"),
        hyperparameters: of(&v, "hyperparameters").unwrap_or_default(),
        metadata: of(&v, "metadata"),
        trained_tokens: v.get("trained_tokens").and_then(Value::as_u64),
        created_at: int(&v, "created_at"),
        modified_at: int(&v, "modified_at"),
        events,
        checkpoints,
    }
}

/// An event's data in words: the new status, the error, or the data itself.
fn event_message(data: Option<&Value>) -> String {
    let Some(data) = data.filter(|d| !d.is_null()) else {
        return String::new();
    };
    let field = |k: &str| data.get(k).and_then(Value::as_str);
    let mut parts: Vec<String> = Vec::new();
    if let Some(status) = field("status") {
        parts.push(status.to_string());
    }
    for key in ["error", "message", "reason", "detail"] {
        if let Some(text) = field(key) {
            parts.push(text.to_string());
        }
    }
    if parts.is_empty() {
        data.to_string()
    } else {
        parts.join(": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_job_with_events_and_checkpoints() {
        let body = br#"{"id":"j1","model":"open-mistral-7b","status":"RUNNING","auto_start":true,
            "training_files":["f1"],"validation_files":[{"file_id":"f2"}],
            "hyperparameters":{"training_steps":10,"learning_rate":0.0001},
            "metadata":{"cost":1.5,"cost_currency":"USD","train_tokens":1000},
            "events":[{"name":"status-updated","data":{"status":"RUNNING"},"created_at":5},
                      {"name":"error","data":{"error":"bad line 3"},"created_at":6}],
            "checkpoints":[{"metrics":{"train_loss":1.2,"valid_loss":1.4},"step_number":4,"created_at":9},
                           {"metrics":{"train_loss":1.5},"step_number":2,"created_at":8}],
            "created_at":1,"modified_at":2,"new_field":true}"#;
        let job = parse_job(body).unwrap();
        assert_eq!(job.status, JobStatus::Running);
        assert_eq!(job.training_files, ["f1"]);
        assert_eq!(job.validation_files, ["f2"]);
        assert_eq!(job.hyperparameters.training_steps, Some(10));
        assert_eq!(job.metadata.unwrap().cost, Some(1.5));
        assert_eq!(job.events[0].message, "RUNNING");
        assert_eq!(job.events[1].message, "bad line 3");
        assert_eq!(
            job.checkpoints.iter().map(|c| c.step).collect::<Vec<_>>(),
            [2, 4]
        );
        assert_eq!(job.checkpoints[1].valid_loss, Some(1.4));
        assert_eq!(parse_job(b"{}").unwrap_err().kind, CallErrorKind::Protocol);
        assert_eq!(
            parse_job(b"<html>").unwrap_err().kind,
            CallErrorKind::Protocol
        );
    }

    #[test]
    fn every_status_reads_and_unknown_ones_do_not_fail() {
        for s in [
            "QUEUED",
            "STARTED",
            "VALIDATING",
            "VALIDATED",
            "RUNNING",
            "FAILED_VALIDATION",
            "FAILED",
            "SUCCESS",
            "CANCELLED",
            "CANCELLATION_REQUESTED",
        ] {
            assert_eq!(JobStatus::parse(s).as_str(), s);
        }
        assert_eq!(JobStatus::parse("PAUSED"), JobStatus::Unknown);
        assert!(JobStatus::Success.is_terminal() && !JobStatus::Validated.is_terminal());
    }

    #[test]
    fn the_multipart_body_has_the_purpose_and_the_file() {
        let body =
            String::from_utf8(multipart("B", "tr\"ain.jsonl", b"{\"messages\":[]}\n")).unwrap();
        assert!(body.starts_with("--B\r\n"));
        assert!(body.contains("name=\"purpose\"\r\n\r\nfine-tune\r\n"));
        assert!(body.contains("filename=\"tr_ain.jsonl\""));
        assert!(body.contains("\r\n\r\n{\"messages\":[]}\n\r\n--B--\r\n"));
    }

    #[test]
    fn hyperparameters_leave_out_what_is_not_set() {
        let h = Hyperparameters {
            epochs: Some(2.0),
            ..Default::default()
        };
        assert_eq!(serde_json::to_string(&h).unwrap(), r#"{"epochs":2.0}"#);
    }
}
