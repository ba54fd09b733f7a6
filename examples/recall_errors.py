#!/usr/bin/env python3
"""Which associative-recall queries a hyena-train-recall checkpoint misses.

    recall_errors.py CHECKPOINT [--vocab 30] [--length 1024] [--sequences 600] [--seed 7]
                     [--occurrence-edges 25,35,45] [--threads N]

Draws fresh sequences the way hyena-train-recall does (keys are the first half
of the vocabulary, values the second, one random map per sequence, then a
query key seen before) and prints the accuracy on the final query, split by
how many times the query key occurs before it, by how far back it last
occurred, by whether another key shares its value, and by the query key
itself; then which keys' embeddings point the same way (a run that stalls
near 90% merges two or three keys into one code). Needs numpy and the hyena
Python module (python/install.sh); not part of CI.
"""
import argparse

import numpy as np

import hyena


def draw(rng, n, vocab, length):
    keys = vocab // 2
    values = vocab - keys
    pairs = (length - 2) // 2
    ids = np.zeros((n, length), dtype=np.int64)
    answers = np.zeros(n, dtype=np.int64)
    occurrences = np.zeros(n, dtype=np.int64)
    gaps = np.zeros(n, dtype=np.int64)
    shared = np.zeros(n, dtype=bool)
    for b in range(n):
        value_of = keys + rng.integers(0, values, keys)
        drawn = rng.integers(0, keys, pairs)
        ids[b, 0:2 * pairs:2] = drawn
        ids[b, 1:2 * pairs:2] = value_of[drawn]
        query = drawn[rng.integers(0, pairs)]
        ids[b, length - 2] = query
        ids[b, length - 1] = value_of[query]
        answers[b] = value_of[query]
        seen = np.nonzero(drawn == query)[0]
        occurrences[b] = len(seen)
        gaps[b] = (length - 2) - 2 * seen.max()
        shared[b] = len(set(drawn[value_of[drawn] == value_of[query]])) > 1
    return ids, answers, occurrences, gaps, shared


def key_embeddings(path, keys):
    """The embedding rows of the keys, read from the checkpoint."""
    table = hyena.load_safetensors(path)["backbone.embeddings.word_embeddings.weight"]
    return table[:keys].astype(np.float64)


def report_codes(embeddings, threshold=0.5):
    """Keys whose centred embeddings have cosine above the threshold: one code for several keys."""
    centred = embeddings - embeddings.mean(axis=0)
    unit = centred / np.linalg.norm(centred, axis=1, keepdims=True)
    cosine = unit @ unit.T
    groups, placed = [], set()
    for k in range(len(unit)):
        if k in placed:
            continue
        group = [j for j in range(len(unit)) if j not in placed and cosine[k, j] > threshold]
        placed.update(group)
        if len(group) > 1:
            groups.append(group)
    singular = np.linalg.svd(centred, compute_uv=False)
    print(f"\nkey embeddings: {int((singular > 0.25 * singular[0]).sum())} directions above a quarter "
          f"of the largest (centred singular values {' '.join(f'{x:.2f}' for x in singular)})")
    if groups:
        for g in groups:
            print(f"  keys {' '.join(map(str, g))} share one code (centred cosine > {threshold})")
    else:
        print(f"  no two keys share a code (every centred cosine <= {threshold})")


def report(name, correct, mask):
    count = int(mask.sum())
    accuracy = f"{100 * correct[mask].mean():6.2f}%" if count else "     -"
    print(f"  {name:<28} {count:6d} {accuracy}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--vocab", type=int, default=30)
    parser.add_argument("--length", type=int, default=1024)
    parser.add_argument("--sequences", type=int, default=600)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--occurrence-edges", default="25,35,45",
                        help="bucket edges for the query key's count (suits length 1024, vocabulary 30: 34 on average)")
    parser.add_argument("--threads", type=int, default=None)
    a = parser.parse_args()

    model = hyena.LM.load(a.checkpoint, vocab_size=a.vocab, threads=a.threads)
    ids, answers, occurrences, gaps, shared = draw(np.random.default_rng(a.seed), a.sequences, a.vocab, a.length)
    correct = np.zeros(a.sequences, dtype=bool)
    for first in range(0, a.sequences, 50):
        logits = model.logits(ids[first:first + 50])
        correct[first:first + 50] = logits[:, a.length - 2, :].argmax(-1) == answers[first:first + 50]

    print(f"final-query accuracy {100 * correct.mean():.2f}% over {a.sequences} sequences\n")
    print(f"  {'query key occurs':<28} {'n':>6} accuracy")
    edges = [0] + [int(e) for e in a.occurrence_edges.split(",")]
    for lo, hi in zip(edges[:-1], edges[1:]):
        report(f"{lo} to {hi - 1} times", correct, (occurrences >= lo) & (occurrences < hi))
    report(f"{edges[-1]} times or more", correct, occurrences >= edges[-1])
    print(f"\n  {'last seen (tokens back)':<28} {'n':>6} accuracy")
    for lo, hi in [(0, 32), (32, 64), (64, 128), (128, 256), (256, a.length)]:
        report(f"{lo} to {hi - 1}", correct, (gaps >= lo) & (gaps < hi))
    print(f"\n  {'its value':<28} {'n':>6} accuracy")
    report("shared with another key", correct, shared)
    report("its own", correct, ~shared)
    queries = ids[:, a.length - 2]
    print(f"\n  {'query key':<28} {'n':>6} accuracy")
    for k in range(a.vocab // 2):
        report(f"{k}", correct, queries == k)
    report_codes(key_embeddings(a.checkpoint, a.vocab // 2))


if __name__ == "__main__":
    main()
