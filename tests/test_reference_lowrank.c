/* test_reference_lowrank.c: saddle's low-rank trajectories (asym factorization and Gaussian sensing under GD,
 * ScaledGD, ScaledGD(λ) and AltScaledGD; symfact under GD) against an independent NumPy reference
 * (tests/reference/lowrank_ref.py, run by Debian's /usr/bin/python3 with python3-numpy).
 *
 * The reference replays the dynamics from the math (loss c‖A(LRᵀ) − y‖², Z = 2c·A^*(res), ∇_L = ZR,
 * ∇_R = ZᵀL, preconditioners (RᵀR + λI)⁻¹ and (LᵀL + λI)⁻¹ by a general solve; symfact c‖XXᵀ − M‖²,
 * gradient 4c(XXᵀ − M)X) on the same .npy data and initialization and compares loss, rel_error and
 * train_error (symfact: dist_plus) at every row of metrics.csv, and the final factors, at relative tolerance
 * 1e-10. Its exit status: 0 match, 1 mismatch, 2 bad input (NumPy missing included).
 *
 * Where the inputs come from NumPy (--make-inputs), saddle gets them as array overrides and the reference
 * (--inputs) also requires saddle's copies in run/arrays to be bit-identical; seed and init.scale are then set
 * to values that would give a very different run if saddle ignored L0 and R0.
 *
 * Choice of runs: two double-precision replays agree on rel_error only to about 2.2e-16/rel_error, so every run
 * stops while rel_error is still ≥ 1e-4 (ScaledGD at η = 0.05 reaches 6.5e-8 in 300 steps, where both saddle and
 * this reference are 2–4e-10 away from an 80-bit replay). ScaledGD with λ = 0 runs with r' = r = 2: with r' > r
 * the Gram matrices become singular (saddle then damps them) and no two implementations need agree. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define LR_REF "/usr/bin/python3 '" SADDLE_SOURCE_DIR "/tests/reference/lowrank_ref.py'"
#define LR_SADDLE "'" SADDLE_BINARY "'"

static char lr_out[16384];

/* Runs the formatted command through th_run (OPENBLAS_NUM_THREADS=1, stderr folded in), output in lr_out. */
static int lr_sh(const char *fmt, ...) {
  char cmd[4096];
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  cr_assert(k > 0 && (size_t)k < sizeof cmd, "command too long");
  return th_run(cmd, lr_out, sizeof lr_out);
}

/* A fresh temp dir holding asym.yaml: a 12 × 9 rank-2 target, 300 steps, a row every 7 steps. */
static char *lr_setup(void) {
  int rc = lr_sh("/usr/bin/python3 -c 'import numpy'");
  cr_assert_eq(rc, 0, "the reference needs /usr/bin/python3 with NumPy (Debian: python3-numpy):\n%s", lr_out);
  char path[512];
  char *tmp = th_tmpfile("asym.yaml", "experiment: lowrank-reference\n"
        "seed: 3\n"
        "problem: {kind: asym, rows: 12, cols: 9, rank: 2, width: 3, operator: identity, kappa: 5, loss_scale: 0.5}\n"
        "init: {scheme: small_random, scale: 0.3, normalize: n}\n"
        "dynamics: {kind: gd, lr: 0.1}\n"
        "run: {max_steps: 300}\n"
        "observe: {schedule: every, every: 7}\n", path, sizeof path);
  return tmp;
}

static void lr_teardown(char *tmp) {
  th_rmtmp(tmp);
}

/* saddle run on tmp/asym.yaml with the overrides, into tmp/run. */
static void lr_saddle(const char *tmp, const char *overrides) {
  int rc = lr_sh("cd '%s' && " LR_SADDLE " run asym.yaml -o run -q %s", tmp, overrides);
  cr_assert_eq(rc, 0, "saddle run failed (exit %d):\n%s", rc, lr_out);
}

/* The reference on tmp/run with extra flags must agree (exit 0). */
static void lr_agree(const char *tmp, const char *flags) {
  int rc = lr_sh("cd '%s' && " LR_REF " run --rtol 1e-10 %s", tmp, flags);
  cr_assert_eq(rc, 0, "the NumPy reference disagrees (exit %d):\n%s", rc, lr_out);
  cr_assert_not_null(strstr(lr_out, "OK:"), "%s", lr_out);
  cr_log_info("%s", lr_out);
}

/* The reference told something false must report a mismatch (exit 1, not 2) in the trajectory itself. */
static void lr_disagree(const char *tmp, const char *flags) {
  int rc = lr_sh("cd '%s' && " LR_REF " run --rtol 1e-10 %s", tmp, flags);
  cr_assert_eq(rc, 1, "'%s' should be reported as a mismatch (exit 1), got exit %d:\n%s", flags, rc, lr_out);
  cr_assert_not_null(strstr(lr_out, "FAIL:"), "%s", lr_out);
  const char *loss = strstr(lr_out, "  loss (max");
  cr_assert_not_null(loss, "%s", lr_out);
  char line[256];
  size_t n = strcspn(loss, "\n");
  if (n >= sizeof line) n = sizeof line - 1;
  memcpy(line, loss, n);
  line[n] = '\0';
  cr_assert_not_null(strstr(line, "> rtol"), "the loss column itself should differ:\n%s", lr_out);
}

