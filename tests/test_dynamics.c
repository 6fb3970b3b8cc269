/* test_dynamics.c: every discrete dynamics against a closed form on the linear-quadratic problem, and Adam
 * against a hand-computed trajectory. */
#include <criterion/criterion.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "saddle/npy.h"

/* Runs a config (YAML text) in-process into DIR/run; returns DIR (caller frees). */
static char *run_yaml(const char *yaml, size_t n_over, char **over) {
  char path[512], out[600];
  char *dir = th_tmpfile("cfg.yaml", yaml, path, sizeof path);
  sd_experiment *e = NULL;
  cr_assert_eq(sd_experiment_prepare(path, n_over, over, &e), SD_OK, "%s", sd_error_message());
  snprintf(out, sizeof out, "%s/run", dir);
  sd_run_options opt = {.out_dir = out, .progress = 0};
  cr_assert_eq(sd_experiment_run(e, &opt), SD_OK, "%s", sd_error_message());
  sd_experiment_free(&e);
  return dir;
}

static double *load(const char *dir, const char *name, size_t expect) {
  char path[600];
  snprintf(path, sizeof path, "%s/run/arrays/%s.npy", dir, name);
  sd_array a;
  cr_assert_eq(sd_npy_read(path, &a), SD_OK, "%s", sd_error_message());
  cr_assert_eq(sd_array_size(&a), expect);
  return a.data;
}

/* Eigen-decomposition of H in the test's own way (dsyevd, column-major): q[:, j] ↔ h[j]. */
static void eig(int d, const double *H, double *h, double *q) {
  memcpy(q, H, (size_t)d * d * sizeof *q);
  cr_assert_eq(LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'L', d, q, d, h), 0);
}

enum { D = 6, K = 200 };

static const char *QUAD =
    "problem: {kind: quadratic, d: 6, h_max: 1.5, h_min: 0.02, spectrum: log}\n"
    "run: {max_steps: 200}\n"
    "seed: 5\n";

/* Runs `dyn` on QUAD and compares θ_K − θ⋆ with the modal recurrence `mode(h, z0) → z_K`. */
static void check_closed_form(const char *dyn_yaml, double (*mode)(double h, double z0), double tol) {
  char yaml[1024];
  snprintf(yaml, sizeof yaml, "%s%s", QUAD, dyn_yaml);
  char *dir = run_yaml(yaml, 0, NULL);
  double *H = load(dir, "H", D * D), *star = load(dir, "theta_star", D), *th0 = load(dir, "theta0", D),
         *thK = load(dir, "theta_final", D);
  double h[D], q[D * D], want[D] = {0}, e0n = 0, err = 0;
  eig(D, H, h, q);
  for (int j = 0; j < D; j++) {
    double z0 = 0;
    for (int i = 0; i < D; i++) z0 += q[i + j * D] * (th0[i] - star[i]);
    double zK = mode(h[j], z0);
    for (int i = 0; i < D; i++) want[i] += q[i + j * D] * zK;
  }
  for (int i = 0; i < D; i++) {
    e0n += (th0[i] - star[i]) * (th0[i] - star[i]);
    err = fmax(err, fabs((thK[i] - star[i]) - want[i]));
  }
  cr_assert_lt(err / sqrt(e0n), tol, "max error %g relative to |e0| = %g", err, sqrt(e0n));
  /* and the recurrence is not trivially satisfied: the run moved */
  double moved = 0;
  for (int i = 0; i < D; i++) moved = fmax(moved, fabs(thK[i] - th0[i]));
  cr_assert_gt(moved, 1e-3);
  free(H), free(star), free(th0), free(thK), free(dir);
}

static const double LR = 0.9, MU = 0.7;

static double gd_mode(double h, double z0) { return pow(1 - LR * h, K) * z0; }

static double hb_mode(double h, double z0) {
  double z = z0, c = 0;
  for (int k = 0; k < K; k++) {
    c = MU * c + h * z;
    z = z - LR * c;
  }
  return z;
}

