/* test_curvature.c: Hessian–vector products, Lanczos extremes and the full spectrum against known Hessians:
 * the quadratic problem's H, and sensing's Hessian written out from its saved arrays (exact, at any U; at the
 * saddle U = 0 it is V ↦ −2c(M + Mᵀ)V with M = A^*(y)). */
#include <criterion/criterion.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "saddle/alloc.h"
#include "saddle/curvature.h"
#include "saddle/npy.h"

static const char *QUAD = "problem: {kind: quadratic, d: 12, h_max: 4, h_min: 0.05, spectrum: linear}\nseed: 3\n";
static const char *SENS = "problem: {kind: sensing, n: 6, rank: 2, width: 3, measurements: 40}\ninit: {scale: 0.5}\nseed: 1\n";
/* larger than the Lanczos budget below, so Lanczos works in a proper Krylov subspace */
static const char *SENS_WIDE =
    "problem: {kind: sensing, n: 10, rank: 2, width: 10, measurements: 80}\ninit: {scale: 0.5}\nseed: 4\n";

typedef struct {
  sd_config *cfg;
  sd_arrays *arr;
  sd_problem *p;
  char *dir;
} fixture;

static fixture setup(const char *yaml) {
  fixture f = {0};
  f.p = th_problem(yaml, &f.cfg, &f.arr);
  f.dir = th_tmpdir();
  char *skipped = NULL;
  cr_assert_eq(sd_arrays_save(f.arr, f.dir, (size_t)-1, &skipped), SD_OK, "%s", sd_error_message());
  free(skipped);
  return f;
}

static void teardown(fixture *f) {
  th_rmtmp(f->dir);
  sd_problem_free(&f->p);
  sd_arrays_free(&f->arr);
  sd_config_free(&f->cfg);
}

static sd_array load(const fixture *f, const char *name) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s.npy", f->dir, name);
  sd_array a;
  cr_assert_eq(sd_npy_read(path, &a), SD_OK, "%s", sd_error_message());
  return a;
}

static double norm(size_t n, const double *x) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += x[i] * x[i];
  return sqrt(s);
}

/* ascending eigenvalues of a symmetric n×n matrix, the test's own way */
static void sym_eigvals(int n, const double *a, double *w) {
  double *c = malloc((size_t)n * n * sizeof *c);
  memcpy(c, a, (size_t)n * n * sizeof *c);
  cr_assert_eq(LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'N', 'U', n, c, n, w), 0);
  free(c);
}

/* ---- sensing's Hessian, exact, from its arrays: L(U) = c‖A(UUᵀ) − y‖², ∇L = 2c(S + Sᵀ)U with
 * S = Σ res_i A_i, so ∇²L[V] = 2c(S + Sᵀ)V + 2c(S' + S'ᵀ)U with S' = Σ ⟨A_i, UVᵀ + VUᵀ⟩ A_i. */
typedef struct {
  int n, w, m;
  double c;
  const double *A, *y; /* m×n×n, m */
  double *Z, *S, *S2;  /* n×n scratch */
} sensing_hess;

static void sens_hvp_exact(const sensing_hess *e, const double *U, const double *V, double *hv) {
  int n = e->n, w = e->w, m = e->m;
  size_t n2 = (size_t)n * n;
  for (int a = 0; a < n; a++)
    for (int b = 0; b < n; b++) {
      double uu = 0, uv = 0;
      for (int k = 0; k < w; k++) {
        uu += U[a * w + k] * U[b * w + k];
        uv += U[a * w + k] * V[b * w + k] + V[a * w + k] * U[b * w + k];
      }
      e->Z[a * n + b] = uu;
      e->S2[a * n + b] = uv; /* UVᵀ + VUᵀ for now */
    }
  double *r1 = malloc((size_t)m * sizeof *r1), *r2 = malloc((size_t)m * sizeof *r2);
  for (int i = 0; i < m; i++) {
    const double *Ai = e->A + (size_t)i * n2;
    double s1 = 0, s2 = 0;
    for (size_t q = 0; q < n2; q++) s1 += Ai[q] * e->Z[q], s2 += Ai[q] * e->S2[q];
    r1[i] = s1 - e->y[i];
    r2[i] = s2;
  }
  memset(e->S, 0, n2 * sizeof(double));
  memset(e->S2, 0, n2 * sizeof(double));
  for (int i = 0; i < m; i++)
    for (size_t q = 0; q < n2; q++) e->S[q] += r1[i] * e->A[(size_t)i * n2 + q], e->S2[q] += r2[i] * e->A[(size_t)i * n2 + q];
  for (int a = 0; a < n; a++)
    for (int k = 0; k < w; k++) {
      double s = 0;
      for (int b = 0; b < n; b++)
        s += (e->S[a * n + b] + e->S[b * n + a]) * V[b * w + k] + (e->S2[a * n + b] + e->S2[b * n + a]) * U[b * w + k];
      hv[a * w + k] = 2.0 * e->c * s;
    }
  free(r1);
  free(r2);
}

