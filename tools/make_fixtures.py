#!/usr/bin/env python3
"""Make the Hugging Face parity fixtures under tests/fixtures/ (run by hand, never by CI or cargo).

How to run it (from the workspace root; see tools/README.md):

    python3 -m venv .venv-fixtures
    .venv-fixtures/bin/pip install -r tools/requirements-fixtures.txt
    .venv-fixtures/bin/python tools/make_fixtures.py            # writes tests/fixtures/
    .venv-fixtures/bin/python tools/make_fixtures.py --out DIR  # writes elsewhere (to compare)

What it writes, for two tiny GPT-2 configurations (gpt2-tiny-a, gpt2-tiny-b):

* `config.json`, `generation_config.json`, `model.safetensors`: a random-initialised
  `GPT2LMHeadModel` saved by `save_pretrained(..., safe_serialization=True)` (transformers 5
  writes names with the `transformer.` prefix and no `lm_head.weight`: it is tied to `wte`);
* `tokenizer.json`: a GPT-2 style byte-level BPE trained here on generated text, with exactly
  vocab_size ids, `<|endoftext|>` being the last one;
* `reference.json`: what transformers computes on that folder (schema in tests/fixtures/README.md):
  logits in float32 and in float64 (the same weights after `model.double()`), greedy
  continuations from `model.generate` (EOS does not stop them), and the tokenizer's ids;

and `gpt2-tiny-a-published-layout/`: the weights of gpt2-tiny-a named the way the published
`gpt2` hub files are (no `transformer.` prefix, `h.N.attn.bias` causal-mask buffers, no lm_head).

Everything is seeded and torch runs on one CPU thread: running it again with the pinned
versions gives byte-identical files. The script checks its own output (vocab sizes, that
transformers loads the published layout to identical logits, that `generate` equals a plain
argmax loop, that the fixtures stay under 3 MB) and fails loudly otherwise.
"""
import argparse
import copy
import json
import os
import random
import shutil
import sys

import safetensors.torch
import tokenizers
import torch
import transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "tests", "fixtures"))

# name: (n_layer, n_head, n_embd, n_positions, vocab_size, seed); vocab sizes are not multiples of 64
CONFIGS = {
    "gpt2-tiny-a": (2, 2, 32, 64, 300, 1000),
    "gpt2-tiny-b": (3, 4, 48, 48, 517, 1001),
}
# Weights are drawn with this std (GPT-2 uses 0.02). With 0.02 a tiny random model's logits are
# almost flat and greedy decoding repeats one token forever, which proves little about a KV
# cache; 0.3 gives varied continuations whose top-1/top-2 gaps stay far above f32 rounding.
INITIALIZER_RANGE = 0.3
BIAS_NOISE = 0.05  # std of the noise added to every bias and every layer-norm bias
LN_WEIGHT_NOISE = 0.1  # std of the noise added to every layer-norm weight (which start at 1)
NEW_TOKENS = 20
MAX_TOTAL_BYTES = 3_000_000

# Prompts per model: (case name, text, wanted token count range). The texts differ because the
# two tokenizers differ: gpt2-tiny-a has only 43 merges, so its tokens are short.
TEXT_CASES = {
    "gpt2-tiny-a": [
        ("one token", " the", (1, 1)),  # the space is part of the token (Ġthe): no prefix space added
        ("a few tokens", "the cache", (4, 6)),
        ("about twenty tokens, multi-byte", "back: café, 猫 🙂\nthe", (18, 24)),
    ],
    "gpt2-tiny-b": [
        ("one token", " the", (1, 1)),
        ("a few tokens", "the cache keeps keys and", (4, 6)),
        ("about twenty tokens, multi-byte",
         "attention looks back: café, 猫 🙂\nthe model keeps keys and values of every token", (16, 24)),
    ],
}

WORDS = ("the cache keeps keys and values of every token so the model reads them again "
         "instead of computing them twice attention looks back over the sequence one step "
         "at a time a small network learns to predict the next word").split()


def corpus(seed):
    """Generated training text (no third-party text): mostly the words above, so that they
    become tokens, plus invented words, punctuation and multi-byte characters."""
    rng = random.Random(seed)
    extra = ["café", "naïve", "猫", "🙂", "über", "Zürich", "42", "3.14", "\n", ":", ","]
    invented = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 8)))
                for _ in range(300)]

    def word():
        r = rng.random()
        return rng.choice(WORDS) if r < 0.8 else rng.choice(extra) if r < 0.85 else rng.choice(invented)

    return [" ".join(word() for _ in range(rng.randint(3, 14))) for _ in range(3000)]


