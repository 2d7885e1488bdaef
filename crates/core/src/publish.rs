//! The persona as files people run outside Grimoire: the merged model as one GGUF file with an
//! Ollama Modelfile beside it (llama.cpp, Ollama, LM Studio), and the adapter alone in the PEFT
//! format with a Hugging Face model card.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use grimoire_llm::gguf::Gguf;
use grimoire_llm::{ChatTemplate, Message};
use grimoire_train::GgufType;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::handoff::BUILTIN_HF_ID;
use crate::service::{absolute, lock};
use crate::{Error, Result, RunRef, RunView, Service};

/// Input of [`Service::export_gguf`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct GgufExportInput {
    /// The project folder.
    pub project: String,
    /// The run whose adapter is merged.
    pub run_id: String,
    /// Storage type of the weights (default: the base's own, Q4_1 for the built-in model).
    #[serde(default)]
    pub quantization: GgufType,
    /// The system prompt for the Modelfile (none: the one the run was trained with).
    pub system_prompt: Option<String>,
    /// The folder to write (none: `exports/gguf-<run>-<type>/`).
    pub out: Option<String>,
}

/// What [`Service::export_gguf`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct GgufExportOutput {
    /// The folder.
    pub dir: String,
    /// The GGUF file.
    pub gguf: String,
    /// The Ollama Modelfile beside it.
    pub modelfile: String,
    /// The GGUF's size in bytes.
    #[ts(type = "number")]
    pub bytes: u64,
    /// Storage type of the projections (`Q4_1`, `Q8_0`, `F16`).
    pub weights: String,
    /// The command that makes it an Ollama model.
    pub command: String,
}

/// Input of [`Service::export_adapter`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AdapterExportInput {
    /// The project folder.
    pub project: String,
    /// The run.
    pub run_id: String,
    /// The base model as Hugging Face names it (none: the built-in model's id; required for
    /// another base).
    pub base_model: Option<String>,
    /// The folder to write (none: `exports/adapter-<run>/`).
    pub out: Option<String>,
}

/// What [`Service::export_adapter`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AdapterExportOutput {
    /// The folder: `adapter_model.safetensors`, `adapter_config.json`, `README.md`.
    pub dir: String,
    /// The model card.
    pub readme: String,
}

/// What a run folder says about itself (`run.json`), as far as exports need it.
struct RunFacts {
    view: RunView,
    dir: PathBuf,
    base_path: PathBuf,
    data_dir: Option<PathBuf>,
}

