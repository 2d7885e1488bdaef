//! A teacher model as judge of a run's evaluation (optional, and marked as such in the report):
//! any configured teacher grades each model's reply to the held-out prompts 1–7 on voice,
//! knowledge and consistency, with the canon reply and a short persona description as
//! reference. Requests go out a few at a time, rate limits and server errors are retried with
//! the teacher crate's policy, and an answer that is not the strict JSON asked for leaves that
//! reply unjudged with the reason.

use std::sync::Arc;
use std::time::Duration;

use grimoire_eval::{Judge, JudgeItem, JudgeScore, parse_grades};
use grimoire_teacher::{Provider, Request, RetryPolicy, Turn};

use crate::teachers::block_on;
use crate::{Result, Service, TeacherConfig};

/// Most judge requests in flight, whatever the teacher allows.
const MAX_IN_FLIGHT: u32 = 8;

const INSTRUCTIONS: &str = "You judge whether a reply is in character. Answer with one JSON \
object and nothing else: {\"voice\": V, \"knowledge\": K, \"consistency\": C}, each a whole \
number from 1 (not at all) to 7 (perfectly).";

/// A configured teacher acting as judge.
pub(crate) struct TeacherJudge {
    provider: Arc<dyn Provider>,
    config: TeacherConfig,
    persona: String,
    description: String,
    retry: RetryPolicy,
}

impl TeacherJudge {
    fn request(&self, item: &JudgeItem<'_>) -> Request {
        let p = &self.persona;
        let user = format!(
            "The persona: {}\n\nSomeone says to {p}:\n{}\n\nWhat {p} answers in the book \
             (a reference, not the only good answer):\n{}\n\nThe reply to grade:\n{}\n\n\
             Grade the reply. voice: does it sound like {p}? knowledge: does it know what {p} \
             knows, inventing nothing the book contradicts? consistency: does it answer what was \
             said, in keeping with the character?",
            self.description, item.prompt, item.canon, item.reply
        );
        Request {
            messages: vec![Turn::new("system", INSTRUCTIONS), Turn::new("user", user)],
            max_tokens: 120,
            temperature: 0.0,
            json: self.config.json_mode,
            task: None,
        }
    }
}

/// One request with retries; the grades or why there are none.
async fn ask(
    provider: Arc<dyn Provider>,
    request: Request,
    retry: RetryPolicy,
) -> std::result::Result<JudgeScore, String> {
    let mut attempt = 1;
    loop {
        match provider.complete(&request).await {
            Ok(c) => return parse_grades(&c.text),
            Err(e) if retry.should_retry(&e, attempt) => {
                tokio::time::sleep(retry.delay(attempt, e.retry_after)).await;
                attempt += 1;
            }
            Err(e) => {
                let status = match e.kind {
                    grimoire_teacher::CallErrorKind::Status(s) => format!("HTTP {s}: "),
                    _ => String::new(),
                };
                return Err(format!(
                    "the judge's request failed after {attempt} attempt(s): {status}{}",
                    e.message
                ));
            }
        }
    }
}

impl Judge for TeacherJudge {
    fn name(&self) -> String {
        format!("{} ({})", self.config.name, self.provider.model())
    }

    fn grade(&self, items: &[JudgeItem<'_>]) -> Vec<std::result::Result<JudgeScore, String>> {
        let requests: Vec<Request> = items.iter().map(|i| self.request(i)).collect();
        let limit = self.config.max_in_flight.clamp(1, MAX_IN_FLIGHT) as usize;
        let work = async {
            let gate = Arc::new(tokio::sync::Semaphore::new(limit));
            let mut tasks = tokio::task::JoinSet::new();
            for (i, request) in requests.into_iter().enumerate() {
                let (gate, provider, retry) = (gate.clone(), self.provider.clone(), self.retry);
                tasks.spawn(async move {
                    let _permit = gate.acquire_owned().await;
                    (i, ask(provider, request, retry).await)
                });
            }
            let mut out: Vec<std::result::Result<JudgeScore, String>> =
                vec![Err("the judge's request was lost".into()); items.len()];
            while let Some(done) = tasks.join_next().await {
                if let Ok((i, r)) = done {
                    out[i] = r;
                }
            }
            out
        };
        block_on(work).unwrap_or_else(|e| vec![Err(e.to_string()); items.len()])
    }
}

impl Service {
    /// The judge a teacher's name describes, for `persona` described by `description`.
    pub(crate) fn teacher_judge(
        &self,
        teacher: &str,
        persona: &str,
        description: String,
    ) -> Result<TeacherJudge> {
        let config = self.teacher(teacher)?;
        Ok(TeacherJudge {
            provider: self.provider(&config)?,
            config,
            persona: persona.to_owned(),
            description,
            retry: RetryPolicy {
                max_attempts: 4,
                base_delay: Duration::from_millis(250),
                max_delay: Duration::from_secs(10),
            },
        })
    }
}
