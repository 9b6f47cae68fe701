#!/usr/bin/env python3
"""Scores taggers' CoNLL-U output against a treebank file, each alone and by majority vote.

    python3 tools/tag_vote.py GOLD.conllu VOCAB-WORDS.txt PRED.conllu [PRED.conllu ...]

Each PRED is the output of `zoo predict --format conllu --file GOLD.conllu --run RUN`, so its
word lines line up with GOLD's. For each PRED, then for the vote of all of them (word by word, the
tag most runs chose; a tie goes to the run named first), the script prints the UPOS token
accuracy, the accuracy on words whose lowercased form VOCAB-WORDS (a run's `vocab-words.txt`)
lacks, and the accuracy on PROPN tokens. It reads the dev file where README's figures come from:
choosing on test would tune on it.
"""
import collections
import gzip
import sys


def words(path):
    """(FORM, UPOS) of every word line, ranges and empty nodes left out."""
    opener = gzip.open if path.endswith(".gz") else open
    out = []
    with opener(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            if not line.strip() or line.startswith("#"):
                continue
            columns = line.rstrip("\n").split("\t")
            if "-" in columns[0] or "." in columns[0]:
                continue
            out.append((columns[1], columns[3]))
    return out


def score(name, gold, tags, vocab):
    counts = collections.Counter()
    for (form, truth), tag in zip(gold, tags):
        hit = truth == tag
        counts["tokens"] += 1
        counts["right"] += hit
        if form.lower() not in vocab:
            counts["unseen"] += 1
            counts["unseen right"] += hit
        if truth == "PROPN":
            counts["propn"] += 1
            counts["propn right"] += hit
    print(
        f"{name:40} {counts['right'] / counts['tokens']:.4f}"
        f"  unseen {counts['unseen right'] / max(counts['unseen'], 1):.3f}"
        f"  PROPN {counts['propn right'] / max(counts['propn'], 1):.3f}"
    )


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    gold = words(argv[1])
    with open(argv[2], encoding="utf-8") as lines:
        vocab = {line.rstrip("\n") for line in lines}
    runs = []
    for path in argv[3:]:
        predicted = words(path)
        if [form for form, _ in predicted] != [form for form, _ in gold]:
            sys.exit(f"{path}: its words are not {argv[1]}'s; tag that file with the run")
        runs.append([tag for _, tag in predicted])
        score(path, gold, runs[-1], vocab)
    vote = []
    for choices in zip(*runs):
        counts = collections.Counter(choices)
        vote.append(max(choices, key=lambda tag: counts[tag]))
    score(f"vote of {len(runs)}", gold, vote, vocab)


if __name__ == "__main__":
    main(sys.argv)