static sd_status sens_hook(sd_problem *p, const double *theta, const double *v, double *hv, void *ctx) {
  (void)p;
  sens_hvp_exact(ctx, theta, v, hv);
  return SD_OK;
}

static sensing_hess sens_hess(const fixture *f, sd_array *A, sd_array *y) {
  *A = load(f, "A");
  *y = load(f, "y");
  sensing_hess e = {.n = (int)f->p->param_shape[0], .w = (int)f->p->param_shape[1], .m = (int)y->shape[0],
                    .c = 0.25, .A = A->data, .y = y->data};
  cr_assert_eq(A->shape[1], (size_t)e.n);
  size_t n2 = (size_t)e.n * e.n;
  e.Z = malloc(n2 * sizeof(double)), e.S = malloc(n2 * sizeof(double)), e.S2 = malloc(n2 * sizeof(double));
  return e;
}

static void sens_hess_free(sensing_hess *e, sd_array *A, sd_array *y) {
  free(e->Z), free(e->S), free(e->S2);
  sd_array_free(A);
  sd_array_free(y);
}

/* ---------------------------------------------------------------- quadratic: H known */

Test(curvature, quadratic_full_spectrum_is_the_drawn_one) {
  fixture f = setup(QUAD);
  sd_curvature *ws = NULL;
  cr_assert_eq(sd_curvature_create(12, 30, &ws), SD_OK);
  cr_assert_eq(sd_curvature_reserve_spectrum(ws), SD_OK);
  double eigs[12], asym = -1;
  cr_assert_eq(sd_curvature_spectrum(ws, f.p, f.p->theta0, eigs, &asym), SD_OK, "%s", sd_error_message());
  double err = 0;
  for (int j = 0; j < 12; j++) {
    double want = 0.05 + (4.0 - 0.05) * j / 11.0; /* ascending linspace(4, 0.05, 12) */
    err = fmax(err, fabs(eigs[j] - want) / want);
  }
  cr_log_info("quadratic full spectrum: max relative eigenvalue error %.2e, asymmetry %.2e", err, asym);
  cr_assert_lt(err, 1e-6, "max relative eigenvalue error %g", err);
  cr_assert_lt(asym, 1e-8, "asymmetry %g", asym);
  cr_assert_eq(sd_curvature_grad_evals(ws), 24); /* 2·dim */
  sd_curvature_free(&ws);
  cr_assert_null(ws);
  teardown(&f);
}

