use std::io::Write;

use grimoire_llm::{Error, LoadOptions, Model, ModelInfo};

use crate::common;

fn load_err(path: &std::path::Path) -> Error {
    match Model::load(path, &LoadOptions::default()) {
        Ok(_) => panic!("{} loaded although it is bad", path.display()),
        Err(e) => e,
    }
}

/// A GGUF v3 header with no tensors and the given string metadata.
fn tiny_gguf(kvs: &[(&str, &str)]) -> Vec<u8> {
    let mut b = b"GGUF".to_vec();
    b.extend(3u32.to_le_bytes());
    b.extend(0u64.to_le_bytes());
    b.extend((kvs.len() as u64).to_le_bytes());
    for (k, v) in kvs {
        b.extend((k.len() as u64).to_le_bytes());
        b.extend(k.as_bytes());
        b.extend(8u32.to_le_bytes());
        b.extend((v.len() as u64).to_le_bytes());
        b.extend(v.as_bytes());
    }
    b
}

#[test]
fn truncated_files_are_named_errors() {
    let bytes = std::fs::read(common::model_path()).expect("model");
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, len) in [
        ("header.gguf", 100_000),
        ("data.gguf", bytes.len() - 1000),
        ("empty.gguf", 0),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes[..len]).expect("write");
        let e = load_err(&path);
        assert!(matches!(e, Error::Corrupt { .. }), "{name}: {e}");
        let msg = e.to_string();
        assert!(msg.contains(name) && msg.contains("truncated"), "{msg}");
    }
}

#[test]
fn corrupt_lengths_and_magic_are_errors_not_panics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut huge = tiny_gguf(&[("general.architecture", "llama")]);
    // Claim a key length of 2^62 bytes.
    huge[24..32].copy_from_slice(&(1u64 << 62).to_le_bytes());
    let path = dir.path().join("huge.gguf");
    std::fs::write(&path, &huge).expect("write");
    assert!(matches!(load_err(&path), Error::Corrupt { .. }));

    let path = dir.path().join("magic.gguf");
    std::fs::write(&path, b"PK\x03\x04 not a model at all").expect("write");
    assert!(load_err(&path).to_string().contains("bad magic"));
}

#[test]
fn unknown_architecture_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("neox.gguf");
    let mut f = std::fs::File::create(&path).expect("create");
    f.write_all(&tiny_gguf(&[("general.architecture", "gptneox")]))
        .expect("write");
    let e = load_err(&path);
    assert!(
        matches!(e, Error::UnknownArchitecture { ref architecture, .. } if architecture == "gptneox"),
        "{e}"
    );
}

#[test]
fn model_info_lists_the_built_in_model() {
    let info = ModelInfo::read(&common::model_path()).expect("info");
    assert_eq!(info.architecture, "llama");
    assert_eq!(info.quantization, "Q4_1");
    assert_eq!(info.context_length, 8192);
    assert!(
        info.parameters > 130_000_000 && info.parameters < 140_000_000,
        "{}",
        info.parameters
    );
    eprintln!("{info:?}");
}
