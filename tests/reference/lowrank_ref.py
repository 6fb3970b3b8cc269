#!/usr/bin/python3
"""lowrank_ref.py: an independent NumPy reference for saddle's low-rank problems `asym` and `symfact` under
gradient descent and (for `asym`) ScaledGD, ScaledGD(lambda), PrecGD and AltScaledGD.

Written from the mathematics (docs/problems/asym.md, docs/problems/symfact.md, docs/dynamics.md), not from
saddle's C code; NumPy and the standard library only.

asym (M* ~ L R^T, L: n1 x r', R: n2 x r'):
  operator    identity:  A(X) = X,  y = M*                       (factorization)
              gaussian:  A(X)_k = <A_k, X> = sum_ij (A_k)_ij X_ij, A_k: n1 x n2, not symmetric; y = A(M*)
  loss        f(L, R) = c ||A(L R^T) - y||^2
  gradient    res = A(L R^T) - y,  Z = 2c A^*(res)  (A^*(v) = sum_k v_k A_k; identity: Z = 2c res), so that
              d f = <Z, dL R^T + L dR^T> = <Z R, dL> + <Z^T L, dR>:   grad_L = Z R,  grad_R = Z^T L
  observed    rel_error = ||L R^T - M*||_F / ||M*||_F,  train_error = ||res|| / ||y||
  dynamics    gd:         L' = L - lr grad_L(L, R),  R' = R - lr grad_R(L, R)
              scaled_gd:  L' = L - lr grad_L(L, R) (R^T R + lam I)^-1,  R' = R - lr grad_R(L, R) (L^T L + lam I)^-1
                          (both from the old factors), lam = damping (damping_rule constant) or sqrt(f(L, R))
                          (damping_rule sqrt_loss, PrecGD)
              scaled_gd with alternating (AltScaledGD): first L' as above, then
                          R' = R - lr grad_R(L', R) (L'^T L' + lam' I)^-1, the gradient, the preconditioner
                          and (sqrt_loss) lam' = sqrt(f(L', R)) all at the new L'
symfact (X: n x r, M symmetric):
  loss        f(X) = c ||X X^T - M||_F^2,  gradient 4c (X X^T - M) X
  observed    rel_error = ||X X^T - M||_F / ||M||_F,  dist_plus = ||X X^T - M_+||_F, M_+ the positive part of M
              (from NumPy's eigendecomposition of M)
  dynamics    gd only

Check mode (default):

    lowrank_ref.py RUN_DIR [--kind gd|scaled_gd] [--lr LR] [--alternating true|false] [--damping LAM]
                   [--damping-rule constant|sqrt_loss] [--loss-scale C] [--steps K] [--inputs DIR] [--rtol TOL]

reads the problem kind (and, for asym, problem.operator) from RUN_DIR/config.resolved.yaml, the arrays from
RUN_DIR/arrays (asym: M_star, L0, R0, and A for gaussian; symfact: M, X0) or, with --inputs, from DIR (and then
requires RUN_DIR/arrays to hold bit-identical copies), replays the dynamics and compares, at every step listed in
metrics.csv, loss, rel_error, train_error (asym) or loss, rel_error, dist_plus (symfact) with saddle's values,
then the final parameters (asym: L_final, R_final; symfact: X_final; relative Frobenius difference) and, for
gaussian asym, saddle's y.npy; when saddle drew a spectral initialization itself, L0 R0^T against the top-r' SVD
of A^*(y) computed here. Values not given as flags come from config.resolved.yaml (dynamics.kind,
dynamics.lr, dynamics.alternating, dynamics.damping, dynamics.damping_rule, problem.loss_scale; a gd run has no
alternating, damping or damping_rule) and summary.json (steps), by simple line parsing. Relative difference:
|a - b| / max(|a|, |b|). Exit 0 iff every maximum relative difference is <= rtol (1e-10 by default), 1 if one is
not, 2 on bad input.

Attainable agreement: any two double-precision replays differ in L R^T by a few ulps of ||M*||, so rel_error and
the loss can only agree to about eps/rel_error (eps = 2.2e-16): a 1e-10 comparison needs runs that stop well
before rel_error ~ 1e-6. Likewise ScaledGD with lambda = 0 and r' > rank M* drives R^T R, L^T L towards
singularity (saddle then adds damping), where no two implementations agree; compare such runs with r' = rank.

Input mode (asym only):

    lowrank_ref.py --make-inputs DIR --rows N1 --cols N2 --rank R --width W [--measurements M] --seed S
                   [--init-scale ALPHA] [--kappa K]

writes, with NumPy's PCG64 generator, DIR/M_star.npy (U diag(linspace(1, 1/K, R)) V^T, U and V from the QR of
Gaussian matrices), DIR/L0.npy and DIR/R0.npy (entries ALPHA N(0, 1)/sqrt(N1), ALPHA = 0.3 by default) and,
with --measurements, DIR/A.npy (M x N1 x N2, entries N(0, 1/M)), to be given to saddle as
    saddle run ... arrays.M_star=DIR/M_star.npy arrays.L0=DIR/L0.npy arrays.R0=DIR/R0.npy [arrays.A=DIR/A.npy]
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

class Asym:
    """f(L, R) = c ||A(L R^T) - y||^2 with A the identity (A is None) or Gaussian measurements A: m x n1 x n2."""

    def __init__(self, Mstar, A, c):
        self.Mstar, self.A, self.c = Mstar, A, c
        self.mstar_norm = np.linalg.norm(Mstar)
        self.y = Mstar if A is None else np.einsum("kij,ij->k", A, Mstar)
        self.y_norm = np.linalg.norm(self.y)

    def residual(self, L, R):
        X = L @ R.T
        return X, (X - self.Mstar if self.A is None else np.einsum("kij,ij->k", self.A, X) - self.y)

    def loss(self, L, R):
        _, res = self.residual(L, R)
        return self.c * float(np.sum(res * res))

    def grads(self, L, R):
        _, res = self.residual(L, R)
        Z = 2.0 * self.c * (res if self.A is None else np.einsum("k,kij->ij", res, self.A))
        return Z @ R, Z.T @ L

    def observe(self, L, R):
        X, res = self.residual(L, R)
        return {
            "loss": self.c * float(np.sum(res * res)),
            "rel_error": np.linalg.norm(X - self.Mstar) / self.mstar_norm,
            "train_error": np.linalg.norm(res) / self.y_norm,
        }


def right_precondition(G, F, lam):
    """G (F^T F + lam I)^-1, by a general linear solve of the symmetric system (F^T F + lam I) Y^T = G^T."""
    K = F.T @ F + lam * np.eye(F.shape[1])
    return np.linalg.solve(K, G.T).T


class Symfact:
    """f(X) = c ||X X^T - M||_F^2, M symmetric."""

    def __init__(self, M, c):
        self.M, self.c = M, c
        self.m_norm = np.linalg.norm(M)
        w, V = np.linalg.eigh(M)
        pos = w > 1e-12 * max(1.0, float(np.abs(w).max()))
        self.Mplus = (V[:, pos] * w[pos]) @ V[:, pos].T

    def grad(self, X):
        return 4.0 * self.c * (X @ X.T - self.M) @ X

    def observe(self, X):
        P = X @ X.T
        E = P - self.M
        return {
            "loss": self.c * float(np.sum(E * E)),
            "rel_error": np.linalg.norm(E) / self.m_norm,
            "dist_plus": np.linalg.norm(P - self.Mplus),
        }


def asym_step(prob, L, R, kind, lr, alternating, damping, sqrt_loss):
    """One step of gd / scaled_gd (simultaneous or alternating) from (L, R); returns the new (L, R)."""
    gL, gR = prob.grads(L, R)
    if kind == "gd":
        return L - lr * gL, R - lr * gR
    lam = np.sqrt(max(prob.loss(L, R), 0.0)) if sqrt_loss else damping
    L_new = L - lr * right_precondition(gL, R, lam)
    if not alternating:
        return L_new, R - lr * right_precondition(gR, L, lam)
    # AltScaledGD: the R step sees the new L (its gradient, its preconditioner, and the sqrt_loss damping)
    _, gR = prob.grads(L_new, R)
    lam = np.sqrt(max(prob.loss(L_new, R), 0.0)) if sqrt_loss else damping
    return L_new, R - lr * right_precondition(gR, L_new, lam)


def parse_bool(s):
    s = str(s).strip().lower()
    if s in ("true", "yes", "on", "1"):
        return True
    if s in ("false", "no", "off", "0"):
        return False
    raise InputError(f"not a boolean: {s!r}")


# ------------------------------------------------------------------------------------------ modes

def make_inputs(args):
    for flag in ("rows", "cols", "rank", "width", "seed"):
        if getattr(args, flag) is None:
            raise InputError(f"--make-inputs needs --{flag}")
    n1, n2, r, w = args.rows, args.cols, args.rank, args.width
    if not (1 <= r <= min(n1, n2) and w >= 1):
        raise InputError(f"need 1 <= rank <= min(rows, cols), width >= 1 (got {n1} {n2} {r} {w})")
    rng = np.random.default_rng(args.seed)
    U = np.linalg.qr(rng.standard_normal((n1, r)))[0]
    V = np.linalg.qr(rng.standard_normal((n2, r)))[0]
    s = np.linspace(1.0, 1.0 / args.kappa, r)
    out = {"M_star": (U * s) @ V.T}
    out["L0"] = rng.standard_normal((n1, w)) * (args.init_scale / np.sqrt(n1))
    out["R0"] = rng.standard_normal((n2, w)) * (args.init_scale / np.sqrt(n1))
    if args.measurements:
        out["A"] = rng.standard_normal((args.measurements, n1, n2)) / np.sqrt(args.measurements)
    os.makedirs(args.make_inputs, exist_ok=True)
    for name, a in out.items():
        np.save(os.path.join(args.make_inputs, name + ".npy"), np.ascontiguousarray(a, dtype=np.float64))
    print("wrote " + ", ".join(f"{k} {v.shape}" for k, v in out.items()) + f" to {args.make_inputs}")
    return EXIT_OK


def read_metrics(path, cols):
    if not os.path.isfile(path):
        raise InputError(f"missing {path}")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows or any(k not in rows[0] for k in ("step",) + cols):
        raise InputError(f"{path}: needs the columns step, {', '.join(cols)}")
    return {int(float(row["step"])): {k: float(row[k]) for k in cols} for row in rows}


def check(args):
    run = args.run_dir
    if run is None:
        raise InputError("give a run directory (or --make-inputs DIR)")
    cfg = os.path.join(run, "config.resolved.yaml")
    if not os.path.isfile(cfg):
        raise InputError(f"missing {cfg}")
    problem = config_value(cfg, "problem.kind")
    if problem not in ("asym", "symfact"):
        raise InputError(f"{cfg}: problem.kind is {problem!r}; this reference covers 'asym' and 'symfact'")
    kind = args.kind or config_value(cfg, "dynamics.kind")
    if kind not in ("gd", "scaled_gd") or (problem == "symfact" and kind != "gd"):
        raise InputError(f"dynamics {kind!r} on {problem!r} is not covered (asym: gd, scaled_gd; symfact: gd)")
    for dotted, plain in (("lr_schedule.kind", "constant"), ("lr_schedule.warmup_steps", "0"), ("clip.grad_norm", "0")):
        if config_value(cfg, dotted, plain) != plain:
            raise InputError(f"{cfg}: {dotted} is not {plain}; this reference replays the plain update only")
    lr = args.lr if args.lr is not None else float(config_value(cfg, "dynamics.lr"))
    c = args.loss_scale if args.loss_scale is not None else float(config_value(cfg, "problem.loss_scale"))
    alternating, damping, rule = False, 0.0, "constant"
    if kind == "scaled_gd":
        alternating = parse_bool(args.alternating if args.alternating is not None
                                 else config_value(cfg, "dynamics.alternating", "false"))
        damping = args.damping if args.damping is not None else float(config_value(cfg, "dynamics.damping", "0"))
        rule = args.damping_rule or config_value(cfg, "dynamics.damping_rule", "constant")
        if rule not in ("constant", "sqrt_loss"):
            raise InputError(f"damping_rule {rule!r} is not covered")

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
    given = {}
    if problem == "asym":
        operator = config_value(cfg, "problem.operator", "identity")
        if operator not in ("identity", "gaussian"):
            raise InputError(f"{cfg}: problem.operator {operator!r} is not covered")
        names = ["M_star", "L0", "R0"] + (["A"] if operator == "gaussian" else [])
        ndim = {"M_star": 2, "L0": 2, "R0": 2, "A": 3}
        for name in names:
            given[name] = load_npy(os.path.join(src, name + ".npy"), ndim[name])
        Mstar, L, R = given["M_star"], given["L0"].copy(), given["R0"].copy()
        A = given.get("A")
        n1, n2 = Mstar.shape
        if L.shape[0] != n1 or R.shape[0] != n2 or L.shape[1] != R.shape[1] or (A is not None and A.shape[1:] != Mstar.shape):
            raise InputError(f"shapes do not fit: M_star {Mstar.shape}, L0 {L.shape}, R0 {R.shape}"
                             + (f", A {A.shape}" if A is not None else ""))
        prob = Asym(Mstar, A, c)
        cols = ("loss", "rel_error", "train_error")
    else:
        if args.inputs:
            raise InputError("--inputs is for asym (symfact's M is drawn by saddle; read it from RUN_DIR/arrays)")
        M = load_npy(os.path.join(arrays, "M.npy"), 2)
        X = load_npy(os.path.join(arrays, "X0.npy"), 2).copy()
        if M.shape[0] != M.shape[1] or X.shape[0] != M.shape[0]:
            raise InputError(f"shapes do not fit: M {M.shape}, X0 {X.shape}")
        if not np.allclose(M, M.T, rtol=0, atol=1e-14 * np.abs(M).max()):
            raise InputError("M is not symmetric")
        prob = Symfact(M, c)
        cols = ("loss", "rel_error", "dist_plus")
    if args.inputs:  # saddle must have used (and saved) exactly these inputs
        for name, a in given.items():
            copy = os.path.join(arrays, name + ".npy")
            if not os.path.isfile(copy):
                raise InputError(f"missing {copy} (saddle saves the arrays it was given)")
            if not np.array_equal(load_npy(copy, a.ndim), a):
                print(f"FAIL: {copy} is not bit-identical to the input {os.path.join(src, name + '.npy')}")
                return EXIT_MISMATCH

    want = read_metrics(os.path.join(run, "metrics.csv"), cols)
    last = max(want)
    if steps is None:
        steps = last
    if last != steps:
        raise InputError(f"metrics.csv ends at step {last}, but the run made {steps} steps")
    if len(want) < 2:
        raise InputError("metrics.csv has fewer than two rows: nothing to follow")

    worst = {k: (0.0, -1) for k in cols}
    first = None
    for k in range(steps + 1):
        if k in want:
            got = prob.observe(L, R) if problem == "asym" else prob.observe(X)
            if first is None:
                first = got["loss"]
            for col in cols:
                d = rel_diff(got[col], want[k][col])
                if worst[col][1] < 0 or not d <= worst[col][0]:  # NaN counts as worst
                    worst[col] = (d, k)
        if k < steps:
            if problem == "asym":
                L, R = asym_step(prob, L, R, kind, lr, alternating, damping, rule == "sqrt_loss")
            else:
                X = X - lr * prob.grad(X)
    final_loss = got["loss"]

    results = {f"{col} (max over {len(want)} rows)": worst[col] for col in cols}
    finals = (("L_final", L), ("R_final", R)) if problem == "asym" else (("X_final", X),)
    for name, mine in finals:
        path = os.path.join(arrays, name + ".npy")
        theirs = load_npy(path, 2)
        if theirs.shape != mine.shape:
            raise InputError(f"{path}: shape {theirs.shape}, the reference's is {mine.shape}")
        results[f"{name} (rel. Frobenius)"] = (float(np.linalg.norm(theirs - mine) / np.linalg.norm(mine)), steps)
    if problem == "asym" and not args.inputs and config_value(cfg, "init.scheme", "") == "spectral" \
            and config_value(cfg, "arrays.L0", '""') in ('""', "") and config_value(cfg, "arrays.R0", '""') in ('""', ""):
        # saddle drew L0, R0 itself: they must be the balanced factors of the top-r' SVD of A^*(y) (M* for
        # factorization), L0 R0^T = U0 S0 V0^T (sign-free), L0^T L0 = R0^T R0 = S0
        S = prob.y if prob.A is None else np.einsum("k,kij->ij", prob.y, prob.A)
        U0, s0, V0t = np.linalg.svd(S)
        w = given["L0"].shape[1]
        top = (U0[:, :w] * s0[:w]) @ V0t[:w]
        results["spectral L0 R0^T (rel. Frobenius)"] = (
            float(np.linalg.norm(given["L0"] @ given["R0"].T - top) / np.linalg.norm(top)), 0)
    if problem == "asym" and prob.A is not None:
        y_path = os.path.join(arrays, "y.npy")
        if os.path.isfile(y_path):
            ys = load_npy(y_path, 1)
            if ys.shape != prob.y.shape:
                raise InputError(f"{y_path}: shape {ys.shape}, expected {prob.y.shape}")
            results["y (rel. 2-norm)"] = (float(np.linalg.norm(ys - prob.y) / prob.y_norm), 0)

    if problem == "asym":
        what = ("GD" if kind == "gd" else ("AltScaledGD" if alternating else "ScaledGD")
                + (f"(lambda={damping!r})" if rule == "constant" else "(lambda=sqrt(loss), PrecGD)"))
        desc = (f"asym {'gaussian m=' + str(prob.A.shape[0]) if prob.A is not None else 'identity'} "
                f"n1={prob.Mstar.shape[0]} n2={prob.Mstar.shape[1]} width={L.shape[1]}")
    else:
        what, desc = "GD", f"symfact n={prob.M.shape[0]} r={X.shape[1]}"
    print(f"low-rank reference: {desc}, {what}, lr={lr!r} c={c!r} steps={steps}; "
          f"loss {first:.6g} -> {final_loss:.6g}")
    return EXIT_OK if report(results, args.rtol, 34) else EXIT_MISMATCH


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", nargs="?", help="saddle run directory to check")
    ap.add_argument("--kind", choices=("gd", "scaled_gd"), help="dynamics (default: dynamics.kind of the run)")
    ap.add_argument("--lr", type=float, help="learning rate (default: dynamics.lr)")
    ap.add_argument("--alternating", choices=("true", "false"), help="AltScaledGD (default: dynamics.alternating)")
    ap.add_argument("--damping", type=float, help="lambda of ScaledGD(lambda) (default: dynamics.damping)")
    ap.add_argument("--damping-rule", choices=("constant", "sqrt_loss"), help="default: dynamics.damping_rule")
    ap.add_argument("--loss-scale", type=float, help="c of the loss (default: problem.loss_scale)")
    ap.add_argument("--steps", type=int, help="number of steps (default: steps in summary.json)")
    ap.add_argument("--inputs", help="asym: read M_star, L0, R0 (and A) from this directory instead of RUN_DIR/arrays")
    ap.add_argument("--rtol", type=float, default=1e-10, help="tolerance on every relative difference (1e-10)")
    ap.add_argument("--make-inputs", metavar="DIR", help="write M_star.npy, L0.npy, R0.npy (and A.npy) to DIR and exit")
    ap.add_argument("--rows", type=int)
    ap.add_argument("--cols", type=int)
    ap.add_argument("--rank", type=int)
    ap.add_argument("--width", type=int)
    ap.add_argument("--measurements", type=int, help="m: also write A.npy (gaussian operator)")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--kappa", type=float, default=5.0, help="condition number of M_star in --make-inputs (5)")
    ap.add_argument("--init-scale", type=float, default=0.3, help="alpha of L0, R0 in --make-inputs (0.3)")
    args = ap.parse_args(argv)
    try:
        return make_inputs(args) if args.make_inputs else check(args)
    except (InputError, OSError, ValueError, KeyError, np.linalg.LinAlgError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_INPUT


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
