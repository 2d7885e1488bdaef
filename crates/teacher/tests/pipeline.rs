//! The pipeline against a real HTTP server on loopback that is slow, rate-limits, fails and drops
//! connections, and answers in every shape a model does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use grimoire_dataset::Persona;
use grimoire_teacher::loopback::{Reply, Server};
use grimoire_teacher::{
    CallErrorKind, Evaluator, HttpConfig, HttpProvider, ItemResult, Outcome, PipelineConfig,
    PipelineError, Progress, Provider, Request, RetryPolicy, Sink, Task, Turn, Usage, WorkItem,
    run,
};

#[derive(Default)]
struct MemorySink {
    cache: HashMap<String, (String, Usage)>,
    results: Vec<(i64, ItemResult)>,
    progress: Vec<Progress>,
    stop_after: Option<usize>,
}

impl Sink for MemorySink {
    type Error = String;
    fn cached(&mut self, item: &WorkItem) -> Result<Option<(String, Usage)>, String> {
        Ok(self.cache.get(&item.key).cloned())
    }
    fn record(&mut self, item: &WorkItem, result: &ItemResult) -> Result<(), String> {
        if let ItemResult::Answered { answer, .. } = result {
            self.cache
                .insert(item.key.clone(), (answer.text.clone(), answer.usage));
        }
        self.results.push((item.index, result.clone()));
        match self.stop_after {
            Some(n) if self.results.len() >= n => Err("cancelled".into()),
            _ => Ok(()),
        }
    }
    fn progress(&mut self, p: &Progress) -> Result<(), String> {
        self.progress.push(p.clone());
        Ok(())
    }
}

fn provider(server: &Server) -> Arc<dyn Provider> {
    let config = HttpConfig {
        base_url: server.base_url(),
        model: "loopback".into(),
        api_key: Some("sk-test".into()),
        timeout: Duration::from_secs(2),
    };
    Arc::new(HttpProvider::new(config).unwrap())
}

fn items(n: usize) -> Vec<WorkItem> {
    (0..n)
        .map(|i| WorkItem {
            index: i as i64,
            key: format!("key-{i}"),
            request: Request {
                messages: vec![Turn::new("user", format!("passage {i}"))],
                max_tokens: 200,
                temperature: 0.3,
                json: true,
                task: None,
            },
            source: "Elizabeth walked to Netherfield across the wet fields.".into(),
        })
        .collect()
}

fn evaluator() -> Arc<Evaluator> {
    Arc::new(Evaluator {
        task: Task::Rewrite,
        persona: Persona {
            name: "Elizabeth Bennet".into(),
            aliases: vec![],
        },
        system_prompt: None,
    })
}

const GOOD: &str = r#"{"question": "Why did you walk to Netherfield?", "account": "I walked to Netherfield across the wet fields."}"#;

fn config() -> PipelineConfig {
    PipelineConfig {
        max_in_flight: 4,
        retry: RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        },
        ..Default::default()
    }
}