Test(curvature, quadratic_lanczos_finds_both_ends_and_their_eigenvectors) {
  fixture f = setup(QUAD);
  sd_array H = load(&f, "H");
  sd_curvature *ws = NULL;
  cr_assert_eq(sd_curvature_create(12, 30, &ws), SD_OK);
  double vmin[12], vmax[12], hv[12];
  sd_lanczos_result r;
  sd_lanczos_options o = {.iters = 30, .seed = 3};
  cr_assert_eq(sd_curvature_lanczos(ws, f.p, f.p->theta0, &o, &r, vmin, vmax), SD_OK, "%s", sd_error_message());
  cr_assert_eq(r.iters, 12); /* capped at dim */
  double emax = fabs(r.lambda_max - 4.0) / 4.0, emin = fabs(r.lambda_min - 0.05) / 0.05;
  cr_log_info("quadratic Lanczos: λ_max %.15g (rel err %.2e), λ_min %.15g (rel err %.2e), residuals %.1e %.1e",
              r.lambda_max, emax, r.lambda_min, emin, r.resid_max, r.resid_min);
  cr_assert_lt(emax, 1e-6);
  cr_assert_lt(emin, 1e-6);
  /* Ritz vectors are eigenvectors of the saved H: ‖Hy − λy‖ small, unit norm */
  const double *vs[2] = {vmin, vmax};
  double ls[2] = {0.05, 4.0};
  for (int t = 0; t < 2; t++) {
    for (int i = 0; i < 12; i++) {
      hv[i] = -ls[t] * vs[t][i];
      for (int j = 0; j < 12; j++) hv[i] += H.data[i * 12 + j] * vs[t][j];
    }
    cr_assert_float_eq(norm(12, vs[t]), 1.0, 1e-12);
    cr_assert_lt(norm(12, hv), 1e-7, "eigen-residual %g of the Ritz vector for %g", norm(12, hv), ls[t]);
  }
  sd_array_free(&H);
  sd_curvature_free(&ws);
  teardown(&f);
}

/* ---------------------------------------------------------------- sensing: non-quadratic */

Test(curvature, sensing_lanczos_extremes_equal_the_full_spectrum_extremes) {
  /* dim 18: 30 steps cover the space; dim 100: 60 steps, a proper Krylov subspace (40 leave λ_min at 5e-5) */
  const char *cfgs[2] = {SENS, SENS_WIDE};
  const int iters[2] = {30, 60};
  for (int t = 0; t < 2; t++) {
    fixture f = setup(cfgs[t]);
    size_t d = f.p->dim;
    sd_curvature *ws = NULL;
    cr_assert_eq(sd_curvature_create(d, iters[t], &ws), SD_OK);
    cr_assert_eq(sd_curvature_reserve_spectrum(ws), SD_OK);
    double *eigs = malloc(d * sizeof *eigs), asym;
    cr_assert_eq(sd_curvature_spectrum(ws, f.p, f.p->theta0, eigs, &asym), SD_OK, "%s", sd_error_message());
    sd_lanczos_result r;
    cr_assert_eq(sd_curvature_lanczos(ws, f.p, f.p->theta0, &(sd_lanczos_options){.seed = 1}, &r, NULL, NULL), SD_OK);
    double scale = fmax(fabs(eigs[0]), fabs(eigs[d - 1]));
    double e0 = fabs(r.lambda_min - eigs[0]) / scale, e1 = fabs(r.lambda_max - eigs[d - 1]) / scale;
    cr_log_info("sensing dim %zu, %d Lanczos steps: λ_min %.12g vs %.12g, λ_max %.12g vs %.12g (rel %.1e, %.1e), "
                "residuals %.1e %.1e, asymmetry %.1e",
                d, r.iters, r.lambda_min, eigs[0], r.lambda_max, eigs[d - 1], e0, e1, r.resid_min, r.resid_max, asym);
    cr_assert_lt(e0, 1e-6);
    cr_assert_lt(e1, 1e-6);
    cr_assert_lt(asym, 1e-8);
    cr_assert_lt(eigs[0], 0.0, "U0 of this size is not a minimum yet");
    free(eigs);
    sd_curvature_free(&ws);
    teardown(&f);
  }
}

Test(curvature, sensing_full_spectrum_equals_the_exact_hessian) {
  fixture f = setup(SENS);
  sd_array A, y;
  sensing_hess e = sens_hess(&f, &A, &y);
  int d = (int)f.p->dim;
  double *H = malloc((size_t)d * d * sizeof *H), *ej = calloc((size_t)d, sizeof *ej), *want = malloc((size_t)d * sizeof *want),
         *got = malloc((size_t)d * sizeof *got);
  for (int j = 0; j < d; j++) {
    ej[j] = 1;
    sens_hvp_exact(&e, f.p->theta0, ej, H + (size_t)j * d);
    ej[j] = 0;
  }
  sym_eigvals(d, H, want);
  sd_curvature *ws = NULL;
  cr_assert_eq(sd_curvature_create((size_t)d, 1, &ws), SD_OK);
  cr_assert_eq(sd_curvature_reserve_spectrum(ws), SD_OK);
  cr_assert_eq(sd_curvature_spectrum(ws, f.p, f.p->theta0, got, NULL), SD_OK);
  double scale = fmax(fabs(want[0]), fabs(want[d - 1])), err = 0;
  for (int j = 0; j < d; j++) err = fmax(err, fabs(got[j] - want[j]) / scale);
  cr_log_info("sensing at U0: finite-difference spectrum vs exact Hessian: max error %.2e of ‖H‖ = %.3g", err, scale);
  cr_assert_lt(err, 1e-8);
  free(H), free(ej), free(want), free(got);
  sens_hess_free(&e, &A, &y);
  sd_curvature_free(&ws);
  teardown(&f);
}