static double nag_mode(double h, double z0) {
  double z = z0, c = 0;
  for (int k = 0; k < K; k++) {
    double g = h * z;
    c = MU * c + g;
    z = z - LR * (g + MU * c);
  }
  return z;
}

Test(dynamics, gd_is_the_matrix_power_on_a_quadratic) {
  check_closed_form("dynamics: {kind: gd, lr: 0.9}\n", gd_mode, 1e-12);
}

Test(dynamics, heavy_ball_follows_its_linear_recurrence) {
  check_closed_form("dynamics: {kind: momentum, lr: 0.9, momentum: 0.7}\n", hb_mode, 1e-11);
}

Test(dynamics, nesterov_follows_its_linear_recurrence) {
  check_closed_form("dynamics: {kind: nesterov, lr: 0.9, momentum: 0.7}\n", nag_mode, 1e-11);
}

Test(dynamics, heavy_ball_is_not_nesterov) {
  /* the two recurrences differ: a test of one could not pass with the other's update */
  double hb = hb_mode(0.02, 1.0), nag = nag_mode(0.02, 1.0);
  cr_assert_gt(fabs(hb - nag), 0.5 * fmax(fabs(hb), fabs(nag)), "%g %g", hb, nag);
}

/* 1-D quadratic L = ½·2·(θ − 1)², θ₀ = 3, given from files, so the trajectory can be computed by hand. */
static char *adam_run(const char *kind, double wd) {
  char *files = th_tmpdir();
  char p[600];
  size_t s1[1] = {1}, s2[2] = {1, 1};
  double H = 2.0, star = 1.0, t0 = 3.0;
  snprintf(p, sizeof p, "%s/H.npy", files);
  sd_npy_write(p, &H, 2, s2);
  snprintf(p, sizeof p, "%s/star.npy", files);
  sd_npy_write(p, &star, 1, s1);
  snprintf(p, sizeof p, "%s/t0.npy", files);
  sd_npy_write(p, &t0, 1, s1);
  char yaml[2048];
  snprintf(yaml, sizeof yaml,
           "problem: {kind: quadratic, d: 1}\n"
           "arrays: {H: %s/H.npy, theta_star: %s/star.npy, theta0: %s/t0.npy}\n"
           "dynamics: {kind: %s, lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1.0e-8, weight_decay: %g}\n"
           "run: {max_steps: 3}\nobserve: {schedule: every}\n",
           files, files, files, kind, wd);
  free(files);
  return run_yaml(yaml, 0, NULL);
}

Test(dynamics, adam_three_steps_by_hand) {
  char *dir = adam_run("adam", 0.0);
  double *th = load(dir, "theta_final", 1);
  /* by hand: g = 2(θ − 1).
   * k=1: g=4,          m=0.4,            v=0.016,                m̂=4,  v̂=16:   θ = 3 − 0.1·4/(4+ε)
   * k=2: g=2(θ1−1),    m=0.9·0.4+0.1g,   v=0.999·0.016+0.001g²,  m̂=m/0.19, v̂=v/0.001999
   * k=3: likewise with 1−0.9³ = 0.271 and 1−0.999³ = 0.002997001 */
  double eps = 1e-8;
  double t1 = 3 - 0.1 * 4 / (4 + eps);
  double g2 = 2 * (t1 - 1), m2 = 0.36 + 0.1 * g2, v2 = 0.999 * 0.016 + 0.001 * g2 * g2;
  double t2 = t1 - 0.1 * (m2 / 0.19) / (sqrt(v2 / 0.001999) + eps);
  double g3 = 2 * (t2 - 1), m3 = 0.9 * m2 + 0.1 * g3, v3 = 0.999 * v2 + 0.001 * g3 * g3;
  double t3 = t2 - 0.1 * (m3 / 0.271) / (sqrt(v3 / 0.002997001) + eps);
  cr_assert_float_eq(t1, 2.9, 1e-8); /* Adam's first step is lr·sign(g) */
  cr_assert_float_eq(th[0], t3, 1e-14, "saddle %.17g, by hand %.17g", th[0], t3);
  /* metrics.csv has every step: the loss at step 1 is that of θ1 */
  char p[600];
  snprintf(p, sizeof p, "%s/run/metrics.csv", dir);
  char *csv = th_slurp(p, NULL);
  char *row1 = strstr(csv, "\n1,");
  cr_assert_not_null(row1, "%s", csv);
  double loss1 = strtod(strchr(row1 + 3, ',') + 1, NULL);
  cr_assert_float_eq(loss1, (t1 - 1) * (t1 - 1), 1e-14);
  free(csv), free(th), free(dir);
}

