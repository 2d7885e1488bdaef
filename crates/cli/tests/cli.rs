//! The `grimoire` binary run as a user runs it, on real folders.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Env {
    tmp: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        Self { tmp }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("GRIMOIRE_DATA_DIR", self.path("data")).env("GRIMOIRE_CONFIG_DIR", self.path("config"));
        cmd
    }

    fn grimoire(&self, args: &[&str]) -> Output {
        self.command(Path::new(env!("CARGO_BIN_EXE_grimoire"))).args(args).output().unwrap()
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_lists_the_project_commands() {
    let env = Env::new();
    let out = env.grimoire(&["--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for word in ["project", "models", "import"] {
        assert!(help.contains(word), "{help}");
    }
    let out = env.grimoire(&["project", "--help"]);
    let help = text(&out.stdout);
    for word in ["new", "open", "info"] {
        assert!(help.contains(word), "{help}");
    }
}

#[test]
fn new_then_info_as_json() {
    let env = Env::new();
    let dir = env.path("emma");
    let out = env.grimoire(&["project", "new", dir.to_str().unwrap(), "--name", "Emma", "--persona", "Emma Woodhouse"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = env.grimoire(&["project", "info", dir.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["name"], "Emma");
    assert_eq!(info["persona"], "Emma Woodhouse");
    assert_eq!(info["books"], 0);
}

#[test]
fn a_folder_that_is_not_a_project_is_a_clear_error() {
    let env = Env::new();
    let dir = env.path("photos");
    std::fs::create_dir_all(&dir).unwrap();
    let out = env.grimoire(&["project", "open", dir.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("is not a Grimoire project"), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "nothing may be written");
}

#[test]
fn a_truncated_database_is_a_clear_error_and_is_not_overwritten() {
    let env = Env::new();
    let dir = env.path("p");
    assert!(env.grimoire(&["project", "new", dir.to_str().unwrap()]).status.success());
    let book = env.path("book.txt");
    std::fs::write(&book, "It was a dark and stormy night. ".repeat(40_000)).unwrap();
    assert!(env.grimoire(&["import", "--project", dir.to_str().unwrap(), book.to_str().unwrap()]).status.success());
    // Fold the WAL into the main file, as a clean shutdown would, then cut the file in half.
    let conn = rusqlite_free_checkpoint(&dir);
    let db = dir.join("grimoire.db");
    let bytes = std::fs::read(&db).unwrap();
    assert!(conn);
    std::fs::write(&db, &bytes[..bytes.len() / 2]).unwrap();
    let out = env.grimoire(&["project", "open", dir.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("damaged") || err.contains("not a Grimoire project"), "{err}");
    assert_eq!(std::fs::read(&db).unwrap(), &bytes[..bytes.len() / 2]);
}

/// Opening the project once more through the CLI checkpoints the WAL on close; then no -wal is left.
fn rusqlite_free_checkpoint(dir: &Path) -> bool {
    let env_dir = dir.parent().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_grimoire"))
        .env("GRIMOIRE_DATA_DIR", env_dir.join("data"))
        .env("GRIMOIRE_CONFIG_DIR", env_dir.join("config"))
        .args(["project", "info", dir.to_str().unwrap()])
        .output()
        .unwrap();
    out.status.success() && !dir.join("grimoire.db-wal").exists()
}

#[test]
fn a_read_only_folder_is_a_clear_error() {
    let env = Env::new();
    let dir = env.path("p");
    assert!(env.grimoire(&["project", "new", dir.to_str().unwrap()]).status.success());
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    std::fs::set_permissions(dir.join("grimoire.db"), std::fs::Permissions::from_mode(0o444)).unwrap();
    let before = std::fs::read(dir.join("grimoire.db")).unwrap();
    // Root writes through permission bits, so as root the binary runs as `nobody`, from a copy it can read.
    let out = if is_root() {
        let copy = env.path("grimoire");
        std::fs::copy(env!("CARGO_BIN_EXE_grimoire"), &copy).unwrap();
        for sub in ["config", "data"] {
            std::fs::create_dir_all(env.path(sub)).unwrap();
            std::fs::set_permissions(env.path(sub), std::fs::Permissions::from_mode(0o777)).unwrap();
        }
        let mut cmd = env.command(Path::new("/usr/bin/setpriv"));
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", copy.to_str().unwrap(), "project", "open", dir.to_str().unwrap()]);
        cmd.output().unwrap()
    } else {
        env.grimoire(&["project", "open", dir.to_str().unwrap()])
    };
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("read-only"), "{err}");
    assert_eq!(std::fs::read(dir.join("grimoire.db")).unwrap(), before);
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| text(&o.stdout).trim() == "0").unwrap_or(false)
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/sample/PrideAndPrejudice.txt")
}

#[test]
fn quotes_and_characters_keep_their_json_contract() {
    let env = Env::new();
    let out = env.grimoire(&["quotes", sample().to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let book: Vec<char> = std::fs::read_to_string(sample()).unwrap().chars().collect();
    let quotes: Vec<serde_json::Value> = text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(quotes.len() > 1000, "{} quotes", quotes.len());
    for q in &quotes {
        let (start, end) = (q["start"].as_u64().unwrap() as usize, q["end"].as_u64().unwrap() as usize);
        let slice: String = book[start..end].iter().collect();
        assert_eq!(slice, q["text"].as_str().unwrap());
        assert!(["explicit", "anaphoric", "implicit"].contains(&q["kind"].as_str().unwrap()), "{q}");
        let c = q["confidence"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&c));
        assert!(q["speaker"].is_null() || q["speaker"].is_string());
    }
    speakers_are_characters(&env, &sample(), &quotes);
}

/// `grimoire characters FILE --json` keeps its shape, and names every speaker `quotes` gives.
fn speakers_are_characters(env: &Env, file: &Path, quotes: &[serde_json::Value]) {
    let out = env.grimoire(&["characters", file.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let names: Vec<String> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .inspect(|c| assert!(c["aliases"].is_array() && c["quotes"].is_u64() && c["gender"].is_string(), "{c}"))
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    for q in quotes {
        if let Some(s) = q["speaker"].as_str() {
            assert!(names.iter().any(|n| n == s), "speaker {s} is not among the characters {names:?}");
        }
    }
}

#[test]
fn import_then_extract_for_a_persona() {
    let env = Env::new();
    let dir = env.path("pp");
    assert!(env.grimoire(&["project", "new", dir.to_str().unwrap()]).status.success());
    let out = env.grimoire(&["import", "--project", dir.to_str().unwrap(), sample().to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = env.grimoire(&["extract", "--project", dir.to_str().unwrap(), "--persona", "Elizabeth Bennet", "--narration"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let result: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert!(result["added"].as_u64().unwrap() > 200, "{result}");
    let out = env.grimoire(&["extract", "--project", dir.to_str().unwrap(), "--persona", "Nobody Atall"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("grimoire characters"), "{}", text(&out.stderr));
    let out = env.grimoire(&["quotes", env.path("missing.txt").to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("does not exist"), "{}", text(&out.stderr));
}

/// A project holding 20 imported conversations, half of them about Pemberley.
fn project_with_imported(env: &Env) -> PathBuf {
    let dir = env.path("anne");
    assert!(env.grimoire(&["project", "new", dir.to_str().unwrap(), "--persona", "Anne"]).status.success());
    let mut lines = String::new();
    for i in 0..20 {
        let place = if i % 2 == 0 { "Pemberley" } else { "Longbourn" };
        lines.push_str(&format!(
            "{{\"messages\":[{{\"role\":\"user\",\"content\":\"Question {i}?\"}},{{\"role\":\"assistant\",\"content\":\"Answer number {i}, given at {place} with some care.\"}}]}}\n"
        ));
        if i == 4 {
            lines.push_str("{\"messages\":[]}\n");
        }
    }
    let file = env.path("in.jsonl");
    std::fs::write(&file, lines).unwrap();
    let out = env.grimoire(&["import-jsonl", "--project", dir.to_str().unwrap(), file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("line 6: "), "{stdout}");
    assert!(stdout.ends_with("imported 20 of 21 conversations\n"), "{stdout}");
    dir
}

fn stats(env: &Env, dir: &Path) -> serde_json::Value {
    let out = env.grimoire(&["review", "stats", "--project", dir.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn review_stats_and_approve_or_reject_by_filter() {
    let env = Env::new();
    let dir = project_with_imported(&env);
    let s = stats(&env, &dir);
    assert_eq!((s["total"].as_u64(), s["by_status"]["pending"].as_u64(), s["by_strategy"]["imported"].as_u64()), (Some(20), Some(20), Some(20)));
    let project = dir.to_str().unwrap();
    let out = env.grimoire(&["review", "approve", "--project", project, "--filter", "status:pending pemberley"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "approved 10 examples\n");
    assert_eq!(stats(&env, &dir)["by_status"]["approved"].as_u64(), Some(10));
    assert_eq!(stats(&env, &dir)["exportable"].as_u64(), Some(10));
    let out = env.grimoire(&["review", "reject", "--project", project, "--filter", "status:pending"]);
    assert_eq!(text(&out.stdout), "rejected 10 examples\n");
    let out = env.grimoire(&["review", "stats", "--project", project]);
    let table = text(&out.stdout);
    assert!(table.contains("approved    10\n") && table.contains("rejected    10\n"), "{table}");
    // Neither --all nor --filter, or a filter that cannot be read: refused, nothing changed.
    assert!(!env.grimoire(&["review", "approve", "--project", project]).status.success());
    let out = env.grimoire(&["review", "approve", "--project", project, "--filter", "status:done"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("status:done"), "{}", text(&out.stderr));
    let out = env.grimoire(&["review", "approve", "--project", project, "--all"]);
    assert_eq!(text(&out.stdout), "approved 10 examples\n");
}

#[test]
fn export_writes_two_files_that_validate() {
    let env = Env::new();
    let dir = project_with_imported(&env);
    let project = dir.to_str().unwrap();
    assert!(env.grimoire(&["review", "approve", "--project", project, "--all"]).status.success());
    let out_dir = env.path("export");
    let out = env.grimoire(&[
        "export", "--project", project, "--out", out_dir.to_str().unwrap(), "--val-fraction", "0.2", "--seed", "3", "--system", "You are Anne.",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let rows: Vec<Vec<&str>> = stdout.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!((rows[0][0], rows[0][1], rows[1][0], rows[1][1]), ("train", "16", "validation", "4"), "{stdout}");
    for (row, name) in rows.iter().zip(["train.jsonl", "validation.jsonl"]) {
        assert_eq!(Path::new(row[3]), out_dir.join(name));
        let body = std::fs::read_to_string(row[3]).unwrap();
        assert!(body.lines().all(|l| l.starts_with(r#"{"messages":[{"role":"system","content":"You are Anne."}"#)), "{body}");
        let out = env.grimoire(&["validate", row[3]]);
        assert!(out.status.success(), "{}", text(&out.stdout));
    }
    // Outside 10-20% is refused; without --out the files land under the project's exports/.
    let out = env.grimoire(&["export", "--project", project, "--val-fraction", "0.5"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("between 10% and 20%"), "{}", text(&out.stderr));
    let out = env.grimoire(&["export", "--project", project, "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let done: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(Path::new(done["dir"].as_str().unwrap()).starts_with(dir.join("exports")), "{done}");
    assert_eq!(done["report"]["train"].as_u64().unwrap() + done["report"]["validation"].as_u64().unwrap(), 20);
}

#[test]
fn validate_reports_each_bad_line_with_its_number() {
    let env = Env::new();
    let file = env.path("bad.jsonl");
    let good = r#"{"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello."}]}"#;
    let bad_weight = r#"{"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello.","weight":3}]}"#;
    let user_last = r#"{"messages":[{"role":"user","content":"Hi"}]}"#;
    std::fs::write(&file, format!("{good}\n{bad_weight}\n{{oops\n{user_last}\n")).unwrap();
    let out = env.grimoire(&["validate", file.to_str().unwrap()]);
    assert!(!out.status.success());
    let stdout = text(&out.stdout);
    let numbers: Vec<&str> = stdout.lines().filter_map(|l| l.strip_prefix("line ")).map(|l| l.split(':').next().unwrap()).collect();
    assert_eq!(numbers, ["2", "3", "4"], "{stdout}");
    assert!(stdout.ends_with("1 of 4 conversations valid, 2 tokens, longest 2\n"), "{stdout}");
    assert!(text(&out.stderr).contains("on 3 line(s)"), "{}", text(&out.stderr));
}

#[test]
fn chat_answers_once_with_the_builtin_model() {
    let env = Env::new();
    let model = std::env::var("GRIMOIRE_MODEL_PATH").unwrap_or_else(|_| {
        format!("{}/.local/share/grimoire/models/SmolLM2-135M-Instruct.Q4_1.gguf", std::env::var("HOME").unwrap())
    });
    assert!(Path::new(&model).exists(), "{model} is missing: run scripts/setup.sh");
    let out = env.grimoire(&["chat", "--model", &model, "--prompt", "Say hello.", "--temperature", "0", "--max-tokens", "8"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).trim().is_empty());
    let out = env.grimoire(&["chat", "--model", env.path("nothing.gguf").to_str().unwrap(), "--prompt", "Hi"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("does not exist"), "{}", text(&out.stderr));
}

#[test]
fn teachers_add_test_and_generate_with_a_loopback_server() {
    use grimoire_teacher::loopback::{Reply, Server};
    let server = Server::start(|req| {
        if req.path.ends_with("/models") {
            return Reply::models(&["m"]);
        }
        Reply::chat(r#"{"pairs": [{"question": "How did you feel?", "answer": "I felt quite cross."}, {"question": "And then?", "answer": "I laughed at myself."}]}"#)
    })
    .unwrap();
    let env = Env::new();
    let out = env.grimoire(&["teachers"]);
    assert!(out.status.success() && text(&out.stdout).contains("built-in"), "{}", text(&out.stdout));
    let url = server.base_url();
    let out = env.grimoire(&["teachers", "add", "loop", "--kind", "openai", "--base-url", &url, "--model", "m", "--concurrency", "4"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = env.grimoire(&["teachers", "test", "loop"]);
    assert!(out.status.success() && text(&out.stdout).trim() == "m", "{} {}", text(&out.stdout), text(&out.stderr));
    let out = env.grimoire(&["teachers", "add", "nowhere", "--kind", "openai", "--base-url", "http://127.0.0.1:9/v1", "--model", "m"]);
    assert!(out.status.success());
    let out = env.grimoire(&["teachers", "test", "nowhere"]);
    assert!(!out.status.success() && text(&out.stderr).contains("nowhere:"), "{}", text(&out.stderr));

    let dir = env.path("pp");
    let dir_s = dir.to_str().unwrap();
    assert!(env.grimoire(&["project", "new", dir_s, "--persona", "Elizabeth Bennet"]).status.success());
    assert!(env.grimoire(&["import", "--project", dir_s, sample().to_str().unwrap()]).status.success());
    // An estimate first: three passages, nothing cached, no prices set, nothing sent.
    let out = env.grimoire(&["generate", "--project", dir_s, "--strategy", "qa", "--teacher", "loop", "--limit", "3", "--pairs", "2", "--estimate"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("3 passages, 0 of them already answered"), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("cost: nothing"), "{}", text(&out.stdout));
    assert_eq!(server.requests(), 1);
    let out = env.grimoire(&["generate", "--project", dir_s, "--strategy", "qa", "--teacher", "loop", "--limit", "3", "--pairs", "2"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("3 passages, 0 of them already answered"), "{}", text(&out.stderr));
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((result["passages"].as_u64(), result["examples"].as_u64()), (Some(3), Some(6)), "{result}");
    assert_eq!(server.requests(), 1 + 3);
    let out = env.grimoire(&["review", "stats", "--project", dir_s, "--json"]);
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["by_strategy"]["c"], 6, "{stats}");
    let out = env.grimoire(&["generate", "--project", dir_s, "--strategy", "qa", "--teacher", "loop", "--limit", "3", "--pairs", "2", "--estimate"]);
    assert!(text(&out.stdout).starts_with("3 passages, 3 of them already answered"), "{}", text(&out.stdout));
    // An unknown teacher is a clear error.
    let out = env.grimoire(&["generate", "--project", dir_s, "--teacher", "nobody"]);
    assert!(!out.status.success() && text(&out.stderr).contains("no teacher called \"nobody\""), "{}", text(&out.stderr));
}

#[test]
fn train_a_few_steps_list_the_run_and_merge_it() {
    let env = Env::new();
    let dir = project_with_imported(&env);
    let project = dir.to_str().unwrap();
    let model = std::env::var("GRIMOIRE_MODEL_PATH").unwrap_or_else(|_| {
        format!("{}/.local/share/grimoire/models/SmolLM2-135M-Instruct.Q4_1.gguf", std::env::var("HOME").unwrap())
    });
    assert!(Path::new(&model).exists(), "{model} is missing: run scripts/setup.sh");
    // Nothing exported yet: a clear error that says what to do.
    let out = env.grimoire(&["train", "--project", project, "--base", &model, "--steps", "2"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("export"), "{}", text(&out.stderr));

    assert!(env.grimoire(&["review", "approve", "--project", project, "--all"]).status.success());
    assert!(env.grimoire(&["export", "--project", project]).status.success());
    let quick = ["--preset", "cpu-quick", "--steps", "2", "--rank", "4", "--batch", "2", "--seq-len", "64"];
    let mut args = vec!["train", "--project", project, "--base", &model];
    args.extend(quick);
    args.push("--estimate");
    let out = env.grimoire(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["config"]["lora"]["r"], 4);
    assert_eq!(plan["estimate"]["total_steps"], 2);

    args.pop();
    let out = env.grimoire(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("[2/2] loss"), "{}", text(&out.stderr));
    let run: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((run["state"].as_str(), run["step"].as_u64()), (Some("completed"), Some(2)));
    let run_dir = PathBuf::from(run["dir"].as_str().unwrap());
    for file in ["adapter_config.json", "adapter_model.safetensors", "metrics.jsonl", "loss.png", "config.json"] {
        assert!(run_dir.join(file).is_file(), "{file} missing");
    }
    let out = env.grimoire(&["runs", "--project", project]);
    assert!(text(&out.stdout).starts_with(run["run_id"].as_str().unwrap()), "{}", text(&out.stdout));
    let merged = env.path("merged");
    let out = env.grimoire(&["merge", "--run", run_dir.to_str().unwrap(), "--out", merged.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(merged.join("config.json").is_file());

    // Evaluation: no report yet, and a persona that never speaks in the project's books is a clear
    // error (the report scores replies against the persona's lines).
    let run_id = run["run_id"].as_str().unwrap();
    let out = env.grimoire(&["eval", "--project", project, "--run", run_id, "--stored"]);
    assert!(!out.status.success() && text(&out.stderr).contains("does not exist"), "{}", text(&out.stderr));
    let out = env.grimoire(&["eval", "--project", project, "--run", run_id, "--prompts", "1", "--max-tokens", "4"]);
    assert!(!out.status.success(), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("no line of the books is attributed to \"Anne\""), "{}", text(&out.stderr));
}

#[test]
fn validate_counts_tokens_with_a_models_tokenizer_when_asked() {
    let env = Env::new();
    let model = std::env::var("GRIMOIRE_MODEL_PATH").unwrap_or_else(|_| {
        format!("{}/.local/share/grimoire/models/SmolLM2-135M-Instruct.Q4_1.gguf", std::env::var("HOME").unwrap())
    });
    assert!(Path::new(&model).exists(), "{model} is missing: run scripts/setup.sh");
    let file = env.path("one.jsonl");
    let line = r#"{"messages":[{"role":"user","content":"Antidisestablishmentarianism?"},{"role":"assistant","content":"Indubitably, Mr. Darcy."}]}"#;
    std::fs::write(&file, format!("{line}\n")).unwrap();
    let words = env.grimoire(&["validate", file.to_str().unwrap()]);
    assert!(words.status.success(), "{}", text(&words.stderr));
    assert!(text(&words.stdout).ends_with("1 of 1 conversations valid, 4 tokens, longest 4\n"), "{}", text(&words.stdout));
    let tokens = env.grimoire(&["validate", file.to_str().unwrap(), "--tokenizer", &model]);
    assert!(tokens.status.success(), "{}", text(&tokens.stderr));
    let summary = text(&tokens.stdout);
    let n: u32 = summary.split(", ").nth(1).and_then(|t| t.split(' ').next()).and_then(|n| n.parse().ok()).unwrap_or(0);
    // BPE cuts the long word into several pieces: more tokens than words.
    assert!(n > 6, "{summary}");
    let missing = env.grimoire(&["validate", file.to_str().unwrap(), "--tokenizer", env.path("none.gguf").to_str().unwrap()]);
    assert!(!missing.status.success());
    assert!(text(&missing.stderr).contains("does not exist"), "{}", text(&missing.stderr));
}

fn corpus_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/tests/fixtures").join(name)
}

#[test]
fn quote_offsets_count_chars_of_the_file_as_read_header_included() {
    let env = Env::new();
    // A Gutenberg header and footer, two-byte (é, ü), three-byte (“ ” ’ —) and four-byte (𝔊) characters.
    let text = "The Project Gutenberg eBook of Caf\u{e9} Stories \u{2014} \u{201c}tiny\u{201d} \u{1d50a}\n\n\
        *** START OF THE PROJECT GUTENBERG EBOOK CAF\u{c9} STORIES ***\n\n\nCHAPTER I.\n\n\
        \u{201c}Un caf\u{e9}, s\u{2019}il vous pla\u{ee}t,\u{201d} said Zo\u{eb}, who had come from Z\u{fc}rich. \u{1d50a}ood.\n\n\
        \u{201c}Bien s\u{fb}r,\u{201d} replied Ren\u{e9}e. \u{201c}Et pour vous?\u{201d}\n\n\
        \u{201c}Rien,\u{201d} said Zo\u{eb}.\n\n\
        *** END OF THE PROJECT GUTENBERG EBOOK CAF\u{c9} STORIES ***\n\n\u{201c}Licence text,\u{201d} the footer says.\n";
    let file = env.path("cafe.txt");
    std::fs::write(&file, text).unwrap();
    let out = env.grimoire(&["quotes", file.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", self::text(&out.stderr));
    let quotes: Vec<serde_json::Value> = self::text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let chars: Vec<char> = text.chars().collect();
    let spans: Vec<(usize, usize)> = quotes.iter().map(|q| (q["start"].as_u64().unwrap() as usize, q["end"].as_u64().unwrap() as usize)).collect();
    for (q, &(start, end)) in quotes.iter().zip(&spans) {
        assert_eq!(chars[start..end].iter().collect::<String>(), q["text"].as_str().unwrap(), "{q}");
    }
    // Offsets are Unicode scalar values from the first character of the file, header included: not
    // bytes (the header is longer in bytes), not UTF-16 units (𝔊 is two), not from the body. The
    // quoted "tiny" in the header and the quotation in the footer are not speech.
    let at = |needle: &str| text[..text.find(needle).unwrap()].chars().count();
    let words: Vec<&str> = quotes.iter().map(|q| q["text"].as_str().unwrap()).collect();
    assert_eq!(words, ["\u{201c}Un caf\u{e9}, s\u{2019}il vous pla\u{ee}t,\u{201d}", "\u{201c}Bien s\u{fb}r,\u{201d}", "\u{201c}Et pour vous?\u{201d}", "\u{201c}Rien,\u{201d}"]);
    assert_eq!(spans[0].0, at("\u{201c}Un caf"));
    assert_eq!(spans[3], (at("\u{201c}Rien"), at("\u{201c}Rien") + 7));
    assert_eq!(quotes[0]["speaker"], "Zo\u{eb}");
    speakers_are_characters(&env, &file, &quotes);
}

#[test]
fn roster_corrections_and_series_order_from_the_command_line() {
    let env = Env::new();
    let dir = env.path("pp");
    let project = dir.to_str().unwrap();
    assert!(env.grimoire(&["project", "new", project]).status.success());
    let other = env.path("Sequel.txt");
    std::fs::write(&other, "CHAPTER I\n\n\"Hello again,\" said Mr. Bingley.\n\n\"Good day,\" said Tom.\n").unwrap();
    let pride = corpus_fixture("pride_ch1-3_gutenberg.txt");
    let out = env.grimoire(&["import", "--project", project, pride.to_str().unwrap(), other.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let roster = |args: &[&str]| -> serde_json::Value {
        let out = env.grimoire(&[&["roster"], args, &["--project", project, "--json"]].concat());
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let names = |r: &serde_json::Value| -> Vec<String> { r["characters"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_string()).collect() };
    let before = roster(&["list"]);
    assert!(names(&before).contains(&"Mr. Bingley".to_string()), "{before}");
    let after = roster(&["ignore", "Mr. Bingley"]);
    assert!(!names(&after).contains(&"Mr. Bingley".to_string()), "{after}");
    assert_eq!(after["ignored"], serde_json::json!(["Mr. Bingley"]));
    // Stored in the project: a later command sees it, and so does a fresh analysis (extract).
    assert_eq!(roster(&["list"])["ignored"], serde_json::json!(["Mr. Bingley"]));
    let out = env.grimoire(&["extract", "--project", project, "--persona", "Mr. Bingley"]);
    assert!(!out.status.success(), "an ignored character is no persona");
    let back = roster(&["ignore", "--undo", "Mr. Bingley"]);
    assert!(names(&back).contains(&"Mr. Bingley".to_string()) && back["ignored"].as_array().unwrap().is_empty(), "{back}");
    let renamed = roster(&["rename", "Mr. Darcy", "Fitzwilliam Darcy"]);
    assert!(names(&renamed).contains(&"Fitzwilliam Darcy".to_string()) && !names(&renamed).contains(&"Mr. Darcy".to_string()), "{renamed}");
    let merged = roster(&["merge", "Lydia", "Kitty", "--into", "Lydia"]);
    assert!(!names(&merged).contains(&"Kitty".to_string()), "{merged}");
    // Series order.
    let books = |args: &[&str]| -> Vec<serde_json::Value> {
        let out = env.grimoire(&[&["books", "--project", project, "--json"], args].concat());
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    };
    let listed = books(&[]);
    let titles = |b: &[serde_json::Value]| b.iter().map(|b| b["title"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(titles(&listed)[1], "Sequel");
    let order = format!("{},{}", listed[1]["id"], listed[0]["id"]);
    let moved = books(&["--order", &order]);
    assert_eq!(titles(&moved)[0], "Sequel");
    assert_eq!(moved[0]["series_index"], 1);
    let out = env.grimoire(&["books", "--project", project, "--order", &listed[0]["id"].to_string()]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("every book"), "{}", text(&out.stderr));
}

#[test]
fn conversations_export_writes_the_file_and_names_a_missing_one() {
    let env = Env::new();
    let dir = env.path("lizzy");
    let dir = dir.to_str().unwrap();
    assert!(env.grimoire(&["project", "new", dir, "--persona", "Elizabeth Bennet"]).status.success());
    let out = env.grimoire(&["conversations", "list", "--project", dir]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
    let file = env.path("talks.md");
    let out = env.grimoire(&["conversations", "export", "--project", dir, "--format", "md", "--out", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("wrote 0 conversations to "), "{}", text(&out.stdout));
    assert!(file.is_file());
    let out = env.grimoire(&["conversations", "export", "--project", dir, "--id", "7"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("conversation"), "{}", text(&out.stderr));
}
