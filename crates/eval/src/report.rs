//! The evaluation of one training run: losses of base, tuned and control models on the run's
//! validation set, persona scores of their replies to the validation prompts, style figures,
//! plots, and a comparison with the other runs of the project. Written to `<run>/eval/`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use grimoire_llm::{
    CancelToken, GenerateParams, GgmlDType, LoadOptions, LoraAdapter, Message, Model, Role,
    SamplingParams, WeightFormat,
};
use grimoire_train::{BaseFormat, Example, TrainConfig, read_jsonl};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::classifier::{ClassifierOptions, ClassifierReport, PersonaClassifier};
use crate::error::{Error, Result, io};
use crate::judge::{Judge, JudgeReport, judge_samples};
use crate::loss::{LossFigures, validation_loss};
use crate::style::{SignatureWord, StyleFigures, signature_words, style_figures};
use crate::text::{Line, normalise, same_person, words};

/// The folder inside a run that holds its evaluation.
pub const EVAL_DIR: &str = "eval";
/// The marker a control run carries: `{"control_for": "<run id>"}`.
pub const CONTROL_MARKER: &str = "control.json";

/// How much to evaluate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct EvalOptions {
    /// Validation prompts each model answers (the first ones of `validation.jsonl`).
    pub max_prompts: usize,
    /// Most tokens per generated reply (greedy decoding).
    pub max_tokens: usize,
    /// Sequences per batch when scoring the loss.
    pub batch_size: usize,
    /// Signature words listed and counted.
    pub signature_words: usize,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            max_prompts: 40,
            max_tokens: 64,
            batch_size: 4,
            signature_words: 30,
        }
    }
}

/// Which model a figure is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// The book's own replies (the reference).
    Canon,
    /// The base model without an adapter.
    Base,
    /// The base model with the run's adapter.
    Tuned,
    /// The base model with the control adapter (trained the same way on the other characters'
    /// lines of the same books).
    Control,
}

/// Losses on the validation set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Losses {
    /// The base model.
    pub base: LossFigures,
    /// The tuned model.
    pub tuned: LossFigures,
    /// The control adapter, when there is a control run.
    pub control: Option<LossFigures>,
    /// Tuned perplexity ÷ base perplexity (below 1: the run learnt something).
    pub tuned_over_base: f64,
    /// Tuned perplexity ÷ control perplexity (below 1: it learnt the persona, not only the
    /// books' voice).
    pub tuned_over_control: Option<f64>,
}

/// The control run, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ControlInfo {
    /// The control run's id, when one was found.
    pub run: Option<String>,
    /// What it means, or how to make one.
    pub note: String,
}

/// How often a model's replies are judged to be the persona's by the classifier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct PersonaScore {
    /// The model.
    pub model: ModelKind,
    /// Replies scored.
    pub replies: usize,
    /// Share judged to be the persona (probability over 0.5).
    pub judged_persona: f64,
    /// Mean probability of being the persona.
    pub mean_probability: f64,
}

/// Style figures of one model's replies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ModelStyle {
    /// The model.
    pub model: ModelKind,
    /// Its figures.
    pub figures: StyleFigures,
}

/// One validation prompt and the replies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(rename = "EvalSample")]
pub struct Sample {
    /// The last user turn.
    pub prompt: String,
    /// The book's reply.
    pub canon: String,
    /// The base model's.
    pub base: String,
    /// The tuned model's.
    pub tuned: String,
    /// The control adapter's.
    pub control: Option<String>,
}

/// A plot saved with the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct PlotFile {
    /// File name inside the run's `eval/` folder.
    pub file: String,
    /// What it shows (the plots carry no text).
    pub shows: String,
}

/// One run's headline figures, to compare the runs of a project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct RunComparison {
    /// The run id.
    pub run: String,
    /// Base perplexity.
    pub base_perplexity: f64,
    /// Tuned perplexity.
    pub tuned_perplexity: f64,
    /// Control perplexity.
    pub control_perplexity: Option<f64>,
    /// Share of tuned replies judged to be the persona.
    pub tuned_persona: f64,
    /// When it was evaluated (seconds since 1970).
    pub evaluated_at: u64,
}

