#!/usr/bin/env python3
"""Make the Hugging Face parity fixtures under tests/fixtures/ (run by hand, never by CI or cargo).

How to run it (from the workspace root; see tools/README.md):

    python3 -m venv .venv-fixtures
    .venv-fixtures/bin/pip install -r tools/requirements-fixtures.txt
    .venv-fixtures/bin/python tools/make_fixtures.py            # writes tests/fixtures/
    .venv-fixtures/bin/python tools/make_fixtures.py --out DIR  # writes elsewhere (to compare)
    .venv-fixtures/bin/python tools/make_fixtures.py --only gpt2 qwen3-tiny  # only these folders

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

For chapter 6 it also writes four RoPE models the same way, with reference.json in the same
format: `llama-tiny-gqa/` (GQA, Llama 3 RoPE scaling, untied, saved in 2 shards), `qwen3-tiny/`
(q/k norm, head_dim apart from width/heads, tied, BF16 weights), `qwen2-tiny/` (q/k/v biases,
one kv head) and `neox-tiny/` (rotary on a quarter of each head, parallel residual). Their
float64 references patch transformers' rotary embedding and RMSNorm, which compute in float32
even after `model.double()` (see `float64_internals`).

For chapter 7 it writes two mixture-of-experts folders the same way: `mixtral-tiny/` (4 experts,
top-2, renormalised) and `qwen3-moe-tiny/` (4 experts, top-2 not renormalised, one dense layer
through `mlp_only_layers`, BF16 weights). Their float64 references also patch the router, whose
softmax transformers computes in float32 (see `router_in_input_dtype`).

Everything is seeded and torch runs on one CPU thread: running it again with the pinned
versions gives byte-identical files. The script checks its own output (vocab sizes, that
transformers loads the published layout to identical logits, that `generate` equals a plain
argmax loop, that the fixtures stay under 3 MB) and fails loudly otherwise.
"""
import argparse
import contextlib
import copy
import json
import math
import os
import random
import shutil
import sys
import tempfile

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
MAX_TOTAL_BYTES = 3_000_000  # the GPT-2 folders
MAX_ROPE_BYTES = 2_000_000  # the four RoPE-family folders together

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


def kv_check(model, case, heads="n_heads", note=""):
    """Shapes (and values) of the cache from one forward pass with use_cache=True."""
    with torch.no_grad():
        out = model(torch.tensor([case["input_ids"]]), use_cache=True)
    cache = out.past_key_values
    layers = []
    for layer in range(model.config.num_hidden_layers):
        if hasattr(cache, "layers"):  # transformers >= 4.56 / 5: DynamicCache.layers[i].keys
            k, v = cache.layers[layer].keys, cache.layers[layer].values
        else:
            k, v = cache[layer]
        layers.append({"key_shape": list(k.shape), "value_shape": list(v.shape),
                       "key": k[0].tolist(), "value": v[0].tolist()})
    return {"case": case["name"], "layout": f"[batch, {heads}, seq, head_dim]",
            "values_layout": f"key/value hold batch 0: [{heads}][seq][head_dim], float32{note}",
            "layers": layers}


def hf_tokenizer_ids(folder, text):
    """Ids from transformers' fast tokenizer wrapping the same tokenizer.json."""
    hf = PreTrainedTokenizerFast(tokenizer_file=os.path.join(folder, "tokenizer.json"))
    return hf(text, add_special_tokens=True)["input_ids"]


def reference_header(new_tokens, vocab_size, **generate_notes):
    """The first keys of every reference.json: versions, and how `greedy` called generate."""
    return {
        "made_by": "tools/make_fixtures.py",
        "torch_version": torch.__version__,
        "transformers_version": transformers.__version__,
        "tokenizers_version": tokenizers.__version__,
        "safetensors_version": safetensors.__version__,
        "eos_stops": False,
        "generate_kwargs": {"max_new_tokens": new_tokens, "do_sample": False, "use_cache": True,
                            "eos_token_id": None, "pad_token_id": vocab_size - 1, **generate_notes},
    }


def write_reference(folder, reference):
    with open(os.path.join(folder, "reference.json"), "w", encoding="utf-8") as f:
        # json writes floats with repr(): the shortest text that reads back to the same double,
        # so the f32 logits are exact (every f32 is a double) and the f64 ones are too
        json.dump(reference, f, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        f.write("\n")


def new_folder_with_tokenizer(out, name, vocab_size, seed):
    """An empty out/name (removed first if there) holding the tokenizer trained for it."""
    folder = os.path.join(out, name)
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    tok = train_tokenizer(vocab_size, seed)
    tok.save(os.path.join(folder, "tokenizer.json"))
    return folder, tok


def text_case(folder, tok, name, case_name, text, lo, hi):
    """A case from a text: its ids, checked to round-trip and to equal transformers' tokenizer."""
    ids = tok.encode(text).ids
    assert lo <= len(ids) <= hi, (name, text, len(ids))
    assert tok.decode(ids) == text, (name, text)
    assert hf_tokenizer_ids(folder, text) == ids, ("transformers' tokenizer differs", name, text)
    return {"name": case_name, "text": text, "input_ids": ids}


def make_folder(out, name, n_layer, n_head, n_embd, n_positions, vocab_size, seed):
    folder, tok = new_folder_with_tokenizer(out, name, vocab_size, seed)
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

    cases = [text_case(folder, tok, name, case_name, text, lo, hi) for case_name, text, (lo, hi) in TEXT_CASES[name]]
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
        **reference_header(NEW_TOKENS, vocab_size, note="max_new_tokens is lowered to n_positions - "
                           "len(input_ids) when that is smaller"),
        "config": {"n_layer": n_layer, "n_head": n_head, "n_embd": n_embd,
                   "n_positions": n_positions, "vocab_size": vocab_size,
                   "activation_function": "gelu_new", "layer_norm_epsilon": model.config.layer_norm_epsilon,
                   "initializer_range": INITIALIZER_RANGE, "seed": seed},
        "cases": cases,
        "past_key_values_check": kv_check(model, cases[1]),
    }
    write_reference(folder, reference)
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



