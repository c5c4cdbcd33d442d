#!/usr/bin/env python3
"""Chapter 5's training speed beside PyTorch: the same model, the same batches, the same threads.

    python tools/bench-training-vs-pytorch.py                       # the shipped model's shape
    python tools/bench-training-vs-pytorch.py --batch-size 4 --seq-len 128 --steps 12

Needs torch, transformers and tokenizers (`pip install -r tools/requirements-fixtures.txt`)
and cargo.

1. Builds a GPT-2 with seeded random weights in transformers, with the configuration of the
   shipped model (models/gpt2-stories-3.5m: 4 layers, 4 heads, 256 wide, context 256, its
   946-id vocabulary; --model DIR for another folder), saves it with `save_pretrained` and
   copies the folder's tokenizer.json beside it.
2. Runs `ch05-training --init FOLDER --data TEXT --json` (built with `cargo build --release`):
   this project's forward, hand-written backward and AdamW, one batch per step in llm.c's order.
3. Runs PyTorch on the same weights and the same batches (the text tokenized by the same
   tokenizer.json with the `tokenizers` library, batch k = tokens k*B*T .. k*B*T + B*T + 1):
   `model(x)`, `F.cross_entropy`, `loss.backward()`, `torch.optim.AdamW` (PyTorch's default,
   fastest implementation), `zero_grad`; dropout 0, weight decay 0.
4. Prints the CPU, the median tokens/s of each (steps after --warmup, each timed alone) and the
   ratio, and checks that both computed the same step-0 loss (the same batch and weights).

Both use --threads threads (RAYON_NUM_THREADS, torch.set_num_threads). The machine may be
shared, so the two sides alternate --rounds times; each figure is the median over the rounds,
and the ratio the median of the per-round ratios. `uptime`'s load is printed with them.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--model", default=os.path.join(ROOT, "models", "gpt2-stories-3.5m"),
                help="folder whose config.json and tokenizer.json set the shape (its weights are not used)")
ap.add_argument("--data", help="training text (default: the first val stories of make-stories, generated into a temporary folder)")
ap.add_argument("--batch-size", type=int, default=8)
ap.add_argument("--seq-len", type=int, default=256)
ap.add_argument("--steps", type=int, default=10, help="timed steps per run, after --warmup")
ap.add_argument("--warmup", type=int, default=2, help="untimed steps at the start of each run")
ap.add_argument("--lr", type=float, default=2e-3)
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--seed", type=int, default=42)
ap.add_argument("--json", action="store_true", help="print one JSON object with everything")
args = ap.parse_args()

os.environ["OMP_NUM_THREADS"] = str(args.threads)
os.environ["RAYON_NUM_THREADS"] = str(args.threads)

try:
    import tokenizers
    import torch
    import torch.nn.functional as F
    import transformers
    from transformers import GPT2Config, GPT2LMHeadModel
except ImportError as e:
    sys.exit(f"error: {e}: install torch and transformers (pip install -r tools/requirements-fixtures.txt)")

transformers.logging.set_verbosity_error()


def log(*a):
    print(*a, file=sys.stderr if args.json else sys.stdout, flush=True)


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def load():
    return os.getloadavg()[0]


def batch(tokens, k, b, t):
    """Batch k in llm.c's order: (inputs, targets), each [b, t]."""
    n = b * t
    start = (k % ((len(tokens) - 1) // n)) * n
    chunk = torch.tensor(tokens[start:start + n + 1], dtype=torch.long)
    return chunk[:n].view(b, t), chunk[1:].view(b, t)


def torch_run(folder, tokens):
    """(step-0 loss, seconds of every step) of PyTorch training the saved model."""
    model = GPT2LMHeadModel.from_pretrained(folder).to(torch.float32).train()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    losses, seconds = [], []
    for k in range(args.warmup + args.steps):
        x, y = batch(tokens, k, args.batch_size, args.seq_len)
        t0 = time.perf_counter()
        logits = model(input_ids=x).logits
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        seconds.append(time.perf_counter() - t0)
        losses.append(loss.item())
    return losses, seconds


def rust_run(folder, data):
    cmd = [os.path.join(ROOT, "target", "release", "ch05-training"), "--init", folder, "--data", data,
           "--batch-size", str(args.batch_size), "--seq-len", str(args.seq_len),
           "--steps", str(args.warmup + args.steps), "--lr", str(args.lr), "--json"]
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        sys.exit(f"error: ch05-training failed (exit {done.returncode})")
    out = json.loads(done.stdout)
    return out["losses"], out["step_seconds"]


def tokens_per_s(seconds):
    return args.batch_size * args.seq_len / statistics.median(seconds[args.warmup:])


def main():
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    log("Building chapter 5's binary (cargo build --release -p ch05-training --bins)...")
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "ch05-training", "--bins"], cwd=ROOT, check=True)
    with open(os.path.join(args.model, "config.json")) as f:
        shape = json.load(f)
    cfg = GPT2Config(vocab_size=shape["vocab_size"], n_positions=shape["n_positions"], n_embd=shape["n_embd"],
                     n_layer=shape["n_layer"], n_head=shape["n_head"], layer_norm_epsilon=shape.get("layer_norm_epsilon", 1e-5),
                     resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                     bos_token_id=shape["vocab_size"] - 1, eos_token_id=shape["vocab_size"] - 1)
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(tmp, "model")
        GPT2LMHeadModel(cfg).save_pretrained(folder, safe_serialization=True)
        shutil.copy(os.path.join(args.model, "tokenizer.json"), folder)
        data = args.data
        if data is None:
            stories = os.path.join(tmp, "stories")
            subprocess.run([os.path.join(ROOT, "target", "release", "make-stories"), "--out", stories,
                            "--train-stories", "2000", "--val-stories", "1"], check=True, stderr=subprocess.DEVNULL)
            data = os.path.join(stories, "train.txt")
        with open(data, encoding="utf-8") as f:
            tokens = tokenizers.Tokenizer.from_file(os.path.join(folder, "tokenizer.json")).encode(f.read()).ids
        need = (args.warmup + args.steps) * args.batch_size * args.seq_len + 1
        if len(tokens) < need:
            log(f"note: {len(tokens)} tokens, fewer than the {need} of distinct batches: the batches repeat")
        n_params = sum(p.numel() for p in GPT2LMHeadModel.from_pretrained(folder).parameters())
        rounds = []
        for r in range(1, args.rounds + 1):
            log(f"Round {r} of {args.rounds}: this project (load {load():.1f})...")
            ours_losses, ours_s = rust_run(folder, data)
            log(f"Round {r} of {args.rounds}: PyTorch {torch.__version__} (load {load():.1f})...")
            torch_losses, torch_s = torch_run(folder, tokens)
            rounds.append(dict(ours=tokens_per_s(ours_s), torch=tokens_per_s(torch_s),
                               ours_losses=ours_losses, torch_losses=torch_losses, load=load()))
    med = statistics.median
    first = rounds[0]
    step0 = abs(first["ours_losses"][0] - first["torch_losses"][0]) / abs(first["torch_losses"][0])
    report = dict(cpu=cpu_model(), threads=args.threads, torch=torch.__version__, transformers=transformers.__version__,
                  n_params=n_params, batch_size=args.batch_size, seq_len=args.seq_len, steps=args.steps, warmup=args.warmup,
                  rounds=args.rounds, ours_tokens_per_s=med(r["ours"] for r in rounds),
                  torch_tokens_per_s=med(r["torch"] for r in rounds),
                  ratio=med(r["ours"] / r["torch"] for r in rounds), step0_loss_rel_diff=step0,
                  load_1min=[r["load"] for r in rounds], per_round=rounds)
    if args.json:
        print(json.dumps(report, indent=1))
        return
    print()
    print(f"CPU: {report['cpu']}; {args.threads} threads; PyTorch {torch.__version__}, transformers {transformers.__version__}")
    print(f"GPT-2 {shape['n_layer']} layers x {shape['n_head']} heads x {shape['n_embd']} wide, context {shape['n_positions']}, "
          f"vocabulary {shape['vocab_size']} ({n_params / 1e6:.2f}M parameters), fp32, batch {args.batch_size} x {args.seq_len} tokens, "
          f"AdamW lr {args.lr}, weight decay 0")
    print(f"training tokens/s, median of {args.steps} steps per run, median of {args.rounds} alternating rounds:")
    print(f"  this project (forward, hand-written backward, AdamW): {report['ours_tokens_per_s']:8.0f} tokens/s")
    print(f"  PyTorch (autograd, torch.optim.AdamW):                {report['torch_tokens_per_s']:8.0f} tokens/s")
    print(f"  ours / PyTorch: {report['ratio']:.2f}x (median of the per-round ratios)")
    print(f"  step-0 loss: ours {first['ours_losses'][0]:.6f}, PyTorch {first['torch_losses'][0]:.6f} (relative difference {step0:.1e})")
    print(f"  load average (1 min) after each round: {', '.join(f'{l:.1f}' for l in report['load_1min'])} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
