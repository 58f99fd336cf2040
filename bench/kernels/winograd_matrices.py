#!/usr/bin/env python3
"""Winograd F(m, r) transform matrices by Toom-Cook, exactly (fractions), for the engine's tables.

For the points p_0..p_{a-2} and infinity (a = m + r - 1), A^T (m x a) and G (a x r) follow the
Lagrange form (Lavin & Gray 2016); B^T (a x a) is then solved from the identity that defines the
algorithm, sum_j A^T[i][j] G[j][k] B^T[j][l] = [l == i + k] for every i < m, k < r, l < a, so
y = A^T ((G g) * (B^T d)) is the correlation y[i] = sum_k d[i + k] g[k]. Every result is checked
on random integers, and (with numpy) its float32 rounding in 2-d on sums of 512 products of
normal values is printed, the figure conv_polyphase.cpp quotes for its choice of points.

    winograd_matrices.py [--rounding]     prints F(2,2), F(4,2) (the polyphase path's) and F(2,3),
                                          F(4,3) (conv_winograd.cpp's) as C++ initialisers
"""
import random
import sys
from fractions import Fraction as F


def toom_cook(m, r, points):
    a = m + r - 1
    assert len(points) == a - 1, "a - 1 finite points"
    pts = [F(p) for p in points]
    at = [[p**i for p in pts] + [F(1 if i == m - 1 else 0)] for i in range(m)]
    g = []
    for j, p in enumerate(pts):
        f = F(1)
        for l, q in enumerate(pts):
            if l != j:
                f *= p - q
        g.append([p**k / f for k in range(r)])
    g.append([F(1 if k == r - 1 else 0) for k in range(r)])
    bt = [[F(0)] * a for _ in range(a)]
    for l in range(a):  # column l of B^T: m r equations in a unknowns, consistent
        rows = [[at[i][j] * g[j][k] for j in range(a)] + [F(1 if l == i + k else 0)]
                for i in range(m) for k in range(r)]
        pivots, top = [], 0
        for c in range(a):
            p = next((q for q in range(top, len(rows)) if rows[q][c] != 0), None)
            if p is None:
                continue
            rows[top], rows[p] = rows[p], rows[top]
            rows[top] = [x / rows[top][c] for x in rows[top]]
            for q in range(len(rows)):
                if q != top and rows[q][c] != 0:
                    rows[q] = [x - rows[q][c] * y for x, y in zip(rows[q], rows[top])]
            pivots.append(c)
            top += 1
        assert len(pivots) == a and all(row[-1] == 0 for row in rows[top:]), "no solution"
        for q, c in enumerate(pivots):
            bt[c][l] = rows[q][-1]
    rng = random.Random(0)
    for _ in range(20):
        d = [F(rng.randint(-9, 9)) for _ in range(a)]
        w = [F(rng.randint(-9, 9)) for _ in range(r)]
        u = [sum(g[j][k] * w[k] for k in range(r)) for j in range(a)]
        v = [sum(bt[j][l] * d[l] for l in range(a)) for j in range(a)]
        y = [sum(at[i][j] * u[j] * v[j] for j in range(a)) for i in range(m)]
        assert y == [sum(d[i + k] * w[k] for k in range(r)) for i in range(m)]
    return bt, g, at


def cpp(mat):
    def num(x):
        return str(x.numerator) if x.denominator == 1 else f"{x.numerator}.f / {x.denominator}"
    return "{" + ", ".join("{" + ", ".join(num(x) for x in row) + "}" for row in mat) + "}"


def rounding(m, r, mats, channels=512, trials=50):
    import numpy as np
    bt, g, at = (np.array([[float(x) for x in row] for row in mat], np.float32) for mat in mats)
    a = m + r - 1
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(trials):
        d = rng.standard_normal((channels, a, a)).astype(np.float32)
        w = rng.standard_normal((channels, r, r)).astype(np.float32)
        u = np.einsum("jk,ckl,ml->cjm", g, w, g)
        v = np.einsum("jk,ckl,ml->cjm", bt, d, bt)
        y = at @ (u * v).sum(0, dtype=np.float32) @ at.T
        ref = np.array([[(d[:, i:i + r, j:j + r].astype(np.float64) * w).sum()
                         for j in range(m)] for i in range(m)])
        worst = max(worst, float(np.abs(y - ref).max() / np.abs(ref).max()))
    return worst


def main():
    cases = [(2, 2, [0, -1]), (4, 2, [0, 1, -1, 2]), (4, 2, [0, 1, -1, F(1, 2)]),
             (4, 2, [0, 1, -1, -2]), (2, 3, [0, 1, -1]), (4, 3, [0, 1, -1, 2, -2])]
    for m, r, pts in cases:
        mats = toom_cook(m, r, pts)
        print(f"F({m},{r}) at {', '.join(str(p) for p in pts)}, inf")
        for name, mat in zip(("BT", "G", "AT"), mats):
            print(f"  {name} {cpp(mat)}")
        if "--rounding" in sys.argv:
            print(f"  float32 rounding, 2-d, sums of 512 products: {rounding(m, r, mats):.1e}")


if __name__ == "__main__":
    main()
