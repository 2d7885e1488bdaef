use crate::common;

#[test]
fn ids_equal_llama_cpp_for_every_reference_string() {
    let tok = &common::q4_1().tokenizer;
    let cases = common::reference("tokenize.json");
    for case in cases.as_array().expect("cases") {
        let text = case["text"].as_str().expect("text");
        let expected = common::ids(&case["ids"]);
        let got = tok.encode(text).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(got, expected, "ids of {text:?}");
    }
}

#[test]
fn rendered_prompts_tokenize_to_llama_cpp_prompt_ids() {
    let tok = &common::q4_1().tokenizer;
    let reference = common::reference("llamacpp_q4_1.json");
    for case in reference["cases"].as_array().expect("cases") {
        let ids = tok
            .encode_prompt(case["rendered"].as_str().expect("rendered"))
            .expect("encode");
        assert_eq!(ids, common::ids(&case["prompt_ids"]));
    }
}

#[test]
fn decode_round_trips_and_streams_whole_characters() {
    let tok = &common::q4_1().tokenizer;
    let text = "Émile’s café — 東京, emoji 🙂🧙";
    let ids = tok.encode(text).expect("encode");
    assert_eq!(tok.decode(&ids).expect("decode"), text);
    let mut stream = tok.stream();
    let mut out = String::new();
    for id in ids {
        if let Some(piece) = stream.step(id).expect("step") {
            assert!(!piece.contains('\u{FFFD}'), "split character in {piece:?}");
            out.push_str(&piece);
        }
    }
    assert_eq!(out, text);
}

/// A GGUF with only tokenizer metadata, SentencePiece style (`tokenizer.ggml.model = llama`).
fn spm_gguf(path: &std::path::Path) {
    let mut tokens: Vec<String> = vec!["<unk>".into(), "<s>".into(), "</s>".into()];
    let mut types: Vec<i32> = vec![2, 3, 3];
    for b in 0..=255u8 {
        tokens.push(format!("<0x{b:02X}>"));
        types.push(6);
    }
    let pieces = [
        "▁", "h", "e", "l", "o", "w", "r", "d", "▁h", "ll", "▁he", "llo", "▁hello", "▁w", "or",
        "▁wor", "ld", "▁world",
    ];
    let mut scores: Vec<f32> = vec![0.0; tokens.len()];
    for (i, p) in pieces.iter().enumerate() {
        tokens.push((*p).into());
        types.push(1);
        scores.push(-(i as f32));
    }
    let mut b = b"GGUF".to_vec();
    b.extend(3u32.to_le_bytes());
    b.extend(0u64.to_le_bytes());
    b.extend(6u64.to_le_bytes());
    let key = |b: &mut Vec<u8>, k: &str| {
        b.extend((k.len() as u64).to_le_bytes());
        b.extend(k.as_bytes());
    };
    let string = |b: &mut Vec<u8>, s: &str| {
        b.extend((s.len() as u64).to_le_bytes());
        b.extend(s.as_bytes());
    };
    key(&mut b, "tokenizer.ggml.model");
    b.extend(8u32.to_le_bytes());
    string(&mut b, "llama");
    key(&mut b, "tokenizer.ggml.tokens");
    b.extend(9u32.to_le_bytes());
    b.extend(8u32.to_le_bytes());
    b.extend((tokens.len() as u64).to_le_bytes());
    for t in &tokens {
        string(&mut b, t);
    }
    key(&mut b, "tokenizer.ggml.scores");
    b.extend(9u32.to_le_bytes());
    b.extend(6u32.to_le_bytes());
    b.extend((scores.len() as u64).to_le_bytes());
    scores.iter().for_each(|s| b.extend(s.to_le_bytes()));
    key(&mut b, "tokenizer.ggml.token_type");
    b.extend(9u32.to_le_bytes());
    b.extend(5u32.to_le_bytes());
    b.extend((types.len() as u64).to_le_bytes());
    types.iter().for_each(|t| b.extend(t.to_le_bytes()));
    key(&mut b, "tokenizer.ggml.bos_token_id");
    b.extend(4u32.to_le_bytes());
    b.extend(1u32.to_le_bytes());
    key(&mut b, "tokenizer.ggml.add_bos_token");
    b.extend(7u32.to_le_bytes());
    b.push(1);
    std::fs::write(path, b).expect("write");
}

#[test]
fn sentencepiece_gguf_tokenizer_merges_spaces_and_falls_back_to_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("spm.gguf");
    spm_gguf(&path);
    let gguf = grimoire_llm::gguf::Gguf::open(&path).expect("open");
    let tok = grimoire_llm::Tokenizer::from_gguf(&gguf).unwrap_or_else(|e| panic!("{e:#}"));
    let id = |t: &str| tok.token_to_id(t).expect("token");
    assert_eq!(
        tok.encode("hello world").expect("ids"),
        [id("▁hello"), id("▁world")]
    );
    // "é" is not in the vocabulary: its UTF-8 bytes.
    assert_eq!(
        tok.encode("hé").expect("ids"),
        [id("▁h"), id("<0xC3>"), id("<0xA9>")]
    );
    assert_eq!(tok.encode_prompt("hello").expect("ids"), [1, id("▁hello")]);
    assert_eq!(
        tok.decode(&tok.encode("hello world hé").expect("ids"))
            .expect("text"),
        "hello world hé"
    );
}
