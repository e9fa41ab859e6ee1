#!/usr/bin/python3
"""The Neuron-style workflow with Kiln, end to end, on MRPC (paraphrase pairs):

  1. build a BERT-style pair classifier in PyTorch and train it briefly on data/mrpc/train.tsv (no
     pretrained weights can be fetched here), or load one saved by an earlier run (--load-torch)
  2. kiln.torch.trace it, and compare its outputs with eager mode
  3. benchmark the traced module against the eager one: latency p50/p99 at batch 1, throughput at batch 8
     (and a plot, when Debian's python3-matplotlib is installed)
  4. save it, load it, and classify the MRPC test pairs from their text (Kiln's own tokenizer), reporting
     accuracy next to eager PyTorch's

    /usr/bin/python3 examples/python/neuron_workflow.py --work /tmp/mrpc        # about two minutes
    PYTHONPATH=build/python is needed when the package is not installed (pip install --no-build-isolation .).

A model trained from scratch on 3,668 pairs for a minute learns little: expect an accuracy near the majority
class (66.5% of the test pairs are paraphrases). The point is that Kiln's answers are the eager module's.
"""
import argparse
import os
import sys
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "fixtures"))
sys.path.insert(0, os.path.join(ROOT, "tools", "text"))
import make_fixtures as mf  # noqa: E402  (the BERT modules, written out in PyTorch)
import wordpiece  # noqa: E402           (the Python WordPiece reference, to make training batches)

import kiln  # noqa: E402
import kiln.torch  # noqa: E402

VOCAB = os.path.join(ROOT, "data", "bert-base-uncased-vocab.txt")
MRPC = os.path.join(ROOT, "data", "mrpc")
SEQ = 128
LABELS = ["not_paraphrase", "paraphrase"]


def encode(tok, rows, seq):
    ids, types, mask = (np.zeros((len(rows), seq), np.int64) for _ in range(3))
    for i, (_, a, b) in enumerate(rows):
        _, x, t, m = tok.encode(a, b, max_length=seq, pad=True)
        ids[i], types[i], mask[i] = x, t, m
    return ids, types, mask


