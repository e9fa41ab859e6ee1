#!/usr/bin/python3
"""Train Kiln's small SST-2 sentiment classifier from scratch and export it to ONNX.

No pretrained weights can be downloaded where Kiln is built, so the model that measures the accuracy
cost of reduced precision (docs/precision.md) is trained here: a 2-layer BERT-style encoder
(hidden 128, 2 heads, FFN 512, the real 30,522-token BERT uncased vocabulary) with a pooler and a
2-way classifier, the module structure of Hugging Face's BertForSequenceClassification
(tools/fixtures/make_fixtures.py). Seeded and deterministic on one machine; about 5 minutes on 2 cores.

    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 tools/train/train_sst2.py models/sst2_tiny

writes into the output folder:
    model.onnx                 opset 14, inputs input_ids / attention_mask / token_type_ids [batch, seq],
                               output logits [batch, 2]; the word-embedding table is stored in fp16
                               (a Cast to fp32 in the graph) to keep the file small
    config.json                architecture, label map, training settings and the measured accuracy
    pytorch_dev_logits.npy     PyTorch fp32 logits on SST-2 dev (872 x 2) at sequence length 64: the
                               reference the end-to-end tests compare Kiln with
"""

import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
sys.path.insert(0, os.path.join(HERE, "..", "text"))
import make_fixtures as mf  # noqa: E402
import wordpiece  # noqa: E402

DATA = os.path.join(HERE, "..", "..", "data")
SEQ = 64  # every SST-2 sentence fits (the longest train sentence is 66 tokens; 2 are truncated)


def encode_all(tok, sentences, seq):
    ids = np.zeros((len(sentences), seq), np.int64)
    mask = np.zeros((len(sentences), seq), np.int64)
    for i, s in enumerate(sentences):
        _, x, _, m = tok.encode(s, max_length=seq, pad=True)
        ids[i], mask[i] = x, m
    return ids, mask


