/* test_reference.c: saddle's sensing trajectories against an independent NumPy reference
 * (tests/reference/sensing_gd.py, run by Debian's /usr/bin/python3 with python3-numpy).
 *
 * The reference replays gradient descent from the math (y = A(U⋆U⋆ᵀ), loss c‖A(UUᵀ) − y‖², gradient
 * 2c Σ res_i (A_i + A_iᵀ)U) on the same .npy inputs and compares loss, rel_error and train_error at every row
 * of metrics.csv, and U_final.npy, at relative tolerance 1e-10. Its exit status: 0 match, 1 mismatch, 2 bad
 * input (NumPy missing included). */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define REF_PY "/usr/bin/python3 '" SADDLE_SOURCE_DIR "/tests/reference/sensing_gd.py'"
#define ENV "OPENBLAS_NUM_THREADS=1 "

static char out[16384];

/* Runs `ENV cmd 2>&1` (formatted), keeping its output in out; returns the exit status. */
static int sh(const char *fmt, ...) {
  char cmd[4096], full[4200];
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  cr_assert(k > 0 && (size_t)k < sizeof cmd, "command too long");
  snprintf(full, sizeof full, ENV "%s 2>&1", cmd);
  return th_sh(full, out, sizeof out);
}

static void require_numpy(void) {
  int rc = sh("/usr/bin/python3 -c 'import numpy'");
  cr_assert_eq(rc, 0, "the reference needs /usr/bin/python3 with NumPy (Debian: python3-numpy):\n%s", out);
}

/* saddle on the bundled Stöger–Soltanolkotabi example (symmetric Gaussian operator, r' = n = 20, α = 1e-6),
 * 600 steps; lr and loss_scale are read by the reference from config.resolved.yaml. */
Test(reference, stoger21_example_matches_numpy) {
  require_numpy();
  char *tmp = th_tmpdir();
  int rc = sh("'" SADDLE_BINARY "' run '" SADDLE_SOURCE_DIR "/examples/stoger21-phases.yaml' -o '%s/run' "
              "run.max_steps=600 -q",
              tmp);
  cr_assert_eq(rc, 0, "saddle run failed:\n%s", out);
  rc = sh(REF_PY " '%s/run' --rtol 1e-10 --diagnostics", tmp);
  cr_assert_eq(rc, 0, "the NumPy reference disagrees (exit %d):\n%s", rc, out);
  cr_assert_not_null(strstr(out, "OK:"), "%s", out);
  cr_assert_not_null(strstr(out, "angle_shadow_spectral"), "%s", out);
  cr_log_info("%s", out);
  /* negative control for the diagnostics: one column of metrics.csv off by 1e-6 must fail */
  rc = sh("cd '%s/run' && /usr/bin/python3 -c \"import csv; r = list(csv.DictReader(open('metrics.csv')));"
          "[x.update(misalignment=repr(float(x['misalignment']) + 1e-6)) for x in r];"
          "w = csv.DictWriter(open('metrics.csv', 'w', newline=''), fieldnames=list(r[0])); w.writeheader(); w.writerows(r)\"",
          tmp);
  cr_assert_eq(rc, 0, "%s", out);
  rc = sh(REF_PY " '%s/run' --rtol 1e-10 --diagnostics", tmp);
  cr_assert_eq(rc, 1, "a misalignment column off by 1e-6 should be a mismatch (exit %d):\n%s", rc, out);
  cr_assert_not_null(strstr(out, "misalignment"), "%s", out);
  /* r' = 25 > n = 20: the power shadow's start is then the Cholesky factor of CCᵀ (same left singular vectors) */
  rc = sh("'" SADDLE_BINARY "' run '" SADDLE_SOURCE_DIR "/examples/stoger21-phases.yaml' -o '%s/wide' "
          "run.max_steps=300 problem.width=25 -q",
          tmp);
  cr_assert_eq(rc, 0, "saddle run failed:\n%s", out);
  rc = sh(REF_PY " '%s/wide' --rtol 1e-10 --diagnostics", tmp);
  cr_assert_eq(rc, 0, "r' > n: the NumPy reference disagrees (exit %d):\n%s", rc, out);
  /* loss scale ½ (the shadow's clock is 4c·t) */
  rc = sh("'" SADDLE_BINARY "' run '" SADDLE_SOURCE_DIR "/examples/stoger21-phases.yaml' -o '%s/half' "
          "run.max_steps=300 problem.loss_scale=0.5 dynamics.lr=0.05 -q",
          tmp);
  cr_assert_eq(rc, 0, "saddle run failed:\n%s", out);
  rc = sh(REF_PY " '%s/half' --rtol 1e-10 --diagnostics", tmp);
  cr_assert_eq(rc, 0, "c = 1/2: the NumPy reference disagrees (exit %d):\n%s", rc, out);
  /* and independently of the reference: c = ½ with lr 0.05 takes the same steps as c = ¼ with lr 0.1, so the
   * shadow (whose clock 4c·t is the same) must give the same angles at every step */
  rc = sh("'" SADDLE_BINARY "' run '" SADDLE_SOURCE_DIR "/examples/stoger21-phases.yaml' -o '%s/quarter' "
          "run.max_steps=300 -q && /usr/bin/python3 -c \"import csv; d = '%s';"
          "a, b = [list(csv.DictReader(open(d + x + '/metrics.csv'))) for x in ('/quarter', '/half')];"
          "e = max(abs(float(x[k]) - float(y[k])) for x, y in zip(a, b) for k in ('angle_shadow', 'angle_shadow_spectral'));"
          "print(e); assert len(a) == len(b) and e < 1e-9, e\"",
          tmp, tmp);
  cr_assert_eq(rc, 0, "the shadow's clock depends on the loss scale:\n%s", out);
  th_rmtmp(tmp);
}

