/* test_sgd.c: minibatch gradients are unbiased estimates of the full one, and SGD runs resume bit for bit. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "saddle/npy.h"

static const char *SMALL = "problem: {kind: sensing, n: 6, rank: 2, width: 4, measurements: 60}\ninit: {scale: 0.7}\nseed: 5\n";

static double rel_diff(const double *a, const double *b, size_t n) {
  double d = 0, s = 0;
  for (size_t i = 0; i < n; i++) d += (a[i] - b[i]) * (a[i] - b[i]), s += b[i] * b[i];
  return sqrt(d / s);
}

Test(sgd, a_batch_of_everything_is_the_full_gradient_and_an_epoch_averages_to_it) {
  sd_config *cfg;
  sd_arrays *arr;
  sd_problem *p = th_problem(SMALL, &cfg, &arr);
  cr_assert_eq(p->n_samples, 60u);
  cr_assert_eq(p->ops->batch_reserve(p, 60), SD_OK);
  size_t d = p->dim, idx[60];
  double *full = malloc(d * sizeof *full), *g = malloc(d * sizeof *g), *avg = calloc(d, sizeof *avg);
  double lf = p->ops->loss_grad(p, p->theta0, full);
  for (size_t i = 0; i < 60; i++) idx[i] = (i * 37) % 60; /* a permutation */
  double lb = p->ops->loss_grad_batch(p, p->theta0, idx, 60, g);
  cr_assert_float_eq(lb, lf, 1e-13 * lf);
  cr_assert_lt(rel_diff(g, full, d), 1e-13);
  /* five disjoint batches of 12: their mean is the full gradient (each is scaled by m/b) */
  for (int k = 0; k < 5; k++) {
    p->ops->loss_grad_batch(p, p->theta0, idx + 12 * k, 12, g);
    for (size_t i = 0; i < d; i++) avg[i] += g[i] / 5;
  }
  cr_assert_lt(rel_diff(avg, full, d), 1e-13);
  /* but one batch alone is not */
  p->ops->loss_grad_batch(p, p->theta0, idx, 12, g);
  cr_assert_gt(rel_diff(g, full, d), 1e-3);
  free(full), free(g), free(avg);
  sd_problem_free(&p);
  sd_arrays_free(&arr);
  sd_config_free(&cfg);
}

Test(sgd, fresh_samples_estimate_the_population_gradient) {
  /* E over fresh symmetric Gaussian A_i of c·(m/b)Σ⟨A_i, D⟩², D = UUᵀ − X⋆, is c‖D‖²_F (E⟨A_i, D⟩² = ‖D‖²/m),
   * so the mean fresh gradient is 4c·D·U */
  sd_config *cfg;
  sd_arrays *arr;
  sd_problem *p = th_problem(SMALL, &cfg, &arr);
  const size_t b = 50, draws = 2000, d = p->dim;
  cr_assert_eq(p->ops->batch_reserve(p, b), SD_OK);
  char dir[] = "/tmp/saddle-sgd-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char *skipped = NULL;
  sd_arrays_save(arr, dir, (size_t)-1, &skipped);
  char path[256];
  snprintf(path, sizeof path, "%s/U_star.npy", dir);
  sd_array us;
  cr_assert_eq(sd_npy_read(path, &us), SD_OK);
  const double *U = p->theta0;
  int n = 6, w = 4;
  double D[36], want[24] = {0};
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      D[i * n + j] = 0;
      for (int k = 0; k < w; k++) D[i * n + j] += U[i * w + k] * U[j * w + k];
      for (int k = 0; k < 2; k++) D[i * n + j] -= us.data[i * 2 + k] * us.data[j * 2 + k];
    }
  for (int i = 0; i < n; i++)
    for (int k = 0; k < w; k++)
      for (int j = 0; j < n; j++) want[i * w + k] += 4 * 0.25 * D[i * n + j] * U[j * w + k];
  sd_rng rng;
  sd_rng_init(&rng, 1, SD_STREAM_MINIBATCH, 0);
  double *g = malloc(d * sizeof *g), *avg = calloc(d, sizeof *avg);
  for (size_t r = 0; r < draws; r++) {
    p->ops->loss_grad_fresh(p, U, &rng, b, g);
    for (size_t i = 0; i < d; i++) avg[i] += g[i] / (double)draws;
  }
  double err = rel_diff(avg, want, d);
  cr_log_info("fresh-sample mean gradient vs population gradient: relative error %g", err);
  cr_assert_lt(err, 0.03, "relative error %g over %zu samples", err, b * draws);
  free(g), free(avg), free(skipped);
  sd_array_free(&us);
  sd_problem_free(&p);
  sd_arrays_free(&arr);
  sd_config_free(&cfg);
}

Test(sgd, runs_are_reproducible_and_resume_bit_identically) {
  const char *modes[] = {"without_replacement", "with_replacement", "fresh"};
  for (int m = 0; m < 3; m++) {
    char *d = th_tmpdir();
    char cmd[4096], out[4096], p[600], q[600], args[512];
    snprintf(args, sizeof args,
             "dynamics.kind=sgd dynamics.lr=0.05 dynamics.batch_size=40 dynamics.momentum=0.5 dynamics.sampling=%s "
             "run.max_steps=1000 --checkpoint-every 150",
             modes[m]);
    snprintf(cmd, sizeof cmd, "%s run %s/examples/stoger21-phases.yaml -q -o %s/a %s", SADDLE_BINARY, SADDLE_SOURCE_DIR, d, args);
    cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
    snprintf(cmd, sizeof cmd, "%s run %s/examples/stoger21-phases.yaml -q -o %s/b %s run.simulate_crash_after_checkpoints=4",
             SADDLE_BINARY, SADDLE_SOURCE_DIR, d, args);
    cr_assert_eq(th_run(cmd, out, sizeof out), 1, "%s", out);
    snprintf(cmd, sizeof cmd, "%s resume %s/b -q", SADDLE_BINARY, d);
    cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
    snprintf(p, sizeof p, "%s/a/metrics.csv", d);
    snprintf(q, sizeof q, "%s/b/metrics.csv", d);
    cr_assert(th_same_file(p, q), "%s: resumed metrics differ", modes[m]);
    snprintf(p, sizeof p, "%s/a/arrays/U_final.npy", d);
    snprintf(q, sizeof q, "%s/b/arrays/U_final.npy", d);
    cr_assert(th_same_file(p, q), "%s: resumed parameters differ", modes[m]);
    th_rmtmp(d);
  }
}

Test(sgd, problems_without_samples_are_rejected) {
  char path[512];
  char *dir = th_tmpfile("cfg.yaml", "problem: {kind: quadratic}\ndynamics: {kind: sgd}\n", path, sizeof path);
  sd_experiment *e = NULL;
  cr_assert_eq(sd_experiment_prepare(path, 0, NULL, &e), SD_ERR_CONFIG);
  cr_assert(strstr(sd_error_message(), "needs a problem with samples"), "%s", sd_error_message());
  free(dir);
}
