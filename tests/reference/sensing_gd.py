#!/usr/bin/python3
"""sensing_gd.py: an independent NumPy reference for saddle's `sensing` problem under gradient descent and
ScaledGD (ScaledGD(lambda), PrecGD).

Written from the mathematics, not from saddle's C code (only NumPy and the standard library):

  truth      X* = U* U*^T                                  U* : n x r
  operator   A(X)_i = <A_i, X> = sum_{jk} (A_i)_{jk} X_{jk}  A_i : n x n, any (not necessarily symmetric)
  data       y = A(X*)
  loss       L(U) = c * ||A(U U^T) - y||^2                 U : n x r'
  gradient   res = A(U U^T) - y;   d<A_i, U U^T>/dU = (A_i + A_i^T) U, hence
             grad L(U) = 2c * sum_i res_i (A_i + A_i^T) U
  GD         U_{k+1} = U_k - lr * grad L(U_k)
  ScaledGD   U_{k+1} = U_k - lr * grad L(U_k) (U_k^T U_k + lam I)^{-1}, lam = dynamics.damping (damping_rule
             constant) or sqrt(L(U_k)) (damping_rule sqrt_loss, PrecGD); read from config.resolved.yaml

Check mode (default):

    sensing_gd.py RUN_DIR [--lr LR] [--loss-scale C] [--steps K] [--inputs DIR] [--rtol TOL]

reads RUN_DIR/arrays/{A,U_star,U0}.npy (or, with --inputs, the original files in DIR, and then also requires
RUN_DIR/arrays to hold bit-identical copies), RUN_DIR/metrics.csv and RUN_DIR/arrays/U_final.npy. lr, c and
the number of steps come from the flags; a flag not given is read from RUN_DIR/config.resolved.yaml
(dynamics.lr, problem.loss_scale) and RUN_DIR/summary.json (steps) with simple line parsing, no YAML library.
It replays GD and, at every step listed in metrics.csv, compares loss, rel_error = ||UU^T - X*||_F/||X*||_F and
train_error = ||res||/||y|| with saddle's values; then U_final against the replayed final U (relative Frobenius
difference) and saddle's y.npy, if present, against y. Relative difference: |a - b| / max(|a|, |b|).
Exit 0 iff every maximum is <= rtol, 1 if one is not, 2 on bad input or usage.

With --diagnostics it also recomputes, at every observed step, the diagnostics of lowrank.md §5 from the
replayed U (its own definitions, plain NumPy SVDs): signal[i] = sigma_i(V_X^T U), noise = ||U(I - WW^T)||_2,
misalignment = ||V_X_perp^T orth(UW)||_2, angle_truth and angle_spectral (sin of the largest principal angle
of the top-r left singular space of U to col(U*) and to L = top-r eigenvectors of sym(A^*(y))), sigma_r_err,
cond_UU = cond(U^T U), and the power shadow's angles angle_shadow_spectral = sin(L~_t, L) and angle_shadow =
sin(L_t, L~_t), L~_t the top-r left singular space of expm(4c t sym(A^*(y))) U0 (near U = 0 the flow is
dU/dt = 4c sym(A^*(y)) U), t = lr * step. Angles are
compared by absolute difference (--atol-angles, 1e-8: a sine near 0 has no relative accuracy), the others
relatively (rtol; cond_UU to 1e-3, since sigma_min(U) of a nearly rank-deficient U is only known to
eps * sigma_max). The shadow is compared only while exp(-4ct(lambda_1 - lambda_r)) > 1e-5: beyond, a plain SVD of
it loses the r-th direction (saddle uses LAPACK's Jacobi SVD, dgejsv, there).

Input mode:

    sensing_gd.py --make-inputs DIR --n N --m M --r R --width W --seed S [--init-scale ALPHA]

writes DIR/A.npy (m x n x n, entries N(0, 1/m), deliberately NOT symmetrized), DIR/U_star.npy (n x r, entries
N(0, 1/n)) and DIR/U0.npy (n x W, entries N(0, ALPHA^2/W), ALPHA = 1e-3 by default) with NumPy's PCG64
generator, so that saddle can be run on data it did not draw:
    saddle run ... arrays.A=DIR/A.npy arrays.U_star=DIR/U_star.npy arrays.U0=DIR/U0.npy
"""

import argparse
import csv
import json
import os
import sys

EXIT_OK, EXIT_MISMATCH, EXIT_INPUT = 0, 1, 2

try:
    import numpy as np
except ImportError as err:  # exit 2, never 1: a missing NumPy must not pass for a detected mismatch
    print(f"error: {err} (this reference needs NumPy, e.g. Debian's python3-numpy for /usr/bin/python3)", file=sys.stderr)
    sys.exit(EXIT_INPUT)