/* At U = 0 the residual is −y, so S = −M with M = A^*(y) = Σ y_i A_i, the gradient 2c(S + Sᵀ)·0 vanishes,
 * and ∇²L[V] = 2c(S + Sᵀ)V = −2c(M + Mᵀ)V (the second term has U = 0). As an operator on ℝ^{n×w} that is
 * −2c(M + Mᵀ) ⊗ I_w: eigenvalues −4c·λ_i(sym M), each w times. For c = ¼ and symmetric A_i: −λ_i(M). So
 * U = 0 is a strict saddle with λ_min = −λ_max(A^*(y)), escaping along top-eigenvector ⊗ anything. */
Test(curvature, sensing_at_zero_is_a_saddle_with_minus_the_spectrum_of_Astar_y) {
  fixture f = setup(SENS);
  sd_array A = load(&f, "A"), y = load(&f, "y");
  int n = 6, w = 3, m = (int)y.shape[0], d = (int)f.p->dim;
  cr_assert_eq(d, n * w);
  double M[36] = {0}, Msym[36], mu[6];
  for (int i = 0; i < m; i++)
    for (int q = 0; q < 36; q++) M[q] += y.data[i] * A.data[(size_t)i * 36 + q];
  for (int a = 0; a < n; a++)
    for (int b = 0; b < n; b++) Msym[a * n + b] = 0.5 * (M[a * n + b] + M[b * n + a]);
  sym_eigvals(n, Msym, mu); /* ascending */
  double c = 0.25;
  double want[18];
  for (int i = 0; i < n; i++)
    for (int k = 0; k < w; k++) want[i * w + k] = -4.0 * c * mu[n - 1 - i]; /* ascending */

  double zero[18] = {0}, g[18];
  f.p->ops->loss_grad(f.p, zero, g);
  cr_assert_eq(norm(18, g), 0.0, "the gradient vanishes at U = 0");

  sd_curvature *ws = NULL;
  cr_assert_eq(sd_curvature_create(18, 30, &ws), SD_OK);
  cr_assert_eq(sd_curvature_reserve_spectrum(ws), SD_OK);
  double got[18], asym;
  cr_assert_eq(sd_curvature_spectrum(ws, f.p, zero, got, &asym), SD_OK);
  double scale = fabs(want[0]), err = 0;
  for (int j = 0; j < d; j++) err = fmax(err, fabs(got[j] - want[j]) / scale);
  cr_log_info("sensing at U = 0: λ(A^*y) = %.6f … %.6f; full spectrum max error %.2e of |λ_min| = %.4f, asymmetry %.1e",
              mu[0], mu[n - 1], err, scale, asym);
  cr_assert_lt(err, 1e-8);
  cr_assert_lt(got[0], 0.0);

  double vmin[18];
  sd_lanczos_result r;
  cr_assert_eq(sd_curvature_lanczos(ws, f.p, zero, &(sd_lanczos_options){.iters = 30}, &r, vmin, NULL), SD_OK);
  cr_log_info("sensing at U = 0, Lanczos: λ_min %.15g (want %.15g, rel %.1e), λ_max %.15g (want %.15g), %d steps, "
              "%d restarts",
              r.lambda_min, want[0], fabs(r.lambda_min - want[0]) / scale, r.lambda_max, want[d - 1], r.iters,
              r.restarts);
  cr_assert_lt(fabs(r.lambda_min - want[0]) / scale, 1e-6);
  cr_assert_lt(fabs(r.lambda_max - want[d - 1]) / scale, 1e-6);
  /* the Krylov space of M ⊗ I_w has only n = 6 dimensions: the other copies come from restarts */
  cr_assert_geq(r.restarts, 1);
  /* the escape direction is u zᵀ, u the top eigenvector of A^*(y): V_min V_minᵀ has rank one (its columns
   * are parallel) and M V_min = λ_max(M) V_min */
  double P[36] = {0};
  for (int a = 0; a < n; a++)
    for (int b = 0; b < n; b++)
      for (int k = 0; k < w; k++) P[a * n + b] += vmin[a * w + k] * vmin[b * w + k];
  double pe[6];
  sym_eigvals(n, P, pe);
  cr_assert_float_eq(pe[n - 1], 1.0, 1e-8);
  cr_assert_lt(pe[n - 2], 1e-8, "V_min has rank one: its columns are parallel");
  double Mv[18];
  for (int a = 0; a < n; a++)
    for (int k = 0; k < w; k++) {
      Mv[a * w + k] = -mu[n - 1] * vmin[a * w + k];
      for (int b = 0; b < n; b++) Mv[a * w + k] += Msym[a * n + b] * vmin[b * w + k];
    }
  cr_assert_lt(norm(18, Mv), 1e-6);
  sd_array_free(&A);
  sd_array_free(&y);
  sd_curvature_free(&ws);
  teardown(&f);
}

