//! The persona as GGUF: the exported file against the merged model (written by `merge` as a
//! Hugging Face folder) quantised in memory the way the base stores each tensor, and its metadata
//! against what llama.cpp reads.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::quantized::QTensor;
use grimoire_llm::gguf::{Gguf, TypedValue};
use grimoire_llm::model::llama::{Llama, Weight, WeightKey, WeightSource};
use grimoire_llm::model::weights::SafetensorsSource;
use grimoire_llm::{
    CancelToken, GenerateParams, GgmlDType, LoadOptions, Message, Model, WeightFormat,
};
use grimoire_train::{GgufType, export_gguf};

use crate::common;

/// The reference PEFT adapter (all seven projections, q and k included), its scale raised so
/// that the merge visibly changes greedy replies: a merge that lost the adapter, or put q/k rows
/// in the wrong order, cannot then pass for right.
fn strong_adapter(root: &Path) -> PathBuf {
    let dir = root.join("adapter");
    std::fs::create_dir_all(&dir).unwrap();
    let src = common::reference_dir().join("peft/adapter");
    std::fs::copy(
        src.join("adapter_model.safetensors"),
        dir.join("adapter_model.safetensors"),
    )
    .unwrap();
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("adapter_config.json")).unwrap())
            .unwrap();
    config["lora_alpha"] = 256.into();
    std::fs::write(dir.join("adapter_config.json"), config.to_string()).unwrap();
    dir
}

/// The merged Hugging Face folder's weights, each quantised to the type `types` gives its
/// llama.cpp name: the merged model in memory, quantised as the export should quantise it.
struct QuantisedAs {
    inner: SafetensorsSource,
    types: std::collections::HashMap<String, GgmlDType>,
}

impl WeightSource for QuantisedAs {
    fn load(&mut self, key: WeightKey) -> grimoire_llm::Result<Option<Weight>> {
        let name = key.gguf_name();
        let Some(w) = self.inner.load(key)? else {
            return Ok(None);
        };
        let dtype = self.types[&name];
        Ok(Some(match w {
            Weight::Dense(t) if t.rank() == 2 => {
                Weight::Quantized(Arc::new(QTensor::quantize(&t, dtype)?))
            }
            w => w,
        }))
    }
    fn path(&self) -> &Path {
        self.inner.path()
    }
}

fn greedy(model: &Model, prompts: &[&str]) -> Vec<Vec<u32>> {
    let params = GenerateParams {
        sampling: grimoire_llm::SamplingParams::greedy(),
        max_tokens: 20,
        ..GenerateParams::default()
    };
    prompts
        .iter()
        .map(|p| {
            let messages = [
                Message::system("You are Elizabeth Bennet."),
                Message::user(*p),
            ];
            grimoire_llm::chat(
                model,
                None,
                &messages,
                &params,
                &CancelToken::new(),
                &mut |_| {},
            )
            .expect("chat")
            .tokens
        })
        .collect()
}

fn as_stored() -> LoadOptions {
    LoadOptions {
        format: WeightFormat::AsStored,
        max_context: 512,
        ..LoadOptions::default()
    }
}

#[test]
fn the_exported_gguf_answers_as_the_merged_model_quantised_the_same_way() {
    let tmp = tempfile::tempdir().unwrap();
    let adapter = strong_adapter(tmp.path());
    let base_path = common::model_path();
    let merged = tmp.path().join("merged");
    grimoire_train::merge(&adapter, &base_path, &merged).expect("merge");
    let prompts = [
        "What do you think of Mr. Darcy?",
        "Do you like to dance?",
        "Tell me about your sisters.",
    ];
    let base_tensors = Gguf::open(&base_path).unwrap().tensors;

    for ty in [GgufType::Base, GgufType::Q8_0, GgufType::F16] {
        let out = tmp.path().join(format!("persona-{ty:?}.gguf"));
        let exported =
            export_gguf(&adapter, &base_path, &out, ty, "Elizabeth Bennet").expect("export");
        assert_eq!(exported.merged, 30 * 7, "every layer's seven projections");
        assert_eq!(exported.bytes, std::fs::metadata(&out).unwrap().len());
        let types = base_tensors
            .iter()
            .map(|(n, i)| (n.clone(), ty.for_tensor(i.dtype, &i.shape)))
            .collect();

        let mut reference = Model::load(&merged, &as_stored()).expect("merged folder loads");
        let mut src = QuantisedAs {
            inner: SafetensorsSource::open(&merged, WeightFormat::F32, &candle_core::Device::Cpu)
                .unwrap(),
            types,
        };
        reference.llama = Llama::load(
            reference.llama.config().clone(),
            &mut src,
            512,
            &candle_core::Device::Cpu,
        )
        .unwrap();
        let file = Model::load(&out, &as_stored()).expect("exported GGUF loads");
        assert_eq!(file.template.source(), reference.template.source());
        let want = greedy(&reference, &prompts);
        let got = greedy(&file, &prompts);
        assert_eq!(
            got,
            want,
            "{ty:?}: {:?} vs {:?}",
            file.tokenizer.decode(&got[0]),
            reference.tokenizer.decode(&want[0])
        );
        if ty == GgufType::Base {
            let base = Model::load(&base_path, &as_stored()).unwrap();
            assert_ne!(
                greedy(&base, &prompts),
                got,
                "the adapter changes the replies"
            );
        }
    }
}