impl Service {
    /// Merges a run's adapter into its GGUF base and writes `<persona>.<type>.gguf` and an
    /// Ollama `Modelfile` with the persona's system prompt.
    pub fn export_gguf(&self, input: GgufExportInput) -> Result<GgufExportOutput> {
        let project = absolute(&input.project)?;
        let run = self.run_facts(&input.project, &input.run_id)?;
        let persona = self.persona(&project)?;
        let system = match input.system_prompt.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => s.to_owned(),
            None => run.data_dir.as_deref().and_then(trained_system_prompt).unwrap_or_else(|| format!("You are {persona}.")),
        };
        let slug = slug(&persona);
        let label = match input.quantization {
            GgufType::Base => base_weights(&run.base_path).unwrap_or_else(|| "base".into()),
            GgufType::Q8_0 => "Q8_0".into(),
            GgufType::F16 => "F16".into(),
        };
        // One folder per type, so each Modelfile names its own file.
        let dir = out_dir(&project, input.out.as_deref(), &format!("gguf-{}-{}", input.run_id, label.to_lowercase()))?;
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let file = dir.join(format!("{slug}.{label}.gguf"));
        let written = match grimoire_train::export_gguf(&run.dir, &run.base_path, &file, input.quantization, &persona) {
            Ok(written) => written,
            Err(e) => {
                // A folder made for this export goes again; one that holds anything stays.
                let _ = std::fs::remove_dir(&dir);
                return Err(Error::Train(e));
            }
        };
        let modelfile = dir.join("Modelfile");
        let text = modelfile_text(&file, &slug, &system)?;
        std::fs::write(&modelfile, text).map_err(|e| Error::io(&modelfile, e))?;
        Ok(GgufExportOutput {
            dir: dir.display().to_string(),
            gguf: file.display().to_string(),
            modelfile: modelfile.display().to_string(),
            bytes: written.bytes,
            weights: written.weights,
            command: format!("cd {} && ollama create {slug} -f Modelfile && ollama run {slug}", dir.display()),
        })
    }

    /// Writes a run's adapter alone in the PEFT format (`adapter_config.json` naming the base
    /// by its Hugging Face id) with a model card: base model, data, settings, evaluation.
    pub fn export_adapter(&self, input: AdapterExportInput) -> Result<AdapterExportOutput> {
        let project = absolute(&input.project)?;
        let run = self.run_facts(&input.project, &input.run_id)?;
        let base_model = match input.base_model.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(id) => id.to_owned(),
            None if matches!(run.view.base.as_str(), "built-in" | "builtin" | "") => BUILTIN_HF_ID.to_owned(),
            None => {
                return Err(Error::InvalidInput(format!(
                    "name the base model {} as Hugging Face names it (for example mistralai/Mistral-7B-Instruct-v0.3): \
                     the card and adapter_config.json need it",
                    run.view.base
                )));
            }
        };
        let persona = self.persona(&project)?;
        let dir = out_dir(&project, input.out.as_deref(), &format!("adapter-{}", input.run_id))?;
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let weights = run.dir.join("adapter_model.safetensors");
        let to = dir.join("adapter_model.safetensors");
        std::fs::copy(&weights, &to).map_err(|e| Error::io(&to, e))?;
        let config_path = run.dir.join("adapter_config.json");
        let text = std::fs::read_to_string(&config_path).map_err(|e| Error::io(&config_path, e))?;
        let mut config: serde_json::Value =
            serde_json::from_str(&text).map_err(|source| Error::Json { what: config_path.display().to_string(), source })?;
        config["base_model_name_or_path"] = base_model.clone().into();
        let to = dir.join("adapter_config.json");
        let text = serde_json::to_string_pretty(&config).map_err(|source| Error::Json { what: "adapter_config.json".into(), source })?;
        std::fs::write(&to, text).map_err(|e| Error::io(&to, e))?;
        let system = run.data_dir.as_deref().and_then(trained_system_prompt);
        let card = model_card(&CardFacts {
            persona: &persona,
            base_model: &base_model,
            license: base_license(&run.base_path),
            run: &run.view,
            base_file: run.base_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            summary: read_json::<grimoire_train::RunSummary>(&run.dir.join("summary.json")),
            report: grimoire_eval::read_report(&run.dir).ok(),
            system: system.as_deref(),
        })?;
        let readme = dir.join("README.md");
        std::fs::write(&readme, card).map_err(|e| Error::io(&readme, e))?;
        Ok(AdapterExportOutput { dir: dir.display().to_string(), readme: readme.display().to_string() })
    }

    fn run_facts(&self, project: &str, run_id: &str) -> Result<RunFacts> {
        let view = self.training_run(RunRef { project: project.to_owned(), run_id: run_id.to_owned() })?.run;
        if !view.has_adapter {
            return Err(Error::InvalidInput(format!("run {run_id} has no adapter yet: let it finish, or stop it so it writes one")));
        }
        if view.state == crate::RunState::Running {
            return Err(Error::InvalidInput(format!("run {run_id} is still training: stop it or let it finish first")));
        }
        let dir = PathBuf::from(&view.dir);
        let record: serde_json::Value = read_json(&dir.join("run.json"))
            .ok_or_else(|| Error::InvalidInput(format!("{} cannot be read", dir.join("run.json").display())))?;
        let base_path = record
            .get("base_path")
            .and_then(|p| p.as_str())
            .map(PathBuf::from)
            .ok_or_else(|| Error::InvalidInput(format!("run {run_id} does not say which base model it trained")))?;
        if !base_path.exists() {
            return Err(Error::NotFound(base_path));
        }
        let data_dir = record.get("data_dir").and_then(|d| d.as_str()).map(PathBuf::from);
        Ok(RunFacts { view, dir, base_path, data_dir })
    }

    /// The project's persona, or its name when no persona is chosen.
    fn persona(&self, project: &Path) -> Result<String> {
        let store = self.store(project)?;
        let meta = lock(&store).project_meta()?;
        Ok(meta.persona.filter(|p| !p.trim().is_empty()).unwrap_or(meta.name))
    }
}