# ---------------------------------------------------------------------------------------------
# Chapter 6: RoPE families (Llama, Qwen 3, Qwen 2, GPT-NeoX)
# ---------------------------------------------------------------------------------------------
# Same recipe as the GPT-2 folders (random weights with std 0.3, a tokenizer trained here,
# reference.json with the same keys), plus float64 references whose rotary angles and RMSNorms
# are really computed in float64 (see `float64_internals` below).

ROPE_BIAS_NOISE = 0.2  # std of the noise added to every bias (q/k/v in Qwen 2, all in GPT-NeoX)
ROPE_NORM_WEIGHT_NOISE = 0.2  # std of the noise added to every norm weight (they start at 1)
ROPE_NEW_TOKENS = 20


def llama_config(vocab_size):
    return transformers.LlamaConfig(
        vocab_size=vocab_size, hidden_size=32, intermediate_size=88, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, hidden_act="silu",
        max_position_embeddings=512, rms_norm_eps=1e-5, tie_word_embeddings=False,
        # Llama 3.1 scaling. head_dim 8 has 4 frequencies, wavelengths 2*pi*theta^(2i/8) =
        # 6.3, 167, 4443, 118000 positions; with these parameters the first is kept (< 256/4),
        # the second is smoothed (between 256/4 and 256/1) and the last two are divided by 8.
        rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0,
                         "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                         "original_max_position_embeddings": 256},
        attention_bias=False, mlp_bias=False, initializer_range=INITIALIZER_RANGE,
        bos_token_id=vocab_size - 1, eos_token_id=vocab_size - 1)


def qwen3_config(vocab_size):
    return transformers.Qwen3Config(
        vocab_size=vocab_size, hidden_size=32, intermediate_size=72, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, head_dim=16, hidden_act="silu",
        max_position_embeddings=128, rms_norm_eps=1e-6, tie_word_embeddings=True,
        rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
        attention_bias=False, initializer_range=INITIALIZER_RANGE,
        bos_token_id=vocab_size - 1, eos_token_id=vocab_size - 1)


def qwen2_config(vocab_size):
    return transformers.Qwen2Config(
        vocab_size=vocab_size, hidden_size=32, intermediate_size=80, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=1, hidden_act="silu",
        max_position_embeddings=128, rms_norm_eps=1e-6, tie_word_embeddings=False,
        rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
        initializer_range=INITIALIZER_RANGE,
        bos_token_id=vocab_size - 1, eos_token_id=vocab_size - 1)


def neox_config(vocab_size):
    # rotary_pct and rotary_emb_base are the names of published GPT-NeoX/Pythia configs;
    # transformers 5 moves them into rope_parameters (partial_rotary_factor, rope_theta), which is
    # what config.json then holds
    return transformers.GPTNeoXConfig(
        vocab_size=vocab_size, hidden_size=32, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=2, hidden_act="gelu", rotary_pct=0.25, rotary_emb_base=10000.0,
        max_position_embeddings=128, layer_norm_eps=1e-5, use_parallel_residual=True,
        tie_word_embeddings=False, attention_bias=True, initializer_range=INITIALIZER_RANGE,
        hidden_dropout=0.0, attention_dropout=0.0,
        bos_token_id=vocab_size - 1, eos_token_id=vocab_size - 1)


# name: (model class, config maker, vocab_size, seed, dtype the safetensors hold, max_shard_size).
# The seeds were picked so that every greedy continuation has at least 8 distinct ids (checked):
# with some seeds a tiny random model repeats one token, which proves little about a cache.
ROPE_FAMILIES = {
    "llama-tiny-gqa": ("LlamaForCausalLM", llama_config, 331, 1106, torch.float32, "100KB"),
    "qwen3-tiny": ("Qwen3ForCausalLM", qwen3_config, 303, 1103, torch.bfloat16, None),
    "qwen2-tiny": ("Qwen2ForCausalLM", qwen2_config, 317, 1102, torch.float32, None),
    "neox-tiny": ("GPTNeoXForCausalLM", neox_config, 343, 1122, torch.float32, None),
}


