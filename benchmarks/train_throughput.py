"""Training throughput of an embedding model: triplets per second, peak memory and achieved
TFLOP/s for one model, batch size, sequence length, device and precision. Prints JSON.

The step is the real one (MultipleNegativesRankingLoss on anchor/positive/negative, AdamW),
fed with random token ids of exactly --seq-len tokens so the FLOP count is exact. Throughput
does not depend on the weights, so `--model bert-base` uses a randomly initialised bert-base
(no download).

    python benchmarks/train_throughput.py                      # MiniLM, CPU, small
    python benchmarks/train_throughput.py --model bert-base --device cuda --precision fp16 \
        --batch-size 64 --seq-len 128 --steps 20
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time

MODELS = ("minilm", "bert-base", "tiny-bert")


def parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="minilm",
                    help=f"one of {MODELS}, or a local sentence-transformers folder")
    ap.add_argument("--batch-size", type=int, default=16, help="triplets per step")
    ap.add_argument("--seq-len", type=int, default=32, help="tokens per sentence")
    ap.add_argument("--steps", type=int, default=3, help="timed steps")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    ap.add_argument("--device", default="auto", help="auto, cpu, cuda, mps")
    ap.add_argument("--precision", choices=("fp32", "fp16", "bf16"), default="fp32")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    return ap.parse_args(argv)


def build_model(name: str):
    """A SentenceTransformer for the benchmark (offline for the built-in names)."""
    from course.models import load_embedder
    from course.training import random_bert

    if name == "minilm":
        return load_embedder(device="cpu")
    if name == "bert-base":
        return random_bert()
    if name == "tiny-bert":
        return random_bert(hidden=64, layers=2, heads=2)
    return load_embedder(name, device="cpu")


def flops_per_triplet(params: int, layers: int, hidden: int, seq_len: int) -> float:
    """Training FLOPs for one triplet (3 sentences): 6 x non-embedding params per token
    (forward 2, backward 4) plus attention scores, 6 x layers x seq_len x hidden per token
    (Kaplan et al., 2020)."""
    per_token = 6 * params + 6 * layers * seq_len * hidden
    return 3 * seq_len * per_token


def peak_memory_mib(device: str) -> tuple[float, str]:
    """Peak memory and what it measures: CUDA allocator peak, else the process's max RSS."""
    import torch

    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20, "cuda max_memory_allocated"
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return rss / (2**20 if sys.platform == "darwin" else 2**10), "process max RSS (whole process)"


def run(args: argparse.Namespace) -> dict:
    import torch
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    from course.env import device as pick_device

    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device() if args.device == "auto" else args.device
    if args.precision == "fp16" and device != "cuda":
        raise SystemExit("--precision fp16 needs --device cuda; use fp32 or bf16 on CPU.")
    torch.manual_seed(0)
    model = build_model(args.model).to(device)
    model.train()
    body = model[0].auto_model
    cfg = body.config
    embed_params = sum(p.numel() for n, p in body.named_parameters() if "embeddings" in n)
    params = sum(p.numel() for p in body.parameters()) - embed_params
    loss_fn = MultipleNegativesRankingLoss(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(args.precision)
    scaler = torch.amp.GradScaler("cuda", enabled=args.precision == "fp16")
    shape = (args.batch_size, args.seq_len)

    def features() -> dict:
        ids = torch.randint(1000, cfg.vocab_size, shape, device=device)
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids),
                "token_type_ids": torch.zeros_like(ids)}

    def step() -> None:
        batch = [features() for _ in range(3)]
        with torch.autocast(device_type=device, dtype=dtype, enabled=dtype is not None):
            loss = loss_fn(batch, None)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)

    def sync() -> None:
        if device == "cuda":
            torch.cuda.synchronize()

    for _ in range(args.warmup):
        step()
    sync()
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    sync()
    seconds = time.perf_counter() - start
    triplets_per_s = args.batch_size * args.steps / seconds
    flops = flops_per_triplet(params, cfg.num_hidden_layers, cfg.hidden_size, args.seq_len)
    memory, memory_kind = peak_memory_mib(device)
    return {
        "benchmark": "train_throughput", "model": args.model, "device": device,
        "device_name": torch.cuda.get_device_name(0) if device == "cuda" else platform.processor()
        or platform.machine(),
        "precision": args.precision, "batch_size": args.batch_size, "seq_len": args.seq_len,
        "steps": args.steps, "loss": "MultipleNegativesRankingLoss (anchor, positive, negative)",
        "non_embedding_params": params, "torch_threads": torch.get_num_threads(),
        "seconds": round(seconds, 3), "triplets_per_s": round(triplets_per_s, 2),
        "tokens_per_s": round(triplets_per_s * 3 * args.seq_len, 1),
        "achieved_tflops": round(triplets_per_s * flops / 1e12, 4),
        "peak_memory_mib": round(memory, 1), "peak_memory_kind": memory_kind,
        "torch": torch.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.batch_size < 2 or args.seq_len < 2 or args.steps < 1:
        raise SystemExit("--batch-size and --seq-len must be >= 2 and --steps >= 1.")
    print(json.dumps(run(args), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