/* sensing's gradient is a cubic polynomial in U, so along a line the central difference is exact up to
 * (h²/6)·∂³(∇L)[v,v,v]: the error falls as h² (a factor 100 per decade) until rounding, ε‖∇L‖/h, takes
 * over; the rule's h sits near the bottom of that V. */
Test(curvature, hvp_error_shrinks_as_h_squared_then_rounding_takes_over) {
  fixture f = setup(SENS);
  sd_array A, y;
  sensing_hess e = sens_hess(&f, &A, &y);
  size_t d = f.p->dim;
  double v[18], exact[18], fd[18], diff[18];
  for (size_t i = 0; i < d; i++) v[i] = cos(0.3 + 1.7 * (double)i);
  sens_hvp_exact(&e, f.p->theta0, v, exact);
  double en = norm(d, exact);
  sd_curvature *ws = NULL;
  cr_assert_eq(sd_curvature_create(d, 1, &ws), SD_OK);
  const double hs[] = {1e-1, 1e-2, 1e-3, 0 /* the rule */, 1e-11};
  double err[5];
  for (int t = 0; t < 5; t++) {
    cr_assert_eq(sd_curvature_hvp_fd(ws, f.p, f.p->theta0, v, hs[t], fd), SD_OK);
    for (size_t i = 0; i < d; i++) diff[i] = fd[i] - exact[i];
    err[t] = norm(d, diff) / en;
  }
  double h_rule = sd_hvp_step(norm(d, f.p->theta0), norm(d, v));
  cr_log_info("HVP relative error: h=1e-1 %.2e, 1e-2 %.2e, 1e-3 %.2e, rule h=%.2e %.2e, 1e-11 %.2e", err[0], err[1],
              err[2], h_rule, err[3], err[4]);
  cr_assert_float_eq(err[0] / err[1], 100.0, 1.0, "h² truncation: ratio %g", err[0] / err[1]);
  cr_assert_float_eq(err[1] / err[2], 100.0, 1.0, "h² truncation: ratio %g", err[1] / err[2]);
  cr_assert_lt(err[3], 1e-9, "at the rule's step");
  cr_assert_lt(err[3], err[2]);
  cr_assert_gt(err[4], 10 * err[3], "rounding dominates at tiny h");
  /* the exact hook replaces the difference and costs no gradient */
  sd_curvature_set_hvp(ws, sens_hook, &e);
  long before = sd_curvature_grad_evals(ws);
  cr_assert_eq(sd_curvature_hvp(ws, f.p, f.p->theta0, v, fd), SD_OK);
  cr_assert_eq(sd_curvature_grad_evals(ws), before);
  for (size_t i = 0; i < d; i++) cr_assert_eq(fd[i], exact[i]);
  /* v = 0 costs nothing and gives 0 */
  sd_curvature_set_hvp(ws, NULL, NULL);
  double z[18] = {0};
  cr_assert_eq(sd_curvature_hvp(ws, f.p, f.p->theta0, z, fd), SD_OK);
  cr_assert_eq(norm(d, fd), 0.0);
  cr_assert_eq(sd_curvature_grad_evals(ws), before);
  sd_curvature_free(&ws);
  sens_hess_free(&e, &A, &y);
  teardown(&f);
}