# Chapter 7: two tiny mixture-of-experts models, made and checked like the RoPE folders above.
# Mixtral: every layer has experts, top-2 of 4, always renormalised. Qwen3-MoE: top-2 of 4
# without renormalisation (norm_topk_prob false), and layer 1 dense (mlp_only_layers).
def mixtral_config(vocab_size):
    return transformers.MixtralConfig(
        vocab_size=vocab_size, hidden_size=32, intermediate_size=40, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, hidden_act="silu",
        max_position_embeddings=128, rms_norm_eps=1e-5, tie_word_embeddings=False,
        rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
        num_local_experts=4, num_experts_per_tok=2, sliding_window=None,
        initializer_range=INITIALIZER_RANGE,
        bos_token_id=vocab_size - 1, eos_token_id=vocab_size - 1)


def qwen3_moe_config(vocab_size):
    return transformers.Qwen3MoeConfig(
        vocab_size=vocab_size, hidden_size=32, intermediate_size=64, moe_intermediate_size=24,
        num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
        hidden_act="silu", max_position_embeddings=128, rms_norm_eps=1e-6, tie_word_embeddings=False,
        rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
        num_experts=4, num_experts_per_tok=2, norm_topk_prob=False, decoder_sparse_step=1,
        mlp_only_layers=[1], initializer_range=INITIALIZER_RANGE,
        bos_token_id=vocab_size - 1, eos_token_id=vocab_size - 1)


# Same columns as ROPE_FAMILIES.
MOE_FAMILIES = {
    "mixtral-tiny": ("MixtralForCausalLM", mixtral_config, 311, 1107, torch.float32, None),
    "qwen3-moe-tiny": ("Qwen3MoeForCausalLM", qwen3_moe_config, 307, 1111, torch.bfloat16, None),
}
MAX_MOE_BYTES = 1_000_000  # the two MoE folders together

# The same texts for every family (each has its own tokenizer, so the ids differ). Fewer and
# shorter cases than the GPT-2 folders: reference.json stores three full logit arrays per case.
ROPE_TEXT_CASES = [
    ("one token", " the", (1, 1)),
    ("a few tokens, multi-byte", "the café", (5, 8)),
]


# The float64 references. transformers 5.23 computes two things in float32 whatever the model's
# dtype, so `model.double()` alone is not what a float64 implementation computes:
#
# 1. RoPE. `inv_freq` is made in float32 (`compute_default_rope_parameters`,
#    `_compute_llama3_parameters`), and the forward of `LlamaRotaryEmbedding`,
#    `Qwen2RotaryEmbedding`, `Qwen3RotaryEmbedding` and `GPTNeoXRotaryEmbedding` does
#    `position_ids.float() * inv_freq.float()`, then cos() and sin() in float32, and only casts
#    the result to the model's dtype.
# 2. RMSNorm. `LlamaRMSNorm`, `Qwen2RMSNorm` and `Qwen3RMSNorm` (also Qwen 3's q_norm and k_norm)
#    do `hidden_states.to(torch.float32)`, normalise, and cast back: in a float64 model the
#    normalised activations are rounded to float32. (GPT-NeoX's nn.LayerNorm computes in the
#    input's dtype.)
#
# The two context managers below replace, on one model instance, the `forward` of the rotary
# module and of every RMSNorm module with the same expressions in a wider dtype, and restore
# them on exit. `check_f64_patches` proves they change nothing else.


@contextlib.contextmanager
def rope_angles_in(model, dtype):
    """The rotary embedding with inv_freq, angles, cos and sin computed in `dtype`: inv_freq from
    the config (`inv_freq_of`: the expressions of transformers' rope init functions, in the same
    order), angles = position * inv_freq, cat(angles, angles), cos, sin, times
    attention_scaling (1.0 for these models), cast to the model's dtype."""
    module = rotary_module(model)
    inv_freq = inv_freq_of(model.config, dtype)

    def forward(x, position_ids):
        with torch.no_grad():
            angles = position_ids[..., None].to(dtype) * inv_freq.to(x.device)  # [batch, seq, rot/2]
            emb = torch.cat((angles, angles), dim=-1)  # [batch, seq, rot]
            cos = emb.cos() * module.attention_scaling
            sin = emb.sin() * module.attention_scaling
            return cos.to(dtype=x.dtype), sin.to(dtype=x.dtype)

    module.forward = forward  # an instance attribute: nn.Module.__call__ finds it first
    try:
        yield
    finally:
        del module.forward


@contextlib.contextmanager
def rms_norm_in_input_dtype(model):
    """Every RMSNorm computes in float32 or the input's dtype, whichever is wider (transformers:
    always float32). For a float32, bf16 or f16 input this is transformers' computation as is."""
    modules = [m for m in model.modules() if type(m).__name__.endswith("RMSNorm")]

    def patched(module):
        def forward(hidden_states):
            input_dtype = hidden_states.dtype
            hidden_states = hidden_states.to(torch.promote_types(input_dtype, torch.float32))
            variance = hidden_states.pow(2).mean(-1, keepdim=True)
            hidden_states = hidden_states * torch.rsqrt(variance + module.variance_epsilon)
            return module.weight * hidden_states.to(input_dtype)
        return forward

    for m in modules:
        m.forward = patched(m)
    try:
        yield len(modules)
    finally:
        for m in modules:
            del m.forward