Test(dynamics, adamw_decays_decoupled_and_adam_couples) {
  char *dir = adam_run("adamw", 0.1);
  double *th = load(dir, "theta_final", 1);
  /* AdamW step 1: θ ← 3(1 − 0.1·0.1) − 0.1·4/(4+ε) = 2.87 */
  double eps = 1e-8, t = 3 * (1 - 0.01) - 0.1 * 4 / (4 + eps);
  double m = 0.4, v = 0.016;
  for (int k = 2; k <= 3; k++) {
    double g = 2 * (t - 1);
    m = 0.9 * m + 0.1 * g;
    v = 0.999 * v + 0.001 * g * g;
    t = t * (1 - 0.01) - 0.1 * (m / (1 - pow(0.9, k))) / (sqrt(v / (1 - pow(0.999, k))) + eps);
  }
  cr_assert_float_eq(th[0], t, 1e-14, "adamw: saddle %.17g, by hand %.17g", th[0], t);
  free(th), free(dir);
  /* Adam with L2: the decay enters the gradient (g = 2(θ−1) + 0.1θ), so step 1 is still lr·sign(g) */
  dir = adam_run("adam", 0.1);
  th = load(dir, "theta_final", 1);
  double a = 3 - 0.1 * 4.3 / (4.3 + eps), am = 0.43, av = 0.001 * 4.3 * 4.3;
  for (int k = 2; k <= 3; k++) {
    double g = 2 * (a - 1) + 0.1 * a;
    am = 0.9 * am + 0.1 * g;
    av = 0.999 * av + 0.001 * g * g;
    a = a - 0.1 * (am / (1 - pow(0.9, k))) / (sqrt(av / (1 - pow(0.999, k))) + eps);
  }
  cr_assert_float_eq(th[0], a, 1e-14, "adam+L2: saddle %.17g, by hand %.17g", th[0], a);
  cr_assert_gt(fabs(a - t), 1e-3); /* the two decays differ */
  free(th), free(dir);
}

Test(dynamics, quadratic_gradient_matches_finite_differences) {
  sd_config *cfg;
  sd_arrays *arr;
  sd_problem *p = th_problem("problem: {kind: quadratic, d: 9, h_max: 3, h_min: 0.1, spectrum: linear}\nseed: 3\n", &cfg, &arr);
  double err = th_gradcheck(p, p->theta0, 1e-5);
  cr_assert_lt(err, 1e-8, "relative gradient error %g", err);
  sd_problem_free(&p);
  sd_arrays_free(&arr);
  sd_config_free(&cfg);
}

