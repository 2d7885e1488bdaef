use grimoire_llm::hub::{HubModel, fetch};

#[test]
fn cached_files_resolve_without_network() {
    let cache = tempfile::tempdir().expect("tempdir");
    let repo = cache.path().join("models--someone--tiny-GGUF");
    let snapshot = repo.join("snapshots").join("0123abcd");
    std::fs::create_dir_all(&snapshot).expect("mkdir");
    std::fs::create_dir_all(repo.join("refs")).expect("mkdir");
    std::fs::write(repo.join("refs").join("main"), "0123abcd").expect("write");
    std::fs::write(snapshot.join("tiny.Q8_0.gguf"), b"GGUF").expect("write");
    let model = HubModel::Gguf {
        repo: "someone/tiny-GGUF".into(),
        file: "tiny.Q8_0.gguf".into(),
    };
    let mut calls = 0;
    let path = fetch(&model, Some(cache.path()), &mut |_| calls += 1).expect("cached");
    assert_eq!(path, snapshot.join("tiny.Q8_0.gguf"));
    assert_eq!(calls, 0, "a cached file must not be downloaded");
}
