/* test_sensing.c: the sensing problem's gradient, operator normalization and observables. */
#include <cblas.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "saddle/alloc.h"
#include "saddle/npy.h"

static const char *SMALL =
    "problem: {kind: sensing, n: 7, rank: 2, width: 5, measurements: 40, kappa: 3}\n"
    "init: {scale: 0.7}\n"
    "seed: 11\n";

Test(sensing, gradient_matches_central_differences) {
  sd_config *cfg;
  sd_arrays *arr;
  sd_problem *p = th_problem(SMALL, &cfg, &arr);
  /* at the (not small) initialization and at a random point: both away from stationary points */
  double err = th_gradcheck(p, p->theta0, 1e-6);
  cr_assert_lt(err, 1e-6, "relative gradient error %g at U0", err);
  double *x = malloc(p->dim * sizeof *x);
  for (size_t i = 0; i < p->dim; i++) x[i] = sin(1.0 + 3.0 * (double)i);
  err = th_gradcheck(p, x, 1e-6);
  cr_assert_lt(err, 1e-6, "relative gradient error %g at a random point", err);
  free(x);
  sd_problem_free(&p);
  sd_arrays_free(&arr);
  sd_config_free(&cfg);
}

Test(sensing, gradient_with_other_loss_scale_and_full_width) {
  sd_config *cfg;
  sd_arrays *arr;
  sd_problem *p = th_problem(
      "problem: {kind: sensing, n: 6, rank: 3, width: 0, measurements: 30, loss_scale: 0.5, kappa: 4, kappa_of: factor}\n"
      "init: {scale: 1.0, normalize: n}\nseed: 2\n",
      &cfg, &arr);
  cr_assert_eq(p->dim, 36u); /* width 0 means r' = n */
  double err = th_gradcheck(p, p->theta0, 1e-6);
  cr_assert_lt(err, 1e-6, "relative gradient error %g", err);
  sd_problem_free(&p);
  sd_arrays_free(&arr);
  sd_config_free(&cfg);
}

Test(sensing, loss_is_zero_at_the_truth_and_observables_are_exact_there) {
  sd_config *cfg;
  sd_arrays *arr;
  /* width = rank, so U = U⋆ is a valid parameter */
  sd_problem *p = th_problem("problem: {kind: sensing, n: 8, rank: 2, width: 2, measurements: 50}\n", &cfg, &arr);
  char path[] = "/tmp/saddle-sensing-XXXXXX";
  cr_assert_not_null(mkdtemp(path));
  char *skipped = NULL;
  cr_assert_eq(sd_arrays_save(arr, path, (size_t)-1, &skipped), SD_OK);
  sd_array ustar;
  char f[256];
  snprintf(f, sizeof f, "%s/U_star.npy", path);
  cr_assert_eq(sd_npy_read(f, &ustar), SD_OK);
  cr_assert_eq(ustar.ndim, 2);
  cr_assert_eq(ustar.shape[0], 8u);
  double loss = p->ops->loss_grad(p, ustar.data, NULL);
  cr_assert_lt(loss, 1e-28, "loss at the truth %g", loss);
  double *obs = malloc(p->obs_total * sizeof *obs);
  p->ops->observe(p, ustar.data, 0.0, obs);
  /* rel_error, train_error, signal_ratio, noise, noise_perp, angle_truth, angle_spectral, signal[2], eig[2] */
  cr_assert_lt(obs[0], 1e-14);
  cr_assert_lt(obs[1], 1e-14);
  cr_assert_float_eq(obs[2], 1.0, 1e-12);
  cr_assert_lt(fabs(obs[3]), 1e-12);
  cr_assert_lt(fabs(obs[4]), 1e-12);
  cr_assert_lt(obs[5], 1e-7); /* sin of an angle ~ sqrt(rounding) */
  /* default kappa 2 (of the matrix): eigenvalues of X⋆ are 1 and 0.5, the squares of the signal values */
  cr_assert_float_eq(obs[7] * obs[7], 1.0, 1e-12);
  cr_assert_float_eq(obs[8] * obs[8], 0.5, 1e-12);
  cr_assert_float_eq(obs[9], 1.0, 1e-12);
  cr_assert_float_eq(obs[10], 0.5, 1e-12);
  free(obs);
  sd_array_free(&ustar);
  free(skipped);
  sd_problem_free(&p);
  sd_arrays_free(&arr);
  sd_config_free(&cfg);
}