Test(dynamics, learning_rate_schedules) {
  sd_lr_schedule w = {.kind = SD_LR_CONSTANT, .warmup = 10, .max_steps = 100};
  cr_assert_float_eq(sd_lr_factor(&w, 0), 0.1, 1e-15);
  cr_assert_float_eq(sd_lr_factor(&w, 9), 1.0, 1e-15);
  cr_assert_float_eq(sd_lr_factor(&w, 50), 1.0, 1e-15);
  sd_lr_schedule st = {.kind = SD_LR_STEP, .step_every = 100, .step_factor = 0.5, .max_steps = 1000};
  cr_assert_float_eq(sd_lr_factor(&st, 99), 1.0, 1e-15);
  cr_assert_float_eq(sd_lr_factor(&st, 100), 0.5, 1e-15);
  cr_assert_float_eq(sd_lr_factor(&st, 250), 0.25, 1e-15);
  sd_lr_schedule c = {.kind = SD_LR_COSINE, .warmup = 20, .min_factor = 0.1, .max_steps = 220};
  cr_assert_float_eq(sd_lr_factor(&c, 20), 1.0, 1e-15);
  cr_assert_float_eq(sd_lr_factor(&c, 120), 0.55, 1e-15); /* halfway: (1 + min)/2 */
  cr_assert_float_eq(sd_lr_factor(&c, 220), 0.1, 1e-15);
}

Test(dynamics, clipping_and_scheduled_time) {
  /* L = (θ − 1)², θ₀ = 3: the gradient 2(θ − 1) ≈ 4 is clipped to 0.5, so each GD step moves by lr·0.5 */
  char *files = th_tmpdir();
  char p[600], yaml[2048];
  size_t s1[1] = {1}, s2[2] = {1, 1};
  double H = 2.0, star = 1.0, t0 = 3.0;
  snprintf(p, sizeof p, "%s/H.npy", files);
  sd_npy_write(p, &H, 2, s2);
  snprintf(p, sizeof p, "%s/star.npy", files);
  sd_npy_write(p, &star, 1, s1);
  snprintf(p, sizeof p, "%s/t0.npy", files);
  sd_npy_write(p, &t0, 1, s1);
  snprintf(yaml, sizeof yaml,
           "problem: {kind: quadratic, d: 1}\n"
           "arrays: {H: %s/H.npy, theta_star: %s/star.npy, theta0: %s/t0.npy}\n"
           "dynamics: {kind: gd, lr: 0.1}\nclip: {grad_norm: 0.5}\n"
           "lr_schedule: {kind: step, step_every: 2, step_factor: 0.5}\n"
           "run: {max_steps: 3}\nobserve: {schedule: every}\n",
           files, files, files);
  char *dir = run_yaml(yaml, 0, NULL);
  double *th = load(dir, "theta_final", 1);
  /* η_k = 0.1, 0.1, 0.05: θ = 3 − 0.05 − 0.05 − 0.025 */
  cr_assert_float_eq(th[0], 2.875, 1e-15, "%.17g", th[0]);
  snprintf(p, sizeof p, "%s/run/summary.json", dir);
  char *s = th_slurp(p, NULL);
  cr_assert(strstr(s, "\"t\": 0.25"), "t = Σ η_k = 0.25 expected: %s", s);
  free(s), free(th), free(dir), free(files);
}

Test(dynamics, scaled_gd_preconditions_with_the_problems_hook) {
  /* the sensing preconditioner: P(G) = G(UᵀU + λI)⁻¹, so P(G)·(UᵀU + λI) must give G back */
  sd_config *cfg;
  sd_arrays *arr;
  sd_problem *p = th_problem("problem: {kind: sensing, n: 7, rank: 2, width: 3, measurements: 40}\ninit: {scale: 0.8}\n",
                             &cfg, &arr);
  cr_assert_not_null(p->ops->precondition);
  const double *U = p->theta0;
  double G[21], PG[21], back[21];
  for (int i = 0; i < 21; i++) G[i] = PG[i] = cos(1.0 + i);
  const double lambda = 0.3;
  cr_assert_eq(p->ops->precondition(p, U, PG, lambda), SD_OK);
  double Km[9] = {0};
  for (int a = 0; a < 3; a++)
    for (int b = 0; b < 3; b++) {
      for (int i = 0; i < 7; i++) Km[a * 3 + b] += U[i * 3 + a] * U[i * 3 + b];
      if (a == b) Km[a * 3 + b] += lambda;
    }
  double err = 0;
  for (int i = 0; i < 7; i++)
    for (int b = 0; b < 3; b++) {
      back[i * 3 + b] = 0;
      for (int a = 0; a < 3; a++) back[i * 3 + b] += PG[i * 3 + a] * Km[a * 3 + b];
      err = fmax(err, fabs(back[i * 3 + b] - G[i * 3 + b]));
    }
  cr_assert_lt(err, 1e-13, "PG·K differs from G by %g", err);
  /* at U = 0 with λ = 0 the matrix is singular: the guarded solve still returns finite values */
  double Z[21] = {0};
  for (int i = 0; i < 21; i++) PG[i] = G[i];
  cr_assert_eq(p->ops->precondition(p, Z, PG, 0.0), SD_OK);
  for (int i = 0; i < 21; i++) cr_assert(isfinite(PG[i]));
  sd_problem_free(&p);
  sd_arrays_free(&arr);
  sd_config_free(&cfg);
}

