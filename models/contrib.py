"""Exact TreeSHAP contributions of a LightGBM booster, precomputed per leaf: LightGBM's ``pred_contrib``, faster.

The idea is Fast TreeSHAP v2 (Yang 2021, arXiv:2109.09847). For one leaf with value ``v``, the features on its
path (``U``, each counted once, ``d = |U|``) and, for each of them, the share of the training rows that follow
the path's branches on it (``z``: the product of the child/parent counts, as LightGBM's TreeSHAP uses them),
a row's path-dependent TreeSHAP value depends on the row only through ``o``: for each path feature, whether
the row satisfies every branch on it (one bit each). So, with ``w(s) = s! (d-s-1)! / d!``,

    phi_k(o) = v (o_k - z_k) * sum over S in U\\{k} of w(|S|) * prod_{j in S} o_j * prod_{j in U\\S\\{k}} z_j

is tabulated once for every leaf, every bit pattern ``o`` (``2^d``) and every ``k`` in ``U``; per row what
remains is each leaf's pattern and a table lookup per path feature. The pattern is read from the row's branch
decisions (numpy, vectorised over rows; each leaf's table is indexed by its path's edges, so a feature split twice
on a path needs no extra step); the lookups are one compiled loop (models/contrib_kernel.py) or numpy. The sum is
the same as LightGBM's (Lundberg's recursive algorithm) up to floating-point rounding (about 1e-15; the tests
hold it to 1e-9), and the base column is LightGBM's expected value (leaf values weighted by their counts).

``TreeContributions.of(booster)`` returns None where the method does not apply (multiclass, linear trees, no
split at all, a path longer than ``MAX_PATH_EDGES`` or tables beyond ``MAX_TABLE``, an empty node): the caller
(``LeadScoreModel.contributions``) then uses ``Booster.predict(pred_contrib=True)``. Where they apply they are
used for every batch, however small: a lead's contributions then never depend on the batch it is scored in
(a partition of a distributed run reads as the whole list).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from math import factorial

import lightgbm as lgb
import numpy as np
import scipy.sparse as sp

from models.contrib_kernel import kernel

MAX_PATH_EDGES = 16  # a leaf's table is 2^p x d doubles (p edges on its path, d distinct features)
MAX_TABLE = 1 << 24  # doubles in all (128 MB); the default 15-leaf trees need about 2M for 400 trees
CHUNK_ROWS = 128  # rows per pass: the per-slot arrays (about 20k slots x rows) stay in cache-sized pieces
THREADS = min(os.cpu_count() or 1, 4)  # as LightGBM's pred_contrib uses every core
_ZERO = float(np.float32(1e-35))  # LightGBM's kZeroThreshold (a float): |x| <= it is zero for missing_type Zero


def _trees(model_text: str) -> list[dict[str, str]] | None:
    """Each tree's ``key=value`` lines of LightGBM's text model, or None for a model this module does not read."""
    head, _, body = model_text.partition("\nTree=")
    header = dict(line.split("=", 1) for line in head.splitlines() if "=" in line)
    if header.get("num_tree_per_iteration", "1") != "1":
        return None
    body = body.split("\nend of trees", 1)[0]
    trees = []
    for block in ("Tree=" + body).split("\nTree="):
        trees.append(dict(line.split("=", 1) for line in block.splitlines() if "=" in line))
    return trees


def _ints(tree: dict[str, str], key: str) -> np.ndarray:
    return np.array(tree[key].split(), dtype=np.int64) if tree.get(key) else np.zeros(0, np.int64)


def _floats(tree: dict[str, str], key: str) -> np.ndarray:
    return np.array(tree[key].split(), dtype=np.float64) if tree.get(key) else np.zeros(0, np.float64)


def _leaf_tables(values: np.ndarray, zero: np.ndarray) -> np.ndarray:
    """phi[leaf, k, o] for leaves that all have ``d = zero.shape[1]`` path features (see the module docstring)."""
    n, d = zero.shape
    masks = np.arange(1 << d)
    bits = (masks[:, None] >> np.arange(d)) & 1  # (2^d, d): bit k of each mask
    # e[leaf, mask, r]: the elementary symmetric polynomial of degree r of z over the features in mask
    e = np.zeros((n, 1, d + 1))
    e[:, 0, 0] = 1.0
    for b in range(d):  # masks with bit b as their highest bit extend those without it by z_b
        grown = e.copy()
        grown[:, :, 1:] += zero[:, b, None, None] * e[:, :, :-1]
        e = np.concatenate([e, grown], axis=1)
    pop = bits.sum(axis=1)
    weight = np.array([factorial(s) * factorial(d - s - 1) / factorial(d) for s in range(d)] + [0.0])
    k_bit = 1 << np.arange(d)
    a = masks[:, None] & ~k_bit[None, :]  # (2^d, d): the ones of o other than k
    b = ((1 << d) - 1) & ~masks[:, None] & ~k_bit[None, :]  # the zeros of o other than k
    pa, pb = pop[a], pop[b]
    r = np.arange(d + 1)
    # sum_r w(|A| - r) e_r(A): the weighted sum over subsets S of A of prod_{A\S} z
    w_ar = np.where(r[None, None, :] <= pa[:, :, None], weight[np.clip(pa[:, :, None] - r, 0, d)], 0.0)
    over_a = np.einsum("lmkr,mkr->lmk", e[:, a, :], w_ar)
    prod_b = np.take_along_axis(e[:, b, :], pb[None, :, :, None], axis=3)[..., 0]
    own = bits[None, :, :] - zero[:, None, :]  # o_k - z_k
    phi = values[:, None, None] * own * prod_b * over_a  # (leaf, mask, k)
    return np.ascontiguousarray(phi.transpose(0, 2, 1))  # (leaf, k, mask): each slot's table contiguous


def _by_edges(phi: np.ndarray, edge_feature: list[int]) -> np.ndarray:
    """A leaf's table (k, feature pattern) re-indexed by its path's edge bits: (k, 2^p), ``p`` edges.

    Bit ``i`` of an edge code: the row takes edge ``i`` of the path; feature ``k``'s bit of the pattern is set
    when every edge on ``k`` is taken. Features are numbered by first appearance, so without a repeated feature
    the edge code is the pattern itself.
    """
    d, p = phi.shape[0], len(edge_feature)
    if p == d:
        return phi
    codes = np.arange(1 << p)
    pattern = np.zeros(1 << p, dtype=np.int64)
    for k in range(d):
        mask = sum(1 << i for i, f in enumerate(edge_feature) if f == k)
        pattern |= ((codes & mask) == mask).astype(np.int64) << k
    return phi[:, pattern]


@dataclass
class TreeContributions:
    """A booster's TreeSHAP, tabulated per leaf; ``predict(M)`` equals ``booster.predict(M, pred_contrib=True)``."""

    n_features: int
    expected: float
    # internal nodes of every tree, numbered globally
    node_feature: np.ndarray
    node_threshold: np.ndarray
    node_nan_left: np.ndarray  # where a missing value (NaN) goes
    node_zero: np.ndarray  # numeric nodes with missing_type Zero (their zeros take the default branch)
    node_default_left: np.ndarray
    cat_node: np.ndarray  # the categorical nodes
    cat_left: np.ndarray  # (categorical nodes, codes): the category goes left
    code: sp.csr_matrix  # (leaves, nodes): a row's edge code is ``code_base + code @ left``
    code_base: np.ndarray
    slot_leaf: np.ndarray  # slot = (leaf, path feature): its leaf
    slot_feat: np.ndarray  # the slot's feature
    leaf_slot0: np.ndarray  # each leaf's first slot, and the number of slots last
    slot_table: np.ndarray  # where the slot's values (one per edge code) start in ``table``
    table: np.ndarray
    scatter: sp.csr_matrix  # (features, slots): which feature each slot adds to

    @classmethod
    def of(cls, booster: lgb.Booster) -> TreeContributions | None:
        """Tables for ``booster``, or None where this method does not apply (see the module docstring)."""
        trees = _trees(booster.model_to_string())
        if trees is None or any(t.get("is_linear", "0") != "0" for t in trees):
            return None
        feature, threshold, dec, cat_sets, cat_node = [], [], [], [], []
        code_rows, code_cols, code_vals, code_base = [], [], [], []
        slot_leaf, slot_feat, slot_table, pieces = [], [], [], []
        by_depth: dict[int, list] = {}  # d -> [(leaf, value, zero fractions, edge features, first slot)]
        expected, table_size = 0.0, 0
        for tree in trees:
            base = len(feature)
            value = _floats(tree, "leaf_value")
            if int(tree["num_leaves"]) == 1:
                expected += float(value[0])
                continue
            feat, dt = _ints(tree, "split_feature"), _ints(tree, "decision_type")
            thr, left, right = _floats(tree, "threshold"), _ints(tree, "left_child"), _ints(tree, "right_child")
            count_in, count_leaf = _floats(tree, "internal_count"), _floats(tree, "leaf_count")
            if (count_in <= 0).any():
                return None
            expected += float(np.sum(count_leaf / count_in[0] * value))  # as LightGBM's ExpectedValue
            bounds, words = _ints(tree, "cat_boundaries"), _ints(tree, "cat_threshold")
            feature.extend(feat)
            threshold.extend(thr)
            dec.extend(dt)
            for i in np.flatnonzero(dt & 1):
                c = int(thr[i])
                bitset = words[bounds[c] : bounds[c + 1]].astype(np.uint32)
                cat_sets.append(np.flatnonzero(np.unpackbits(bitset.view(np.uint8), bitorder="little")))
                cat_node.append(base + i)
            stack = [(0, [])]  # (node, path as (global node, went left, feature, zero fraction))
            while stack:
                node, path = stack.pop()
                if node >= 0:
                    for child, went_left in ((left[node], True), (right[node], False)):
                        n_child = count_in[child] if child >= 0 else count_leaf[~child]
                        stack.append((child, [*path, (base + node, went_left, feat[node], n_child / count_in[node])]))
                    continue
                features = list(dict.fromkeys(p[2] for p in path))  # in order of first appearance
                table_size += len(features) << len(path)
                if len(path) > MAX_PATH_EDGES or table_size > MAX_TABLE:
                    return None
                leaf = len(code_base)
                zero = np.ones(len(features))
                for i, (g, went_left, f, z) in enumerate(path):
                    zero[features.index(f)] *= z
                    code_rows.append(leaf)
                    code_cols.append(g)
                    code_vals.append((1 << i) if went_left else -(1 << i))  # taken: left, or not left
                code_base.append(sum(1 << i for i, p in enumerate(path) if not p[1]))
                edge_feature = [features.index(p[2]) for p in path]
                by_depth.setdefault(len(features), []).append((value[~node], zero, edge_feature, len(slot_leaf)))
                slot_leaf.extend([leaf] * len(features))
                slot_feat.extend(features)
        slot_table = np.zeros(len(slot_leaf), dtype=np.int64)
        offset = 0
        for d, group in sorted(by_depth.items()):
            tables = _leaf_tables(np.array([g[0] for g in group]), np.array([g[1] for g in group]))
            for (_, _, edge_feature, first), phi in zip(group, tables, strict=True):
                t = _by_edges(phi, edge_feature)
                slot_table[first : first + d] = offset + np.arange(d) * t.shape[1]
                pieces.append(t.ravel())
                offset += t.size
        if not code_base:
            return None
        dec = np.asarray(dec, dtype=np.int64)
        threshold = np.asarray(threshold, dtype=np.float64)
        missing, default_left = (dec >> 2) & 3, (dec & 2).astype(bool)
        # NaN: the default branch for missing_type NaN, else the value is 0 (LightGBM's NumericalDecision)
        nan_left = np.where(missing > 0, default_left, threshold >= 0.0)
        width = max((int(s.max()) + 1 for s in cat_sets if len(s)), default=1)
        cat_left = np.zeros((len(cat_sets), width), dtype=bool)
        for row, s in enumerate(cat_sets):
            cat_left[row, s] = True
        n_slots, n_nodes = len(slot_leaf), len(feature)
        return cls(
            n_features=booster.num_feature(),
            expected=expected,
            node_feature=np.asarray(feature, dtype=np.int64),
            node_threshold=threshold,
            node_nan_left=nan_left,
            node_zero=np.flatnonzero((missing == 1) & ~(dec & 1).astype(bool)),
            node_default_left=default_left,
            cat_node=np.asarray(cat_node, dtype=np.int64),
            cat_left=cat_left,
            code=sp.csr_matrix((np.asarray(code_vals, np.float64), (code_rows, code_cols)), (len(code_base), n_nodes)),
            code_base=np.asarray(code_base, dtype=np.float64),
            slot_leaf=np.asarray(slot_leaf, dtype=np.int64),
            slot_feat=np.asarray(slot_feat, dtype=np.int64),
            leaf_slot0=np.searchsorted(slot_leaf, np.arange(len(code_base) + 1)).astype(np.int64),
            slot_table=slot_table,
            table=np.concatenate(pieces),
            scatter=sp.csr_matrix(
                (np.ones(n_slots), (np.asarray(slot_feat, dtype=np.int64), np.arange(n_slots))),
                shape=(booster.num_feature(), n_slots),
            ),
        )

    def _goes_left(self, xt: np.ndarray) -> np.ndarray:
        """(nodes, rows): the row takes the node's left branch, as LightGBM's Numerical/CategoricalDecision."""
        x = xt[self.node_feature]
        nan = np.isnan(xt)[self.node_feature]
        left = x <= self.node_threshold[:, None]  # False for NaN
        left |= nan & self.node_nan_left[:, None]
        if len(self.node_zero):  # missing_type Zero: |x| <= kZeroThreshold takes the default branch
            z = self.node_zero
            zero = np.abs(np.where(nan[z], 0.0, x[z])) <= _ZERO
            left[z] = np.where(zero, self.node_default_left[z, None], left[z])
        if len(self.cat_node):  # NaN, negative or an unknown code: right; else the code's bit
            n_cat, width = self.cat_left.shape
            xc = xt[self.node_feature[self.cat_node]]
            ok = (xc > -1) & (xc < width)  # False for NaN; in (-1, 0) static_cast<int> gives 0, as here
            code = np.where(ok, xc, 0).astype(np.intp)  # truncation, as static_cast<int>
            code += (np.arange(n_cat) * width)[:, None]
            left[self.cat_node] = ok & self.cat_left.ravel()[code]
        return left

    def predict(self, M: np.ndarray, threads: int = THREADS) -> np.ndarray:
        """(rows, features + 1): each feature's contribution to the raw margin and, last, the expected value.

        numpy and scipy release the GIL in the heavy steps, so ``threads`` blocks of rows run side by side.
        """
        out = np.empty((len(M), self.n_features + 1))
        out[:, -1] = self.expected
        blocks = np.array_split(np.arange(0, len(M), CHUNK_ROWS), max(1, min(threads, -(-len(M) // CHUNK_ROWS))))
        add = kernel()  # compiled here, once, before any thread asks for it
        if len(blocks) == 1:
            self._fill(M, out, blocks[0], add)
        else:
            with ThreadPoolExecutor(len(blocks)) as pool:
                list(pool.map(lambda starts: self._fill(M, out, starts, add), blocks))
        return out

    def _fill(self, M: np.ndarray, out: np.ndarray, starts: np.ndarray, add: Callable | None) -> None:
        """The contributions of the chunks of rows that start at ``starts``, written into ``out``; ``add`` is the
        compiled loop (models/contrib_kernel.py) or None for numpy."""
        n_slots = len(self.slot_leaf)
        if add is None:  # reused between chunks: a fresh array this size per chunk costs its page faults
            idx = np.empty((n_slots, CHUNK_ROWS), dtype=np.intp)
            vals = np.empty((n_slots, CHUNK_ROWS))
        base = self.code_base[:, None]
        for start in starts:
            xt = np.ascontiguousarray(M[start : start + CHUNK_ROWS].T, dtype=np.float64)
            r = xt.shape[1]
            code = self.code @ self._goes_left(xt).astype(np.float64) + base
            if add is not None:
                code = np.ascontiguousarray(code, dtype=np.int32)
                rows = np.zeros((r, self.n_features))
                tables = (self.leaf_slot0, self.slot_table, self.slot_feat, self.table)
                add(r, len(code), code.ctypes.data, *(a.ctypes.data for a in tables), rows.ctypes.data, self.n_features)
                out[start : start + r, :-1] = rows
                continue
            i, v = idx[:, :r], vals[:, :r]
            np.take(code.astype(np.intp), self.slot_leaf, axis=0, out=i)
            i += self.slot_table[:, None]
            np.take(self.table, i, out=v)
            out[start : start + r, :-1] = (self.scatter @ v).T
