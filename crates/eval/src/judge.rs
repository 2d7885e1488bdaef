//! A teacher model as judge: optional grades (1–7 on voice, knowledge and consistency) of each
//! model's reply to the held-out prompts, with the canon reply as reference. An opinion of
//! another model, not a measurement, and marked so in the report; an item the judge did not
//! answer properly stays unjudged with the reason, never with a made-up grade.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::report::{ModelKind, Sample};

/// A teacher model's 1–7 grades of one reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct JudgeScore {
    /// Does it sound like the persona?
    pub voice: f64,
    /// Does it know what the persona knows at that point?
    pub knowledge: f64,
    /// Is it consistent with the conversation and the character?
    pub consistency: f64,
}

/// One model's grades over the judged replies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct JudgeMean {
    /// The model.
    pub model: ModelKind,
    /// Replies the judge graded.
    pub judged: usize,
    /// Replies left unjudged (see [`JudgedReply::unjudged`]).
    pub unjudged: usize,
    /// Mean grades of the judged replies; none when no reply was judged.
    pub mean: Option<JudgeScore>,
}

/// The judge's verdict on one reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct JudgedReply {
    /// The model that replied.
    pub model: ModelKind,
    /// Index into the report's samples.
    pub sample: usize,
    /// The grades, when the judge gave valid ones.
    pub score: Option<JudgeScore>,
    /// Why there are none (a garbled answer, a refused request...).
    pub unjudged: Option<String>,
}

/// Grades of a teacher model acting as judge: an opinion of another model, not a measurement,
/// and marked so in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct JudgeReport {
    /// The judging teacher and model (`name (model)`).
    pub judge: String,
    /// Always true: these figures come from a model's judgement.
    pub by_teacher_model: bool,
    /// Mean grades per model, in the samples' order (base, tuned, control).
    pub means: Vec<JudgeMean>,
    /// Every reply's verdict.
    pub replies: Vec<JudgedReply>,
}

/// One reply for the judge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JudgeItem<'a> {
    /// The model that replied.
    pub model: ModelKind,
    /// What was said to the persona.
    pub prompt: &'a str,
    /// The reply to grade.
    pub reply: &'a str,
    /// The book's own reply, as reference.
    pub canon: &'a str,
}

/// A teacher model that grades replies 1–7 on voice, knowledge and consistency.
pub trait Judge {
    /// The judging teacher and model, for the report.
    fn name(&self) -> String;
    /// Grades every item: for each, the grades or why it could not be judged.
    fn grade(&self, items: &[JudgeItem<'_>]) -> Vec<Result<JudgeScore, String>>;
}

/// Has `judge` grade every model's reply of every sample and sums it up.
pub fn judge_samples(judge: &dyn Judge, samples: &[Sample]) -> JudgeReport {
    let mut kinds = vec![ModelKind::Base, ModelKind::Tuned];
    if samples.iter().any(|s| s.control.is_some()) {
        kinds.push(ModelKind::Control);
    }
    let mut items = Vec::new();
    let mut index = Vec::new();
    for (i, s) in samples.iter().enumerate() {
        for &model in &kinds {
            let reply = match model {
                ModelKind::Base => Some(s.base.as_str()),
                ModelKind::Tuned => Some(s.tuned.as_str()),
                _ => s.control.as_deref(),
            };
            if let Some(reply) = reply {
                items.push(JudgeItem {
                    model,
                    prompt: &s.prompt,
                    reply,
                    canon: &s.canon,
                });
                index.push(i);
            }
        }
    }
    let mut grades = judge.grade(&items);
    grades.resize_with(items.len(), || Err("the judge gave no verdict".into()));
    let replies: Vec<JudgedReply> = items
        .iter()
        .zip(index)
        .zip(grades)
        .map(|((item, sample), g)| {
            let (score, unjudged) = match g {
                Ok(s) => (Some(s), None),
                Err(why) => (None, Some(why)),
            };
            JudgedReply {
                model: item.model,
                sample,
                score,
                unjudged,
            }
        })
        .collect();
    let means = kinds
        .iter()
        .map(|&model| {
            let mine: Vec<&JudgedReply> = replies.iter().filter(|r| r.model == model).collect();
            let scores: Vec<&JudgeScore> = mine.iter().filter_map(|r| r.score.as_ref()).collect();
            let n = scores.len() as f64;
            let mean = (!scores.is_empty()).then(|| JudgeScore {
                voice: scores.iter().map(|s| s.voice).sum::<f64>() / n,
                knowledge: scores.iter().map(|s| s.knowledge).sum::<f64>() / n,
                consistency: scores.iter().map(|s| s.consistency).sum::<f64>() / n,
            });
            JudgeMean {
                model,
                judged: scores.len(),
                unjudged: mine.len() - scores.len(),
                mean,
            }
        })
        .collect();
    JudgeReport {
        judge: judge.name(),
        by_teacher_model: true,
        means,
        replies,
    }
}

/// The grades in a judge's answer: a JSON object (optionally in a code fence) with `voice`,
/// `knowledge` and `consistency`, each a whole number from 1 to 7; anything else is refused with
/// the reason.
pub fn parse_grades(answer: &str) -> Result<JudgeScore, String> {
    let mut text = answer.trim();
    if let Some(rest) = text.strip_prefix("```") {
        text = rest.trim_start_matches("json").trim();
        text = text.strip_suffix("```").unwrap_or(text).trim();
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        let head: String = answer.chars().take(80).collect();
        format!("the judge's answer is not JSON ({e}): {head:?}")
    })?;
    let grade = |key: &str| -> Result<f64, String> {
        let v = value
            .get(key)
            .ok_or_else(|| format!("the judge's answer has no {key:?} grade"))?;
        let n = v
            .as_f64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            .ok_or_else(|| format!("the judge's {key:?} grade is not a number: {v}"))?;
        if n.fract() != 0.0 || !(1.0..=7.0).contains(&n) {
            return Err(format!(
                "the judge's {key:?} grade {n} is not a whole number from 1 to 7"
            ));
        }
        Ok(n)
    };
    Ok(JudgeScore {
        voice: grade("voice")?,
        knowledge: grade("knowledge")?,
        consistency: grade("consistency")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grades_are_whole_numbers_from_one_to_seven_or_refused() {
        let ok =
            parse_grades("```json\n{\"voice\": 6, \"knowledge\": 4, \"consistency\": \"5\"}\n```");
        assert_eq!(
            ok,
            Ok(JudgeScore {
                voice: 6.0,
                knowledge: 4.0,
                consistency: 5.0
            })
        );
        for bad in [
            "I would say 6/7.",
            "{\"voice\": 6, \"knowledge\": 4}",
            "{\"voice\": 9, \"knowledge\": 4, \"consistency\": 5}",
            "{\"voice\": 5.5, \"knowledge\": 4, \"consistency\": 5}",
            "{\"voice\": \"high\", \"knowledge\": 4, \"consistency\": 5}",
        ] {
            assert!(parse_grades(bad).is_err(), "{bad}");
        }
    }
}