Test(dynamics, scaled_gd_is_condition_number_free_and_gd_is_not) {
  /* exact rank (width = rank), κ = 100, from a moderate init: ScaledGD reaches 1e-8 relative error in far fewer
   * steps than GD with its step 0.5/σ₁ (tong21 claim 1, symmetric case) */
  const char *base = "problem: {kind: sensing, n: 20, rank: 2, width: 2, measurements: 300, kappa: 100}\n"
                     "init: {scale: 0.3}\nrun: {max_steps: 3000}\nstop: {loss_below: 1.0e-16}\nobserve: {per_decade: 10}\n";
  char yaml[1024];
  snprintf(yaml, sizeof yaml, "%sdynamics: {kind: scaled_gd, lr: 0.5}\n", base);
  char *d1 = run_yaml(yaml, 0, NULL);
  snprintf(yaml, sizeof yaml, "%sdynamics: {kind: gd, lr: 0.5}\n", base);
  char *d2 = run_yaml(yaml, 0, NULL);
  char p[600];
  snprintf(p, sizeof p, "%s/run/summary.json", d1);
  char *s1 = th_slurp(p, NULL);
  snprintf(p, sizeof p, "%s/run/summary.json", d2);
  char *s2 = th_slurp(p, NULL);
  cr_assert(strstr(s1, "\"status\": \"converged\""), "%s", s1);
  long steps1 = strtol(strstr(s1, "\"steps\": ") + 9, NULL, 10), steps2 = strtol(strstr(s2, "\"steps\": ") + 9, NULL, 10);
  cr_log_info("ScaledGD %ld steps, GD %ld steps", steps1, steps2);
  cr_assert_lt(steps1 * 10, steps2, "ScaledGD %ld steps, GD %ld", steps1, steps2);
  free(s1), free(s2), free(d1), free(d2);
}

Test(dynamics, preconditioned_dynamics_need_the_hook) {
  char path[512];
  char *dir = th_tmpfile("cfg.yaml", "problem: {kind: quadratic}\ndynamics: {kind: scaled_gd}\n", path, sizeof path);
  sd_experiment *e = NULL;
  cr_assert_eq(sd_experiment_prepare(path, 0, NULL, &e), SD_ERR_CONFIG);
  cr_assert(strstr(sd_error_message(), "dynamics.kind") && strstr(sd_error_message(), "preconditioner hook"), "%s",
            sd_error_message());
  char *over[] = {"dynamics.kind=flow", "dynamics.preconditioned=true"};
  cr_assert_eq(sd_experiment_prepare(path, 2, over, &e), SD_ERR_CONFIG);
  cr_assert(strstr(sd_error_message(), "dynamics.preconditioned"), "%s", sd_error_message());
  free(dir);
}