@contextlib.contextmanager
def router_in_input_dtype(model):
    """3. (MoE models) The router: `MixtralTopKRouter` and `Qwen3MoeTopKRouter` take the softmax
    of the router logits in float32 (`.float()`, `dtype=torch.float`), so a float64 model's
    routing weights are float32 numbers. The patch computes softmax, top-k and the
    renormalisation in float32 or the input's dtype, whichever is wider, in transformers' order:
    softmax over all experts, top-k, then divide by the sum (Mixtral always, Qwen3-MoE when
    norm_topk_prob)."""
    modules = [m for m in model.modules() if type(m).__name__.endswith("TopKRouter")]

    def patched(module):
        def forward(hidden_states):
            hidden_states = hidden_states.reshape(-1, module.hidden_dim)
            router_logits = torch.nn.functional.linear(hidden_states, module.weight)
            dtype = torch.promote_types(router_logits.dtype, torch.float32)
            router_probs = torch.nn.functional.softmax(router_logits.to(dtype), dim=-1)
            top_value, top_index = torch.topk(router_probs, module.top_k, dim=-1)
            if getattr(module, "norm_topk_prob", True):  # Mixtral's router has no switch
                top_value /= top_value.sum(dim=-1, keepdim=True)
            return router_logits, top_value.to(router_logits.dtype), top_index
        return forward

    for m in modules:
        m.forward = patched(m)
    try:
        yield len(modules)
    finally:
        for m in modules:
            del m.forward


@contextlib.contextmanager
def float64_internals(model, angles=torch.float64, norms=True):
    """RoPE computed in `angles` (None: as transformers does it) and, if `norms`, RMSNorm (and
    an MoE model's router) in the input's dtype. The default is what logits_f64 are computed
    with."""
    with contextlib.ExitStack() as stack:
        if angles is not None:
            stack.enter_context(rope_angles_in(model, angles))
        if norms:
            stack.enter_context(rms_norm_in_input_dtype(model))
            stack.enter_context(router_in_input_dtype(model))
        yield


def rotary_module(model):
    base = model.gpt_neox if hasattr(model, "gpt_neox") else model.model
    return base.rotary_emb


def inv_freq_of(config, dtype):
    """inv_freq as transformers' rope init functions compute it, but in `dtype`."""
    rope = config.rope_parameters
    base = rope["rope_theta"]
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    dim = int(head_dim * rope.get("partial_rotary_factor", 1.0))
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).to(dtype=dtype) / dim))
    if rope["rope_type"] == "default":
        return inv_freq
    assert rope["rope_type"] == "llama3", rope
    factor, low, high = rope["factor"], rope["low_freq_factor"], rope["high_freq_factor"]
    old_context_len = rope["original_max_position_embeddings"]
    low_freq_wavelen, high_freq_wavelen = old_context_len / low, old_context_len / high
    wavelen = 2 * math.pi / inv_freq
    inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth_factor = (old_context_len / wavelen - low) / (high - low)
    smoothed_inv_freq = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
    is_medium_freq = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
    return torch.where(is_medium_freq, smoothed_inv_freq, inv_freq_llama)


def check_f64_patches(model, cases):
    """The patches change dtypes and nothing else (model: the float32 model):
    - in float32, `inv_freq_of` rebuilds transformers' inv_freq buffer bit for bit, and the
      patched model (angles in float32, RMSNorm patch on) gives bit-identical logits;
    - with float64 angles the float32 model moves by rounding only (returned; must be < 1e-5)."""
    rotary = rotary_module(model)
    assert torch.equal(inv_freq_of(model.config, torch.float32), rotary.inv_freq), "inv_freq differs"
    worst = 0.0
    for case in cases:
        ids = case["input_ids"]
        plain = logits_of(model, ids)
        with float64_internals(model, angles=torch.float32):
            assert torch.equal(logits_of(model, ids), plain), "the patches in float32 are not a no-op"
        with float64_internals(model):
            worst = max(worst, (logits_of(model, ids) - plain).abs().max().item())
    assert worst < 1e-5, f"float64 angles move float32 logits by {worst}"
    assert rotary.forward.__func__ is type(rotary).forward, "patch not undone"
    return worst


