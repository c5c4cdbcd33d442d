#!/usr/bin/env python3
"""Make the training parity fixture tests/fixtures/gpt2-tiny-a-training/ (run by hand, never by
CI or cargo).

How to run it (from the workspace root, in the virtual environment of tools/README.md, with
the versions pinned in tools/requirements-fixtures.txt):

    .venv-fixtures/bin/python tools/make_training_fixtures.py                 # writes the fixture
    .venv-fixtures/bin/python tools/make_training_fixtures.py --out DIR       # writes elsewhere
    .venv-fixtures/bin/python tools/make_training_fixtures.py --check-binary  # also runs chapter 5's
                                                                              # binary against PyTorch

It starts from the committed GPT-2 fixture tests/fixtures/gpt2-tiny-a (2 layers, 2 heads, width
32, 64 positions, vocab 300), tokenizes a fixed text with that folder's tokenizer.json, and
records what PyTorch computes, in float32 and again in float64 (`model.double()`):

* `reference.json`: the tokens, the batch shape, the optimiser's settings, the step-0 loss and
  the loss of each of 5 AdamW steps (taken before its update), in both precisions;
* `grads_f32.safetensors`, `grads_f64.safetensors`: the gradient of the step-0 loss with respect
  to every parameter, named as in a GPT-2 checkpoint without the `transformer.` prefix
  (`wte.weight`, `h.0.attn.c_attn.weight`, ...; `Conv1D` weights are `[in, out]`). The tied
  LM head is `wte.weight`: its gradient holds both uses.

The loss is `F.cross_entropy(logits.view(-1, V), targets.view(-1))` (mean over B*T positions);
batch k takes tokens k*B*T ... k*B*T + B*T + 1 (inputs the first B*T, targets shifted by one,
both [B, T]), starting again from the first token when the stream has no room for the next
batch (llm.c's order). The optimiser is `torch.optim.AdamW(foreach=False)` with two parameter
groups: weight decay on the tensors of two or more dimensions (embeddings and linear weights),
none on biases and layer-norm parameters. No dropout (the fixture's config has 0 everywhere, and
the model is in eval mode).

`--check-binary` additionally runs `cargo run --release -p ch05-training -- --init
tests/fixtures/gpt2-tiny-a --data TEXT --out DIR --json ...` and checks that (1) its per-step
losses equal PyTorch's on the same batches (within 1e-4; measured 1.4e-6) and (2) transformers
loads the folder it saved and gives the logits of PyTorch's model after the same steps (within
1e-3; measured 1.3e-5). That this project's loader reads the folder is checked by
chapters/ch05-training/tests/cli.rs.

Torch runs on one CPU thread and everything is seeded: a second run writes identical files.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import safetensors.torch
import tokenizers
import torch
import torch.nn.functional as F
import transformers
from transformers import GPT2LMHeadModel

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, ".."))
SOURCE = os.path.join(ROOT, "tests", "fixtures", "gpt2-tiny-a")
DEFAULT_OUT = os.path.join(ROOT, "tests", "fixtures", "gpt2-tiny-a-training")

BATCH, SEQ = 2, 16
STEPS = 5
LR, BETAS, EPS, WEIGHT_DECAY = 1e-2, (0.9, 0.999), 1e-8, 0.1
MAX_TOTAL_BYTES = 1_000_000
TEXT = ("the cache keeps keys and values of every token so the model reads them again "
        "instead of computing them twice. attention looks back over the sequence one step "
        "at a time, and a small network learns to predict the next word.")


def tokens_of(text):
    tok = tokenizers.Tokenizer.from_file(os.path.join(SOURCE, "tokenizer.json"))
    return tok.encode(text).ids


def batch(tokens, k, b, t):
    """Batch k in llm.c's order: (inputs, targets), each [b, t]."""
    n = b * t
    per_epoch = (len(tokens) - 1) // n
    start = (k % per_epoch) * n
    chunk = torch.tensor(tokens[start:start + n + 1], dtype=torch.long)
    return chunk[:n].view(b, t), chunk[1:].view(b, t)


def load(dtype):
    model = GPT2LMHeadModel.from_pretrained(SOURCE, dtype=torch.float32)
    model = model.to(dtype)
    model.eval()  # no dropout (the config's dropout is 0 anyway)
    return model


def loss_of(model, x, y):
    logits = model(x).logits  # [B, T, V]
    return F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1))


def optimizer_for(model, lr, weight_decay):
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=BETAS, eps=EPS, foreach=False)


def hf_name(name):
    return name[len("transformer."):] if name.startswith("transformer.") else name