from refutil import InputError, config_value, load_npy, rel_diff, report  # noqa: E402 (after the NumPy check)


# ------------------------------------------------------------------------------------------ the mathematics

def measure(A, X):
    """A(X)_i = <A_i, X> (Frobenius inner product), A: m x n x n."""
    return np.einsum("ijk,jk->i", A, X)


def adjoint(A, v):
    """A^*(v) = sum_i v_i A_i."""
    return np.einsum("i,ijk->jk", v, A)


class Sensing:
    def __init__(self, A, Ustar, c):
        self.A, self.c = A, c
        self.Xstar = Ustar @ Ustar.T
        self.xstar_norm = np.linalg.norm(self.Xstar)
        self.y = measure(A, self.Xstar)
        self.y_norm = np.linalg.norm(self.y)

    def residual(self, U):
        return measure(self.A, U @ U.T) - self.y

    def loss(self, U):
        res = self.residual(U)
        return self.c * float(res @ res)

    def grad(self, U):
        S = adjoint(self.A, self.residual(U))
        return 2.0 * self.c * (S + S.T) @ U

    def diagnostics(self, U, U0, t, r):
        """lowrank.md §5 at U (and the power shadow at time t from U0); None for the shadow where a plain SVD of
        it would be inaccurate."""
        n, w = U.shape
        VX = np.linalg.svd(self.Ustar_, full_matrices=False)[0]
        B = VX.T @ U
        _, sig, Wt = np.linalg.svd(B, full_matrices=False)
        W = Wt[:r].T
        out = {f"signal[{i}]": sig[i] for i in range(r)}
        out["noise"] = np.linalg.norm(U - U @ W @ W.T, 2)
        Q = np.linalg.svd(U @ W, full_matrices=False)[0]
        out["misalignment"] = np.linalg.norm(Q - VX @ (VX.T @ Q), 2)
        Uu, su, _ = np.linalg.svd(U, full_matrices=False)
        Lt = Uu[:, :r]

        def sin_angle(Q1, Q2):
            return min(1.0, np.linalg.norm(Q1 - Q2 @ (Q2.T @ Q1), 2))

        out["angle_truth"] = sin_angle(Lt, VX)
        out["angle_spectral"] = sin_angle(Lt, self.L)
        sstar = np.linalg.svd(self.Ustar_, compute_uv=False)[r - 1]
        out["sigma_r_err"] = abs(su[r - 1] - sstar) / sstar
        out["cond_UU"] = (su[0] / su[w - 1]) ** 2 if w <= n and su[w - 1] > 0 else float("inf")
        tau = 4.0 * self.c * t  # near U = 0 the flow is dU/dt = 4c sym(A^*(y)) U
        if np.exp(-tau * (self.lam[0] - self.lam[r - 1])) > 1e-5:
            shadow = self.V @ (np.exp(tau * (self.lam - self.lam[0]))[:, None] * (self.V.T @ U0))
            Ls = np.linalg.svd(shadow, full_matrices=False)[0][:, :r]
            out["angle_shadow_spectral"] = sin_angle(Ls, self.L)
            out["angle_shadow"] = sin_angle(Lt, Ls)
        return out

    def prepare_diagnostics(self, Ustar, r):
        self.Ustar_ = Ustar
        S = adjoint(self.A, self.y)
        lam, V = np.linalg.eigh(0.5 * (S + S.T))
        self.lam, self.V = lam[::-1], V[:, ::-1]  # descending
        self.L = self.V[:, :r]

    def observe(self, U):
        res = self.residual(U)
        return {
            "loss": self.c * float(res @ res),
            "rel_error": np.linalg.norm(U @ U.T - self.Xstar) / self.xstar_norm,
            "train_error": np.linalg.norm(res) / self.y_norm,
        }


# ------------------------------------------------------------------------------------------ modes

