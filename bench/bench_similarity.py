"""Similarity engines on the test class of tests/similarity (six independent activations solutions,
planted copies of one, an untouched template), in one run:

- precision at the top 10 (how many of the 10 best-ranked pairs are planted copies) and whether every
  planted pair ranks above every independent one, for Dolos (the product's engine, ranked as the report
  ranks: longest shared fragment, then similarity) and copydetect (ranked by its similarity, the larger of
  the two overlap fractions, as its own report does);
- the time of the product's whole comparison (Dolos, both passes) for classes of 50, 150 and 300
  notebooks made from the test class with perturbations (names, order, comments), and copydetect's
  all-pairs comparison for the same classes.

copydetect is not a product dependency: install it for this script with
``pip install -e '.[similarity-bench]'``. Dolos: ``make similarity-engine``.
Run: ``python bench/bench_similarity.py``.
"""

from __future__ import annotations

import io
import itertools
import random
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from copydetect import CodeFingerprint, compare_files  # noqa: E402

from autograder.similarity.compare import compare_works  # noqa: E402
from autograder.similarity.extract import Template, Work  # noqa: E402
from tests.similarity import corpus  # noqa: E402

NOISE, GUARANTEE = 25, 30  # copydetect's defaults: k-gram length and window guarantee
SIZES = (50, 150, 300)


def template() -> Template:
    return Template(REPO / "assignments" / corpus.ASSIGNMENT / f"{corpus.ASSIGNMENT}.ipynb")


def class_works() -> tuple[list[Work], Work]:
    tpl = template()
    return [tpl.work(name, nb) for name, nb in corpus.corpus().items()], tpl.template_work()


def precision(ranked: list[frozenset], planted: set) -> tuple[float, bool]:
    """(planted share of the top 10, every planted pair above every independent one)."""
    top = sum(1 for pair in ranked[:10] if pair in planted) / 10
    worst = max(ranked.index(p) for p in planted)
    return top, all(ranked.index(p) > worst for p in ranked if p not in planted)


def dolos_ranking(works: list[Work], tpl: Work) -> list[frozenset]:
    return [frozenset((p.left, p.right)) for p in compare_works(works, tpl, 10, 15).pairs]


def copydetect_pairs(works: list[Work], tpl: Work) -> list[tuple[float, frozenset]]:
    """copydetect on code + answers (one file each), the template's fingerprints as boilerplate."""
    def fingerprint(text: str, boilerplate=None):
        return CodeFingerprint("student.py", NOISE, GUARANTEE - NOISE + 1, boilerplate, fp=io.StringIO(text))

    boiler = sorted(fingerprint(tpl.code + "\n" + tpl.text).hashes)
    prints = {w.student: fingerprint(w.code + "\n" + w.text, boiler) for w in works if not w.empty}
    scored = []
    for a, b in itertools.combinations(sorted(prints), 2):
        _, (sim_a, sim_b), _ = compare_files(prints[a], prints[b])
        scored.append((max(sim_a, sim_b), frozenset((a, b))))
    return sorted(scored, key=lambda s: -s[0])


def perturbed(work: Work, index: int, rng: random.Random) -> Work:
    """A classmate made from ``work``: local names suffixed, functions shuffled, comments added."""
    code = re.sub(r"\b(out|pos|neg|mask|result|grad|values|e|g|a|t|s|x|y)\b", rf"\1_{index}", work.code)
    blocks = code.split("\n\n\n")
    rng.shuffle(blocks)
    code = "\n\n\n".join(f"# part {rng.randint(0, 999)}\n{b}" for b in blocks)
    return Work(f"s{index:03d}", code, work.text + f" (student {index})")


def big_class(works: list[Work], size: int) -> list[Work]:
    rng = random.Random(size)
    base = [w for w in works if not w.empty]
    return [perturbed(base[i % len(base)], i, rng) for i in range(size)]


def main() -> None:
    works, tpl = class_works()
    planted = corpus.planted_pairs()
    dolos_p, dolos_all = precision(dolos_ranking(works, tpl), planted)
    copy_p, copy_all = precision([pair for _, pair in copydetect_pairs(works, tpl)], planted)
    print(f"test class: {len(works)} notebooks, {len(planted)} planted pairs")
    print(f"precision@10  Dolos {dolos_p:.2f} (every planted pair first: {dolos_all})   "
          f"copydetect {copy_p:.2f} (every planted pair first: {copy_all})")
    times = {}
    for size in SIZES:
        group = big_class(works, size)
        start = time.perf_counter()
        compare_works(group, tpl, 20, 15)
        dolos_s = time.perf_counter() - start
        start = time.perf_counter()
        copydetect_pairs(group, tpl)
        copy_s = time.perf_counter() - start
        times[size] = (dolos_s, copy_s)
        print(f"{size:4d} notebooks ({size * (size - 1) // 2:6d} pairs): "
              f"Dolos {dolos_s:6.2f} s   copydetect {copy_s:6.2f} s")
    for small, large in itertools.pairwise(SIZES):
        pairs_ratio = (large * (large - 1)) / (small * (small - 1))
        dolos, copied = (times[large][i] / times[small][i] for i in (0, 1))
        print(f"{small}->{large}: {large / small:.0f}x notebooks, {pairs_ratio:.1f}x pairs; "
              f"time x{dolos:.1f} (Dolos), x{copied:.1f} (copydetect)")


if __name__ == "__main__":
    main()