def train(model, tokens, b, t, steps, lr, weight_decay):
    """Losses of `steps` AdamW steps (each before its update), and the step-0 gradients."""
    opt = optimizer_for(model, lr, weight_decay)
    losses, grads0 = [], None
    for k in range(steps):
        x, y = batch(tokens, k, b, t)
        opt.zero_grad(set_to_none=True)
        loss = loss_of(model, x, y)
        loss.backward()
        if k == 0:
            grads0 = {hf_name(n): p.grad.detach().clone().contiguous() for n, p in model.named_parameters()}
        losses.append(loss.item())
        opt.step()
    return losses, grads0


def check_binary(tokens_text, tokens):
    """Run chapter 5's binary on the fixture and compare its losses and saved folder with PyTorch."""
    b, t, steps, lr = 2, 8, 6, 3e-3
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data.txt")
        with open(data, "w", encoding="utf-8") as f:
            f.write(tokens_text)
        out = os.path.join(tmp, "trained")
        cmd = ["cargo", "run", "--release", "--quiet", "-p", "ch05-training", "--", "--init", SOURCE,
               "--data", data, "--batch-size", str(b), "--seq-len", str(t), "--steps", str(steps),
               "--lr", str(lr), "--weight-decay", "0", "--out", out, "--json"]
        res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
        report = json.loads(res.stdout)
        model = load(torch.float32)
        losses, _ = train(model, tokens, b, t, steps, lr, 0.0)
        worst = max(abs(a - b) for a, b in zip(report["losses"], losses))
        print(f"binary vs PyTorch, {steps} steps: max |loss diff| {worst:.2e}")
        assert len(report["losses"]) == steps and worst < 1e-4, (report["losses"], losses)
        saved = GPT2LMHeadModel.from_pretrained(out, dtype=torch.float32).eval()
        missing = set(os.listdir(out)) ^ {"config.json", "model.safetensors", "tokenizer.json"}
        assert not missing, f"saved folder has unexpected or missing files: {missing}"
        x, _ = batch(tokens, 0, b, t)
        with torch.no_grad():
            diff = (saved(x).logits - model(x).logits).abs().max().item()
        print(f"transformers loads the saved folder: max |logit diff| vs PyTorch's trained model {diff:.2e}")
        assert diff < 1e-3, diff


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--check-binary", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)

    tokens = tokens_of(TEXT)
    need = 2 * BATCH * SEQ + 1  # two batches per epoch: steps 0..4 read batches 0, 1, 0, 1, 0
    assert len(tokens) >= need, f"the text gives {len(tokens)} tokens, {need} needed"
    tokens = tokens[:need]

    reference = {
        "made_by": "tools/make_training_fixtures.py",
        "torch_version": torch.__version__, "transformers_version": transformers.__version__,
        "tokenizers_version": tokenizers.__version__, "safetensors_version": safetensors.__version__,
        "model": "tests/fixtures/gpt2-tiny-a",
        "text": TEXT, "tokens": tokens, "batch_size": BATCH, "seq_len": SEQ, "steps": STEPS,
        "optimizer": {"name": "torch.optim.AdamW", "foreach": False, "lr": LR, "betas": list(BETAS),
                      "eps": EPS, "weight_decay": WEIGHT_DECAY,
                      "weight_decay_on": "tensors of 2 or more dimensions (embeddings, linear weights)"},
        "loss": "F.cross_entropy(logits.view(-1, V), targets.view(-1)), mean over B*T",
    }
    os.makedirs(args.out, exist_ok=True)
    for dtype, suffix in [(torch.float32, "f32"), (torch.float64, "f64")]:
        model = load(dtype)
        losses, grads = train(model, tokens, BATCH, SEQ, STEPS, LR, WEIGHT_DECAY)
        reference[f"loss0_{suffix}"] = losses[0]
        reference[f"losses_{suffix}"] = losses
        safetensors.torch.save_file(grads, os.path.join(args.out, f"grads_{suffix}.safetensors"))
        print(f"{suffix}: losses {['%.6f' % l for l in losses]}, {len(grads)} gradient tensors")
    # the two precisions tell the same story (f32 rounding only)
    assert all(abs(a - b) < 1e-4 for a, b in zip(reference["losses_f32"], reference["losses_f64"]))
    with open(os.path.join(args.out, "reference.json"), "w", encoding="utf-8") as f:
        json.dump(reference, f, separators=(",", ":"))
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(args.out, n)) for n in os.listdir(args.out))
    print(f"{args.out}: {total} bytes")
    assert total < MAX_TOTAL_BYTES, total

    if args.check_binary:
        check_binary(TEXT, tokens_of(TEXT))


if __name__ == "__main__":
    sys.exit(main())
