//! Hand-offs: a folder that Axolotl can run, checked key by key against the data; the persona as
//! a GGUF with an Ollama Modelfile, and the adapter alone with a model card.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use grimoire_core::{
    AdapterExportInput, AxolotlInput, BUILTIN_HF_ID, Dirs, ErrorCode, GgufExportInput, GgufType, JobStatus, MultiGpu, Service, TrainConfig,
    TrainInput,
};

fn project(root: &Path, service: &Service, export: bool) -> String {
    let project = root.join("p").display().to_string();
    service
        .create_project(grimoire_core::CreateProjectInput { path: project.clone(), name: "P".into(), persona: Some("Elizabeth Bennet".into()) })
        .unwrap();
    if export {
        common::approve_and_export(service, &project, root);
    }
    project
}

#[test]
fn the_axolotl_folder_matches_the_settings_and_the_data() {
    let tmp = tempfile::tempdir().unwrap();
    let service = Service::new(Dirs { data: tmp.path().join("data"), config: tmp.path().join("config") }, Arc::new(|_| {}));
    let project = project(tmp.path(), &service, true);
    let mut config = TrainConfig::preset("cpu-small").unwrap();
    config.lora.r = 32;
    config.max_seq_len = 1024;
    config.max_steps = Some(500);
    let out = service
        .export_axolotl(AxolotlInput {
            project,
            run_id: None,
            config: Some(config.clone()),
            base_model: Some("mistralai/Mistral-7B-Instruct-v0.3".into()),
            multi_gpu: MultiGpu::Deepspeed,
            out: None,
        })
        .unwrap();
    let dir = Path::new(&out.dir);
    let yaml: serde_json::Value = serde_norway::from_str(&std::fs::read_to_string(&out.config).unwrap()).unwrap();
    assert_eq!(yaml["base_model"], "mistralai/Mistral-7B-Instruct-v0.3");
    assert_eq!((yaml["adapter"].as_str(), yaml["load_in_4bit"].as_bool()), (Some("qlora"), Some(true)));
    assert_eq!(yaml["lora_r"], 32);
    assert_eq!(yaml["lora_alpha"].as_f64(), Some(config.lora.alpha));
    assert_eq!(yaml["sequence_len"], 1024);
    assert_eq!(yaml["max_steps"], 500);
    assert_eq!(yaml["micro_batch_size"], config.batch_size as u64);
    assert_eq!(yaml["num_epochs"], config.epochs as u64);
    assert_eq!(yaml["learning_rate"].as_f64(), Some(config.learning_rate));
    let targets: Vec<&str> = yaml["lora_target_modules"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    assert_eq!(targets.len(), config.lora.targets.len());
    assert!(targets.iter().all(|t| t.ends_with("_proj")), "{targets:?}");
    assert_eq!(yaml["deepspeed"], "deepspeed_configs/zero2.json");
    // Each data set names a file that is there, in the shape its keys describe.
    for (key, expected_lines) in [("datasets", 8), ("test_datasets", 2)] {
        let d = &yaml[key][0];
        assert_eq!(d["type"], "chat_template");
        assert_eq!(d["roles_to_train"], serde_json::json!(["assistant"]));
        let file = dir.join(d["path"].as_str().unwrap());
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(text.lines().count(), expected_lines, "{key}");
        let field = d["field_messages"].as_str().unwrap();
        let role = d["message_property_mappings"]["role"].as_str().unwrap();
        let content = d["message_property_mappings"]["content"].as_str().unwrap();
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let messages = v[field].as_array().unwrap();
            assert!(messages.iter().all(|m| m[role].is_string() && m[content].is_string()));
            assert!(messages.iter().any(|m| m[role] == "assistant"));
        }
    }
    assert!(dir.join("README.md").is_file());
    assert!(out.command.ends_with("axolotl train config.yml"));
}

