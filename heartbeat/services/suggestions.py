"""Ranking a taxonomy's categories for one shop category (`categories suggest`, the page's
suggestions): by the words of its whole path and of its products' names, not its name alone.

The shop category's words are weighted by where they come from: its own name most, its parents'
less (a "Men" under "Clothes" is about clothing), and the words most of its products' names share
(a category whose products are "... notebook" is about notebooks). Each taxonomy entry is scored by
the weight of the words it shares with them, rarer words counting more (inverse document
frequency over the taxonomy), its last level counting twice its parents'; a name-similarity term
(rapidfuzz's WRatio on the last levels) breaks near-ties and catches spellings the words miss.
Scores are 0-100; ties go to the broader category. Pure functions: a test and the bench call them
on a labelled sample (docs/categories.md, "How good are the suggestions").
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

LEAF, PARENT = 3.0, 1.0  # weights of the shop category's own name and of its parents' names
PRODUCT_WORDS, PRODUCT_WEIGHT = 8, 2.0  # the products' most shared words, weighted by their share
SKIP = {"and", "or", "of", "for", "the", "a", "with", "other", "home", "root", "all", "new", "misc",
        "miscellaneous", "s", "de", "et", "la", "le", "les", "des", "du", "en"}
# Shop words for the same things as the taxonomy's (British spellings, everyday names); a word
# maps to one word the taxonomy uses
SAME = {"jewellery": "jewelry", "stationery": "office", "stationary": "office", "tshirt": "shirt",
        "tee": "shirt", "sweater": "shirt", "jumper": "shirt", "hoodie": "shirt", "notebook": "paper",
        "notepad": "paper", "mug": "drinkware", "cup": "drinkware", "poster": "artwork", "print": "artwork",
        "painting": "artwork", "art": "artwork", "trainer": "shoe", "sneaker": "shoe", "mobile": "phone",
        "smartphone": "phone", "handbag": "bag", "purse": "wallet", "cosmetic": "cosmetics"}
NAME_SHARE = 0.15  # the part of the score given to the name similarity of the last levels
_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    """`text`'s words, lower-case, accents removed, plurals reduced ("Accessories" -> "accessory",
    "Shirts & Tops" -> ["shirt", "top"]), small words left out."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return [_stem(w) for w in _WORD.findall(plain) if w not in SKIP and len(w) > 1]


def _stem(word: str) -> str:
    """A crude English stem, the same on both sides: "clothes", "clothing" -> "cloth";
    "knives", "knife" -> "knif"; "shoes", "shoe" -> "sho"."""
    word = SAME.get(word, word)
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 4 and word.endswith("ves"):
        word = word[:-3] + "f"
    elif len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
    elif len(word) > 4 and word.endswith("es"):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


@dataclass
class Index:
    """A taxonomy prepared for ranking: each entry's weighted words, and each word's rarity."""

    paths: dict[str, str]
    leaves: dict[str, str]
    terms: dict[str, dict[str, float]]
    idf: dict[str, float]

    @classmethod
    def of(cls, taxonomy: Mapping[str, str]) -> Index:
        terms: dict[str, dict[str, float]] = {}
        leaves: dict[str, str] = {}
        seen: Counter[str] = Counter()
        for ident, path in taxonomy.items():
            levels = [level.strip() for level in path.split(">")]
            leaves[ident] = levels[-1]
            weights: dict[str, float] = {}
            for depth, level in enumerate(levels):
                for word in words(level):
                    weights[word] = max(weights.get(word, 0.0), 1.0 if depth == len(levels) - 1 else 0.5)
            terms[ident] = weights
            seen.update(weights)
        total = len(taxonomy) or 1
        idf = {word: math.log(1 + total / count) for word, count in seen.items()}
        return cls(dict(taxonomy), leaves, terms, idf)


_INDEXES: dict[str, tuple[int, Index]] = {}  # column -> (hash of its taxonomy, index): built once


def index(column: str, taxonomy: Mapping[str, str]) -> Index:
    """The ranking index of `column`'s taxonomy, kept while the taxonomy stays the same."""
    key = hash(frozenset(taxonomy.items()))
    cached = _INDEXES.get(column)
    if cached is None or cached[0] != key:
        cached = _INDEXES[column] = (key, Index.of(taxonomy))
    return cached[1]


def query(path: str, product_names: Sequence[str] = ()) -> dict[str, float]:
    """The weighted words describing a shop category: its path's levels, then its products' names."""
    levels = [level.strip() for level in path.split(">") if level.strip()]
    weights: dict[str, float] = {}
    for depth, level in enumerate(levels):
        weight = LEAF if depth == len(levels) - 1 else PARENT
        for word in words(level):
            weights[word] = max(weights.get(word, 0.0), weight)
    if product_names:
        shared = Counter(w for name in product_names for w in set(words(name)))
        for word, count in shared.most_common(PRODUCT_WORDS):
            share = count / len(product_names)
            weights[word] = weights.get(word, 0.0) + PRODUCT_WEIGHT * share
    return weights


def rank(index: Index, path: str, product_names: Sequence[str] = (), limit: int = 3
         ) -> list[tuple[str, str, float]]:
    """The `limit` best (id, path, score 0-100) for the shop category at `path` whose products are
    named `product_names`: best first, ties to the broader (shallower) category."""
    from rapidfuzz import fuzz, process  # only the suggestions need it
    from rapidfuzz.utils import default_process

    wanted = query(path, product_names)
    best = sum(w * index.idf.get(word, 0.0) for word, w in wanted.items()) or 1.0
    overlap: dict[str, float] = {}
    for ident, terms in index.terms.items():
        shared = sum(w * index.idf[word] * terms[word] for word, w in wanted.items() if word in terms)
        if shared:
            overlap[ident] = shared / best / (1 + 0.05 * len(terms))
    leaf = [level.strip() for level in path.split(">") if level.strip()][-1:] or [path]
    names_by_id = {ident: score for _, score, ident in
                   process.extract(leaf[0], index.leaves, scorer=fuzz.WRatio, processor=default_process,
                                   limit=max(limit * 20, 50))}
    candidates = set(overlap) | set(names_by_id)
    scored = [(ident, 100 * min(1.0, (1 - NAME_SHARE) * min(overlap.get(ident, 0.0), 1.0)
                                + NAME_SHARE * names_by_id.get(ident, 0.0) / 100))
              for ident in candidates]
    scored.sort(key=lambda s: (-round(s[1], 1), index.paths[s[0]].count(">"), s[0]))
    return [(ident, index.paths[ident], round(score, 1)) for ident, score in scored[:limit]]


def precision_at_1(index: Index, sample: Iterable[tuple[str, Sequence[str], set[str]]]) -> tuple[int, int]:
    """How many of the labelled shop categories (path, product names, accepted ids) get an accepted
    id first, out of how many."""
    right = total = 0
    for path, names, accepted in sample:
        total += 1
        top = rank(index, path, names, limit=1)
        right += bool(top) and top[0][0] in accepted
    return right, total