def train_tokenizer(vocab_size, seed):
    """Byte-level BPE with vocab_size ids: 256 bytes + merges, then <|endoftext|> last, as GPT-2."""
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
                        initializer_range=INITIALIZER_RANGE,
                        bos_token_id=vocab_size - 1, eos_token_id=vocab_size - 1,
                        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    model = GPT2LMHeadModel(config).eval()
    # HF initialises biases to 0 and layer norms to 1/0: perturb them so they are exercised
    with torch.no_grad():
        for name, p in model.named_parameters():
            is_ln = ".ln_" in name
            if name.endswith(".bias"):
                p.add_(torch.randn_like(p) * BIAS_NOISE)
            elif is_ln and name.endswith(".weight"):
                p.add_(torch.randn_like(p) * LN_WEIGHT_NOISE)
    assert model.lm_head.weight.data_ptr() == model.transformer.wte.weight.data_ptr(), "not tied"
    return model


def logits_of(model, ids):
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0]


def greedy(model, ids, n):
    """`generate` with greedy decoding and the KV cache. EOS must not stop it: passing
    eos_token_id=None as a keyword is what works (min_new_tokens would instead forbid EOS, which
    changes the argmax; a GenerationConfig(eos_token_id=None) gets the model's EOS merged back)."""
    vocab = model.config.vocab_size
    with torch.no_grad():
        out = model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                             max_new_tokens=n, do_sample=False, use_cache=True,
                             eos_token_id=None, pad_token_id=vocab - 1)
    new = out[0, len(ids):].tolist()
    assert len(new) == n, (len(new), n)
    # the same thing by hand, without any cache: argmax of the last row, append, repeat
    seq, margins = list(ids), []
    with torch.no_grad():
        for _ in range(n):
            last = logits_of(model, seq)[-1]
            top = torch.topk(last, 2).values
            margins.append(float(top[0] - top[1]))
            seq.append(int(last.argmax()))
    assert seq[len(ids):] == new, ("generate differs from an argmax loop", seq[len(ids):], new)
    return new, min(margins)


def kv_check(model, case):
    """Shapes (and values) of the cache from one forward pass with use_cache=True."""
    with torch.no_grad():
        out = model(torch.tensor([case["input_ids"]]), use_cache=True)
    cache = out.past_key_values
    layers = []
    for layer in range(model.config.n_layer):
        if hasattr(cache, "layers"):  # transformers >= 4.56 / 5: DynamicCache.layers[i].keys
            k, v = cache.layers[layer].keys, cache.layers[layer].values
        else:
            k, v = cache[layer]
        layers.append({"key_shape": list(k.shape), "value_shape": list(v.shape),
                       "key": k[0].tolist(), "value": v[0].tolist()})
    return {"case": case["name"], "layout": "[batch, n_heads, seq, head_dim]",
            "values_layout": "key/value hold batch 0: [n_heads][seq][head_dim], float32",
            "layers": layers}


def hf_tokenizer_ids(folder, text):
    """Ids from transformers' fast tokenizer wrapping the same tokenizer.json."""
    hf = PreTrainedTokenizerFast(tokenizer_file=os.path.join(folder, "tokenizer.json"))
    return hf(text, add_special_tokens=True)["input_ids"]