#[test]
fn without_an_export_the_hand_off_says_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let service = Service::new(Dirs { data: tmp.path().join("data"), config: tmp.path().join("config") }, Arc::new(|_| {}));
    let project = project(tmp.path(), &service, false);
    let input = AxolotlInput { project, run_id: None, config: None, base_model: None, multi_gpu: MultiGpu::None, out: None };
    let err = service.export_axolotl(input).unwrap_err();
    assert!(matches!(err.code(), ErrorCode::InvalidInput | ErrorCode::NotFound), "{err}");
}

/// A project whose latest export trained a run of a few steps on the built-in model.
fn trained(root: &Path, service: &Service) -> (String, String) {
    let mut settings = service.settings().unwrap();
    settings.model_dir = common::builtin_model_dir().display().to_string();
    service.update_settings(settings).unwrap();
    let project = project(root, service, true);
    let input = TrainInput { project: project.clone(), base: "built-in".into(), data: None, preset: None, config: Some(common::two_steps()) };
    let (run_id, handle) = service.train(input).unwrap();
    assert_eq!(handle.wait(), JobStatus::Completed);
    (project, run_id)
}

#[test]
fn a_run_exports_as_a_gguf_with_a_modelfile_and_as_an_adapter_with_a_card() {
    let tmp = tempfile::tempdir().unwrap();
    let service = Service::new(Dirs { data: tmp.path().join("data"), config: tmp.path().join("config") }, Arc::new(|_| {}));
    let (project, run_id) = trained(tmp.path(), &service);
    let gguf = |quantization| GgufExportInput { project: project.clone(), run_id: run_id.clone(), quantization, system_prompt: None, out: None };

    let out = service.export_gguf(gguf(GgufType::Base)).unwrap();
    let file = PathBuf::from(&out.gguf);
    assert_eq!(file.file_name().unwrap(), "elizabeth-bennet.Q4_1.gguf");
    assert_eq!(out.weights, "Q4_1");
    assert_eq!(out.bytes, std::fs::metadata(&file).unwrap().len());
    assert!(file.starts_with(PathBuf::from(&project).join("exports")), "{}", file.display());
    // Grimoire's runtime reloads it under the persona's name and chats with it.
    let model = grimoire_llm::Model::load(&file, &grimoire_llm::LoadOptions { max_context: 256, ..Default::default() }).unwrap();
    assert_eq!(model.info.name, "Elizabeth Bennet");
    let params = grimoire_llm::GenerateParams { sampling: grimoire_llm::SamplingParams::greedy(), max_tokens: 8, ..Default::default() };
    let messages = [grimoire_llm::Message::system("You are Elizabeth Bennet."), grimoire_llm::Message::user("Question 3?")];
    let reply = grimoire_llm::chat(&model, None, &messages, &params, &grimoire_llm::CancelToken::new(), &mut |_| {}).unwrap();
    assert!(!reply.tokens.is_empty());

    // The Modelfile: the file beside it, the system prompt it was trained with, ChatML in Go
    // template syntax, and the end-of-turn token as a stop.
    let modelfile = std::fs::read_to_string(&out.modelfile).unwrap();
    assert!(modelfile.contains("\nFROM ./elizabeth-bennet.Q4_1.gguf\n"), "{modelfile}");
    assert!(modelfile.contains("SYSTEM \"\"\"You are Elizabeth Bennet.\"\"\""), "{modelfile}");
    let template = modelfile.split("TEMPLATE \"\"\"").nth(1).and_then(|t| t.split("\"\"\"").next()).expect("a TEMPLATE");
    for part in ["{{ .System }}", "<|im_start|>system\n", "{{- range .Messages }}", "<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n", "<|im_start|>assistant\n"] {
        assert!(template.contains(part), "{part:?} in {template}");
    }
    assert!(modelfile.contains("PARAMETER stop \"<|im_end|>\""), "{modelfile}");
    assert!(modelfile.contains("PARAMETER repeat_penalty"), "{modelfile}");
    assert!(out.command.contains("ollama create elizabeth-bennet -f Modelfile"), "{}", out.command);

    // Q8_0 keeps more of the merge and weighs more.
    let q8 = service.export_gguf(gguf(GgufType::Q8_0)).unwrap();
    assert!(q8.gguf.ends_with("elizabeth-bennet.Q8_0.gguf") && q8.bytes > out.bytes, "{q8:?}");
    assert_ne!(q8.dir, out.dir, "each type has its folder and its Modelfile");
    assert!(std::fs::read_to_string(&q8.modelfile).unwrap().contains("FROM ./elizabeth-bennet.Q8_0.gguf"));

    // A place that cannot be written: the error names it, the earlier export is whole.
    let blocked = GgufExportInput { out: Some(file.join("inside-a-file").display().to_string()), ..gguf(GgufType::Base) };
    let err = service.export_gguf(blocked).unwrap_err();
    assert!(err.to_string().contains("inside-a-file"), "{err}");
    assert_eq!(std::fs::metadata(&file).unwrap().len(), out.bytes);

    // The adapter alone, named for the Hub, with a model card.
    let adapter = service.export_adapter(AdapterExportInput { project: project.clone(), run_id: run_id.clone(), base_model: None, out: None }).unwrap();
    let dir = PathBuf::from(&adapter.dir);
    let config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("adapter_config.json")).unwrap()).unwrap();
    assert_eq!(config["base_model_name_or_path"], BUILTIN_HF_ID);
    assert_eq!(config["peft_type"], "LORA");
    let base = grimoire_llm::Model::load(&common::builtin_model_dir().join("SmolLM2-135M-Instruct.Q4_1.gguf"), &Default::default()).unwrap();
    base.load_adapter(&dir).expect("the exported adapter loads over its base");
    let card = std::fs::read_to_string(&adapter.readme).unwrap();
    let front = card.strip_prefix("---\n").and_then(|c| c.split("\n---\n").next()).expect("YAML front matter");
    let yaml: serde_json::Value = serde_norway::from_str(front).unwrap();
    assert_eq!(yaml["base_model"], BUILTIN_HF_ID);
    assert_eq!(yaml["library_name"], "peft");
    assert_eq!(yaml["license"], "apache-2.0");
    let tags: Vec<&str> = yaml["tags"].as_array().unwrap().iter().filter_map(|t| t.as_str()).collect();
    assert!(tags.contains(&"lora") && tags.contains(&"peft"), "{tags:?}");
    for part in ["# Elizabeth Bennet: a LoRA adapter", "8 training and 2 validation conversations", "| LoRA rank / alpha / dropout | 2 / 4 / ", "| steps | 2 of 2 |", "Not evaluated", "PeftModel.from_pretrained"] {
        assert!(card.contains(part), "{part:?} in\n{card}");
    }
}

#[test]
fn exports_of_a_missing_run_say_so_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let service = Service::new(Dirs { data: tmp.path().join("data"), config: tmp.path().join("config") }, Arc::new(|_| {}));
    let project = project(tmp.path(), &service, false);
    let input = GgufExportInput { project: project.clone(), run_id: "no-such-run".into(), quantization: GgufType::Base, system_prompt: None, out: None };
    let err = service.export_gguf(input).unwrap_err();
    assert!(matches!(err.code(), ErrorCode::NotFound | ErrorCode::InvalidInput), "{err}");
    let input = AdapterExportInput { project: project.clone(), run_id: "../p".into(), base_model: None, out: None };
    assert_eq!(service.export_adapter(input).unwrap_err().code(), ErrorCode::InvalidInput);
    let written: Vec<_> = std::fs::read_dir(PathBuf::from(&project).join("exports")).map(|d| d.flatten().map(|e| e.file_name()).collect()).unwrap_or_default();
    assert!(written.is_empty(), "{written:?}");
}
