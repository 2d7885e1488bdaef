"""Loads an adapter Grimoire trained into Hugging Face PEFT and writes what PyTorch computes with it.

Not part of the test suite (it needs torch, transformers, peft and gguf: several GB). It made
crates/train/tests/fixtures/peft-roundtrip/pytorch.json, which the Rust tests compare our runtime with:
    python3 -m venv /tmp/peftenv && /tmp/peftenv/bin/pip install torch peft transformers gguf
    /tmp/peftenv/bin/python scripts/dev/peft_check.py RUN_DIR MODEL.gguf REFERENCE.json OUT.json

REFERENCE.json is shared/reference/smollm2/peft/reference.json: its conversation (full_ids, labels,
prompt_ids) is scored with the base model and with the adapter.
"""
import json
import os
import sys
import warnings

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM


def scores(model, reference):
    ids = torch.tensor([reference["full_ids"]])
    labels = torch.tensor([reference["labels"]])
    with torch.no_grad():
        loss = model(input_ids=ids, labels=labels).loss.item()
        logits = model(input_ids=torch.tensor([reference["prompt_ids"]])).logits[0, -1]
    top = torch.topk(logits, 20)
    return {
        "assistant_only_loss": loss,
        "prompt_last_logits_top20": [[int(i), float(v)] for v, i in zip(top.values, top.indices)],
    }


def main(run_dir, gguf, reference_path, out_path):
    reference = json.load(open(reference_path))
    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(
        os.path.dirname(os.path.abspath(gguf)), gguf_file=os.path.basename(gguf), torch_dtype=torch.float32
    )
    base.eval()
    result = {"base": scores(base, reference)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tuned = PeftModel.from_pretrained(base, run_dir)
    problems = [str(w.message) for w in caught if "missing" in str(w.message).lower() or "unexpected" in str(w.message).lower()]
    if problems:
        sys.exit(f"PEFT did not load every tensor: {problems}")
    tuned.eval()
    loaded = {n: p for n, p in tuned.named_parameters() if "lora_" in n}
    nonzero_b = sum(1 for n, p in loaded.items() if "lora_B" in n and p.abs().sum() > 0)
    result["with_adapter"] = scores(tuned, reference)
    result["peft"] = {
        "lora_tensors": len(loaded),
        "nonzero_lora_B": nonzero_b,
        "versions": {m.__name__: m.__version__ for m in (torch, __import__("peft"), __import__("transformers"))},
    }
    json.dump(result, open(out_path, "w"), indent=1)
    print(json.dumps({k: v for k, v in result.items() if k != "base"} | {"base_loss": result["base"]["assistant_only_loss"]}, indent=1)[:2000])


if __name__ == "__main__":
    main(*sys.argv[1:5])
