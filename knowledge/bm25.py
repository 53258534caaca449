"""A small BM25 index over token lists, with postings in numpy arrays.

Each term's postings hold the document ids and the precomputed BM25 term-frequency part, so a
query is a handful of vectorised adds. Scores can be normalised to [0, 1] by the query's
upper bound (every term matched with saturated frequency in a short document).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]


class BM25:
    def __init__(self, docs: Iterable[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        doc_ids: dict[str, list[int]] = {}
        freqs: dict[str, list[int]] = {}
        lengths: list[int] = []
        for doc_id, doc in enumerate(docs):
            counts = Counter(doc)
            lengths.append(len(doc))
            for term, tf in counts.items():
                doc_ids.setdefault(term, []).append(doc_id)
                freqs.setdefault(term, []).append(tf)
        self.n_docs = len(lengths)
        avgdl = float(sum(lengths) / self.n_docs) if self.n_docs else 1.0
        length_arr = np.asarray(lengths, dtype=np.float32)
        norm: FloatArray = (k1 * (1 - b + b * length_arr / max(avgdl, 1e-9))).astype(np.float32)
        self.idf: dict[str, float] = {}
        self._postings: dict[str, tuple[npt.NDArray[np.int32], FloatArray]] = {}
        for term, ids in doc_ids.items():
            ids_arr = np.asarray(ids, dtype=np.int32)
            tf_arr = np.asarray(freqs[term], dtype=np.float32)
            weights = (tf_arr * (k1 + 1) / (tf_arr + norm[ids_arr])).astype(np.float32)
            self._postings[term] = (ids_arr, weights)
            df = len(ids)
            self.idf[term] = math.log(1 + (self.n_docs - df + 0.5) / (df + 0.5))
        # An unseen term is treated as rarer than any seen one.
        self.unseen_idf = math.log(1 + (self.n_docs + 0.5) / 0.5)

    def term_idf(self, term: str) -> float:
        return self.idf.get(term, self.unseen_idf)

    def upper_bound(self, terms: Sequence[str]) -> float:
        """Largest score any document could reach for these (distinct) terms."""
        return sum(self.term_idf(t) for t in set(terms)) * (self.k1 + 1)

    def scores(self, terms: Sequence[str]) -> FloatArray:
        """Dense BM25 scores of every document for the query's distinct terms."""
        out = np.zeros(self.n_docs, dtype=np.float32)
        for term in set(terms):
            posting = self._postings.get(term)
            if posting is None:
                continue
            ids, weights = posting
            out[ids] += weights * np.float32(self.idf[term])
        return out

    def add_scores(self, terms: Sequence[str], out: FloatArray, scale: float) -> list[npt.NDArray[np.int32]]:
        """Add scale × BM25 of the query's distinct terms into `out`; return the postings touched."""
        touched = []
        for term in set(terms):
            posting = self._postings.get(term)
            if posting is None:
                continue
            ids, weights = posting
            out[ids] += weights * np.float32(self.idf[term] * scale)
            touched.append(ids)
        return touched