#[test]
fn retries_429_5xx_and_dropped_connections_and_rejects_garbage_with_a_reason() {
    // Per passage: the first request of passage 1 is rate-limited, of 2 a server error, of 3 dropped;
    // 4 answers chatty fenced JSON, 5 garbage; the rest answer well.
    let seen: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let server = Server::start(move |req| {
        let passage = req.last_message().to_string();
        let n = {
            let mut seen = seen.lock().unwrap();
            let n = seen.entry(passage.clone()).or_default();
            *n += 1;
            *n
        };
        match (passage.as_str(), n) {
            ("passage 1", 1) => Reply::status(429, r#"{"message":"Requests rate limit exceeded"}"#)
                .header("retry-after", "0.2"),
            ("passage 2", 1) => Reply::status(503, "upstream down"),
            ("passage 3", 1) => Reply::drop_connection(),
            ("passage 4", _) => Reply::chat(&format!("Sure! Here it is:\n```json\n{GOOD}\n```")),
            ("passage 5", _) => Reply::chat("I would rather talk about the weather."),
            _ => Reply::chat(GOOD).after(Duration::from_millis(20)),
        }
    })
    .unwrap();
    let mut sink = MemorySink::default();
    let started = Instant::now();
    let p = run(
        provider(&server),
        evaluator(),
        &config(),
        items(8),
        Progress::default(),
        &mut sink,
    )
    .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "Retry-After was honoured"
    );
    assert_eq!(
        (
            p.done, p.total, p.accepted, p.rejected, p.failed, p.examples
        ),
        (8, 8, 7, 1, 0, 7)
    );
    assert_eq!(p.retries, 3);
    assert_eq!(server.requests(), 11);
    assert!(p.prompt_tokens >= 800, "{p:?}");
    let by_index: HashMap<i64, &ItemResult> = sink.results.iter().map(|(i, r)| (*i, r)).collect();
    let ItemResult::Answered {
        answer,
        outcome: Outcome::Rejected { reason },
    } = by_index[&5]
    else {
        panic!("{:?}", by_index[&5])
    };
    assert!(reason.contains("no JSON"), "{reason}");
    assert_eq!(answer.attempts, 1);
    let ItemResult::Answered {
        answer,
        outcome: Outcome::Accepted { examples, repairs },
    } = by_index[&4]
    else {
        panic!()
    };
    assert!(repairs.contains(&grimoire_teacher::Repair::Fenced));
    assert_eq!(
        examples[0].messages[1].content,
        "I walked to Netherfield across the wet fields."
    );
    assert!(examples[0].flags.is_empty(), "{:?}", examples[0].flags);
    let ItemResult::Answered {
        answer: retried, ..
    } = by_index[&1]
    else {
        panic!()
    };
    assert_eq!((retried.attempts, answer.attempts), (2, 1));
    assert_eq!(sink.progress.last().unwrap().done, 8);

    // A rerun is answered from the cache: no request, no tokens.
    let before = server.requests();
    let mut again = MemorySink {
        cache: sink.cache.clone(),
        ..Default::default()
    };
    let p = run(
        provider(&server),
        evaluator(),
        &config(),
        items(8),
        Progress::default(),
        &mut again,
    )
    .unwrap();
    assert_eq!(
        (
            server.requests(),
            p.cached,
            p.prompt_tokens,
            p.accepted,
            p.rejected
        ),
        (before, 8, 0, 7, 1)
    );
}

