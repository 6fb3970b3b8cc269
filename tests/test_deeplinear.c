/* test_deeplinear.c: the deep linear network's gradient, its exact mode dynamics, and the plateau detector. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "saddle/alloc.h"
#include "saddle/observe.h"

Test(deeplinear, gradient_matches_central_differences) {
  sd_config *cfg;
  sd_arrays *arr;
  sd_problem *p = th_problem(
      "problem: {kind: deeplinear, inputs: 5, hidden: 3, outputs: 4, singular_values: [2, 1.5, 0.2]}\n"
      "init: {scheme: random, scale: 0.6}\nseed: 8\n",
      &cfg, &arr);
  cr_assert_eq(p->dim, 3u * 5 + 4 * 3);
  cr_assert_eq(p->obs_total, 3u + 3); /* rel_error, offdiag, balance, u[3]; no analytic columns */
  double err = th_gradcheck(p, p->theta0, 1e-6);
  cr_assert_lt(err, 1e-8, "relative gradient error %g", err);
  sd_problem_free(&p);
  sd_arrays_free(&arr);
  sd_config_free(&cfg);
}

Test(deeplinear, decoupled_init_starts_on_the_modes) {
  sd_config *cfg;
  sd_arrays *arr;
  sd_problem *p = th_problem("problem: {kind: deeplinear}\ninit: {scale: 0.1}\n", &cfg, &arr);
  double *obs = malloc(p->obs_total * sizeof *obs);
  p->ops->observe(p, p->theta0, 0.0, obs);
  /* rel_error, offdiag, balance, u[4], u_theory[4], analytic_err */
  cr_assert_lt(obs[1], 1e-15, "off-diagonal %g", obs[1]);
  cr_assert_lt(obs[2], 1e-15, "balance %g", obs[2]);
  for (int a = 0; a < 4; a++) cr_assert_float_eq(obs[3 + a], 0.01, 1e-15);
  cr_assert_lt(obs[11], 1e-14);
  free(obs);
  sd_problem_free(&p);
  sd_arrays_free(&arr);
  sd_config_free(&cfg);
}

Test(deeplinear, reproduce_saxe14_passes) {
  char *d = th_tmpdir();
  char cmd[2048], out[8192];
  snprintf(cmd, sizeof cmd, "OPENBLAS_NUM_THREADS=1 %s reproduce saxe14-deep-linear -q -o %s/r 2>&1", SADDLE_BINARY, d);
  cr_assert_eq(th_sh(cmd, out, sizeof out), 0, "%s", out);
  cr_assert(strstr(out, "5 of 5 claims pass"), "%s", out);
  /* and the rows are the integrator's own at the requested times: t column equals the schedule */
  snprintf(cmd, sizeof cmd,
           "/usr/bin/python3 -c \"import csv, numpy as np; r = list(csv.reader(open('%s/r/metrics.csv')));"
           "t = np.array([float(x[1]) for x in r[1:]]); want = 0.01 * 10 ** (np.arange(len(t) - 2) / 100);"
           "assert t[0] == 0 and t[-1] == 40 and np.allclose(t[1:-1], want, rtol=1e-14, atol=0), t[:5];"
           "print(len(t))\" 2>&1",
           d);
  cr_assert_eq(th_sh(cmd, out, sizeof out), 0, "%s", out);
  free(d);
}

/* A metrics table from a function of t on a log grid. */
static sd_metrics *series(double (*f)(double), double t0, double t1, int per_decade) {
  const char *names[1] = {"y"};
  size_t lens[1] = {1};
  sd_metrics *m;
  size_t n = (size_t)(log10(t1 / t0) * per_decade) + 2;
  cr_assert_eq(sd_metrics_create(&m, 1, names, lens, n + 1), SD_OK);
  for (size_t i = 0; i < n; i++) {
    double t = t0 * pow(10.0, (double)i / per_decade), y = f(t);
    sd_metrics_add(m, (double)i, t, y, &y);
  }
  return m;
}

/* a jump from 10 to 1, symmetric in ln t around t = 10: it crosses 5.5 exactly at t = 10 */
static double step_down(double t) { return 1.0 + 9.0 / (1.0 + pow(t / 10.0, 20.0)); }
static double power_law(double t) { return 1.0 / t; }
static double two_steps(double t) { return step_down(t) + 0.5 / (1.0 + pow(t / 300.0, 30.0)); }