/* Inputs saddle did not draw: A with non-symmetric A_i (so the gradient must use A_i + A_iᵀ), drawn by NumPy's
 * generator, given as array overrides. init.scale and seed are set to values that would give a very different
 * run if saddle ignored U0. The reference reads the original files (--inputs) and also requires saddle's
 * copies in run/arrays to be bit-identical. */
Test(reference, numpy_drawn_nonsymmetric_inputs_match) {
  require_numpy();
  char *tmp = th_tmpdir();
  int rc = sh(REF_PY " --make-inputs '%s/in' --n 9 --m 40 --r 2 --width 5 --seed 7", tmp);
  cr_assert_eq(rc, 0, "--make-inputs failed:\n%s", out);
  rc = sh("cd '%s' && '" SADDLE_BINARY "' run '" SADDLE_SOURCE_DIR "/examples/stoger21-phases.yaml' -o run -q "
          "arrays.A=in/A.npy arrays.U_star=in/U_star.npy arrays.U0=in/U0.npy "
          "problem.n=9 problem.rank=2 problem.width=5 problem.measurements=40 problem.loss_scale=0.25 "
          "init.scale=123 seed=99 run.max_steps=300 dynamics.lr=0.05",
          tmp);
  cr_assert_eq(rc, 0, "saddle run failed:\n%s", out);
  rc = sh(REF_PY " '%s/run' --inputs '%s/in' --lr 0.05 --loss-scale 0.25 --steps 300 --rtol 1e-10", tmp, tmp);
  cr_assert_eq(rc, 0, "the NumPy reference disagrees (exit %d):\n%s", rc, out);
  cr_assert_not_null(strstr(out, "A symmetric: False"), "the inputs should exercise a non-symmetric operator:\n%s", out);
  cr_log_info("%s", out);
  th_rmtmp(tmp);
}

/* Negative control: the same comparison with the learning rate off by 1% must fail (exit 1, not 2), while the
 * right one passes on the same run. */
Test(reference, wrong_learning_rate_is_detected) {
  require_numpy();
  char *tmp = th_tmpdir();
  int rc = sh("'" SADDLE_BINARY "' run '" SADDLE_SOURCE_DIR "/examples/stoger21-phases.yaml' -o '%s/run' "
              "run.max_steps=600 dynamics.lr=0.1 problem.loss_scale=0.25 -q",
              tmp);
  cr_assert_eq(rc, 0, "saddle run failed:\n%s", out);
  rc = sh(REF_PY " '%s/run' --lr 0.1 --loss-scale 0.25 --rtol 1e-10", tmp);
  cr_assert_eq(rc, 0, "with the right learning rate the reference should agree (exit %d):\n%s", rc, out);
  rc = sh(REF_PY " '%s/run' --lr 0.101 --loss-scale 0.25 --rtol 1e-10", tmp);
  cr_assert_eq(rc, 1, "lr × 1.01 should be reported as a mismatch (exit 1), got exit %d:\n%s", rc, out);
  cr_assert_not_null(strstr(out, "FAIL:"), "%s", out);
  th_rmtmp(tmp);
}

/* ScaledGD on symmetric sensing against the reference: ScaledGD(λ) (constant damping, r' = 2r) for 200 steps,
 * and PrecGD (λ_k = √L, r' = n) for its first 100 steps (rel_error 5e-3). Later PrecGD's Gram matrix UᵀU + λI
 * reaches condition numbers ~1e8 as λ → 0 with 18 noise directions, and two correct solvers (Cholesky here,
 * NumPy's LU there) part by cond·ε ≈ 1e-8 in the loss: not a disagreement about the mathematics. */
Test(reference, sensing_scaledgd_matches_numpy) {
  require_numpy();
  const char *runs[] = {"dynamics.kind=scaled_gd dynamics.damping=1e-3 dynamics.lr=0.5 problem.width=4 run.max_steps=200",
                        "dynamics.kind=scaled_gd dynamics.damping_rule=sqrt_loss dynamics.lr=0.5 run.max_steps=100"};
  for (int k = 0; k < 2; k++) {
    char *tmp = th_tmpdir();
    int rc = sh("'" SADDLE_BINARY "' run '" SADDLE_SOURCE_DIR "/examples/stoger21-phases.yaml' -o '%s/run' -q %s", tmp, runs[k]);
    cr_assert_eq(rc, 0, "saddle run failed:\n%s", out);
    rc = sh(REF_PY " '%s/run' --rtol 1e-10", tmp);
    cr_assert_eq(rc, 0, "%s: the NumPy reference disagrees (exit %d):\n%s", runs[k], rc, out);
    cr_assert_not_null(strstr(out, "sensing scaled_gd reference"), "%s", out);
    cr_log_info("%s", out);
    /* negative control: the same run against GD's update must fail */
    rc = sh("cd '%s/run' && sed -i 's/kind: scaled_gd/kind: gd/' config.resolved.yaml && " REF_PY " . --rtol 1e-10", tmp);
    cr_assert_eq(rc, 1, "GD's update should not match a ScaledGD run (exit %d):\n%s", rc, out);
    th_rmtmp(tmp);
  }
}
