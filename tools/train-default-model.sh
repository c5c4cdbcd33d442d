#!/usr/bin/env bash
# Reproduce the model every demo runs by default, from nothing but this repository:
#
#   tools/train-default-model.sh [OUT_DIR]      (default: models/gpt2-stories-3.5m)
#
# 1. chapter 5's story grammar writes the corpus (train.txt, val.txt) with seed 5, and
#    chapter 1's `train` learns a byte-level BPE tokenizer on train.txt (make-stories);
# 2. chapter 5's trainer trains a GPT-2 of 4 layers, 4 heads, 256 wide, context 256, from
#    weights drawn with seed 42, on train.txt in llm.c's order (900 steps of 8 x 256 tokens,
#    AdamW with lr 2e-3, 45 steps of warmup then cosine decay, no weight decay), measuring the
#    loss on the held-out val.txt every 50 steps, and saves a Hugging Face GPT-2 folder;
# 3. plot-losses draws the loss curve of the book.
#
# Same commit, same bytes: the corpus and tokenizer are seeded, and every parallel loop splits
# its work into fixed parts (no reduction depends on thread timing). About 20-30 minutes on 2
# cores; see the model folder's README.md for the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-models/gpt2-stories-3.5m}"
work=target/stories
export CARGO_TERM_COLOR=never
cargo build --release -p ch05-training --bins
# ANCHOR: pipeline
target/release/make-stories --out "$work" --seed 5 --train-stories 40000 --val-stories 1000 --vocab-size 1024
mkdir -p "$out"
target/release/ch05-training \
    --config small --tokenizer "$work/tokenizer.json" --n-layer 4 --n-head 4 --n-embd 256 --n-positions 256 --seed 42 \
    --data "$work/train.txt" --val-data "$work/val.txt" --eval-every 50 --val-batches 8 \
    --batch-size 8 --seq-len 256 --steps 900 --lr 2e-3 --cosine --warmup-steps 45 --weight-decay 0 \
    --out "$out" --log "$out/training-log.json"
target/release/plot-losses "$out/training-log.json" book/src/plots/ch05-training-loss.svg
# ANCHOR_END: pipeline
