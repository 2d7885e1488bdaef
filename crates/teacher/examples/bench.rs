//! The generation pipeline against the loopback chat-completions server: requests per second through
//! the whole pipeline (request, parse, check, store in a real SQLite project with the answer cache and
//! per-passage state, as the service layer does), and the client's own cost per request.
//!
//! `cargo run --release -p grimoire-teacher --example bench`

use std::sync::Arc;
use std::time::{Duration, Instant};

use grimoire_dataset::{Persona, Review, WhitespaceCounter};
use grimoire_store::Store;
use grimoire_store::table::examples::{NewExample, Strategy};
use grimoire_store::table::generation::{CachedAnswer, ItemState, ItemUpdate};
use grimoire_teacher::loopback::{Reply, Server};
use grimoire_teacher::{
    Evaluator, HttpConfig, HttpProvider, ItemResult, Outcome, PipelineConfig, Progress, Provider,
    Request, Sink, Task, Turn, Usage, WorkItem,
};

const PASSAGE: &str = "Elizabeth walked on alone, crossing field after field at a quick pace, jumping over stiles and \
springing over puddles with impatient activity, and finding herself at last within view of the house, with weary \
ankles, dirty stockings, and a face glowing with the warmth of exercise.";

const ANSWER: &str = r#"{"question": "How did you come to Netherfield that morning?", "account": "I walked on alone, crossing field after field at a quick pace, jumping over stiles and springing over puddles, and I found myself at last within view of the house, with weary ankles, dirty stockings, and a face glowing with the warmth of exercise."}"#;

/// Where results go: nowhere, or a project database as the service layer writes it.
enum Target {
    Nowhere,
    Store(Store, i64),
}

struct BenchSink {
    target: Target,
    persona: Persona,
}

impl Sink for BenchSink {
    type Error = grimoire_dataset::Error;

    fn cached(&mut self, item: &WorkItem) -> Result<Option<(String, Usage)>, Self::Error> {
        match &self.target {
            Target::Nowhere => Ok(None),
            Target::Store(store, _) => Ok(store
                .teacher_cache_get(&item.key)?
                .map(|c| (c.response, Usage::default()))),
        }
    }

    fn record(&mut self, item: &WorkItem, result: &ItemResult) -> Result<(), Self::Error> {
        let Target::Store(store, job) = &self.target else {
            return Ok(());
        };
        store.write_transaction(|s| {
            let ItemResult::Answered { answer, outcome } = result else {
                return Ok(());
            };
            let cached = CachedAnswer {
                response: answer.text.clone(),
                prompt_tokens: 100,
                completion_tokens: 50,
            };
            s.teacher_cache_put(&item.key, "bench", "loopback", &cached)?;
            let mut examples = 0;
            if let Outcome::Accepted { examples: made, .. } = outcome {
                let news: Vec<NewExample> = made
                    .iter()
                    .map(|g| {
                        let mut new = NewExample::new(Strategy::B, g.messages.clone());
                        new.derived.flags = g.flags.clone();
                        new.teacher = Some("bench".into());
                        new
                    })
                    .collect();
                examples = news.len() as i64;
                Review::new(s, &WhitespaceCounter)
                    .with_persona(self.persona.clone())
                    .insert_many(news)?;
            }
            let update = ItemUpdate {
                state: ItemState::Done,
                examples,
                reason: None,
                prompt_tokens: 100,
                completion_tokens: 50,
                cached: false,
                attempts: i64::from(answer.attempts),
            };
            s.generation_item_update(*job, item.index, &update)?;
            Ok(())
        })
    }

    fn progress(&mut self, _: &Progress) -> Result<(), Self::Error> {
        Ok(())
    }
}

struct Row {
    scenario: String,
    requests: usize,
    in_flight: usize,
    latency_ms: u64,
    seconds: f64,
}

fn run(requests: usize, in_flight: usize, latency: Duration, store: bool) -> Row {
    let server =
        Server::start(move |_| Reply::chat(ANSWER).after(latency)).expect("loopback server");
    let provider: Arc<dyn Provider> = Arc::new(
        HttpProvider::new(HttpConfig {
            base_url: server.base_url(),
            model: "loopback".into(),
            api_key: Some("k".into()),
            timeout: Duration::from_secs(30),
        })
        .expect("provider"),
    );
    let persona = Persona {
        name: "Elizabeth Bennet".into(),
        aliases: vec!["Lizzy".into()],
    };
    let evaluator = Arc::new(Evaluator {
        task: Task::Rewrite,
        persona: persona.clone(),
        system_prompt: None,
    });
    // Every passage distinct, so no answer is a duplicate of another and the cache never hits.
    let items: Vec<WorkItem> = (0..requests)
        .map(|i| {
            let text = format!("{PASSAGE} ({i})");
            let request = Request {
                messages: vec![Turn::new("user", text.clone())],
                max_tokens: 512,
                temperature: 0.3,
                json: true,
                task: None,
            };
            WorkItem {
                index: i as i64,
                key: grimoire_teacher::cache_key("bench", &request),
                request,
                source: text,
            }
        })
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let target = if store {
        let store = Store::create(&dir.path().join("bench.db")).expect("store");
        let job = store.job_insert("generate", "bench", "{}").expect("job");
        let rows: Vec<(String, String)> = items
            .iter()
            .map(|i| ("{}".to_string(), i.key.clone()))
            .collect();
        store
            .write_transaction(|s| s.generation_items_insert(job, &rows))
            .expect("items");
        Target::Store(store, job)
    } else {
        Target::Nowhere
    };
    let mut sink = BenchSink { target, persona };
    let config = PipelineConfig {
        max_in_flight: in_flight,
        ..PipelineConfig::default()
    };
    let started = Instant::now();
    let progress = grimoire_teacher::run(
        provider,
        evaluator,
        &config,
        items,
        Progress::default(),
        &mut sink,
    )
    .expect("pipeline");
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(
        (progress.done, progress.accepted, progress.failed),
        (requests as u64, requests as u64, 0)
    );
    let scenario = if store {
        "request, parse, check, store"
    } else {
        "request, parse, check"
    };
    Row {
        scenario: scenario.into(),
        requests,
        in_flight,
        latency_ms: latency.as_millis() as u64,
        seconds,
    }
}

fn main() {
    let rows = [
        run(3000, 32, Duration::from_millis(100), true),
        run(3000, 32, Duration::from_millis(100), false),
        run(2000, 1, Duration::ZERO, true),
        run(2000, 1, Duration::ZERO, false),
    ];
    println!(
        "| pipeline | requests | in flight | server latency | wall | requests/s | ideal/s | per request (1 in flight) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        let rate = r.requests as f64 / r.seconds;
        let ideal = if r.latency_ms == 0 {
            f64::INFINITY
        } else {
            r.in_flight as f64 * 1000.0 / r.latency_ms as f64
        };
        let per_request = if r.in_flight == 1 {
            format!(
                "{:.3} ms",
                r.seconds * 1000.0 / r.requests as f64 - r.latency_ms as f64
            )
        } else {
            "-".into()
        };
        let ideal = if ideal.is_finite() {
            format!("{ideal:.0}")
        } else {
            "-".into()
        };
        println!(
            "| {} | {} | {} | {} ms | {:.2} s | {:.0} | {} | {} |",
            r.scenario, r.requests, r.in_flight, r.latency_ms, r.seconds, rate, ideal, per_request
        );
    }
}