fn out_dir(project: &Path, out: Option<&str>, default: &str) -> Result<PathBuf> {
    match out.map(str::trim).filter(|s| !s.is_empty()) {
        Some(out) => absolute(out),
        None => Ok(project.join("exports").join(default)),
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// The system message of the first training conversation: what the persona was trained under.
fn trained_system_prompt(data_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(data_dir.join("train.jsonl")).ok()?;
    let first: serde_json::Value = serde_json::from_str(text.lines().next()?).ok()?;
    let message = first.get("messages")?.get(0)?;
    (message.get("role")?.as_str()? == "system").then(|| message.get("content")?.as_str().map(str::to_owned))?
}

/// A file-name and Ollama-model-name form of the persona: lowercase ASCII words joined by `-`
/// (Ollama's model names are ASCII).
fn slug(name: &str) -> String {
    let words: Vec<String> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect();
    if words.is_empty() { "persona".into() } else { words.join("-") }
}

fn base_weights(base: &Path) -> Option<String> {
    let gguf = Gguf::open(base).ok()?;
    gguf.tensors.get("blk.0.ffn_up.weight").map(|t| format!("{:?}", t.dtype))
}

fn base_license(base: &Path) -> Option<String> {
    if base.is_dir() {
        return None;
    }
    Gguf::open(base).ok()?.string("general.license").ok().map(str::to_owned)
}

/// Ollama's form of the ChatML template: the system prompt, each turn as
/// `<|im_start|>role\n…<|im_end|>\n`, then the opening of the assistant's turn.
const CHATML_OLLAMA: &str = "{{- if .System }}<|im_start|>system
{{ .System }}<|im_end|>
{{ end }}
{{- range .Messages }}{{ if ne .Role \"system\" }}<|im_start|>{{ .Role }}
{{ .Content }}<|im_end|>
{{ end }}{{ end }}<|im_start|>assistant
";

/// Whether the model's own chat template is ChatML (as SmolLM2's, Qwen's): rendered on a
/// sample conversation it must give exactly ChatML's text.
fn is_chatml(template: &ChatTemplate) -> bool {
    let sample = [Message::system("S"), Message::user("U"), Message::assistant("A"), Message::user("V")];
    let chatml = "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n\
                  <|im_start|>user\nV<|im_end|>\n<|im_start|>assistant\n";
    template.render(&sample, true).is_ok_and(|r| r == chatml)
}

/// The Modelfile for `gguf`: the file beside it, the system prompt, the template in Ollama's Go
/// syntax when the model's is ChatML (otherwise Ollama reads the GGUF's own template), stop
/// tokens, and Grimoire's chat sampling.
fn modelfile_text(gguf: &Path, model_name: &str, system: &str) -> Result<String> {
    let file = Gguf::open(gguf).map_err(Error::Model)?;
    let tokens = file.get("tokenizer.ggml.tokens").and_then(|t| t.as_array());
    let token = |key: &str| {
        let id = file.get(key)?.as_u64()? as usize;
        tokens?.get(id)?.as_str().map(str::to_owned)
    };
    let (bos, eos) = (token("tokenizer.ggml.bos_token_id"), token("tokenizer.ggml.eos_token_id"));
    let template = file
        .string("tokenizer.chat_template")
        .ok()
        .and_then(|source| ChatTemplate::new(source, bos.clone().unwrap_or_default(), eos.clone().unwrap_or_default()).ok());
    let name = gguf.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut out = format!(
        "# Ollama model of a persona exported by Grimoire.\n# ollama create {model_name} -f Modelfile && ollama run {model_name}\nFROM ./{name}\n\n"
    );
    let _ = writeln!(out, "SYSTEM \"\"\"{}\"\"\"\n", system.replace("\"\"\"", "\" \" \""));
    let mut stops: Vec<String> = Vec::new();
    if template.as_ref().is_some_and(is_chatml) {
        let _ = writeln!(out, "TEMPLATE \"\"\"{CHATML_OLLAMA}\"\"\"\n");
        stops.extend(["<|im_end|>".to_owned(), "<|im_start|>".to_owned()]);
    } else {
        out.push_str("# No TEMPLATE: Ollama uses the chat template stored in the GGUF (tokenizer.chat_template).\n\n");
    }
    if let Some(eos) = eos.filter(|e| !stops.contains(e)) {
        stops.push(eos);
    }
    for stop in stops {
        let _ = writeln!(out, "PARAMETER stop \"{stop}\"");
    }
    let sampling = grimoire_llm::SamplingParams::default();
    let _ = writeln!(out, "PARAMETER temperature {}", sampling.temperature);
    let _ = writeln!(out, "PARAMETER top_p {}", sampling.top_p);
    let _ = writeln!(out, "PARAMETER top_k {}", sampling.top_k);
    let _ = writeln!(out, "PARAMETER repeat_penalty {}", sampling.repetition_penalty);
    let _ = writeln!(out, "PARAMETER repeat_last_n {}", sampling.repeat_last_n);
    Ok(out)
}

struct CardFacts<'a> {
    persona: &'a str,
    base_model: &'a str,
    license: Option<String>,
    run: &'a RunView,
    base_file: String,
    summary: Option<grimoire_train::RunSummary>,
    report: Option<grimoire_eval::EvalReport>,
    system: Option<&'a str>,
}

/// A Hugging Face model card: YAML front matter (base_model, library_name, license, tags), then
/// the base model, the data, the settings and the evaluation figures.
fn model_card(f: &CardFacts) -> Result<String> {
    let mut front = serde_json::json!({
        "base_model": f.base_model,
        "library_name": "peft",
        "pipeline_tag": "text-generation",
        "tags": [format!("base_model:adapter:{}", f.base_model), "lora", "peft", "persona", "grimoire"],
    });
    if let Some(license) = &f.license {
        front["license"] = license.clone().into();
    }
    let yaml = serde_norway::to_string(&front).map_err(|e| Error::InvalidInput(format!("the model card cannot be written: {e}")))?;
    let c = &f.run.config;
    let mut card = format!("---\n{yaml}---\n\n# {}: a LoRA adapter for {}\n\n", f.persona, f.base_model);
    let _ = writeln!(
        card,
        "A persona adapter trained with Grimoire on what {} says in the project's books, \
         so that the base model answers in their voice.\n",
        f.persona
    );
    let _ = writeln!(card, "## Base model\n\n[`{0}`](https://huggingface.co/{0}), trained here from `{1}` with its weights frozen in 4 bits (QLoRA).\n", f.base_model, f.base_file);
    card.push_str("## Data\n\n");
    match &f.summary {
        Some(s) => {
            let d = &s.data;
            let _ = writeln!(
                card,
                "- {} training and {} validation conversations\n- {} tokens in training, {} of them trained (the persona's replies only)",
                d.train_examples, d.validation_examples, d.train_tokens, d.trained_tokens
            );
        }
        None => card.push_str("- (the run has no summary yet)\n"),
    }
    if let Some(system) = f.system {
        let _ = writeln!(card, "- System prompt used in training and needed at inference: \"{system}\"");
    }
    let targets: Vec<String> = c.lora.targets.iter().map(|t| t.proj().hf_name().to_owned()).collect();
    let _ = writeln!(card, "\n## Training\n\n| setting | value |\n|---|---|");
    let rows = [
        ("LoRA rank / alpha / dropout", format!("{} / {} / {}", c.lora.r, c.lora.alpha, c.lora.dropout)),
        ("target modules", targets.join(", ")),
        ("rsLoRA", c.lora.use_rslora.to_string()),
        ("learning rate", format!("{} ({:?})", c.learning_rate, c.schedule).to_lowercase()),
        ("epochs", c.epochs.to_string()),
        ("batch × accumulation", format!("{} × {}", c.batch_size, c.grad_accum)),
        ("max sequence length", c.max_seq_len.to_string()),
        ("weight decay / max grad norm", format!("{} / {}", c.weight_decay, c.max_grad_norm)),
        ("seed", c.seed.to_string()),
        ("steps", format!("{} of {}", f.run.step, f.run.total_steps)),
    ];
    for (k, v) in rows {
        let _ = writeln!(card, "| {k} | {v} |");
    }
    if let Some(loss) = f.run.train_loss {
        let _ = writeln!(card, "| final training loss | {loss:.3} |");
    }
    if let Some(loss) = f.run.best_val_loss {
        let _ = writeln!(card, "| best validation loss | {loss:.3} |");
    }
    card.push_str("\n## Evaluation\n\n");
    match &f.report {
        Some(r) => {
            let l = &r.losses;
            let _ = writeln!(
                card,
                "Perplexity on {} held-out replies of {} ({} tokens): base {:.1}, tuned {:.1} ({:.2}× the base)",
                l.tuned.examples, f.persona, l.tuned.tokens, l.base.perplexity, l.tuned.perplexity, l.tuned_over_base
            );
            if let Some(control) = &l.control {
                let _ = writeln!(
                    card,
                    "; a control adapter trained the same way on the other characters' lines: {:.1}{}",
                    control.perplexity,
                    l.tuned_over_control.map(|x| format!(" (tuned ÷ control = {x:.2})")).unwrap_or_default()
                );
            }
            for s in &r.persona_scores {
                let _ = writeln!(
                    card,
                    "- {:?}: {:.0}% of {} replies judged in the persona's voice by the persona classifier",
                    s.model,
                    s.judged_persona * 100.0,
                    s.replies
                );
            }
        }
        None => {
            let _ = writeln!(card, "Not evaluated in Grimoire yet (`grimoire eval --project PROJECT --run {}`).", f.run.run_id);
        }
    }
    let _ = writeln!(
        card,
        "\n## Use\n\n```python\nfrom peft import PeftModel\nfrom transformers import AutoModelForCausalLM, AutoTokenizer\n\n\
         base = AutoModelForCausalLM.from_pretrained(\"{0}\")\ntokenizer = AutoTokenizer.from_pretrained(\"{0}\")\n\
         model = PeftModel.from_pretrained(base, \"path/to/this/folder\")\n```\n\nKeep the training system prompt: without one the \
         base model's template may insert its own.",
        f.base_model
    );
    Ok(card)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_a_chatml_template_gets_the_chatml_modelfile_template() {
        assert!(is_chatml(&ChatTemplate::chatml()));
        let llama3 = "{% for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>\n\n{{ m.content }}<|eot_id|>{% endfor %}\
                      {% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}";
        assert!(!is_chatml(&ChatTemplate::new(llama3, "<|begin_of_text|>", "<|eot_id|>").unwrap()));
    }

    #[test]
    fn persona_names_become_model_names() {
        assert_eq!(slug("Elizabeth Bennet"), "elizabeth-bennet");
        assert_eq!(slug("  Mr. Darcy (the elder) "), "mr-darcy-the-elder");
        assert_eq!(slug("Éowyn of Rohan"), "owyn-of-rohan");
        assert_eq!(slug("?!"), "persona");
    }
}