def build_and_train(steps, seed):
    """Step 1: a 2-layer BERT-style classifier (hidden 128) on the real BERT vocabulary, trained briefly."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    tok = wordpiece.WordPieceTokenizer(VOCAB, lower=True)
    train = wordpiece.read_glue_tsv(os.path.join(MRPC, "train.tsv"))
    ids, types, mask = encode(tok, train, SEQ)
    y = np.array([r[0] for r in train], np.int64)
    config = mf.Config(vocab_size=len(tok.vocab), hidden_size=128, num_hidden_layers=2, num_attention_heads=2,
                       intermediate_size=512, max_position_embeddings=SEQ, num_labels=2)
    model = mf.BertForSequenceClassification(config)
    mf.init_weights(model, seed)
    opt = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.01)
    model.train()
    lengths = mask.sum(1)
    t0 = time.time()
    for step in range(steps):
        idx = np.random.randint(0, len(train), 32)
        width = int(lengths[idx].max())
        logits = model(*(torch.from_numpy(a[idx, :width]) for a in (ids, mask, types)))
        loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(y[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (step + 1) % max(1, steps // 5) == 0:
            print("  step %d/%d: loss %.3f" % (step + 1, steps, loss.item()), flush=True)
    print("  trained %d steps in %.0f s" % (steps, time.time() - t0))
    return model.eval()


def timed(fn, seconds):
    """Per-call latencies (ms) of fn over about `seconds`, after two warm-up calls."""
    fn()
    fn()
    times, end = [], time.perf_counter() + seconds
    while time.perf_counter() < end or len(times) < 5:
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return np.array(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default="/tmp/kiln-mrpc", help="where the model and plot are written")
    ap.add_argument("--train-steps", type=int, default=400)
    ap.add_argument("--bench-seconds", type=float, default=3.0)
    ap.add_argument("--test-pairs", type=int, default=0, help="classify only the first N test pairs (0: all)")
    ap.add_argument("--load-torch", help="a state dict saved by an earlier run (skips training)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    torch.set_num_threads(os.cpu_count() or 1)

    print("1. model")
    if args.load_torch:
        config = mf.Config(vocab_size=30522, hidden_size=128, num_hidden_layers=2, num_attention_heads=2,
                           intermediate_size=512, max_position_embeddings=SEQ, num_labels=2)
        model = mf.BertForSequenceClassification(config)
        model.load_state_dict(torch.load(args.load_torch))
        model.eval()
    else:
        model = build_and_train(args.train_steps, args.seed)
        torch.save(model.state_dict(), os.path.join(args.work, "mrpc_torch.pt"))

    print("2. trace")
    tok = wordpiece.WordPieceTokenizer(VOCAB, lower=True)
    test = wordpiece.read_glue_tsv(os.path.join(MRPC, "test.tsv"))
    if args.test_pairs:
        test = test[:args.test_pairs]
    ids, types, mask = encode(tok, test[:8], SEQ)
    example = (torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(types))
    t0 = time.time()
    traced = kiln.torch.trace(model, example, vocab=VOCAB, labels=LABELS, task="pair-classification")
    print("  traced and compiled in %.1f s: %s" % (time.time() - t0, traced.info.precision))
    with torch.no_grad():
        eager_out = model(*example)
    print("  max abs difference from eager on the example batch: %.2e (verified by trace: %s)" % (
        float((traced(*example) - eager_out).abs().max()), traced.verification))

    print("3. benchmark (eager PyTorch vs Kiln)")
    one = tuple(t[:1] for t in example)
    results = {}
    with torch.no_grad():
        for name, fn in (("eager", model), ("kiln", traced)):
            lat = timed(lambda: fn(*one), args.bench_seconds)
            batch = timed(lambda: fn(*example), args.bench_seconds)
            results[name] = dict(p50=np.median(lat), p99=np.percentile(lat, 99), throughput=8e3 / np.median(batch))
            print("  %-6s batch 1: p50 %.2f ms, p99 %.2f ms; batch 8: %.0f sequences/s" % (
                name, results[name]["p50"], results[name]["p99"], results[name]["throughput"]))
    print("  Kiln/eager: batch-1 p50 %.2fx the time, batch-8 throughput %.2fx" % (
        results["kiln"]["p50"] / results["eager"]["p50"], results["kiln"]["throughput"] / results["eager"]["throughput"]))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(1, 2, figsize=(8, 3))
        names = list(results)
        ax[0].bar(names, [results[n]["p50"] for n in names])
        ax[0].set_ylabel("batch-1 p50 latency (ms)")
        ax[1].bar(names, [results[n]["throughput"] for n in names])
        ax[1].set_ylabel("batch-8 sequences/s")
        fig.tight_layout()
        fig.savefig(os.path.join(args.work, "bench.png"))
        print("  plot: %s" % os.path.join(args.work, "bench.png"))
    except ImportError:
        print("  (python3-matplotlib is not installed: no plot)")

    print("4. save, load, classify MRPC test pairs from text")
    path = os.path.join(args.work, "mrpc.kiln")
    traced.save(path)
    with kiln.load(path) as m:
        t0 = time.time()
        result = m.classify([r[1] for r in test], pairs=[r[2] for r in test])
        seconds = time.time() - t0
    labels = np.array([r[0] for r in test])
    kiln_pred = np.array([r["index"] for r in result])
    ids, types, mask = encode(tok, test, SEQ)
    with torch.no_grad():
        eager_pred = np.concatenate([model(*(torch.from_numpy(a[i:i + 64]) for a in (ids, mask, types))).argmax(1).numpy()
                                     for i in range(0, len(test), 64)])
    print("  %d pairs in %.2f s: Kiln accuracy %.2f%%, eager PyTorch %.2f%%, label agreement %.2f%% "
          "(majority class %.2f%%)" % (len(test), seconds, 100 * (kiln_pred == labels).mean(),
                                       100 * (eager_pred == labels).mean(), 100 * (kiln_pred == eager_pred).mean(),
                                       100 * max(labels.mean(), 1 - labels.mean())))
    return 0 if (kiln_pred == eager_pred).mean() >= 0.99 else 1


if __name__ == "__main__":
    sys.exit(main())