/* NumPy-drawn M⋆ (κ = 5), L0, R0 (α = 0.3) and, with m > 0, a non-symmetric Gaussian A, into tmp/in. */
static void lr_make_inputs(const char *tmp, int width, int m, int seed) {
  char meas[32] = "";
  if (m > 0) snprintf(meas, sizeof meas, "--measurements %d", m);
  int rc = lr_sh(LR_REF " --make-inputs '%s/in' --rows 12 --cols 9 --rank 2 --width %d %s --seed %d", tmp, width, meas, seed);
  cr_assert_eq(rc, 0, "--make-inputs failed:\n%s", lr_out);
}

#define LR_IN_ARRAYS "arrays.M_star=in/M_star.npy arrays.L0=in/L0.npy arrays.R0=in/R0.npy seed=99 init.scale=123 "

/* Factorization, GD from saddle's own draws (small random, r' = 3 > r = 2); the learning rate off by 1% must
 * be detected on the same run. */
Test(reference_lowrank, asym_identity_gd) {
  char *tmp = lr_setup();
  lr_saddle(tmp, "dynamics.kind=gd dynamics.lr=0.1");
  lr_agree(tmp, "");
  lr_disagree(tmp, "--lr 0.101");
  lr_teardown(tmp);
}

/* Factorization, ScaledGD (λ = 0, simultaneous) on NumPy-drawn inputs, r' = r = 2. */
Test(reference_lowrank, asym_identity_scaledgd) {
  char *tmp = lr_setup();
  lr_make_inputs(tmp, 2, 0, 11);
  lr_saddle(tmp, LR_IN_ARRAYS "problem.width=2 dynamics.kind=scaled_gd dynamics.lr=0.02 dynamics.damping=0");
  lr_agree(tmp, "--inputs in");
  lr_teardown(tmp);
}

/* Factorization, AltScaledGD (L first, then R at the new L) on NumPy-drawn inputs, r' = r = 2; replaying it as
 * simultaneous ScaledGD must be detected. */
Test(reference_lowrank, asym_identity_altscaledgd) {
  char *tmp = lr_setup();
  lr_make_inputs(tmp, 2, 0, 12);
  lr_saddle(tmp, LR_IN_ARRAYS "problem.width=2 dynamics.kind=scaled_gd dynamics.alternating=true dynamics.lr=0.02");
  lr_agree(tmp, "--inputs in");
  cr_assert_not_null(strstr(lr_out, "AltScaledGD"), "%s", lr_out);
  lr_disagree(tmp, "--inputs in --alternating false");
  lr_teardown(tmp);
}

/* Gaussian sensing (m = 80 < n₁n₂, A_k not symmetric), GD on NumPy-drawn inputs, r' = 3, log schedule. */
Test(reference_lowrank, asym_gaussian_gd) {
  char *tmp = lr_setup();
  lr_make_inputs(tmp, 3, 80, 13);
  lr_saddle(tmp, LR_IN_ARRAYS "arrays.A=in/A.npy problem.operator=gaussian problem.measurements=80 "
                              "dynamics.kind=gd dynamics.lr=0.1 observe.schedule=log");
  lr_agree(tmp, "--inputs in");
  cr_assert_not_null(strstr(lr_out, "y (rel. 2-norm)"), "%s", lr_out);
  lr_teardown(tmp);
}

/* Gaussian sensing, ScaledGD(λ = 0.01) from saddle's own draws (A, M⋆, spectral initialization, which the
 * reference recomputes from A^*(y)), r' = 3; the undamped replay must be detected. */
Test(reference_lowrank, asym_gaussian_scaledgd_damped) {
  char *tmp = lr_setup();
  lr_saddle(tmp, "problem.operator=gaussian problem.measurements=80 init.scheme=spectral "
                 "dynamics.kind=scaled_gd dynamics.damping=0.01 dynamics.lr=0.05");
  lr_agree(tmp, "");
  cr_assert_not_null(strstr(lr_out, "spectral L0 R0^T"), "%s", lr_out);
  lr_disagree(tmp, "--damping 0");
  lr_teardown(tmp);
}

/* Symmetric factorization with an indefinite target, GD on the bundled Mohammadi et al. example. */
Test(reference_lowrank, symfact_gd) {
  char *tmp = lr_setup();
  int rc = lr_sh("cd '%s' && " LR_SADDLE " run '" SADDLE_SOURCE_DIR "/examples/mohammadi24-schur.yaml' -o run -q "
                 "dynamics.kind=gd dynamics.lr=0.05 run.max_steps=400 observe.hessian=off",
                 tmp);
  cr_assert_eq(rc, 0, "saddle run failed (exit %d):\n%s", rc, lr_out);
  lr_agree(tmp, "");
  cr_assert_not_null(strstr(lr_out, "symfact"), "%s", lr_out);
  lr_disagree(tmp, "--loss-scale 0.2525");
  lr_teardown(tmp);
}