def make_inputs(args):
    for flag in ("n", "m", "r", "width", "seed"):
        if getattr(args, flag) is None:
            raise InputError(f"--make-inputs needs --{flag}")
    n, m, r, w = args.n, args.m, args.r, args.width
    if not (1 <= r <= w and r <= n and m >= 1):
        raise InputError(f"need 1 <= r <= width, r <= n, m >= 1 (got n={n} m={m} r={r} width={w})")
    rng = np.random.default_rng(args.seed)
    A = rng.standard_normal((m, n, n)) / np.sqrt(m)  # general: A_i != A_i^T
    Ustar = rng.standard_normal((n, r)) / np.sqrt(n)
    U0 = rng.standard_normal((n, w)) * (args.init_scale / np.sqrt(w))
    os.makedirs(args.make_inputs, exist_ok=True)
    for name, a in (("A", A), ("U_star", Ustar), ("U0", U0)):
        np.save(os.path.join(args.make_inputs, name + ".npy"), np.ascontiguousarray(a, dtype=np.float64))
    asym = max(np.abs(Ai - Ai.T).max() for Ai in A)
    print(f"wrote A {A.shape} (max |A_i - A_i^T| = {asym:.3g}), U_star {Ustar.shape}, U0 {U0.shape} to {args.make_inputs}")
    return EXIT_OK


