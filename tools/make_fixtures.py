#!/usr/bin/env python3
"""Make the Hugging Face parity fixtures under tests/fixtures/ (run by hand, not by CI).

    python3 -m venv .venv-fixtures
    .venv-fixtures/bin/pip install -r tools/requirements-fixtures.txt
    .venv-fixtures/bin/python tools/make_fixtures.py

For each tiny GPT-2 configuration it writes a folder that Hugging Face and this workspace both
load unchanged (`config.json`, `model.safetensors`, `tokenizer.json`) and `reference.json` with
what transformers computes on it: logits in float32 and float64 (`model.double()`, as seed 003
does to get rid of rounding noise), greedy continuations, and the tokenizer's ids. Everything
is seeded: running it again gives the same files. The Rust tests in tests/tests/hf_parity.rs
load these folders through the same code users use and compare.
"""
import json
import os
import random
import sys

import numpy as np
import safetensors.torch
import tokenizers
import torch
import transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import GPT2Config, GPT2LMHeadModel

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")

CONFIGS = {
    # name: (n_layer, n_head, n_embd, n_positions, vocab_size); vocab sizes are not multiples of 64
    "gpt2-tiny-a": (2, 2, 32, 64, 300),
    "gpt2-tiny-b": (3, 4, 48, 48, 517),
}

WORDS = ("the cache keeps keys and values of every token so the model reads them again "
         "instead of computing them twice attention looks back over the sequence one step "
         "at a time a small network learns to predict the next word").split()


def corpus(seed):
    """Generated training text (no third-party text): shuffled words, some multi-byte ones."""
    rng = random.Random(seed)
    extra = ["café", "naïve", "猫", "🙂", "über", "Zürich", "42", "3.14", "\n"]
    # invented words, so that there are enough distinct pairs for a few hundred merges
    invented = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 8)))
                for _ in range(400)]
    vocab = WORDS + extra + invented
    return [" ".join(rng.choice(vocab) for _ in range(rng.randint(3, 14))) for _ in range(3000)]


def train_tokenizer(vocab_size, seed):
    """Byte-level BPE with vocab_size ids: the last one is <|endoftext|>, as in GPT-2."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size - 1, min_frequency=0, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus(seed), trainer)
    tok.add_special_tokens(["<|endoftext|>"])
    assert tok.get_vocab_size() == vocab_size, (tok.get_vocab_size(), vocab_size)
    assert tok.token_to_id("<|endoftext|>") == vocab_size - 1
    return tok


def make_model(n_layer, n_head, n_embd, n_positions, vocab_size, seed):
    torch.manual_seed(seed)
    config = GPT2Config(n_layer=n_layer, n_head=n_head, n_embd=n_embd, n_positions=n_positions,
                        vocab_size=vocab_size, activation_function="gelu_new",
                        bos_token_id=vocab_size - 1, eos_token_id=vocab_size - 1,
                        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    model = GPT2LMHeadModel(config).eval()
    # HF initialises biases to 0 and layer norms to 1/0: perturb them so they are exercised
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(".bias") or ".ln_" in name or name.startswith("transformer.ln_f"):
                p.add_(torch.randn_like(p) * 0.05)
    return model


def logits_of(model, ids):
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0]


def greedy(model, ids, n):
    with torch.no_grad():
        out = model.generate(torch.tensor([ids]), max_new_tokens=n, min_new_tokens=n, do_sample=False,
                             use_cache=True, pad_token_id=model.config.eos_token_id,
                             attention_mask=torch.ones(1, len(ids), dtype=torch.long))
    return out[0, len(ids):].tolist()


def main():
    for index, (name, (n_layer, n_head, n_embd, n_positions, vocab_size)) in enumerate(CONFIGS.items()):
        seed = 1000 + index
        folder = os.path.join(ROOT, name)
        os.makedirs(folder, exist_ok=True)
        tok = train_tokenizer(vocab_size, seed)
        tok.save(os.path.join(folder, "tokenizer.json"))
        model = make_model(n_layer, n_head, n_embd, n_positions, vocab_size, seed)
        model.save_pretrained(folder, safe_serialization=True)
        model64 = make_model(n_layer, n_head, n_embd, n_positions, vocab_size, seed).double()

        texts = ["the", "the cache keeps keys", "attention looks back over café 猫 🙂"]
        cases = []
        for text in texts:
            cases.append({"name": f"text: {text[:24]}", "text": text, "input_ids": tok.encode(text).ids})
        rng = random.Random(seed)
        direct = [rng.randrange(vocab_size) for _ in range(7)] + [vocab_size - 2, vocab_size - 1, 0]
        cases.append({"name": "direct ids incl. the last rows", "text": None, "input_ids": direct})
        for case in cases:
            ids = case["input_ids"]
            n = min(20, n_positions - len(ids))
            case["logits_f32"] = logits_of(model, ids).tolist()
            case["logits_f64"] = logits_of(model64, ids).tolist()
            case["greedy_new_ids"] = greedy(model, ids, n)
            case["greedy_new_ids_f64"] = greedy(model64, ids, n)
        reference = {
            "made_by": "tools/make_fixtures.py",
            "torch_version": torch.__version__,
            "transformers_version": transformers.__version__,
            "tokenizers_version": tokenizers.__version__,
            "eos_stops": False,
            "config": {"n_layer": n_layer, "n_head": n_head, "n_embd": n_embd,
                       "n_positions": n_positions, "vocab_size": vocab_size},
            "cases": cases,
        }
        with open(os.path.join(folder, "reference.json"), "w") as f:
            json.dump(reference, f)

        if name == "gpt2-tiny-a":
            write_published_layout(folder, model, n_layer, n_positions)
    print("fixtures written under", os.path.relpath(ROOT))


def write_published_layout(folder, model, n_layer, n_positions):
    """The same weights named as in the published `gpt2` files: no `transformer.` prefix, the
    causal-mask buffers h.N.attn.bias present, no lm_head (tied)."""
    out = folder + "-published-layout"
    os.makedirs(out, exist_ok=True)
    tensors = {}
    for key, value in model.state_dict().items():
        if key.startswith("lm_head"):
            continue
        tensors[key.removeprefix("transformer.")] = value.contiguous().clone()
    mask = torch.tril(torch.ones(n_positions, n_positions)).view(1, 1, n_positions, n_positions)
    for i in range(n_layer):
        tensors[f"h.{i}.attn.bias"] = mask.clone()
    safetensors.torch.save_file(tensors, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    for f in ["config.json", "tokenizer.json"]:
        with open(os.path.join(folder, f)) as src, open(os.path.join(out, f), "w") as dst:
            dst.write(src.read())
    # transformers must read this layout too, and give the same logits
    reloaded = GPT2LMHeadModel.from_pretrained(out).eval()
    ids = [1, 2, 3, 4, 5]
    assert torch.equal(logits_of(reloaded, ids), logits_of(model, ids)), "published layout differs"


if __name__ == "__main__":
    sys.exit(main())