Test(plateaus, one_jump_at_the_known_time) {
  sd_metrics *m = series(step_down, 0.01, 1e4, 50);
  sd_plateau *p;
  size_t n;
  cr_assert_eq(sd_plateaus_detect(m, "y", 0.1, 1.3, &p, &n), SD_OK);
  cr_assert_eq(n, 2u);
  cr_assert_float_eq(p[0].level, 10.0, 1e-6);
  cr_assert_float_eq(p[1].level, 1.0, 1e-6);
  cr_assert(p[0].has_jump);
  cr_assert_float_eq(p[0].jump_t, 10.0, 1e-3 * 10, "jump at %g", p[0].jump_t);
  cr_assert(!p[1].has_jump); /* the run ends on the second plateau */
  cr_assert_lt(p[0].t_end, 10.0);
  cr_assert_gt(p[1].t_start, 10.0);
  sd_free(p);
  sd_metrics_free(&m);
}

Test(plateaus, a_power_law_has_none) {
  sd_metrics *m = series(power_law, 0.01, 1e4, 50);
  sd_plateau *p;
  size_t n;
  cr_assert_eq(sd_plateaus_detect(m, "y", 0.1, 1.3, &p, &n), SD_OK);
  cr_assert_eq(n, 0u);
  sd_free(p);
  sd_metrics_free(&m);
}

Test(plateaus, staircase_of_three_levels) {
  sd_metrics *m = series(two_steps, 0.01, 1e5, 50);
  sd_plateau *p;
  size_t n;
  cr_assert_eq(sd_plateaus_detect(m, "y", 0.1, 1.3, &p, &n), SD_OK);
  cr_assert_eq(n, 3u);
  cr_assert_float_eq(p[0].level, 10.5, 1e-3);
  cr_assert_float_eq(p[1].level, 1.5, 1e-3);
  cr_assert_float_eq(p[2].level, 1.0, 1e-3);
  cr_assert_float_eq(p[1].jump_t, 300.0, 1.0, "second jump at %g", p[1].jump_t);
  sd_free(p);
  sd_metrics_free(&m);
}

Test(deeplinear, every_plateau_is_a_saddle_of_the_next_mode) {
  /* at the plateau where modes 1..α−1 are learned, the Hessian's most negative eigenvalue is −s_α (the
   * escape direction of the next mode): −4, −2, −1, −0.5 for s = (4, 2, 1, 0.5) */
  char *d = th_tmpdir();
  char cmd[2048], out[8192];
  snprintf(cmd, sizeof cmd, "OPENBLAS_NUM_THREADS=1 %s run %s/examples/saxe14-deep-linear.yaml -q -o %s/r 2>&1", SADDLE_BINARY,
           SADDLE_SOURCE_DIR, d);
  cr_assert_eq(th_sh(cmd, out, sizeof out), 0, "%s", out);
  snprintf(cmd, sizeof cmd,
           "/usr/bin/python3 -c \"import json; s = json.load(open('%s/r/summary.json'));"
           "h = [p['hess_min'] for p in s['plateaus']['found']]; print(h);"
           "assert len(h) == 4 and all(abs(a - b) < 2e-3 * abs(b) for a, b in zip(h, [-4, -2, -1, -0.5])), h\" 2>&1",
           d);
  cr_assert_eq(th_sh(cmd, out, sizeof out), 0, "%s", out);
  free(d);
}

Test(deeplinear, chain_gradient_and_the_power_law_plateau) {
  sd_config *cfg;
  sd_arrays *arr;
  sd_problem *p = th_problem("problem: {kind: chain, depth: 4, s: 2}\ninit: {scale: 0.9}\n", &cfg, &arr);
  double w[4] = {0.7, -1.1, 0.4, 1.3};
  double err = th_gradcheck(p, w, 1e-6);
  cr_assert_lt(err, 1e-8, "relative gradient error %g", err);
  sd_problem_free(&p);
  sd_arrays_free(&arr);
  sd_config_free(&cfg);
  th_reproduce("saxe14-depth", "4 of 4 claims pass");
}
