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
        let ids = tok.encode_prompt(case["rendered"].as_str().expect("rendered")).expect("encode");
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
