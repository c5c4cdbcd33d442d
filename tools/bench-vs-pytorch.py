#!/usr/bin/env python3
"""This project's decode and prefill beside PyTorch + transformers, on the same weights, in one run.

    python tools/bench-vs-pytorch.py                    # GPT-2 124M shape
    python tools/bench-vs-pytorch.py --config small     # 4 layers, 256 wide, GPT-2 vocabulary

Needs torch and transformers (`pip install -r tools/requirements-fixtures.txt`) and cargo.

1. Builds a GPT-2 with seeded random weights in transformers and saves it with
   `save_pretrained` (config.json + model.safetensors) into a temporary folder.
2. Runs `cargo run --release -p bench -- --model FOLDER --json`: this project's
   memory bandwidth, sgemm peak, cached/uncached decode and prefill on those weights.
3. Times PyTorch on the same model, same prompts (ids[i] = (i*7919 + seed*104729 + 13) % vocab,
   the bench's formula), same definitions:
   - decode tokens/s = (N - 1) / (time of N new tokens - time of the first), greedy, batch 1;
     both `model.generate(use_cache=...)` and a hand-written loop over `past_key_values`
     (which skips generate's per-step overhead: the stricter comparison);
   - prefill = one forward pass over the prompt with `logits_to_keep=1`.
4. Times OpenBLAS's sgemm (numpy's BLAS) on prefill's four matrix shapes per block
   ([P,d]x[d,3d], [P,d]x[d,d], [P,d]x[d,4d], [P,4d]x[4d,d]): an independent ceiling for prefill,
   which is mostly those products.
5. Prints all side by side with the ratios, and how busy the machine was (other processes'
   CPU use while PyTorch ran, in cores: 0 = clean run).

Runs are sequential, never concurrent. The machine may be shared and its memory bandwidth can
change from one minute to the next, so the two sides alternate: --rounds times, this project's
bench (one run of each measurement) then PyTorch (the same). Each figure is the median over the
rounds, and each ratio the median of the per-round ratios (measured minutes apart, not more).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--config", choices=["124m", "small"], default="124m")
ap.add_argument("--rounds", type=int, default=3, help="alternations of this project's bench and PyTorch (medians reported)")
ap.add_argument("--runs", type=int, default=1, help="repetitions of every measurement within a round")
ap.add_argument("--new-tokens", type=int, default=200, help="cached decode length")
ap.add_argument("--uncached-new-tokens", type=int, default=10, help="uncached decode length")
ap.add_argument("--prompt-len", default="8,512", help="prompt lengths, comma separated")
ap.add_argument("--prefill-len", type=int, default=512)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--seed", type=int, default=42)
ap.add_argument("--json", action="store_true", help="print one JSON object with everything")
args = ap.parse_args()

os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
os.environ.setdefault("RAYON_NUM_THREADS", str(args.threads))
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))

try:
    import torch
    import transformers
    from transformers import GPT2Config, GPT2LMHeadModel
except ImportError as e:
    sys.exit(f"error: {e}: install torch and transformers (pip install -r tools/requirements-fixtures.txt)")

transformers.logging.set_verbosity_error()
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = {"124m": {}, "small": dict(n_layer=4, n_head=4, n_embd=256)}


def log(*a):
    if not args.json:
        print(*a, flush=True)
    else:
        print(*a, file=sys.stderr, flush=True)


def prompt(n, vocab, seed):
    return [(i * 7919 + seed * 104729 + 13) % vocab for i in range(n)]


def busy_jiffies():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - v[4]  # all but idle and iowait


def timed(fn):
    """(seconds, CPU seconds used by other processes meanwhile)."""
    hz = os.sysconf("SC_CLK_TCK")
    b0, own0, t0 = busy_jiffies(), sum(os.times()[:2]), time.perf_counter()
    fn()
    t1 = time.perf_counter()
    b1, own1 = busy_jiffies(), sum(os.times()[:2])
    return t1 - t0, max(0.0, (b1 - b0) / hz - (own1 - own0))


def median_of(fn):
    """(median seconds, cores used by other processes on average over all the runs). The CPU
    counters tick every 10 ms, so the load is averaged over the runs, not read from one short run."""
    fn()  # warm-up
    runs = [timed(fn) for _ in range(args.runs)]
    busy_elsewhere = sum(r[1] for r in runs) / sum(r[0] for r in runs)
    return statistics.median(r[0] for r in runs), busy_elsewhere


def blas_name():
    """numpy's BLAS library and version, as numpy reports them (pip's numpy ships OpenBLAS)."""
    import numpy
    try:
        blas = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # an older numpy without mode="dicts"
        return "numpy's BLAS (unknown)"


def blas_prefill_gflops(cfg):
    """GFLOP/s of numpy's sgemm (OpenBLAS in pip's numpy) on one block's four prefill products,
    by total time: median of args.runs (at least 3) timings of the four."""
    import numpy
    rng = numpy.random.default_rng(args.seed)
    p, d = args.prefill_len, cfg.n_embd
    shapes = [(p, d, 3 * d), (p, d, d), (p, d, 4 * d), (p, 4 * d, d)]
    mats = [(rng.standard_normal((m, k), dtype=numpy.float32), rng.standard_normal((k, n), dtype=numpy.float32))
            for m, k, n in shapes]
    flops = sum(2 * m * k * n for m, k, n in shapes)

    def four():
        for a, b in mats:
            a @ b

    four()  # warm-up
    times = []
    for _ in range(max(args.runs, 3)):
        t0 = time.perf_counter()
        four()
        times.append(time.perf_counter() - t0)
    return flops / statistics.median(times) / 1e9


def main():
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    cfg = GPT2Config(**CONFIGS[args.config])
    model = GPT2LMHeadModel(cfg).eval().to(torch.float32)
    vocab = cfg.vocab_size
    prompts = [int(x) for x in args.prompt_len.split(",")]

    eos = vocab  # an id generate never produces: every run makes exactly N tokens

    @torch.inference_mode()
    def generate(ids, n, use_cache):
        return model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                              max_new_tokens=n, min_new_tokens=n, use_cache=use_cache,
                              pad_token_id=0, eos_token_id=eos)

    @torch.inference_mode()
    def manual_cached(ids, n):
        out = model(input_ids=ids, use_cache=True, logits_to_keep=1)
        past, nxt = out.past_key_values, out.logits[:, -1, :].argmax(-1, keepdim=True)
        for _ in range(n - 1):
            out = model(input_ids=nxt, past_key_values=past, use_cache=True, logits_to_keep=1)
            past, nxt = out.past_key_values, out.logits[:, -1, :].argmax(-1, keepdim=True)

    def rate(fn_n, fn_1, n):
        """(n - 1) / (t(n) - t(1)): steps after the first token, like the Rust bench."""
        tn, fn_ = median_of(fn_n)
        t1, f1 = median_of(fn_1)
        return (n - 1) / max(tn - t1, 1e-9), max(fn_, f1)

    def torch_round():
        out = {}
        for p in prompts:
            ids = torch.tensor([prompt(p, vocab, args.seed)])
            n, u = args.new_tokens, args.uncached_new_tokens
            log(f"    prompt {p}: cached generate, hand-written cached loop, uncached generate...")
            gen_c, f1 = rate(lambda: generate(ids, n, True), lambda: generate(ids, 1, True), n)
            man_c, f2 = rate(lambda: manual_cached(ids, n), lambda: manual_cached(ids, 1), n)
            gen_u, f3 = rate(lambda: generate(ids, u, False), lambda: generate(ids, 1, False), u)
            out[p] = dict(gen_c=gen_c, man_c=man_c, gen_u=gen_u, foreign=max(f1, f2, f3))
        ids = torch.tensor([prompt(args.prefill_len, vocab, args.seed + 1)])
        with torch.inference_mode():
            pre_s, f4 = median_of(lambda: model(input_ids=ids, use_cache=True, logits_to_keep=1))
        out["prefill"] = dict(secs=pre_s, foreign=f4)
        log("    OpenBLAS sgemm on prefill's shapes...")
        out["blas_gflops"] = blas_prefill_gflops(cfg)
        return out

    rust_rounds, torch_rounds = [], []
    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder, safe_serialization=True)
        log(f"Saved a seeded random GPT-2 ({args.config}) with save_pretrained.")
        cmd = ["cargo", "run", "--release", "-q", "-p", "bench", "--", "--model", folder, "--json",
               "--runs", str(args.runs), "--new-tokens", str(args.new_tokens),
               "--uncached-new-tokens", str(args.uncached_new_tokens), "--prompt-len", args.prompt_len,
               "--prefill-len", str(args.prefill_len), "--seed", str(args.seed)]
        for r in range(1, args.rounds + 1):
            log(f"Round {r} of {args.rounds}: this project's bench on those weights...")
            done = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
            if done.returncode != 0:
                sys.exit(f"error: the Rust bench failed (exit {done.returncode})")
            rust_rounds.append(json.loads(done.stdout))
            log(f"Round {r} of {args.rounds}: PyTorch {torch.__version__} + transformers {transformers.__version__} on the same weights...")
            torch_rounds.append(torch_round())

    med = statistics.median
    rust = rust_rounds[-1]  # for the fixed quantities (FLOPs)
    rows = []
    for p in prompts:
        ours = [next(d for d in rr["decode"] if d["prompt_len"] == p) for rr in rust_rounds]
        tr = [t[p] for t in torch_rounds]
        rows.append(dict(
            prompt_len=p,
            ours_cached=med(o["cached_tokens_per_s"] for o in ours),
            torch_generate_cached=med(t["gen_c"] for t in tr),
            torch_loop_cached=med(t["man_c"] for t in tr),
            ours_uncached=med(o["uncached_tokens_per_s"] for o in ours),
            torch_generate_uncached=med(t["gen_u"] for t in tr),
            roofline=med(rr["roofline_tokens_per_s"] for rr in rust_rounds),
            ratio_generate=med(o["cached_tokens_per_s"] / t["gen_c"] for o, t in zip(ours, tr)),
            ratio_loop=med(o["cached_tokens_per_s"] / t["man_c"] for o, t in zip(ours, tr)),
            ratio_uncached=med(o["uncached_tokens_per_s"] / t["gen_u"] for o, t in zip(ours, tr)),
            of_roofline=med(o["cached_tokens_per_s"] / rr["roofline_tokens_per_s"] for o, rr in zip(ours, rust_rounds)),
            foreign_cores=max(t["foreign"] for t in tr)))
    ours_s = [rr["prefill"]["median_secs"] for rr in rust_rounds]
    torch_s = [t["prefill"]["secs"] for t in torch_rounds]
    prefill = dict(tokens=args.prefill_len, ours_s=med(ours_s), torch_s=med(torch_s),
                   ours_gflops=rust["prefill"]["flops"] / med(ours_s) / 1e9,
                   torch_gflops=rust["prefill"]["flops"] / med(torch_s) / 1e9,
                   ratio=med(t / o for o, t in zip(ours_s, torch_s)),
                   sgemm_peak_gflops=med(rr["sgemm_peak_gflops"] for rr in rust_rounds),
                   blas=blas_name(), blas_gflops=med(t["blas_gflops"] for t in torch_rounds),
                   of_blas=med(rust["prefill"]["flops"] / o / 1e9 / t["blas_gflops"] for o, t in zip(ours_s, torch_rounds)),
                   foreign_cores=max(t["prefill"]["foreign"] for t in torch_rounds))
    bandwidth = med(rr["bandwidth_gbps"] for rr in rust_rounds)
    report = dict(config=args.config, cpu=rust.get("cpu"), kernels=rust.get("kernels"), weights=rust.get("weights"),
                  threads=args.threads, rounds=args.rounds, runs=args.runs,
                  torch=torch.__version__, transformers=transformers.__version__, bandwidth_gbps=bandwidth,
                  roofline_tokens_per_s=med(rr["roofline_tokens_per_s"] for rr in rust_rounds),
                  decode=rows, prefill=prefill, rust_rounds=rust_rounds, torch_rounds=torch_rounds)
    if args.json:
        print(json.dumps(report, indent=1))
        return
    print()
    print(f"CPU: {report['cpu']}; kernels: {report['kernels']}")
    print(f"GPT-2 {args.config}, fp32, batch 1, {args.threads} threads, medians of {args.rounds} alternating rounds; "
          f"memory bandwidth {bandwidth:.1f} GB/s (median), roofline {report['roofline_tokens_per_s']:.1f} tok/s")
    print(f"{'prompt':>6} | {'ours cached':>11} | {'torch generate':>14} | {'torch loop':>10} | {'ours/generate':>13} | "
          f"{'ours/loop':>9} | {'of roofline':>11} | {'ours uncached':>13} | {'torch uncached':>14} | {'ratio':>5} | other load")
    for r in rows:
        print(f"{r['prompt_len']:>6} | {r['ours_cached']:>7.1f} t/s | {r['torch_generate_cached']:>10.1f} t/s | "
              f"{r['torch_loop_cached']:>6.1f} t/s | {r['ratio_generate']:>12.2f}x | "
              f"{r['ratio_loop']:>8.2f}x | {r['of_roofline']:>10.0%} | "
              f"{r['ours_uncached']:>9.2f} t/s | {r['torch_generate_uncached']:>10.2f} t/s | "
              f"{r['ratio_uncached']:>4.2f}x | {r['foreign_cores']:.2f} cores")
    print("(each ratio is the median of the per-round ratios; 'other load': CPU time the machine spent outside this script's\n"
          " process per second of PyTorch's runs, kernel work included, from 10 ms counters: a rough sign of interference)")
    p = prefill
    print(f"prefill of {p['tokens']} tokens: ours {p['ours_s']:.3f} s ({p['ours_gflops']:.1f} GFLOP/s, "
          f"{p['ours_gflops'] / p['sgemm_peak_gflops']:.0%} of the {p['sgemm_peak_gflops']:.0f} GFLOP/s sgemm peak), "
          f"torch {p['torch_s']:.3f} s ({p['torch_gflops']:.1f} GFLOP/s): ours is {p['ratio']:.2f}x as fast "
          f"(other load {p['foreign_cores']:.2f} cores)")
    print(f"{p['blas']} sgemm on the same prefill's four products per block: {p['blas_gflops']:.1f} GFLOP/s; "
          f"our whole prefill (attention, norms and all) ran at {p['of_blas']:.0%} of that (median of per-round ratios)")


if __name__ == "__main__":
    main()