Test(sensing, spectral_initialization_is_the_top_eigenpairs_of_Astar_y) {
  char *d = th_tmpdir();
  char cmd[4096], out[4096];
  snprintf(cmd, sizeof cmd, "%s run %s/examples/stoger21-phases.yaml -q -o %s/r init.scheme=spectral problem.width=3 run.max_steps=1",
           SADDLE_BINARY, SADDLE_SOURCE_DIR, d);
  cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
  snprintf(cmd, sizeof cmd,
           "/usr/bin/python3 -c \"import numpy as np; d = '%s/r/arrays/'; A = np.load(d + 'A.npy'); y = np.load(d + 'y.npy');"
           "U0 = np.load(d + 'U0.npy'); M = np.einsum('i,ijk->jk', y, A); M = (M + M.T) / 2; w, V = np.linalg.eigh(M);"
           "top = V[:, -3:] @ np.diag(np.maximum(w[-3:], 0)) @ V[:, -3:].T;"
           "err = np.abs(U0 @ U0.T - top).max() / np.abs(top).max(); print(err); assert err < 1e-12, err\"",
           d);
  cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
  free(d);
}

Test(sensing, packed_and_full_operators_agree) {
  /* the drawn operator is the same array either way (A.npy bit for bit), and the trajectories agree to rounding:
   * every column to 1e-10 relative (sines of angles beyond 1e-13 absolute: near 0 they have no relative accuracy),
   * except cond_UU, whose σ_min(U) of a nearly rank-deficient U is known only to ε·σ_max */
  char *d = th_tmpdir();
  char cmd[4096], out[4096];
  for (int k = 0; k < 2; k++) {
    snprintf(cmd, sizeof cmd, "%s run %s/examples/stoger21-phases.yaml -q -o %s/%s run.max_steps=800 problem.storage=%s",
             SADDLE_BINARY, SADDLE_SOURCE_DIR, d, k ? "full" : "packed", k ? "full" : "auto");
    cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
  }
  char a[600], b[600];
  snprintf(a, sizeof a, "%s/packed/arrays/A.npy", d);
  snprintf(b, sizeof b, "%s/full/arrays/A.npy", d);
  cr_assert(th_same_file(a, b), "the operator differs between storages");
  snprintf(cmd, sizeof cmd,
           "/usr/bin/python3 -c \"import csv, numpy as np; d = '%s';"
           "h, *rows = list(csv.reader(open(d + '/packed/metrics.csv')));"
           "p, f = [np.array(list(csv.reader(open(d + x + '/metrics.csv')))[1:], float) for x in ('/packed', '/full')];"
           "keep = [i for i, c in enumerate(h) if c != 'cond_UU'];"
           "floor = np.array([1e-13 if c.startswith('angle') or c == 'misalignment' else 0.0 for c in h]);"
           "dif = np.abs(p - f) - floor; err = np.max(np.where(dif <= 0, 0.0, dif / np.maximum(np.abs(f), 1e-300))[:, keep]); print(err);"
           "assert p.shape == f.shape and err < 1e-10, err\"",
           d);
  cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
  free(d);
}

/* The width × α sweep: three phases in every run, alignment with L improving as α shrinks, error vs α. */
Test(sensing, reproduce_stoger21_sensing) { th_reproduce("stoger21-sensing", "43 of 43 claims pass"); }

/* Implicit bias of the small init: compared at the first observation with train error ≤ 5e-2 (an `M@first:N<x`
 * sweep value). */
Test(sensing, reproduce_stoger21_init_scale) { th_reproduce("stoger21-init-scale", "5 of 5 claims pass"); }