def check(args):
    run = args.run_dir
    if run is None:
        raise InputError("give a run directory (or --make-inputs DIR)")
    cfg = os.path.join(run, "config.resolved.yaml")
    if os.path.isfile(cfg):
        got = config_value(cfg, "problem.kind")
        if got != "sensing":
            raise InputError(f"{cfg}: problem.kind is {got!r}; this reference covers 'sensing' only")
    kind = config_value(cfg, "dynamics.kind", "gd")
    if kind not in ("gd", "scaled_gd"):
        raise InputError(f"{cfg}: dynamics.kind is {kind!r}; this reference covers gd and scaled_gd")
    rule, damping = "constant", 0.0
    if kind == "scaled_gd":
        rule = config_value(cfg, "dynamics.damping_rule", "constant")
        damping = float(config_value(cfg, "dynamics.damping", "0"))
        if config_value(cfg, "dynamics.alternating", "false") != "false":
            raise InputError(f"{cfg}: alternating ScaledGD has no blocks to alternate over in sensing")
        if rule == "constant" and damping <= 0:
            raise InputError(f"{cfg}: undamped ScaledGD from a small init needs saddle's singular-Gram fallback, "
                             "which this reference does not model; give a damping")
    lr = args.lr if args.lr is not None else float(config_value(cfg, "dynamics.lr"))
    c = args.loss_scale if args.loss_scale is not None else float(config_value(cfg, "problem.loss_scale"))
    steps = args.steps
    summary_path = os.path.join(run, "summary.json")
    if os.path.isfile(summary_path):
        with open(summary_path, encoding="utf-8") as f:
            summary = json.load(f)
        if summary.get("status") not in ("max_steps", "converged", "interrupted"):
            raise InputError(f"{summary_path}: status {summary.get('status')!r}, nothing to compare")
        if steps is None:
            steps = int(summary["steps"])

    arrays = os.path.join(run, "arrays")
    src = args.inputs if args.inputs else arrays
    A = load_npy(os.path.join(src, "A.npy"), 3)
    Ustar = load_npy(os.path.join(src, "U_star.npy"), 2)
    U = load_npy(os.path.join(src, "U0.npy"), 2).copy()
    m, n, n2 = A.shape
    if n != n2 or Ustar.shape[0] != n or U.shape[0] != n:
        raise InputError(f"shapes do not fit: A {A.shape}, U_star {Ustar.shape}, U0 {U.shape}")
    if args.inputs:  # saddle must have used (and saved) exactly these inputs
        for name, given in (("A", A), ("U_star", Ustar), ("U0", U)):
            copy = os.path.join(arrays, name + ".npy")
            if not os.path.isfile(copy):
                raise InputError(f"missing {copy} (saddle saves the arrays it was given)")
            if not np.array_equal(load_npy(copy, given.ndim), given):
                print(f"FAIL: {copy} is not bit-identical to the input {os.path.join(src, name + '.npy')}")
                return EXIT_MISMATCH

    metrics_path = os.path.join(run, "metrics.csv")
    if not os.path.isfile(metrics_path):
        raise InputError(f"missing {metrics_path}")
    with open(metrics_path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    cols = ("loss", "rel_error", "train_error")
    if not rows or any(k not in rows[0] for k in ("step",) + cols):
        raise InputError(f"{metrics_path}: needs the columns step, {', '.join(cols)}")
    want = {}
    for row in rows:
        want[int(float(row["step"]))] = {k: float(row[k]) for k in cols}
    last = max(want)
    if steps is None:
        steps = last
    if last != steps:
        raise InputError(f"metrics.csv ends at step {last}, but the run made {steps} steps")

    prob = Sensing(A, Ustar, c)
    r = Ustar.shape[1]
    U0 = U.copy()
    diag_want, diag_worst, diag_rows = {}, {}, {}
    if args.diagnostics:
        prob.prepare_diagnostics(Ustar, r)
        names = [f"signal[{i}]" for i in range(r)] + ["noise", "misalignment", "angle_truth", "angle_spectral",
                                                      "sigma_r_err", "cond_UU", "angle_shadow_spectral", "angle_shadow"]
        if any(k not in rows[0] for k in names):
            raise InputError(f"{metrics_path}: --diagnostics needs the columns {', '.join(names)}")
        for row in rows:
            diag_want[int(float(row["step"]))] = {k: float(row[k]) for k in names}
    worst = {k: (0.0, -1) for k in cols}

    def note(table, key, d, k):
        if key not in table or table[key][1] < 0 or not d <= table[key][0]:  # NaN counts as worst
            table[key] = (d, k)

    for k in range(steps + 1):
        if k in want:
            got = prob.observe(U)
            for col in cols:
                d = rel_diff(got[col], want[k][col])
                if worst[col][1] < 0 or not d <= worst[col][0]:  # NaN counts as worst
                    worst[col] = (d, k)
            if args.diagnostics:
                for key, v in prob.diagnostics(U, U0, lr * k, r).items():
                    mine = diag_want[k][key]
                    if key.startswith("angle") or key == "misalignment":
                        d = abs(v - mine) / args.atol_angles * args.rtol if np.isfinite(v - mine) else float("inf")
                    elif key == "cond_UU":
                        d = rel_diff(v, mine) / 1e-3 * args.rtol
                    else:
                        d = rel_diff(v, mine)
                    note(diag_worst, key, d, k)
                    diag_rows[key] = diag_rows.get(key, 0) + 1
        if k < steps:
            g = prob.grad(U)
            if kind == "scaled_gd":
                lam = damping if rule == "constant" else np.sqrt(prob.loss(U))
                g = np.linalg.solve(U.T @ U + lam * np.eye(U.shape[1]), g.T).T  # g (U^T U + lam I)^-1
            U = U - lr * g

    results = {f"{col} (max over {len(want)} rows)": worst[col] for col in cols}
    for key, (d, k) in diag_worst.items():  # scaled so that rtol is the pass mark for every one
        results[f"{key} ({diag_rows[key]} rows, scaled)"] = (d, k)
    final_path = os.path.join(arrays, "U_final.npy")
    Uf = load_npy(final_path, 2)
    if Uf.shape != U.shape:
        raise InputError(f"{final_path}: shape {Uf.shape}, the reference's U is {U.shape}")
    results["U_final (rel. Frobenius)"] = (float(np.linalg.norm(Uf - U) / np.linalg.norm(U)), steps)
    y_path = os.path.join(arrays, "y.npy")
    if os.path.isfile(y_path):
        ys = load_npy(y_path, 1)
        results["y (rel. 2-norm)"] = (float(np.linalg.norm(ys - prob.y) / prob.y_norm), 0)

    print(f"sensing {kind} reference ({rule} damping {damping:g}): n={n} width={U.shape[1]} r={Ustar.shape[1]} m={m} lr={lr!r} c={c!r} "
          f"steps={steps} A symmetric: {bool(np.array_equal(A, A.transpose(0, 2, 1)))}")
    return EXIT_OK if report(results, args.rtol, 32) else EXIT_MISMATCH


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", nargs="?", help="saddle run directory to check")
    ap.add_argument("--lr", type=float, help="GD learning rate (default: dynamics.lr of the run)")
    ap.add_argument("--loss-scale", type=float, help="c in c||A(UU^T) - y||^2 (default: problem.loss_scale)")
    ap.add_argument("--steps", type=int, help="number of GD steps (default: steps in summary.json)")
    ap.add_argument("--inputs", help="read A, U_star, U0 from this directory instead of RUN_DIR/arrays")
    ap.add_argument("--rtol", type=float, default=1e-10, help="tolerance on every relative difference (1e-10)")
    ap.add_argument("--diagnostics", action="store_true", help="also compare the diagnostics of lowrank.md §5")
    ap.add_argument("--atol-angles", type=float, default=1e-8, help="absolute tolerance on sines of angles (1e-8)")
    ap.add_argument("--make-inputs", metavar="DIR", help="write A.npy, U_star.npy, U0.npy to DIR and exit")
    ap.add_argument("--n", type=int)
    ap.add_argument("--m", type=int)
    ap.add_argument("--r", type=int)
    ap.add_argument("--width", type=int)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--init-scale", type=float, default=1e-3, help="alpha of U0 in --make-inputs (1e-3)")
    args = ap.parse_args(argv)
    try:
        return make_inputs(args) if args.make_inputs else check(args)
    except (InputError, OSError, ValueError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_INPUT


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