Test(dynamics, natural_gradient_on_the_gaussian_quadratic) {
  /* the Fisher information of the quadratic is H, so a natural-gradient step of size η shrinks θ − θ⋆ by exactly
   * (1 − η) whatever the spectrum; with λ > 0, mode j shrinks by 1 − ηh_j/(h_j + λ) */
  char yaml[1024];
  snprintf(yaml, sizeof yaml, "problem: {kind: quadratic, d: 6, h_max: 100, h_min: 0.01}\n"
                              "dynamics: {kind: natural_gd, lr: 0.5}\nrun: {max_steps: 10}\nseed: 2\n");
  char *dir = run_yaml(yaml, 0, NULL);
  double *star = load(dir, "theta_star", D), *th0 = load(dir, "theta0", D), *thK = load(dir, "theta_final", D);
  double e0 = 0, err = 0;
  for (int i = 0; i < D; i++) e0 = fmax(e0, fabs(th0[i] - star[i]));
  for (int i = 0; i < D; i++) err = fmax(err, fabs((thK[i] - star[i]) - pow(0.5, 10) * (th0[i] - star[i])));
  /* relative to |e0|: rounding of θ ~ θ⋆ ~ 1 over ten steps, and a condition number 1e4 */
  cr_assert_lt(err, 1e-12 * e0, "error %g, |e0| %g", err, e0);
  free(star), free(th0), free(thK), free(dir);
  char *over[] = {"problem.kind=sensing"};
  char path[600];
  dir = th_tmpfile("cfg.yaml", "problem: {kind: sensing}\ndynamics: {kind: natural_gd}\n", path, sizeof path);
  sd_experiment *e = NULL;
  cr_assert_eq(sd_experiment_prepare(path, 1, over, &e), SD_ERR_CONFIG);
  cr_assert(strstr(sd_error_message(), "Fisher hook"), "%s", sd_error_message());
  free(dir);
}

/* observe.rate_of: on H = I, GD contracts dist by exactly 1 − η per step and the flow by e^{−1} per unit time, at
 * every pair of consecutive observations (log-spaced here, so the gaps vary). */
Test(dynamics, local_rate_column_on_a_hand_computed_case) {
  char *d = th_tmpdir();
  char cmd[4096], out[8192];
  /* (the flow observed from t = 1 to 8: over shorter gaps, or once dist nears atol/rtol, the integrator's errors
   * divided by the gap would dominate) */
  const char *cases[][2] = {{"dynamics: {kind: gd, lr: 0.3}\\nrun: {max_steps: 60}\\nobserve: {rate_of: dist, per_decade: 10}",
                             "0.7"},
                            {"dynamics: {kind: flow, t_max: 8, rtol: 1.0e-12, atol: 1.0e-15}\\n"
                             "observe: {rate_of: dist, per_decade: 10, t_first: 1}",
                             "0.36787944117144233"}};
  for (int k = 0; k < 2; k++) {
    snprintf(cmd, sizeof cmd,
             "cd %s && rm -rf r && printf 'problem: {kind: quadratic, d: 4, h_max: 1, h_min: 1}\\n%s\\n' > c.yaml && %s run c.yaml -q -o r && /usr/bin/python3 -c \""
             "import csv, math; r = list(csv.DictReader(open('r/metrics.csv')));"
             "assert math.isnan(float(r[0]['local_rate'])), r[0];"
             "e = max(abs(float(x['local_rate']) / %s - 1) for x in r[1:]); print(len(r), e); assert e < 1e-9, e\"",
             d, cases[k][0], SADDLE_BINARY, cases[k][1]);
    cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
  }
  snprintf(cmd, sizeof cmd, "cd %s && %s run c.yaml -q -o bad observe.rate_of=nope", d, SADDLE_BINARY);
  cr_assert_eq(th_run(cmd, out, sizeof out), 2, "%s", out);
  cr_assert(strstr(out, "observe.rate_of: 'nope' is not a metric"), "%s", out);
  th_rmtmp(d);
}