def accuracy(model, ids, mask, batch=256):
    model.eval()
    logits = []
    with torch.no_grad():
        for i in range(0, len(ids), batch):
            x = torch.from_numpy(ids[i : i + batch])
            m = torch.from_numpy(mask[i : i + batch])
            logits.append(model(x, m, torch.zeros_like(x)))
    return torch.cat(logits).numpy()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--data", default=DATA, help="folder with bert-base-uncased-vocab.txt and sst2/")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--limit", type=int, default=0, help="train on the first N sentences only (a smoke test)")
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(os.cpu_count() or 1)
    t_start = time.time()

    vocab_path = os.path.join(args.data, "bert-base-uncased-vocab.txt")
    tok = wordpiece.WordPieceTokenizer(vocab_path, lower=True)
    train = wordpiece.read_glue_tsv(os.path.join(args.data, "sst2", "train.tsv"))
    if args.limit:
        train = train[: args.limit]
    dev = wordpiece.read_glue_tsv(os.path.join(args.data, "sst2", "dev.tsv"))
    tr_ids, tr_mask = encode_all(tok, [r[1] for r in train], SEQ)
    tr_y = np.array([r[0] for r in train], np.int64)
    dv_ids, dv_mask = encode_all(tok, [r[1] for r in dev], SEQ)
    dv_y = np.array([r[0] for r in dev], np.int64)
    tr_len = tr_mask.sum(1)
    print("tokenised %d train / %d dev sentences in %.1f s" % (len(train), len(dev), time.time() - t_start), flush=True)

    config = mf.Config(vocab_size=len(tok.vocab), hidden_size=128, num_hidden_layers=2, num_attention_heads=2,
                       intermediate_size=512, max_position_embeddings=128, num_labels=2, mask_value="finfo",
                       hidden_act="gelu")
    model = mf.BertForSequenceClassification(config)
    no_decay = [p for n, p in model.named_parameters() if "LayerNorm" in n or n.endswith("bias")]
    decay = [p for n, p in model.named_parameters() if not ("LayerNorm" in n or n.endswith("bias"))]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr)
    steps_per_epoch = math.ceil(len(train) / args.batch)
    total = steps_per_epoch * args.epochs
    warmup = total // 10
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warmup if s < warmup else max(0.0, (total - s) / (total - warmup)))
    loss_fn = torch.nn.CrossEntropyLoss()
    history = []
    for epoch in range(args.epochs):
        model.train()
        order = np.random.permutation(len(train))
        t0, seen, loss_sum = time.time(), 0, 0.0
        for b in range(steps_per_epoch):
            idx = order[b * args.batch : (b + 1) * args.batch]
            width = int(tr_len[idx].max())  # pad each batch only to its longest sentence
            x = torch.from_numpy(tr_ids[idx, :width])
            m = torch.from_numpy(tr_mask[idx, :width])
            logits = model(x, m, torch.zeros_like(x))
            loss = loss_fn(logits, torch.from_numpy(tr_y[idx]))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(idx)
            seen += len(idx)
        acc = float((accuracy(model, dv_ids, dv_mask).argmax(1) == dv_y).mean())
        history.append({"epoch": epoch + 1, "train_loss": loss_sum / seen, "dev_accuracy": acc})
        print("epoch %d: train loss %.4f, dev accuracy %.4f (%.0f s)" % (epoch + 1, loss_sum / seen, acc, time.time() - t0),
              flush=True)

    # The exported model stores the word embeddings in fp16: round them now so that PyTorch's reference
    # logits are those of exactly the model in the file.
    emb = model.bert.embeddings.word_embeddings.weight
    with torch.no_grad():
        emb.copy_(emb.half().float())
    model.eval()
    dev_logits = accuracy(model, dv_ids, dv_mask)
    dev_acc = float((dev_logits.argmax(1) == dv_y).mean())
    print("dev accuracy (fp16 word embeddings): %.4f" % dev_acc, flush=True)

    os.makedirs(args.out_dir, exist_ok=True)
    onnx_path = os.path.join(args.out_dir, "model.onnx")
    spec = {"inputs": ["input_ids", "attention_mask", "token_type_ids"], "outputs": ["logits"],
            "output_kind": "sequence_logits", "opset": 14, "constant_folding": True}
    example = {"input_ids": dv_ids[:2], "attention_mask": dv_mask[:2], "token_type_ids": np.zeros_like(dv_ids[:2])}
    mf.export_onnx(model, spec, example, onnx_path)
    store_embeddings_fp16(onnx_path, emb.detach().numpy())
    np.save(os.path.join(args.out_dir, "pytorch_dev_logits.npy"), dev_logits.astype(np.float32))

    meta = {
        "architecture": "BertForSequenceClassification",
        "hidden_size": config.hidden_size, "num_hidden_layers": config.num_hidden_layers,
        "num_attention_heads": config.num_attention_heads, "intermediate_size": config.intermediate_size,
        "max_position_embeddings": config.max_position_embeddings, "vocab_size": config.vocab_size,
        "hidden_act": "gelu", "id2label": {"0": "negative", "1": "positive"}, "do_lower_case": True,
        "sequence_length": SEQ,
        "training": {"data": "GLUE SST-2 train (67,349 sentences), data/sst2/train.tsv",
                     "vocab": "bert-base-uncased-vocab.txt (sha256 07eced37...)",
                     "epochs": args.epochs, "batch": args.batch, "lr": args.lr, "seed": args.seed,
                     "optimizer": "AdamW, weight decay 0.01, 10% linear warm-up then linear decay",
                     "torch": torch.__version__, "seconds": round(time.time() - t_start), "history": history},
        "sst2_dev_accuracy_pytorch_fp32": dev_acc,
    }
    with open(os.path.join(args.out_dir, "config.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print("wrote %s (%.1f MB) in %.0f s" % (onnx_path, os.path.getsize(onnx_path) / 1e6, time.time() - t_start))


def store_embeddings_fp16(path, table):
    """Replaces the fp32 word-embedding initializer by an fp16 one plus a Cast node to fp32."""
    m = onnx.load(path)
    g = m.graph
    target = None
    for init in g.initializer:
        if tuple(init.dims) == table.shape and np.array_equal(numpy_helper.to_array(init), table):
            target = init
            break
    if target is None:
        raise SystemExit("word-embedding initializer not found in the exported graph")
    name = target.name
    half = numpy_helper.from_array(table.astype(np.float16), name + "_fp16")
    g.initializer.remove(target)
    g.initializer.append(half)
    g.node.insert(0, helper.make_node("Cast", [half.name], [name], name="word_embeddings_to_fp32", to=onnx.TensorProto.FLOAT))
    onnx.checker.check_model(m)
    onnx.save(m, path)


if __name__ == "__main__":
    main()
