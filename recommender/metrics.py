"""Top-k ranking metrics, vectorised over shoppers."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def ranking_metrics(
    recs: np.ndarray, truth: sp.csr_matrix, k: int, *, n_items: int, rows: np.ndarray | None = None
) -> dict[str, float]:
    """precision/recall/F1/NDCG/MAP/hit rate @k and catalogue coverage.

    recs: (n_users, k) item indices (-1 padding); truth: binary CSR of relevant test items.
    Only shoppers with at least one relevant item count (or the given `rows`).
    """
    truth = sp.csr_matrix(truth)
    n_rel = np.diff(truth.indptr)
    users = np.flatnonzero(n_rel > 0) if rows is None else rows[n_rel[rows] > 0]
    if len(users) == 0:
        return {
            m: 0.0
            for m in ("precision", "recall", "f1", "ndcg", "map", "hit_rate", "coverage", "users")
        }
    r = recs[users, :k]
    t = truth[users]
    # hits[u, j] = recs[u, j] is relevant for u
    flat_rows = np.repeat(np.arange(len(users)), r.shape[1])
    flat_cols = np.clip(r.ravel(), 0, None)
    hits = np.asarray(t[flat_rows, flat_cols]).reshape(r.shape) > 0
    hits &= r >= 0
    rel = n_rel[users].astype(np.float64)
    n_hits = hits.sum(axis=1)
    precision = n_hits / k
    recall = n_hits / rel
    f1 = np.divide(
        2 * precision * recall,
        precision + recall,
        out=np.zeros_like(precision),
        where=(precision + recall) > 0,
    )
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (hits * discounts).sum(axis=1)
    ideal = np.cumsum(discounts)[np.minimum(rel, k).astype(int) - 1]
    ndcg = dcg / ideal
    prec_at = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
    ap = (prec_at * hits).sum(axis=1) / np.minimum(rel, k)
    shown = np.unique(r[r >= 0])
    return {
        "precision": float(precision.mean()),
        "recall": float(recall.mean()),
        "f1": float(f1.mean()),
        "ndcg": float(ndcg.mean()),
        "map": float(ap.mean()),
        "hit_rate": float((n_hits > 0).mean()),
        "coverage": float(len(shown) / max(n_items, 1)),
        "users": float(len(users)),
    }
