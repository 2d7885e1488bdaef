use std::sync::Arc;

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor, Var};
use grimoire_llm::model::llama::{Weight, WeightKey, WeightSource};
use grimoire_llm::{Llama, LlamaConfig, Message};
use grimoire_train::data::{encode_messages, make_batch};
use grimoire_train::model::{DropoutKey, Lora, Net};
use grimoire_train::{LoraConfig, Target};

use crate::common;

fn reference_loss(adapter: bool) -> (f64, f64) {
    let model = common::model();
    let reference = common::reference("peft/reference.json");
    let messages: Vec<Message> =
        serde_json::from_value(reference["conversation"].clone()).expect("messages");
    let enc = encode_messages(model, &messages).expect("encode");
    let batch = make_batch(&[&enc], 0);
    let net = Net::new(&model.llama).expect("net");
    let lora = if adapter {
        let a = model
            .load_adapter(&common::reference_dir().join("peft/adapter"))
            .expect("adapter");
        Lora::from_adapter(&a, 0.0).expect("lora")
    } else {
        Lora::init(
            model.llama.config(),
            &LoraConfig::default(),
            1,
            &Device::Cpu,
        )
        .expect("lora")
    };
    let n = batch.rows.len() as f64;
    let eval = net.eval_loss(&lora, &batch).expect("eval") / n;
    let (sum, _) = net
        .loss_and_grads(&lora, &batch, n, None, true)
        .expect("grads");
    let key = if adapter { "with_adapter" } else { "base" };
    let want = reference[key]["assistant_only_loss"]
        .as_f64()
        .expect("loss");
    eprintln!(
        "{key}: eval {eval:.5}, train {:.5}, PyTorch {want:.5}",
        sum / n
    );
    assert!((sum / n - eval).abs() < 1e-4);
    (eval, want)
}

#[test]
fn assistant_loss_equals_pytorch_on_the_4bit_base() {
    let (loss, want) = reference_loss(false);
    assert!((loss - want).abs() < 0.01, "{loss} vs {want}");
}

#[test]
fn assistant_loss_equals_pytorch_with_the_peft_adapter() {
    let (loss, want) = reference_loss(true);
    assert!((loss - want).abs() < 0.01, "{loss} vs {want}");
}

/// Random weights for a tiny llama, dense or 4-bit.
struct Random {
    cfg: LlamaConfig,
    quantized: bool,
    seed: u64,
}