#[test]
fn a_request_that_keeps_failing_is_recorded_and_a_bad_key_stops_everything() {
    let server = Server::start(|req| {
        if req.last_message() == "passage 0" {
            Reply::status(500, "boom")
        } else {
            Reply::chat(GOOD)
        }
    })
    .unwrap();
    let mut sink = MemorySink::default();
    let p = run(
        provider(&server),
        evaluator(),
        &config(),
        items(3),
        Progress::default(),
        &mut sink,
    )
    .unwrap();
    assert_eq!((p.failed, p.accepted), (1, 2));
    let failed = sink
        .results
        .iter()
        .find(|(i, _)| *i == 0)
        .map(|(_, r)| r.clone())
        .unwrap();
    let ItemResult::Failed { error, attempts } = failed else {
        panic!()
    };
    assert_eq!((error.kind, attempts), (CallErrorKind::Status(500), 4));
    assert!(error.message.contains("boom"), "{}", error.message);

    let refusing = Server::start(|_| Reply::status(401, r#"{"message":"Unauthorized"}"#)).unwrap();
    let mut sink = MemorySink::default();
    let err = run(
        provider(&refusing),
        evaluator(),
        &config(),
        items(20),
        Progress::default(),
        &mut sink,
    )
    .unwrap_err();
    let PipelineError::Fatal(e) = err else {
        panic!("{err}")
    };
    assert!(
        e.message.contains("401") && e.message.contains("Unauthorized"),
        "{}",
        e.message
    );
    assert!(
        refusing.requests() < 20,
        "the job stops instead of asking twenty times"
    );
}

#[test]
fn stopping_midway_keeps_what_was_recorded_and_the_rest_resumes() {
    let server = Server::start(|_| Reply::chat(GOOD).after(Duration::from_millis(30))).unwrap();
    let mut sink = MemorySink {
        stop_after: Some(5),
        ..Default::default()
    };
    let err = run(
        provider(&server),
        evaluator(),
        &config(),
        items(30),
        Progress::default(),
        &mut sink,
    )
    .unwrap_err();
    assert!(matches!(err, PipelineError::Sink(_)));
    let done: Vec<i64> = sink.results.iter().map(|(i, _)| *i).collect();
    assert_eq!(done.len(), 5);
    // Resume with what is left, carrying the progress so far.
    let left: Vec<WorkItem> = items(30)
        .into_iter()
        .filter(|i| !done.contains(&i.index))
        .collect();
    let start = Progress {
        done: 5,
        total: 30,
        accepted: 5,
        examples: 5,
        ..Default::default()
    };
    let mut rest = MemorySink::default();
    let p = run(
        provider(&server),
        evaluator(),
        &config(),
        left,
        start,
        &mut rest,
    )
    .unwrap();
    assert_eq!(
        (p.done, p.total, p.accepted, rest.results.len()),
        (30, 30, 30, 25)
    );
}

#[test]
fn test_connection_lists_models_or_says_exactly_why_not() {
    let server = Server::start(|req| match req.path.as_str() {
        "/v1/models" if req.authorization.as_deref() == Some("Bearer sk-test") => {
            Reply::models(&["mistral-small-latest", "open-mistral-nemo"])
        }
        _ => Reply::status(401, r#"{"message":"Unauthorized"}"#),
    })
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let models = rt.block_on(provider(&server).models()).unwrap();
    assert_eq!(models, vec!["mistral-small-latest", "open-mistral-nemo"]);
    let keyless = HttpProvider::new(HttpConfig {
        base_url: server.base_url(),
        model: "m".into(),
        api_key: None,
        timeout: Duration::from_secs(2),
    })
    .unwrap();
    let err = rt.block_on(keyless.models()).unwrap_err();
    assert_eq!(err.kind, CallErrorKind::Status(401));
    assert_eq!(err.message, "HTTP 401 Unauthorized: Unauthorized");
    let nobody = HttpProvider::new(HttpConfig {
        base_url: "http://127.0.0.1:9/v1".into(),
        model: "m".into(),
        api_key: None,
        timeout: Duration::from_secs(2),
    })
    .unwrap();
    let err = rt.block_on(nobody.models()).unwrap_err();
    assert_eq!(err.kind, CallErrorKind::Connection);
    assert!(
        err.message.to_lowercase().contains("refused"),
        "{}",
        err.message
    );
}

#[test]
fn a_slow_answer_times_out_and_is_retried_and_a_broken_body_is_recorded_as_failed() {
    let slow_once = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let server = Server::start(move |req| match req.last_message() {
        "passage 0" if slow_once.swap(false, std::sync::atomic::Ordering::SeqCst) => {
            Reply::chat(GOOD).after(Duration::from_secs(3))
        }
        "passage 1" => Reply::status(200, "{\"choices\": [oops"),
        _ => Reply::chat(GOOD),
    })
    .unwrap();
    let http = HttpConfig {
        base_url: server.base_url(),
        model: "loopback".into(),
        api_key: None,
        timeout: Duration::from_millis(400),
    };
    let provider: Arc<dyn Provider> = Arc::new(HttpProvider::new(http).unwrap());
    let mut sink = MemorySink::default();
    let p = run(
        provider,
        evaluator(),
        &config(),
        items(3),
        Progress::default(),
        &mut sink,
    )
    .unwrap();
    assert_eq!((p.accepted, p.failed, p.retries), (2, 1, 1), "{p:?}");
    let by_index: HashMap<i64, &ItemResult> = sink.results.iter().map(|(i, r)| (*i, r)).collect();
    let ItemResult::Answered { answer, .. } = by_index[&0] else {
        panic!("{:?}", by_index[&0])
    };
    assert_eq!(answer.attempts, 2, "the timed-out request was tried again");
    let ItemResult::Failed { error, .. } = by_index[&1] else {
        panic!("{:?}", by_index[&1])
    };
    assert_eq!(error.kind, CallErrorKind::Protocol);
    assert!(
        error.message.contains("not a chat completion"),
        "{}",
        error.message
    );
}