/// The evaluation of a run; `<run>/eval/report.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct EvalReport {
    /// The run id (its folder's name).
    pub run: String,
    /// The persona.
    pub persona: String,
    /// The base model file or folder.
    pub base_model: String,
    /// When it was evaluated (seconds since 1970).
    pub evaluated_at: u64,
    /// The settings used.
    pub options: EvalOptions,
    /// Losses on the run's validation set.
    pub losses: Losses,
    /// The control run.
    pub control: ControlInfo,
    /// The persona classifier's held-out accuracy on the books' dialogue.
    pub classifier: ClassifierReport,
    /// Classifier scores of each model's replies to the validation prompts, canon first.
    pub persona_scores: Vec<PersonaScore>,
    /// Style figures per model, canon first.
    pub style: Vec<ModelStyle>,
    /// The persona's signature words in the books.
    pub signature_words: Vec<SignatureWord>,
    /// The prompts and replies.
    pub samples: Vec<Sample>,
    /// A teacher model's grades, when a judge was given.
    pub judge: Option<JudgeReport>,
    /// Plots saved beside `report.json`.
    pub plots: Vec<PlotFile>,
    /// This and the other evaluated runs of the project, by run id.
    pub compare: Vec<RunComparison>,
}

/// What to evaluate.
#[derive(Debug, Clone)]
pub struct EvalRequest<'a> {
    /// The run folder (`<project>/runs/<id>`): adapter, `config.json`, `data/validation.jsonl`.
    pub run_dir: &'a Path,
    /// The base model the run was trained on.
    pub base_model: &'a Path,
    /// A control run folder, if any ([`find_control`] looks for one).
    pub control_dir: Option<&'a Path>,
    /// The persona's name and other names.
    pub persona: &'a str,
    /// Other names of the persona.
    pub aliases: &'a [String],
    /// The books' dialogue with speakers.
    pub lines: &'a [Line],
    /// How much to evaluate.
    pub options: EvalOptions,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    serde_json::from_str(&text).map_err(|source| Error::Json {
        path: path.to_owned(),
        source,
    })
}

fn run_id(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The base model a run names in `data/data.json`, if that file says and it still exists.
pub fn recorded_base_model(run_dir: &Path) -> Option<PathBuf> {
    let v: serde_json::Value = read_json(&run_dir.join("data/data.json")).ok()?;
    let p = PathBuf::from(v.get("base_model")?.as_str()?);
    p.exists().then_some(p)
}

/// A sibling run folder marked as the control of `run_dir` (its `control.json` holds
/// `{"control_for": "<run id>"}`) that holds an adapter.
pub fn find_control(run_dir: &Path) -> Option<PathBuf> {
    let id = run_id(run_dir);
    let mut found: Vec<PathBuf> = std::fs::read_dir(run_dir.parent()?)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("adapter_model.safetensors").exists())
        .filter(|p| {
            read_json::<serde_json::Value>(&p.join(CONTROL_MARKER))
                .ok()
                .and_then(|v| v.get("control_for")?.as_str().map(|s| s == id))
                .unwrap_or(false)
        })
        .collect();
    found.sort();
    found.pop()
}

/// Reads a stored report.
pub fn read_report(run_dir: &Path) -> Result<EvalReport> {
    read_json(&run_dir.join(EVAL_DIR).join("report.json"))
}

fn load_model(base: &Path, config: &TrainConfig) -> Result<Model> {
    let format = match config.base_format {
        BaseFormat::Auto if base.is_dir() => WeightFormat::Quantized(GgmlDType::Q4_1),
        BaseFormat::Q4_0 => WeightFormat::Quantized(GgmlDType::Q4_0),
        BaseFormat::Q4_1 => WeightFormat::Quantized(GgmlDType::Q4_1),
        BaseFormat::Q8_0 => WeightFormat::Quantized(GgmlDType::Q8_0),
        BaseFormat::F32 => WeightFormat::F32,
        _ => WeightFormat::AsStored,
    };
    let opts = LoadOptions {
        format,
        max_context: config.max_seq_len.max(1024),
        ..LoadOptions::default()
    };
    Ok(Model::load(base, &opts)?)
}