def family_config_record(name, config, class_name, weights_dtype, seed):
    c = config
    record = {"architecture": class_name, "model_type": c.model_type, "vocab_size": c.vocab_size,
              "hidden_size": c.hidden_size, "intermediate_size": c.intermediate_size,
              "num_hidden_layers": c.num_hidden_layers, "num_attention_heads": c.num_attention_heads,
              "num_key_value_heads": getattr(c, "num_key_value_heads", c.num_attention_heads),
              "head_dim": getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads,
              "hidden_act": c.hidden_act, "max_position_embeddings": c.max_position_embeddings,
              "rope_parameters": dict(c.rope_parameters),
              "tie_word_embeddings": c.tie_word_embeddings,
              "weights_dtype": str(weights_dtype).removeprefix("torch."),
              "initializer_range": INITIALIZER_RANGE, "bias_noise": ROPE_BIAS_NOISE,
              "norm_weight_noise": ROPE_NORM_WEIGHT_NOISE, "seed": seed}
    if c.model_type == "gpt_neox":
        record.update(layer_norm_eps=c.layer_norm_eps, use_parallel_residual=c.use_parallel_residual,
                      attention_bias=c.attention_bias,
                      rotary_dim=int(record["head_dim"] * c.rope_parameters["partial_rotary_factor"]))
    else:
        record.update(rms_norm_eps=c.rms_norm_eps,
                      attention_bias=c.model_type == "qwen2" or bool(getattr(c, "attention_bias", False)),
                      qk_norm=c.model_type in ("qwen3", "qwen3_moe"), rotary_dim=record["head_dim"])
    if c.model_type in ("mixtral", "qwen3_moe"):
        record.update(num_experts=getattr(c, "num_local_experts", None) or c.num_experts,
                      num_experts_per_tok=c.num_experts_per_tok,
                      norm_topk_prob=c.model_type == "mixtral" or c.norm_topk_prob,
                      expert_intermediate_size=getattr(c, "moe_intermediate_size", c.intermediate_size),
                      moe_layers=[i for i in range(c.num_hidden_layers) if is_moe_layer(c, i)])
    inv_freq = inv_freq_of(c, torch.float64)
    record["inv_freq_f64"] = inv_freq.tolist()
    if c.rope_parameters["rope_type"] == "llama3":
        # which frequencies Llama 3 scaling leaves, divides by factor, or smooths in between
        plain = inv_freq_of(transformers.LlamaConfig(**{**c.to_dict(), "rope_parameters": {
            "rope_type": "default", "rope_theta": c.rope_parameters["rope_theta"]}}), torch.float64)
        factor = c.rope_parameters["factor"]
        regimes = ["kept" if a == b else "divided" if a == b / factor else "smoothed"
                   for a, b in zip(inv_freq.tolist(), plain.tolist())]
        assert {"kept", "divided", "smoothed"} <= set(regimes), regimes
        record["inv_freq_f64_unscaled"] = plain.tolist()
        record["llama3_regimes"] = regimes
    return record


def eager_experts(model):
    """An MoE model computes its experts with the loop of its modeling file (`MixtralExperts`,
    `Qwen3MoeExperts`: expert by expert, `index_add_` of the weighted outputs), not with
    transformers 5's default grouped matrix product, which also refuses float64."""
    if model.config.model_type in ("mixtral", "qwen3_moe"):
        model.set_experts_implementation("eager")
    return model


def make_rope_model(class_name, config_maker, vocab_size, seed):
    torch.manual_seed(seed)
    config = config_maker(vocab_size)
    model = eager_experts(getattr(transformers, class_name)(config).eval())
    # transformers initialises biases to 0 and norm weights to 1: perturb them so they matter
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(".bias"):
                p.add_(torch.randn_like(p) * ROPE_BIAS_NOISE)
            elif "norm" in name and name.endswith(".weight"):
                p.add_(torch.randn_like(p) * ROPE_NORM_WEIGHT_NOISE)
    std = model.get_input_embeddings().weight.std().item()
    assert 0.25 < std < 0.35, f"embedding std {std}: initializer_range not applied"
    for pname, p in model.named_parameters():  # MoE: routers and experts random too
        if ".gate." in pname or ".experts." in pname:
            std = p.std().item()
            assert 0.25 < std < 0.35, f"{pname} std {std}: initializer_range not applied"
    return model


def is_moe_layer(c, i):
    """Which layers have experts: Mixtral all; Qwen3-MoE as `Qwen3MoeDecoderLayer` decides."""
    if c.model_type == "mixtral":
        return True
    if c.model_type == "qwen3_moe":
        return i not in c.mlp_only_layers and c.num_experts > 0 and (i + 1) % c.decoder_sparse_step == 0
    return False