impl Random {
    fn tensor(&mut self, shape: &[usize], scale: f32) -> Tensor {
        let n: usize = shape.iter().product();
        let data: Vec<f32> = (0..n)
            .map(|_| {
                self.seed = self
                    .seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((self.seed >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
            })
            .collect();
        Tensor::from_vec(data, shape, &Device::Cpu).expect("tensor")
    }
}

impl WeightSource for Random {
    fn load(&mut self, key: WeightKey) -> grimoire_llm::Result<Option<Weight>> {
        let c = self.cfg.clone();
        Ok(match key {
            WeightKey::Embed => Some(Weight::Dense(
                self.tensor(&[c.vocab_size, c.hidden_size], 1.0),
            )),
            WeightKey::Output | WeightKey::RopeFreqs => None,
            WeightKey::OutputNorm | WeightKey::AttnNorm(_) | WeightKey::FfnNorm(_) => {
                let t = (self.tensor(&[c.hidden_size], 0.2) + 1.0).expect("norm");
                Some(Weight::Dense(t))
            }
            WeightKey::Proj(_, p) => {
                let (o, i) = c.proj_dims(p);
                let t = self.tensor(&[o, i], 0.3);
                Some(if self.quantized {
                    Weight::Quantized(Arc::new(QTensor::quantize(&t, GgmlDType::Q4_0).expect("q")))
                } else {
                    Weight::Dense(t)
                })
            }
        })
    }
    fn path(&self) -> &std::path::Path {
        std::path::Path::new("random")
    }
}

fn tiny(quantized: bool) -> Llama {
    tiny_with(quantized, None, 64)
}

/// A tiny llama with a sliding attention window and room for `positions` tokens.
fn tiny_with(quantized: bool, sliding_window: Option<usize>, positions: usize) -> Llama {
    let cfg = LlamaConfig {
        hidden_size: 64,
        intermediate_size: 96,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: Some(2),
        head_dim: None,
        rms_norm_eps: 1e-5,
        rope_theta: 10_000.0,
        max_position_embeddings: positions,
        vocab_size: 50,
        tie_word_embeddings: true,
        sliding_window,
        rope_scaling: None,
    };
    let mut src = Random {
        cfg: cfg.clone(),
        quantized,
        seed: 7,
    };
    Llama::load(cfg, &mut src, positions, &Device::Cpu).expect("tiny model")
}

fn gradient_check(quantized: bool) {
    let llama = tiny(quantized);
    let net = Net::new(&llama).expect("net");
    let cfg = LoraConfig {
        r: 4,
        alpha: 8.0,
        dropout: 0.0,
        use_rslora: false,
        targets: Target::ALL.to_vec(),
    };
    let lora = Lora::init(llama.config(), &cfg, 3, &Device::Cpu).expect("lora");
    // PEFT starts B at zero; give it values so every path carries a gradient.
    let mut fill = Random {
        cfg: llama.config().clone(),
        quantized: false,
        seed: 11,
    };
    for row in &lora.pairs {
        for (_, b) in row.iter().flatten() {
            let dims = b.dims().to_vec();
            b.set(&fill.tensor(&dims, 0.2)).expect("set");
        }
    }
    let enc = grimoire_train::data::Encoded {
        ids: vec![3, 17, 9, 41, 5, 22, 8, 30, 11, 2],
        trained: vec![
            false, false, false, true, true, true, true, true, true, true,
        ],
        truncated: false,
    };
    let short = grimoire_train::data::Encoded {
        ids: vec![4, 6, 19, 1, 7],
        trained: vec![false, false, true, true, true],
        truncated: false,
    };
    let batch = make_batch(&[&enc, &short], 0);
    let (_, grads) = net
        .loss_and_grads(&lora, &batch, 1.0, None, false)
        .expect("grads");
    let (_, grads_ckpt) = net
        .loss_and_grads(&lora, &batch, 1.0, None, true)
        .expect("grads");
    let vars: Vec<&Var> = lora.vars();
    let names: Vec<String> = lora.named_vars().into_iter().map(|(n, _)| n).collect();
    let mut checked = 0;
    for (k, var) in vars.iter().enumerate() {
        let g: Vec<f32> = grads[k]
            .flatten_all()
            .expect("flat")
            .to_vec1()
            .expect("vec");
        let gc: Vec<f32> = grads_ckpt[k]
            .flatten_all()
            .expect("flat")
            .to_vec1()
            .expect("vec");
        for (a, b) in g.iter().zip(&gc) {
            assert!(
                (a - b).abs() <= 1e-4 * (1.0 + a.abs()),
                "{}: checkpointed {b} vs {a}",
                names[k]
            );
        }
        let w: Vec<f32> = var
            .as_tensor()
            .flatten_all()
            .expect("flat")
            .to_vec1()
            .expect("vec");
        // Three coordinates per tensor, spread over it.
        for idx in [0, w.len() / 2, w.len() - 1] {
            let eps = 1e-2f32;
            let eval = |delta: f32| {
                let mut v = w.clone();
                v[idx] += delta;
                var.set(&Tensor::from_vec(v, var.shape(), &Device::Cpu).expect("t"))
                    .expect("set");
                let l = net.eval_loss(&lora, &batch).expect("eval");
                var.set(&Tensor::from_vec(w.clone(), var.shape(), &Device::Cpu).expect("t"))
                    .expect("set");
                l
            };
            let fd = ((eval(eps) - eval(-eps)) / (2.0 * eps as f64)) as f32;
            let an = g[idx];
            assert!(
                (fd - an).abs() <= 2e-2 * an.abs().max(fd.abs()) + 2e-3,
                "{}[{idx}]: analytic {an} vs finite difference {fd}",
                names[k]
            );
            checked += 1;
        }
    }
    // The first layer's A gets a gradient only if it flows down through every frozen layer.
    let first: f32 = grads[0]
        .abs()
        .expect("abs")
        .sum_all()
        .expect("sum")
        .to_scalar()
        .expect("s");
    assert!(first > 0.0);
    assert_eq!(checked, vars.len() * 3);
}

#[test]
fn lora_gradients_match_finite_differences_through_dense_layers() {
    gradient_check(false);
}

#[test]
fn lora_gradients_match_finite_differences_through_4bit_layers() {
    gradient_check(true);
}

/// The CPU's tape path (no autograd graph) gives the graph path's loss and every LoRA gradient,
/// with dropout on, with and without checkpointing, through dense and 4-bit layers; and over
/// sequences long enough for several attention tiles (a ragged last one) under a sliding window.
#[test]
fn the_tape_path_equals_the_graph_path_with_dropout() {
    for (quantized, window, long) in [(false, None, false), (true, None, false), (false, Some(40), true)] {
        let llama = tiny_with(quantized, window, if long { 256 } else { 64 });
        let net = Net::new(&llama).expect("net");
        let cfg = LoraConfig { r: 4, alpha: 8.0, dropout: 0.3, use_rslora: false, targets: Target::ALL.to_vec() };
        let lora = Lora::init(llama.config(), &cfg, 5, &Device::Cpu).expect("lora");
        let mut fill = Random { cfg: llama.config().clone(), quantized: false, seed: 13 };
        for row in &lora.pairs {
            for (_, b) in row.iter().flatten() {
                let dims = b.dims().to_vec();
                b.set(&fill.tensor(&dims, 0.2)).expect("set");
            }
        }
        let enc = grimoire_train::data::Encoded {
            ids: vec![3, 17, 9, 41, 5, 22, 8, 30, 11, 2, 7, 7],
            trained: vec![false, false, false, true, true, true, true, true, true, true, false, true],
            truncated: false,
        };
        let short = grimoire_train::data::Encoded { ids: vec![4, 6, 19, 1, 7], trained: vec![false, false, true, true, true], truncated: false };
        let (enc, short) = if long {
            let ids = |n: usize, k: u32| (0..n as u32).map(|i| (i * k + 3) % 50).collect::<Vec<u32>>();
            let trained = |n: usize| (0..n).map(|i| i >= n / 3).collect::<Vec<bool>>();
            (
                grimoire_train::data::Encoded { ids: ids(150, 7), trained: trained(150), truncated: false },
                grimoire_train::data::Encoded { ids: ids(97, 11), trained: trained(97), truncated: false },
            )
        } else {
            (enc, short)
        };
        let batch = make_batch(&[&enc, &short], 0);
        let key = Some(DropoutKey { seed: 21, step: 3, micro: 1 });
        for checkpointing in [false, true] {
            let (loss_g, graph) = net.loss_and_grads_graph(&lora, &batch, 7.0, key, checkpointing).expect("graph");
            let (loss_t, tape) = net.loss_and_grads(&lora, &batch, 7.0, key, checkpointing).expect("tape");
            assert!((loss_g - loss_t).abs() < 1e-5 * loss_g.abs().max(1.0), "loss {loss_t} vs {loss_g}");
            assert_eq!(graph.len(), tape.len());
            let mut nonzero = 0;
            for (k, (g, t)) in graph.iter().zip(&tape).enumerate() {
                assert_eq!(g.dims(), t.dims());
                let g: Vec<f32> = g.flatten_all().expect("flat").to_vec1().expect("vec");
                let t: Vec<f32> = t.flatten_all().expect("flat").to_vec1().expect("vec");
                for (a, b) in g.iter().zip(&t) {
                    assert!((a - b).abs() <= 1e-4 * (1.0 + a.abs()), "var {k}: tape {b} vs graph {a}");
                }
                nonzero += usize::from(g.iter().any(|v| *v != 0.0));
            }
            assert_eq!(nonzero, graph.len(), "every LoRA tensor gets a gradient");
        }
    }
}