Test(curvature, exact_hook_and_finite_differences_give_the_same_extremes) {
  fixture f = setup(SENS_WIDE);
  sd_array A, y;
  sensing_hess e = sens_hess(&f, &A, &y);
  size_t d = f.p->dim;
  sd_curvature *ws = NULL;
  cr_assert_eq(sd_curvature_create(d, 40, &ws), SD_OK);
  sd_lanczos_result fd, ex;
  sd_lanczos_options o = {.iters = 40, .seed = 7};
  cr_assert_eq(sd_curvature_lanczos(ws, f.p, f.p->theta0, &o, &fd, NULL, NULL), SD_OK);
  cr_assert_eq(sd_curvature_grad_evals(ws), 2 * fd.iters);
  sd_curvature_set_hvp(ws, sens_hook, &e);
  cr_assert_eq(sd_curvature_lanczos(ws, f.p, f.p->theta0, &o, &ex, NULL, NULL), SD_OK);
  cr_assert_eq(sd_curvature_grad_evals(ws), 2 * fd.iters);
  double scale = fmax(fabs(ex.lambda_min), fabs(ex.lambda_max));
  cr_log_info("exact vs finite-difference Lanczos: λ_min %.3e, λ_max %.3e apart (relative)",
              fabs(fd.lambda_min - ex.lambda_min) / scale, fabs(fd.lambda_max - ex.lambda_max) / scale);
  cr_assert_lt(fabs(fd.lambda_min - ex.lambda_min) / scale, 1e-8);
  cr_assert_lt(fabs(fd.lambda_max - ex.lambda_max) / scale, 1e-8);
  sd_curvature_free(&ws);
  sens_hess_free(&e, &A, &y);
  teardown(&f);
}

Test(curvature, tolerance_stops_lanczos_early_with_honest_residuals) {
  fixture f = setup(SENS_WIDE);
  size_t d = f.p->dim;
  sd_curvature *ws = NULL;
  cr_assert_eq(sd_curvature_create(d, 100, &ws), SD_OK);
  cr_assert_eq(sd_curvature_reserve_spectrum(ws), SD_OK);
  double *eigs = malloc(d * sizeof *eigs);
  cr_assert_eq(sd_curvature_spectrum(ws, f.p, f.p->theta0, eigs, NULL), SD_OK);
  sd_lanczos_result r;
  cr_assert_eq(sd_curvature_lanczos(ws, f.p, f.p->theta0, &(sd_lanczos_options){.tol = 1e-6}, &r, NULL, NULL), SD_OK);
  double scale = fmax(fabs(eigs[0]), fabs(eigs[d - 1]));
  cr_log_info("tol 1e-6: converged after %d of %zu steps; errors %.1e, %.1e ≤ residuals %.1e, %.1e", r.iters, d,
              fabs(r.lambda_min - eigs[0]), fabs(r.lambda_max - eigs[d - 1]), r.resid_min, r.resid_max);
  cr_assert(r.converged);
  cr_assert_lt(r.iters, (int)d);
  cr_assert_leq(r.resid_min, 1e-6 * scale);
  cr_assert_leq(r.resid_max, 1e-6 * scale);
  /* a Ritz value is within its residual of an eigenvalue (plus finite-difference noise) */
  cr_assert_leq(fabs(r.lambda_min - eigs[0]), r.resid_min + 1e-9 * scale);
  cr_assert_leq(fabs(r.lambda_max - eigs[d - 1]), r.resid_max + 1e-9 * scale);
  free(eigs);
  sd_curvature_free(&ws);
  teardown(&f);
}

