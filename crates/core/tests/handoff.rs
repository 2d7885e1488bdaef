//! The Axolotl hand-off: a folder that Axolotl can run, checked key by key against the data.

mod common;

use std::path::Path;
use std::sync::Arc;

use grimoire_core::{AxolotlInput, Dirs, ErrorCode, MultiGpu, Service, TrainConfig};

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