def make_rope_folder(out, name):
    class_name, config_maker, vocab_size, seed, weights_dtype, shard = {**ROPE_FAMILIES, **MOE_FAMILIES}[name]
    folder, tok = new_folder_with_tokenizer(out, name, vocab_size, seed)
    made = make_rope_model(class_name, config_maker, vocab_size, seed).to(weights_dtype)
    save_kwargs = {"max_shard_size": shard} if shard else {}
    made.save_pretrained(folder, safe_serialization=True, **save_kwargs)
    cls = getattr(transformers, class_name)
    # float32 as a loader that converts on load computes: bf16 weights are upcast exactly
    model = eager_experts(cls.from_pretrained(folder, dtype=torch.float32).eval())
    made_state = made.state_dict()
    assert all(torch.equal(t, made_state[k].float()) for k, t in model.state_dict().items()), "reload differs"
    stored = stored_tensors(folder)
    assert {str(t.dtype) for t in stored.values()} == {str(weights_dtype)}, "stored dtype"
    tied = model.config.tie_word_embeddings
    out_emb = model.get_output_embeddings().weight
    assert (out_emb.data_ptr() == model.get_input_embeddings().weight.data_ptr()) == tied, "tying"
    if shard:
        check_sharded(folder, made, cls)
    model64 = copy.deepcopy(model).double()  # the same weights, converted to f64

    cases = [text_case(folder, tok, name, case_name, text, lo, hi) for case_name, text, (lo, hi) in ROPE_TEXT_CASES]
    rng = random.Random(seed)
    direct = [rng.randrange(vocab_size) for _ in range(2)] + [vocab_size - 2, vocab_size - 1, 0, vocab_size - 2]
    cases.append({"name": "direct ids incl. the last rows", "text": None, "input_ids": direct})

    f32_patch_effect = check_f64_patches(model, cases)
    has_rms_norm = any(type(m).__name__.endswith("RMSNorm") for m in model.modules())
    worst = {"angles": 0.0, "rms_norm": 0.0, "plain": 0.0}
    worst_own = 0.0
    for case in cases:
        ids = case["input_ids"]
        n = ROPE_NEW_TOKENS
        assert len(ids) + n <= model.config.max_position_embeddings
        logits32 = logits_of(model, ids)
        greedy32, margin32 = greedy(model, ids, n)
        with float64_internals(model64):
            logits64 = logits_of(model64, ids)
            greedy64, margin64 = greedy(model64, ids, n)
        with float64_internals(model64, angles=None):  # RoPE as transformers computes it
            logits64_f32_angles = logits_of(model64, ids)
        with float64_internals(model64, norms=False):  # RMSNorm as transformers computes it
            logits64_f32_norms = logits_of(model64, ids)
        plain64 = logits_of(model64, ids)  # transformers' model.double(), unpatched
        plain_greedy64, _ = greedy(model64, ids, n)
        d = {"angles": (logits64 - logits64_f32_angles).abs().max().item(),
             "rms_norm": (logits64 - logits64_f32_norms).abs().max().item(),
             "plain": (logits64 - plain64).abs().max().item()}
        worst = {k: max(v, d[k]) for k, v in worst.items()}
        case.update({"logits_f32": logits32.tolist(), "logits_f64": logits64.tolist(),
                     "logits_f64_f32_angles": logits64_f32_angles.tolist(),
                     "logits_f64_vs_f32_angles_max_abs_diff": d["angles"],
                     "greedy_new_ids": greedy32, "greedy_new_ids_f64": greedy64,
                     "greedy_min_top2_gap_f32": margin32, "greedy_min_top2_gap_f64": margin64})
        d32 = (logits32.double() - logits64).abs().max().item()
        print(f"  {name} / {case['name']}: {len(ids)} prompt ids, {n} new, "
              f"smallest top-1/top-2 gap f32 {margin32:.3g} f64 {margin64:.3g}, "
              f"f32 vs f64 logits max |d| {d32:.3g}; f64 vs f32 angles {d['angles']:.3g}, "
              f"vs f32 RMSNorm {d['rms_norm']:.3g}, vs plain model.double() {d['plain']:.3g}"
              + ("" if plain_greedy64 == greedy64 else "; plain model.double() GREEDY DIFFERS"))
        assert case["greedy_new_ids"] == case["greedy_new_ids_f64"], (name, case["name"], "f32/f64 greedy differ")
        assert len(set(greedy32)) >= 8, (name, case["name"], "greedy repeats itself: try another seed", greedy32)
        d_own = (independent_logits64(folder, model.config, ids) - logits64).abs().max().item()
        worst_own = max(worst_own, d_own)
        assert d_own < 1e-11, f"{name}: patched model.double() and the plain float64 forward differ by {d_own}"
    if not has_rms_norm:
        assert worst["rms_norm"] == 0.0
    print(f"  {name}: f64 logits max |d| against: f32 angles {worst['angles']:.3g}, f32 RMSNorm "
          f"{worst['rms_norm']:.3g}, plain model.double() {worst['plain']:.3g}; "
          f"the patches move f32 logits by {f32_patch_effect:.3g}; logits_f64 vs a float64 forward "
          f"written here {worst_own:.3g}")

    reference = {
        **reference_header(ROPE_NEW_TOKENS, vocab_size),
        "config": family_config_record(name, model.config, class_name, weights_dtype, seed),
        "f64_patch": "logits_f64 and greedy_new_ids_f64: model.double() with the rotary embedding's inv_freq, "
                     "angles, cos and sin computed in float64 and RMSNorm computed in float64 (transformers "
                     "computes both in float32 even in a float64 model); logits_f64_f32_angles: the same but "
                     "with the rotary embedding as transformers computes it (float32)",
        "logits_f64_vs_f32_angles_max_abs_diff": worst["angles"],
        "logits_f64_vs_f32_rms_norm_max_abs_diff": worst["rms_norm"] if has_rms_norm else None,
        "logits_f64_vs_plain_double_max_abs_diff": worst["plain"],
        "f32_logits_moved_by_f64_patch_max_abs_diff": f32_patch_effect,
        "logits_f64_vs_independent_f64_forward_max_abs_diff": worst_own,
        "cases": cases,
        # keys after RoPE (and after k_norm in Qwen 3), as transformers' DynamicCache holds them
        "past_key_values_check": kv_check(model, cases[1], heads="n_kv_heads", note="; keys after RoPE"),
    }
    write_reference(folder, reference)
    return folder


