"""PyTorch + PEFT on the configuration of `cargo run --release -p grimoire-train --example bench`, on
this machine, for a fair comparison: SmolLM2-135M dequantised to float32 (from the built-in GGUF),
LoRA r=16 alpha 32 dropout 0.05 on all seven projections, batches of 4 x 256 tokens with the loss on
the assistant half, AdamW, 2 threads. Not part of the test suite (it needs torch, peft, transformers
and gguf); prints s/step, tokens/s and peak RSS.

    /tmp/peftenv/bin/python scripts/dev/peft_bench.py MODEL.gguf [STEPS] [THREADS] [--checkpointing]
"""
import os
import resource
import sys
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    gguf = args[0]
    steps = int(args[1]) if len(args) > 1 else 3
    threads = int(args[2]) if len(args) > 2 else 2
    torch.set_num_threads(threads)
    torch.manual_seed(42)
    folder, name = os.path.dirname(os.path.abspath(gguf)), os.path.basename(gguf)
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, torch_dtype=torch.float32)
    if "--checkpointing" in sys.argv:
        model.gradient_checkpointing_enable()
        model.enable_input_require_grads()
    config = LoraConfig(
        r=16, lora_alpha=32, lora_dropout=0.05, task_type="CAUSAL_LM",
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    )
    model = get_peft_model(model, config)
    model.train()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    optim = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-4, weight_decay=0.0)
    # The Rust bench's conversations: each cut to 256 tokens, the reply about half of it.
    words = "It is a truth universally acknowledged that a single man in possession of a good fortune must be in want of a wife "
    def batch(i):
        ids, labels = [], []
        for j in range(4):
            prompt = tok.apply_chat_template(
                [{"role": "system", "content": "You are Elizabeth Bennet."}, {"role": "user", "content": f"{i * 4 + j} {words * 12}"}],
                tokenize=False, add_generation_prompt=True,
            )
            reply = words * 5 + "<|im_end|>\n"
            p, r = tok(prompt, add_special_tokens=False)["input_ids"], tok(reply, add_special_tokens=False)["input_ids"]
            r = r[:128]
            p = p[-(256 - len(r)):]
            ids.append(p + r)
            labels.append([-100] * len(p) + r)
        return torch.tensor(ids), torch.tensor(labels)
    times = []
    for step in range(steps + 1):
        x, y = batch(step)
        t = time.perf_counter()
        loss = model(input_ids=x, labels=y).loss
        loss.backward()
        optim.step()
        optim.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - t)
        print(f"step {step}: loss {loss.item():.4f}, {times[-1]:.2f} s", flush=True)
    per_step = sorted(times[1:])[len(times[1:]) // 2]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    print(f"| PyTorch {torch.__version__} + PEFT, {threads} threads{' , checkpointing' if '--checkpointing' in sys.argv else ''} "
          f"| {per_step:.2f} | {4 * 256 / per_step:.0f} | {rss:.2f} GB | trainable {trainable} |")


if __name__ == "__main__":
    main()
