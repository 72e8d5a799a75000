# autofuture
"""Map-reduce word count over text files that the script writes itself.

A local helper (``@autofuture.local``: it runs in the workflow process, in
program order) writes a small corpus into a temporary directory. Then one
map task per file counts its words, reduce tasks merge the ``Counter``s in
groups and then all together, and the workflow prints the totals and the
most common words. The temporary directory is removed when the ``with``
block ends, which is after every task inside it has finished.

Tasks read the files by path, so workers must see the same file system as
the workflow (always true for local runs).

Run:

    python examples/word_count.py
    python -m autofuture -n 4 examples/word_count.py
"""
import os
import random
import tempfile
from collections import Counter

import autofuture

FILES = 12
WORDS_PER_FILE = 40_000
GROUP = 4
VOCABULARY = (
    "the of and to in a is that for it as was with be by on not he this are or his "
    "from at which but have an they you were her she there been one all we their "
    "future task worker result value parallel order program sequential effect"
).split()


@autofuture.local
def write_corpus(directory: str, n_files: int, words_per_file: int) -> list[str]:
    """Write ``n_files`` text files of Zipf-like text, of varying length; return their paths."""
    rng = random.Random(2024)
    weights = [1.0 / rank for rank in range(1, len(VOCABULARY) + 1)]
    paths = []
    for index in range(n_files):
        length = words_per_file // 2 + rng.randrange(words_per_file)
        words = rng.choices(VOCABULARY, weights=weights, k=length)
        lines = [" ".join(words[start:start + 16]) for start in range(0, len(words), 16)]
        path = os.path.join(directory, f"part-{index:02d}.txt")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        paths.append(path)
    return paths


def count_words(path: str) -> Counter:
    """Map: the word counts of one file."""
    with open(path, encoding="utf-8") as handle:
        return Counter(handle.read().split())


def merge(counters: list[Counter]) -> Counter:
    """Reduce: the sum of several word counts."""
    total = Counter()
    for counter in counters:
        total.update(counter)
    return total


def top_words(counts: Counter, k: int) -> list[tuple[str, int]]:
    """The ``k`` most common words, ties broken alphabetically so the order is stable."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:k]


with tempfile.TemporaryDirectory(prefix="autofuture-wc-") as directory:
    paths = write_corpus(directory, FILES, WORDS_PER_FILE)
    per_file = [count_words(path) for path in paths]
    partial = [merge(per_file[start:start + GROUP]) for start in range(0, FILES, GROUP)]
    totals = merge(partial)
    for index in range(FILES):
        print(f"part-{index:02d}.txt: {sum(per_file[index].values())} words")
    print(f"{FILES} files, {sum(totals.values())} words, {len(totals)} distinct")
    for word, count in top_words(totals, 10):
        print(f"{word:>10} {count:7d}")
