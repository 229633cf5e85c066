"""A class's pairs: Dolos's code and text comparisons combined per pair, ranked, and the groups of
three or more students joined by close pairs.

A pair is ranked by its longest shared fragment (k-grams of tokens in one unbroken run), then by
its similarity. Independent solutions of the same small functions share many short runs, so their
similarity can exceed that of a student who took one whole function from another; the copied
function is one long run, which independent work does not have.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from autograder.similarity import engine
from autograder.similarity.extract import Work


@dataclass(frozen=True)
class PairResult:
    """Two students, their similarity (0..1 over code and text together) and the evidence."""

    left: str
    right: str
    similarity: float
    longest: int  # k-grams in the longest shared fragment, code or text
    code_fragments: list = field(default_factory=list)
    text_fragments: list = field(default_factory=list)


@dataclass
class Comparison:
    """Every compared pair (best first), the students with nothing of their own, the clusters."""

    works: dict[str, Work]
    pairs: list[PairResult]
    blank: list[str]
    clusters: list[list[str]]


def _combined(code: Iterable[engine.EnginePair], text: Iterable[engine.EnginePair]) -> list[PairResult]:
    sums: dict[tuple[str, str], list] = {}
    for channel, pairs in (("code", code), ("text", text)):
        for pair in pairs:
            key = tuple(sorted((pair.left, pair.right)))
            entry = sums.setdefault(key, [0, 0, 0, [], []])
            entry[0] += pair.covered
            entry[1] += pair.total
            entry[2] = max(entry[2], pair.longest)
            flipped = key[0] != pair.left
            fragments = [(b, a) for a, b in pair.fragments] if flipped else pair.fragments
            entry[3 if channel == "code" else 4] = fragments
    results = [PairResult(left, right, covered / total if total else 0.0, longest, code_f, text_f)
               for (left, right), (covered, total, longest, code_f, text_f) in sums.items()]
    return sorted(results, key=lambda p: (-p.longest, -p.similarity, p.left, p.right))


def clusters(pairs: list[PairResult], min_fragment: int) -> list[list[str]]:
    """Groups of three or more students linked by pairs sharing a fragment of >= ``min_fragment`` k-grams."""
    parent: dict[str, str] = {}

    def root(name: str) -> str:
        while parent.setdefault(name, name) != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for pair in pairs:
        if pair.longest >= min_fragment:
            parent[root(pair.left)] = root(pair.right)
    groups: dict[str, list[str]] = {}
    for name in parent:
        groups.setdefault(root(name), []).append(name)
    return sorted((sorted(g) for g in groups.values() if len(g) >= 3), key=lambda g: (-len(g), g))


def compare_works(works: list[Work], template: Work, top: int, min_fragment: int,
                  step: Callable[[str], None] = lambda _: None) -> Comparison:
    """Compare every two students' works (template excluded); fragments for about ``top`` pairs."""
    by_name = {w.student: w for w in works}
    blank = sorted(w.student for w in works if w.empty)
    step("code")
    code = engine.compare("python", {w.student: w.code for w in works if not w.empty}, template.code, top)
    step("text")
    text = engine.compare("char", {w.student: w.text for w in works if not w.empty}, template.text, top)
    pairs = _combined(code, text)
    return Comparison(by_name, pairs, blank, clusters(pairs, min_fragment))