/// The conversation before the last assistant turn, and that turn's text.
fn prompt_and_canon(ex: &Example) -> Option<(Vec<Message>, String)> {
    let j = ex
        .messages
        .iter()
        .rposition(|m| m.role == Role::Assistant)?;
    let prompt = ex.messages[..j].to_vec();
    prompt
        .iter()
        .any(|m| m.role == Role::User)
        .then(|| (prompt, ex.messages[j].content.clone()))
}

fn score(model: ModelKind, classifier: &PersonaClassifier, replies: &[&str]) -> PersonaScore {
    let p: Vec<f64> = replies.iter().map(|r| classifier.probability(r)).collect();
    let n = p.len().max(1) as f64;
    PersonaScore {
        model,
        replies: p.len(),
        judged_persona: p.iter().filter(|&&x| x > 0.5).count() as f64 / n,
        mean_probability: p.iter().sum::<f64>() / n,
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Evaluates a run and writes `<run>/eval/` (`report.json`, plots). `progress(done, total,
/// what)` is called between units of work; `cancel` is checked there and between batches.
pub fn evaluate(
    req: &EvalRequest<'_>,
    judge: Option<&dyn Judge>,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(u64, u64, &str),
) -> Result<EvalReport> {
    let run_dir = req.run_dir;
    let opts = &req.options;
    if !run_dir.join("adapter_model.safetensors").exists() {
        return Err(Error::Invalid(format!(
            "{} holds no adapter: the run has not finished",
            run_dir.display()
        )));
    }
    let config: TrainConfig = read_json(&run_dir.join("config.json"))?;
    let val_path = run_dir.join("data/validation.jsonl");
    if !val_path.exists() {
        return Err(Error::Invalid(format!(
            "{} has no validation set (data/validation.jsonl): train with a validation split to evaluate it",
            run_dir.display()
        )));
    }
    let validation = read_jsonl(&val_path)?;
    let pairs: Vec<(Vec<Message>, String)> = validation
        .iter()
        .filter_map(prompt_and_canon)
        .take(opts.max_prompts)
        .collect();
    let n_models = 2 + req.control_dir.is_some() as u64;
    let total = 2 + n_models * (1 + pairs.len() as u64);
    let mut done = 0u64;
    let mut step = |what: &str, done: &mut u64| -> Result<()> {
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        progress(*done, total, what);
        *done += 1;
        Ok(())
    };

    // The classifier and signature words, from the books without the held-out replies.
    step("training the persona classifier", &mut done)?;
    let held_out: Vec<String> = pairs.iter().map(|p| normalise(&p.1)).collect();
    let is_held_out = |text: &str| {
        let n = normalise(text);
        !n.is_empty() && held_out.iter().any(|h| h.contains(&n))
    };
    let mut samples_cls: Vec<(&str, bool)> = Vec::new();
    let (mut persona_lines, mut other_lines) = (Vec::new(), Vec::new());
    for l in req.lines {
        let Some(s) = l.speaker.as_deref() else {
            continue;
        };
        let mine = same_person(s, req.persona, req.aliases);
        if mine {
            persona_lines.push(l.text.as_str());
        } else {
            other_lines.push(l.text.as_str());
        }
        if !is_held_out(&l.text) {
            samples_cls.push((l.text.as_str(), mine));
        }
    }
    if persona_lines.is_empty() {
        return Err(Error::Invalid(format!(
            "no line of the books is attributed to {:?}",
            req.persona
        )));
    }
    let (classifier, classifier_report) =
        PersonaClassifier::fit(&samples_cls, &ClassifierOptions::default());
    let signature = signature_words(
        &persona_lines,
        &other_lines,
        opts.signature_words,
        5,
        1000.0,
    );
    let persona_vocab: HashSet<String> = persona_lines.iter().flat_map(|l| words(l)).collect();

    step("loading the base model", &mut done)?;
    let model = load_model(req.base_model, &config)?;
    let tuned = model.load_adapter(run_dir)?;
    let control = req.control_dir.map(|d| model.load_adapter(d)).transpose()?;
    let models: Vec<(ModelKind, Option<&LoraAdapter>)> = [
        Some((ModelKind::Base, None)),
        Some((ModelKind::Tuned, Some(&tuned))),
        control.as_ref().map(|c| (ModelKind::Control, Some(c))),
    ]
    .into_iter()
    .flatten()
    .collect();

    let params = GenerateParams {
        sampling: SamplingParams::greedy(),
        max_tokens: opts.max_tokens,
        stop: Vec::new(),
    };
    let mut loss = Vec::new();
    let mut replies: Vec<Vec<String>> = Vec::new();
    for (kind, adapter) in &models {
        step(&format!("scoring the {kind:?} model's loss"), &mut done)?;
        loss.push(validation_loss(
            &model,
            *adapter,
            &validation,
            config.max_seq_len,
            opts.batch_size,
            cancel,
        )?);
        let mut out = Vec::with_capacity(pairs.len());
        for (i, (prompt, _)) in pairs.iter().enumerate() {
            step(
                &format!("{kind:?} model: reply {} of {}", i + 1, pairs.len()),
                &mut done,
            )?;
            let c = grimoire_llm::chat(
                &model,
                *adapter,
                prompt,
                &params,
                &CancelToken::new(),
                &mut |_| {},
            )?;
            out.push(c.text.trim().to_owned());
        }
        replies.push(out);
    }
    progress(total, total, "writing the report");

    let canon: Vec<&str> = pairs.iter().map(|p| p.1.as_str()).collect();
    let mut persona = vec![score(ModelKind::Canon, &classifier, &canon)];
    let mut style = vec![ModelStyle {
        model: ModelKind::Canon,
        figures: style_figures(&canon, &canon, &persona_vocab, &signature),
    }];
    for ((kind, _), r) in models.iter().zip(&replies) {
        let r: Vec<&str> = r.iter().map(String::as_str).collect();
        persona.push(score(*kind, &classifier, &r));
        style.push(ModelStyle {
            model: *kind,
            figures: style_figures(&r, &canon, &persona_vocab, &signature),
        });
    }
    let control_loss = loss.get(2).cloned();
    let losses = Losses {
        tuned_over_base: loss[1].perplexity / loss[0].perplexity,
        tuned_over_control: control_loss
            .as_ref()
            .map(|c| loss[1].perplexity / c.perplexity),
        base: loss[0].clone(),
        tuned: loss[1].clone(),
        control: control_loss,
    };
    let control_info = match req.control_dir {
        Some(d) => ControlInfo {
            run: Some(run_id(d)),
            note:
                "an adapter trained the same way on the other characters' lines of the same books: \
                   tuned ÷ control shows what the run learnt of the persona beyond the books' voice"
                    .into(),
        },
        None => ControlInfo {
            run: None,
            note: format!(
                "no control run: without one, the gain over the base model mixes the persona with the books' voice. \
                 Train a run with the same settings on the other characters' lines of the same books and put \
                 {CONTROL_MARKER} with {{\"control_for\": \"{}\"}} in its folder (or name it with --control)",
                run_id(run_dir)
            ),
        },
    };
    let samples: Vec<Sample> = pairs
        .iter()
        .enumerate()
        .map(|(i, (prompt, canon))| Sample {
            prompt: prompt
                .iter()
                .rev()
                .find(|m| m.role == Role::User)
                .map(|m| m.content.clone())
                .unwrap_or_default(),
            canon: canon.clone(),
            base: replies[0][i].clone(),
            tuned: replies[1][i].clone(),
            control: replies.get(2).map(|r| r[i].clone()),
        })
        .collect();
    if judge.is_some() {
        progress(total, total, "the teacher judge grades the replies");
    }
    let judge = judge.map(|j| judge_samples(j, &samples));
    let mut report = EvalReport {
        run: run_id(run_dir),
        persona: req.persona.to_owned(),
        base_model: req.base_model.display().to_string(),
        evaluated_at: now(),
        options: opts.clone(),
        losses,
        control: control_info,
        classifier: classifier_report,
        persona_scores: persona,
        style,
        signature_words: signature,
        samples,
        judge,
        plots: Vec::new(),
        compare: Vec::new(),
    };
    write_report(run_dir, &mut report)?;
    Ok(report)
}

fn comparison(r: &EvalReport) -> RunComparison {
    RunComparison {
        run: r.run.clone(),
        base_perplexity: r.losses.base.perplexity,
        tuned_perplexity: r.losses.tuned.perplexity,
        control_perplexity: r.losses.control.as_ref().map(|c| c.perplexity),
        tuned_persona: r
            .persona_scores
            .iter()
            .find(|p| p.model == ModelKind::Tuned)
            .map_or(0.0, |p| p.judged_persona),
        evaluated_at: r.evaluated_at,
    }
}

/// Headline figures of every evaluated run beside `run_dir` (and `current`), by run id.
fn compare_runs(run_dir: &Path, current: &EvalReport) -> Vec<RunComparison> {
    let mut out = vec![comparison(current)];
    if let Some(Ok(entries)) = run_dir.parent().map(std::fs::read_dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p == run_dir {
                continue;
            }
            if let Ok(r) = read_report(&p) {
                out.push(comparison(&r));
            }
        }
    }
    out.sort_by(|a, b| a.run.cmp(&b.run));
    out
}

/// Draws the plots, fills `plots` and `compare`, and writes `report.json` atomically.
pub fn write_report(run_dir: &Path, report: &mut EvalReport) -> Result<()> {
    use crate::plot::{BASE, CANON, CONTROL, TUNED, bars, series};
    let dir = run_dir.join(EVAL_DIR);
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    report.compare = compare_runs(run_dir, report);
    let colour = |k: ModelKind| match k {
        ModelKind::Canon => CANON,
        ModelKind::Base => BASE,
        ModelKind::Tuned => TUNED,
        ModelKind::Control => CONTROL,
    };
    let l = &report.losses;
    let mut ppl = vec![(l.base.perplexity, BASE), (l.tuned.perplexity, TUNED)];
    if let Some(c) = &l.control {
        ppl.push((c.perplexity, CONTROL));
    }
    let persona: Vec<(f64, _)> = report
        .persona_scores
        .iter()
        .map(|p| (p.judged_persona, colour(p.model)))
        .collect();
    let cmp = &report.compare;
    let plots = [
        (
            "perplexity.png",
            "validation perplexity, bars from zero: base (grey), tuned (blue), control (orange, when there is one)",
            bars(&ppl, None, &dir.join("perplexity.png")),
        ),
        (
            "persona.png",
            "share of replies the classifier judges to be the persona, bars from 0 to 1: canon (green), base (grey), tuned (blue), control (orange)",
            bars(&persona, Some(1.0), &dir.join("persona.png")),
        ),
        (
            "compare.png",
            "validation perplexity of every evaluated run of the project in run-id order: base (grey), tuned (blue), control (orange)",
            series(
                &[
                    (cmp.iter().map(|c| Some(c.base_perplexity)).collect(), BASE),
                    (
                        cmp.iter().map(|c| Some(c.tuned_perplexity)).collect(),
                        TUNED,
                    ),
                    (cmp.iter().map(|c| c.control_perplexity).collect(), CONTROL),
                ],
                &dir.join("compare.png"),
            ),
        ),
    ];
    // A plot is a convenience: a drawing failure must not lose the report.
    report.plots = plots
        .into_iter()
        .filter(|p| p.2.is_ok())
        .map(|(file, shows, _)| PlotFile {
            file: file.into(),
            shows: shows.into(),
        })
        .collect();
    let path = dir.join("report.json");
    let text = serde_json::to_string_pretty(report).map_err(|source| Error::Json {
        path: path.clone(),
        source,
    })?;
    let tmp = dir.join("report.json.tmp");
    std::fs::write(&tmp, text).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    Ok(())
}