Test(curvature, deterministic_and_allocation_free) {
  fixture f = setup(SENS_WIDE);
  size_t d = f.p->dim;
  sd_curvature *ws = NULL;
  cr_assert_eq(sd_curvature_create(d, 25, &ws), SD_OK);
  cr_assert_eq(sd_curvature_reserve_spectrum(ws), SD_OK);
  double *v1 = malloc(d * sizeof *v1), *v2 = malloc(d * sizeof *v2), *eigs = malloc(d * sizeof *eigs);
  sd_lanczos_result r1, r2, r3;
  sd_lanczos_options o = {.seed = 42};
  unsigned long before = sd_alloc_count();
  cr_assert_eq(sd_curvature_lanczos(ws, f.p, f.p->theta0, &o, &r1, v1, NULL), SD_OK);
  cr_assert_eq(sd_curvature_lanczos(ws, f.p, f.p->theta0, &o, &r2, v2, NULL), SD_OK);
  cr_assert_eq(sd_curvature_spectrum(ws, f.p, f.p->theta0, eigs, NULL), SD_OK);
  cr_assert_eq(sd_alloc_count(), before, "no allocation in the calls");
  cr_assert_eq(r1.iters, 25);
  cr_assert_eq(memcmp(&r1, &r2, sizeof r1), 0);
  cr_assert_eq(memcmp(v1, v2, d * sizeof *v1), 0);
  /* another seed: another start vector, another (near) answer */
  o.seed = 43;
  cr_assert_eq(sd_curvature_lanczos(ws, f.p, f.p->theta0, &o, &r3, NULL, NULL), SD_OK);
  cr_assert_neq(r3.lambda_max, r1.lambda_max);
  cr_assert_lt(fabs(r3.lambda_max - r1.lambda_max), 1e-6 * fabs(r1.lambda_max));
  free(v1), free(v2), free(eigs);
  sd_curvature_free(&ws);
  teardown(&f);
}

Test(curvature, errors) {
  fixture f = setup(SENS);
  sd_curvature *ws = NULL;
  /* every allocation of create and reserve failing in turn: SD_ERR_NOMEM, nothing half-made (ASan sees leaks) */
  for (long k = 1;; k++) {
    sd_alloc_fail_after(k);
    sd_status rc = sd_curvature_create(18, 10, &ws);
    if (rc == SD_OK) rc = sd_curvature_reserve_spectrum(ws);
    sd_alloc_fail_after(0);
    sd_curvature_free(&ws);
    if (rc == SD_OK) {
      cr_assert_gt(k, 12);
      break;
    }
    cr_assert_eq(rc, SD_ERR_NOMEM, "allocation %ld: %s", k, sd_status_name(rc));
    cr_assert_null(ws);
  }
  cr_assert_eq(sd_curvature_create(0, 10, &ws), SD_ERR_INTERNAL);
  cr_assert_eq(sd_curvature_create(5, 0, &ws), SD_ERR_INTERNAL);
  cr_assert_null(ws);

  double eigs[18], x[18];
  sd_lanczos_result r;
  cr_assert_eq(sd_curvature_create(17, 10, &ws), SD_OK);
  cr_assert_eq(sd_curvature_lanczos(ws, f.p, f.p->theta0, NULL, &r, NULL, NULL), SD_ERR_INTERNAL, "dimension mismatch");
  sd_curvature_free(&ws);
  cr_assert_eq(sd_curvature_create(18, 10, &ws), SD_OK);
  cr_assert_eq(sd_curvature_spectrum(ws, f.p, f.p->theta0, eigs, NULL), SD_ERR_INTERNAL, "not reserved");
  memcpy(x, f.p->theta0, sizeof x);
  x[4] = NAN;
  cr_assert_eq(sd_curvature_lanczos(ws, f.p, x, NULL, &r, NULL, NULL), SD_ERR_NUMERIC);
  cr_assert(strstr(sd_error_message(), "not finite"));
  sd_curvature_free(&ws);
  cr_assert_eq(sd_curvature_create(SD_CURVATURE_SPECTRUM_MAX_DIM + 1, 2, &ws), SD_OK);
  cr_assert_eq(sd_curvature_reserve_spectrum(ws), SD_ERR_CONFIG);
  sd_curvature_free(&ws);
  teardown(&f);
}