#[test]
fn the_gguf_carries_what_llama_cpp_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let adapter = strong_adapter(tmp.path());
    let base_path = common::model_path();
    let out = tmp.path().join("persona.gguf");
    export_gguf(
        &adapter,
        &base_path,
        &out,
        GgufType::Base,
        "Elizabeth Bennet",
    )
    .expect("export");
    let mut base = Gguf::open(&base_path).unwrap();
    let mut file = Gguf::open(&out).unwrap();
    let meta = file.typed_metadata().unwrap();
    let get = |k: &str| {
        meta.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("{k} missing"))
    };
    assert!(matches!(get("general.architecture"), TypedValue::String(a) if a == "llama"));
    assert!(matches!(get("general.name"), TypedValue::String(n) if n == "Elizabeth Bennet"));
    assert!(
        matches!(get("general.base_model.0.name"), TypedValue::String(n) if n.contains("Smollm2"))
    );
    // llama.cpp reads these as u32 and refuses another width.
    for key in [
        "llama.context_length",
        "llama.embedding_length",
        "llama.block_count",
        "llama.feed_forward_length",
        "llama.attention.head_count",
        "llama.attention.head_count_kv",
        "llama.rope.dimension_count",
        "tokenizer.ggml.bos_token_id",
        "tokenizer.ggml.eos_token_id",
        "general.file_type",
    ] {
        assert!(
            matches!(get(key), TypedValue::U32(_)),
            "{key}: {:?}",
            get(key)
        );
    }
    for key in [
        "llama.attention.layer_norm_rms_epsilon",
        "llama.rope.freq_base",
    ] {
        assert!(matches!(get(key), TypedValue::F32(_)), "{key}");
    }
    assert!(matches!(get("tokenizer.ggml.model"), TypedValue::String(m) if m == "gpt2"));
    assert!(matches!(get("tokenizer.ggml.pre"), TypedValue::String(m) if m == "smollm"));
    let len = |k: &str| match get(k) {
        TypedValue::Array(a) => a.len(),
        other => panic!("{k}: {other:?}"),
    };
    assert_eq!(len("tokenizer.ggml.tokens"), 49152);
    assert_eq!(len("tokenizer.ggml.token_type"), 49152);
    assert_eq!(len("tokenizer.ggml.merges"), 48900);
    assert_eq!(
        file.string("tokenizer.chat_template").unwrap(),
        base.string("tokenizer.chat_template").unwrap(),
    );
    // Every tensor the base has, in llama.cpp's names and the base's types; vectors unchanged.
    assert_eq!(file.tensors.len(), base.tensors.len());
    for (name, info) in base.tensors.clone() {
        let t = file
            .tensors
            .get(&name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!((&t.shape, t.dtype), (&info.shape, info.dtype), "{name}");
    }
    for name in [
        "token_embd.weight",
        "output_norm.weight",
        "blk.7.attn_norm.weight",
        "blk.29.ffn_norm.weight",
    ] {
        assert_eq!(
            file.tensor_bytes(name).unwrap().1,
            base.tensor_bytes(name).unwrap().1,
            "{name}"
        );
    }
    assert_ne!(
        file.tensor_bytes("blk.0.attn_k.weight").unwrap().1,
        base.tensor_bytes("blk.0.attn_k.weight").unwrap().1
    );
}

#[test]
fn a_failed_export_says_why_and_keeps_what_was_there() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("persona.gguf");
    std::fs::write(&out, b"an earlier export").unwrap();
    let base_path = common::model_path();
    // No adapter in the folder.
    let err = export_gguf(tmp.path(), &base_path, &out, GgufType::Base, "P").unwrap_err();
    assert!(err.to_string().contains("adapter_config.json"), "{err}");
    // A Hugging Face folder as the base.
    let adapter = strong_adapter(tmp.path());
    let err = export_gguf(&adapter, tmp.path(), &out, GgufType::Base, "P").unwrap_err();
    assert!(err.to_string().contains("convert_hf_to_gguf"), "{err}");
    // A folder that does not exist as the destination.
    let err = export_gguf(
        &adapter,
        &base_path,
        &tmp.path().join("no/such/dir/p.gguf"),
        GgufType::Base,
        "P",
    )
    .unwrap_err();
    assert!(err.to_string().contains("no/such/dir"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"an earlier export");
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        !left.iter().any(|n| n.to_string_lossy().ends_with(".part")),
        "{left:?}"
    );
}