def independent_logits64(folder, config, ids):
    """A second opinion on logits_f64: the forward pass written out here in float64 from the
    safetensors files, without transformers' modules (only its config values). It must agree
    with the patched model.double() to ~1e-12, which shows the patches left no float32 step."""
    w = {k: t.double() for k, t in stored_tensors(folder).items()}
    c = config
    n_heads = c.num_attention_heads
    n_kv = getattr(c, "num_key_value_heads", n_heads)
    head_dim = getattr(c, "head_dim", None) or c.hidden_size // n_heads
    inv_freq = inv_freq_of(c, torch.float64)
    rot = 2 * len(inv_freq)
    t = len(ids)
    angles = torch.arange(t, dtype=torch.float64)[:, None] * inv_freq[None, :]  # [seq, rot/2]
    cos, sin = torch.cat((angles, angles), -1).cos(), torch.cat((angles, angles), -1).sin()  # [seq, rot]

    def rope(x):  # [heads, seq, head_dim]; rotate-half on the first `rot` dims
        r, rest = x[..., :rot], x[..., rot:]
        half = torch.cat((-r[..., rot // 2:], r[..., :rot // 2]), -1)
        return torch.cat((r * cos + half * sin, rest), -1)

    def attend(q, k, v):  # q [n_heads, seq, hd], k/v [n_kv, seq, hd] -> [seq, n_heads * hd]
        k = k.repeat_interleave(n_heads // k.shape[0], 0)
        v = v.repeat_interleave(n_heads // v.shape[0], 0)
        scores = q @ k.transpose(1, 2) / math.sqrt(head_dim)  # [n_heads, seq, seq]
        scores = scores.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
        return (scores.softmax(-1) @ v).transpose(0, 1).reshape(t, n_heads * head_dim)

    def linear(x, name):
        y = x @ w[name + ".weight"].T
        return y + w[name + ".bias"] if name + ".bias" in w else y

    if c.model_type == "gpt_neox":
        def ln(x, name):
            return torch.nn.functional.layer_norm(x, (c.hidden_size,), w[name + ".weight"], w[name + ".bias"],
                                                  c.layer_norm_eps)
        x = w["gpt_neox.embed_in.weight"][ids]  # [seq, hidden]
        for i in range(c.num_hidden_layers):
            p = f"gpt_neox.layers.{i}."
            qkv = linear(ln(x, p + "input_layernorm"), p + "attention.query_key_value")
            qkv = qkv.view(t, n_heads, 3 * head_dim).transpose(0, 1)  # [n_heads, seq, 3 * hd]
            q, k, v = qkv.split(head_dim, -1)
            attn = linear(attend(rope(q), rope(k), v), p + "attention.dense")
            h = ln(x, p + "post_attention_layernorm")  # parallel residual: from x, not x + attn
            mlp = linear(torch.nn.functional.gelu(linear(h, p + "mlp.dense_h_to_4h")), p + "mlp.dense_4h_to_h")
            x = x + attn + mlp
        return linear(ln(x, "gpt_neox.final_layer_norm"), "embed_out")

    def rms(x, name):
        return w[name + ".weight"] * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + c.rms_norm_eps))

    def moe64(h, p):  # [seq, hidden]: every token through its top-k experts, token by token
        mixtral = c.model_type == "mixtral"
        m = p + ("block_sparse_moe." if mixtral else "mlp.")
        gate_name, up_name, down_name = ("w1", "w3", "w2") if mixtral else ("gate_proj", "up_proj", "down_proj")
        probs = (h @ w[m + "gate.weight"].T).softmax(-1)  # [seq, experts]
        out = torch.zeros_like(h)
        for tok in range(t):
            top = sorted(range(probs.shape[1]), key=lambda e: -probs[tok, e].item())[:c.num_experts_per_tok]
            weights = probs[tok, top]
            if mixtral or c.norm_topk_prob:
                weights = weights / weights.sum()
            for e, wt in zip(top, weights):
                e_ = f"{m}experts.{e}."
                y = torch.nn.functional.silu(linear(h[tok], e_ + gate_name)) * linear(h[tok], e_ + up_name)
                out[tok] += wt * linear(y, e_ + down_name)
        return out

    x = w["model.embed_tokens.weight"][ids]
    for i in range(c.num_hidden_layers):
        p = f"model.layers.{i}."
        h = rms(x, p + "input_layernorm")
        q = linear(h, p + "self_attn.q_proj").view(t, n_heads, head_dim).transpose(0, 1)
        k = linear(h, p + "self_attn.k_proj").view(t, n_kv, head_dim).transpose(0, 1)
        v = linear(h, p + "self_attn.v_proj").view(t, n_kv, head_dim).transpose(0, 1)
        if c.model_type in ("qwen3", "qwen3_moe"):
            q, k = rms(q, p + "self_attn.q_norm"), rms(k, p + "self_attn.k_norm")
        x = x + linear(attend(rope(q), rope(k), v), p + "self_attn.o_proj")
        h = rms(x, p + "post_attention_layernorm")
        if is_moe_layer(c, i):
            x = x + moe64(h, p)
            continue
        gate = torch.nn.functional.silu(linear(h, p + "mlp.gate_proj"))
        x = x + linear(gate * linear(h, p + "mlp.up_proj"), p + "mlp.down_proj")
    x = rms(x, "model.norm")
    head = w["lm_head.weight"] if "lm_head.weight" in w else w["model.embed_tokens.weight"]
    return x @ head.T


def stored_tensors(folder):
    tensors = {}
    for f in sorted(os.listdir(folder)):
        if f.endswith(".safetensors"):
            tensors.update(safetensors.torch.load_file(os.path.join(folder, f)))
    return tensors


def check_sharded(folder, made, cls):
    """The sharded folder: >= 2 shards and an index naming every tensor; transformers loads it to
    the same weights and the same logits as the same model saved unsharded. (Logits of a
    one-token input also depend on how each weight buffer happens to be aligned in the file that
    is memory-mapped, see make_folder, so those are compared with the weights copied to freshly
    allocated memory.)"""
    with open(os.path.join(folder, "model.safetensors.index.json"), encoding="utf-8") as f:
        index = json.load(f)
    shards = sorted(set(index["weight_map"].values()))
    assert len(shards) >= 2, shards
    assert sorted(index["weight_map"]) == sorted(stored_tensors(folder)), "index and shards disagree"
    with tempfile.TemporaryDirectory() as single:
        made.save_pretrained(single, safe_serialization=True)
        assert os.path.exists(os.path.join(single, "model.safetensors"))
        a = cls.from_pretrained(folder, dtype=torch.float32).eval()
        b = cls.from_pretrained(single, dtype=torch.float32).eval()
        assert all(torch.equal(t, b.state_dict()[k]) for k, t in a.state_dict().items())
        for ids in ([7, 8, 9, 10, 11, 12], list(range(20, 40))):
            assert torch.equal(logits_of(a, ids), logits_of(b, ids)), "sharded reload gives other logits"
        for m in (a, b):
            for p in m.parameters():
                p.data = p.data.clone()
        assert torch.equal(logits_of(a, [5]), logits_of(b, [5])), "sharded reload gives other logits"
    print(f"  {os.path.basename(folder)}: {len(shards)} shards, reloads to the logits of the unsharded save")



def total_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="where to write (default: tests/fixtures)")
    parser.add_argument("--only", nargs="+", choices=["gpt2", *ROPE_FAMILIES, *MOE_FAMILIES], metavar="NAME",
                        help="write only these: gpt2 (the three GPT-2 folders) and/or "
                             + ", ".join([*ROPE_FAMILIES, *MOE_FAMILIES]) + " (default: all)")
    args = parser.parse_args()
    only = set(args.only or ["gpt2", *ROPE_FAMILIES, *MOE_FAMILIES])
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, tokenizers {tokenizers.__version__}")
    if "gpt2" in only:
        for name, (n_layer, n_head, n_embd, n_positions, vocab_size, seed) in CONFIGS.items():
            folder, model = make_folder(args.out, name, n_layer, n_head, n_embd, n_positions, vocab_size, seed)
            if name == "gpt2-tiny-a":
                write_published_layout(folder, model)
    for name in [*ROPE_FAMILIES, *MOE_FAMILIES]:
        if name in only:
            make_rope_folder(args.out, name)
    for d, _, fs in os.walk(args.out):  # safetensors writes 0600 files; make them all 0644
        for f in fs:
            os.chmod(os.path.join(d, f), 0o644)
    gpt2 = sum(total_bytes(os.path.join(args.out, n)) for n in [*CONFIGS, "gpt2-tiny-a-published-layout"]
               if os.path.isdir(os.path.join(args.out, n)))
    rope = sum(total_bytes(os.path.join(args.out, n)) for n in ROPE_FAMILIES if os.path.isdir(os.path.join(args.out, n)))
    print(f"fixtures written under {args.out}: GPT-2 folders {gpt2} bytes, RoPE folders {rope} bytes")
    assert gpt2 < MAX_TOTAL_BYTES, f"GPT-2 fixtures are {gpt2} bytes, over {MAX_TOTAL_BYTES}: use fewer or shorter cases"
    assert rope < MAX_ROPE_BYTES, f"RoPE fixtures are {rope} bytes, over {MAX_ROPE_BYTES}: use fewer or shorter cases"
    moe = sum(total_bytes(os.path.join(args.out, n)) for n in MOE_FAMILIES if os.path.isdir(os.path.join(args.out, n)))
    print(f"MoE folders {moe} bytes")
    assert moe < MAX_MOE_BYTES, f"MoE fixtures are {moe} bytes, over {MAX_MOE_BYTES}: use fewer or shorter cases"
    return 0


if __name__ == "__main__":
    sys.exit(main())