def make_folder(out, name, n_layer, n_head, n_embd, n_positions, vocab_size, seed):
    folder = os.path.join(out, name)
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    tok = train_tokenizer(vocab_size, seed)
    tok.save(os.path.join(folder, "tokenizer.json"))
    made = make_model(n_layer, n_head, n_embd, n_positions, vocab_size, seed)
    made.save_pretrained(folder, safe_serialization=True)
    # The reference is what transformers computes on the saved folder, so compute it with the
    # model loaded back from it. (Same weights bit for bit, but for one-token inputs the
    # in-memory model can differ in the last bit: the CPU matrix-vector kernel depends on how
    # the weight buffer happens to be aligned in memory.)
    model = GPT2LMHeadModel.from_pretrained(folder).eval()
    made_state = made.state_dict()
    assert all(torch.equal(t, made_state[k]) for k, t in model.state_dict().items()), "reload differs"
    assert model.lm_head.weight.data_ptr() == model.transformer.wte.weight.data_ptr(), "not tied"
    model64 = copy.deepcopy(model).double()  # the same f32 weights, converted to f64

    cases = []
    for case_name, text, (lo, hi) in TEXT_CASES[name]:
        ids = tok.encode(text).ids
        assert lo <= len(ids) <= hi, (name, text, len(ids))
        assert tok.decode(ids) == text, (name, text)
        assert hf_tokenizer_ids(folder, text) == ids, ("transformers' tokenizer differs", name, text)
        cases.append({"name": case_name, "text": text, "input_ids": ids})
    # ids given directly, touching the last rows of wte (vocab_size-2, and EOS = vocab_size-1);
    # in gpt2-tiny-b the prompt is long enough that prompt + new ids = n_positions (a full context)
    rng = random.Random(seed)
    length = 12 if name == "gpt2-tiny-a" else n_positions - NEW_TOKENS
    direct = [rng.randrange(vocab_size) for _ in range(length - 4)] + [vocab_size - 2, vocab_size - 1, 0, vocab_size - 2]
    cases.append({"name": "direct ids incl. the last rows", "text": None, "input_ids": direct})

    for case in cases:
        ids = case["input_ids"]
        n = min(NEW_TOKENS, n_positions - len(ids))
        case["logits_f32"] = logits_of(model, ids).tolist()
        case["logits_f64"] = logits_of(model64, ids).tolist()
        case["greedy_new_ids"], margin32 = greedy(model, ids, n)
        case["greedy_new_ids_f64"], margin64 = greedy(model64, ids, n)
        case["greedy_min_top2_gap_f32"] = margin32
        case["greedy_min_top2_gap_f64"] = margin64
        print(f"  {name} / {case['name']}: {len(ids)} prompt ids, {n} new, "
              f"smallest top-1/top-2 gap f32 {margin32:.3g} f64 {margin64:.3g}, "
              f"f32 vs f64 logits max |d| {(logits_of(model, ids).double() - logits_of(model64, ids)).abs().max().item():.3g}")

    reference = {
        "made_by": "tools/make_fixtures.py",
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "tokenizers_version": tokenizers.__version__,
        "safetensors_version": safetensors.__version__,
        "eos_stops": False,
        "generate_kwargs": {"max_new_tokens": NEW_TOKENS, "do_sample": False, "use_cache": True,
                            "eos_token_id": None, "pad_token_id": vocab_size - 1,
                            "note": "max_new_tokens is lowered to n_positions - len(input_ids) when that is smaller"},
        "config": {"n_layer": n_layer, "n_head": n_head, "n_embd": n_embd,
                   "n_positions": n_positions, "vocab_size": vocab_size,
                   "activation_function": "gelu_new", "layer_norm_epsilon": model.config.layer_norm_epsilon,
                   "initializer_range": INITIALIZER_RANGE, "seed": seed},
        "cases": cases,
        "past_key_values_check": kv_check(model, cases[1]),
    }
    with open(os.path.join(folder, "reference.json"), "w", encoding="utf-8") as f:
        # json writes floats with repr(): the shortest text that reads back to the same double,
        # so the f32 logits are exact (every f32 is a double) and the f64 ones are too
        json.dump(reference, f, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    return folder, made


def write_published_layout(folder, model):
    """The same weights named as in the published `gpt2` files: no `transformer.` prefix, the
    causal-mask buffers h.N.attn.bias ([1, 1, n_positions, n_positions], lower-triangular ones)
    present, no lm_head (tied)."""
    n_layer, n_positions = model.config.n_layer, model.config.n_positions
    out = folder + "-published-layout"
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    tensors = {}
    for key, value in model.state_dict().items():
        if key.startswith("lm_head"):
            continue
        tensors[key.removeprefix("transformer.")] = value.detach().contiguous().clone()
    mask = torch.tril(torch.ones(n_positions, n_positions, dtype=torch.float32)).view(1, 1, n_positions, n_positions)
    for i in range(n_layer):
        tensors[f"h.{i}.attn.bias"] = mask.clone()
    safetensors.torch.save_file(tensors, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    for f in ["config.json", "generation_config.json", "tokenizer.json"]:
        shutil.copyfile(os.path.join(folder, f), os.path.join(out, f))

    # transformers must read this layout too, and give the same logits
    reloaded, info = GPT2LMHeadModel.from_pretrained(out, output_loading_info=True)
    reloaded.eval()
    print(f"  {os.path.basename(out)}: transformers loading info: "
          + ", ".join(f"{k}={sorted(v) if isinstance(v, (set, list)) else v}" for k, v in info.items()))
    assert not info.get("missing_keys"), info
    loaded_a = GPT2LMHeadModel.from_pretrained(folder).eval()
    assert all(torch.equal(t, loaded_a.state_dict()[k]) for k, t in reloaded.state_dict().items())
    with open(os.path.join(folder, "reference.json"), encoding="utf-8") as f:
        reference = json.load(f)
    for case in reference["cases"]:
        ids = case["input_ids"]
        got = logits_of(reloaded, ids)
        d = (got - logits_of(loaded_a, ids)).abs().max().item()
        assert d == 0.0, f"published layout gives other logits than gpt2-tiny-a: max |d| = {d}"
        assert got.tolist() == case["logits_f32"], "published layout differs from reference.json"
    return out


def total_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="where to write (default: tests/fixtures)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, tokenizers {tokenizers.__version__}")
    for name, (n_layer, n_head, n_embd, n_positions, vocab_size, seed) in CONFIGS.items():
        folder, model = make_folder(args.out, name, n_layer, n_head, n_embd, n_positions, vocab_size, seed)
        if name == "gpt2-tiny-a":
            write_published_layout(folder, model)
    for d, _, fs in os.walk(args.out):  # safetensors writes 0600 files; make them all 0644
        for f in fs:
            os.chmod(os.path.join(d, f), 0o644)
    size = total_bytes(args.out)
    print(f"fixtures written under {args.out}: {size} bytes in all")
    assert size < MAX_TOTAL_BYTES, f"fixtures are {size} bytes, over {MAX_TOTAL_BYTES}: use fewer or shorter cases"
    return 0


if __name__ == "__main__":
    sys.exit(main())
