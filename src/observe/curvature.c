/* curvature.c: Hessian–vector products by central differences, Lanczos extremes, the dense spectrum
 * (see curvature.h and docs/curvature.md).
 *
 * Lanczos keeps every vector (k ≤ max_iter rows of dim doubles) and reorthogonalizes each new one against
 * all of them twice (classical Gram–Schmidt, twice is enough): k is a few dozen, so the O(k·dim) per step
 * is small next to a gradient, and no spurious copies of converged Ritz values appear. */
#include "saddle/curvature.h"

#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "saddle/alloc.h"
#include "saddle/linalg.h"
#include "saddle/rng.h"

struct sd_curvature {
  size_t dim;
  int kmax;        /* Lanczos vectors that fit: min(max_iter, dim) */
  double *Q;       /* kmax × dim, the Lanczos vectors as rows */
  double *w;       /* dim: the next Lanczos vector before normalization; e_j for the spectrum */
  double *x;       /* dim: θ ± hv */
  double *gp;      /* dim: ∇L(θ + hv) */
  double *c;       /* kmax: Gram–Schmidt coefficients */
  double *alpha;   /* kmax: diagonal of T */
  double *beta;    /* kmax: off-diagonal of T (beta[j] couples q_j and q_{j+1}; 0 at a restart) */
  double *dropped; /* kmax: the β dropped at a restart after q_j (0 elsewhere), for honest residuals */
  double *d, *e;   /* kmax: dstev's copies of alpha and beta (it overwrites them) */
  double *z;       /* kmax × kmax: Ritz vectors of T, column-major */
  double *work;    /* 2·kmax: dstev */
  /* dense part (sd_curvature_reserve_spectrum) */
  double *H;         /* dim × dim */
  double *ework;     /* dsyevd */
  lapack_int *iwork; /* dsyevd */
  lapack_int lwork, liwork;
  sd_hvp_fn hvp;
  void *hvp_ctx;
  long grad_evals;
};

void sd_curvature_free(sd_curvature **ws) {
  sd_curvature *c = *ws;
  if (c) {
    double *bufs[] = {c->Q, c->w, c->x, c->gp, c->c, c->alpha, c->beta, c->dropped, c->d, c->e, c->z, c->work,
                      c->H, c->ework};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) sd_free(bufs[i]);
    sd_free(c->iwork);
    sd_free(c);
  }
  *ws = NULL;
}

sd_status sd_curvature_create(size_t dim, int max_iter, sd_curvature **out) {
  *out = NULL;
  if (dim == 0 || dim > INT_MAX || max_iter < 1)
    return sd_error(SD_ERR_INTERNAL, "sd_curvature_create: dim %zu and max_iter %d (need 1 ≤ dim ≤ %d, max_iter ≥ 1)",
                    dim, max_iter, INT_MAX);
  size_t k = (size_t)max_iter < dim ? (size_t)max_iter : dim;
  if (k > SIZE_MAX / sizeof(double) / dim)
    return sd_error(SD_ERR_NOMEM, "a Lanczos basis of %zu × %zu doubles does not fit in memory", k, dim);
  sd_curvature *c = sd_calloc(1, sizeof *c);
  if (!c) return sd_error(SD_ERR_NOMEM, "out of memory");
  c->dim = dim;
  c->kmax = (int)k;
  c->Q = sd_malloc(k * dim * sizeof(double));
  c->w = sd_malloc(dim * sizeof(double));
  c->x = sd_malloc(dim * sizeof(double));
  c->gp = sd_malloc(dim * sizeof(double));
  c->c = sd_malloc(k * sizeof(double));
  c->alpha = sd_malloc(k * sizeof(double));
  c->beta = sd_malloc(k * sizeof(double));
  c->dropped = sd_malloc(k * sizeof(double));
  c->d = sd_malloc(k * sizeof(double));
  c->e = sd_malloc(k * sizeof(double));
  c->z = sd_malloc(k * k * sizeof(double));
  c->work = sd_malloc(2 * k * sizeof(double));
  if (!c->Q || !c->w || !c->x || !c->gp || !c->c || !c->alpha || !c->beta || !c->dropped || !c->d || !c->e || !c->z ||
      !c->work) {
    sd_curvature_free(&c);
    return sd_error(SD_ERR_NOMEM, "out of memory for a curvature workspace (%zu Lanczos vectors of %zu)", k, dim);
  }
  *out = c;
  return SD_OK;
}

sd_status sd_curvature_reserve_spectrum(sd_curvature *ws) {
  if (ws->H) return SD_OK;
  size_t n = ws->dim;
  if (n > SD_CURVATURE_SPECTRUM_MAX_DIM)
    return sd_error(SD_ERR_CONFIG, "the full Hessian spectrum is limited to %d parameters (this problem has %zu): "
                    "use Lanczos for the extreme eigenvalues", SD_CURVATURE_SPECTRUM_MAX_DIM, n);
  ws->H = sd_malloc(n * n * sizeof(double));
  if (!ws->H) return sd_error(SD_ERR_NOMEM, "out of memory for a %zu × %zu Hessian", n, n);
  double wq = 0.0, dummy = 0.0;
  lapack_int iwq = 0;
  lapack_int info = LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, 'N', 'U', (lapack_int)n, ws->H, (lapack_int)n, &dummy, &wq,
                                        -1, &iwq, -1);
  if (info != 0) {
    sd_free(ws->H);
    ws->H = NULL;
    return sd_error(SD_ERR_NUMERIC, "dsyevd workspace query failed (info %d)", (int)info);
  }
  ws->lwork = (lapack_int)wq > 1 ? (lapack_int)wq : 1;
  ws->liwork = iwq > 1 ? iwq : 1;
  ws->ework = sd_malloc((size_t)ws->lwork * sizeof(double));
  ws->iwork = sd_malloc((size_t)ws->liwork * sizeof(lapack_int));
  if (!ws->ework || !ws->iwork) {
    sd_free(ws->H), sd_free(ws->ework), sd_free(ws->iwork);
    ws->H = NULL, ws->ework = NULL, ws->iwork = NULL;
    return sd_error(SD_ERR_NOMEM, "out of memory for dsyevd's workspace (n = %zu)", n);
  }
  return SD_OK;
}

void sd_curvature_set_hvp(sd_curvature *ws, sd_hvp_fn fn, void *ctx) {
  ws->hvp = fn;
  ws->hvp_ctx = fn ? ctx : NULL;
}

long sd_curvature_grad_evals(const sd_curvature *ws) { return ws->grad_evals; }

double sd_hvp_step(double theta_norm, double v_norm) {
  if (!(v_norm > 0) || !isfinite(v_norm)) return 0.0;
  double scale = theta_norm > 1.0 ? theta_norm : 1.0;
  return cbrt(DBL_EPSILON) * scale / v_norm;
}

static sd_status check_dim(const sd_curvature *ws, const sd_problem *p) {
  if (p->dim != ws->dim)
    return sd_error(SD_ERR_INTERNAL, "curvature workspace made for dimension %zu used on a problem of dimension %zu",
                    ws->dim, p->dim);
  return SD_OK;
}

static sd_status hvp_fd(sd_curvature *ws, sd_problem *p, const double *theta, const double *v, double h, double *hv) {
  size_t n = ws->dim;
  int ni = (int)n;
  double vn = cblas_dnrm2(ni, v, 1);
  if (vn == 0.0) {
    memset(hv, 0, n * sizeof(double));
    return SD_OK;
  }
  if (!(h > 0)) h = sd_hvp_step(cblas_dnrm2(ni, theta, 1), vn);
  if (!(h > 0) || !isfinite(h))
    return sd_error(SD_ERR_NUMERIC, "no finite difference step for ‖v‖ = %g", vn);
  for (size_t i = 0; i < n; i++) ws->x[i] = theta[i] + h * v[i];
  p->ops->loss_grad(p, ws->x, ws->gp);
  for (size_t i = 0; i < n; i++) ws->x[i] = theta[i] - h * v[i];
  p->ops->loss_grad(p, ws->x, hv);
  ws->grad_evals += 2;
  double inv = 0.5 / h;
  for (size_t i = 0; i < n; i++) hv[i] = (ws->gp[i] - hv[i]) * inv;
  if (!sd_all_finite(n, hv))
    return sd_error(SD_ERR_NUMERIC, "Hessian–vector product not finite (gradient not finite within %g of θ)", h * vn);
  return SD_OK;
}

static sd_status hvp(sd_curvature *ws, sd_problem *p, const double *theta, const double *v, double *hv) {
  if (!ws->hvp) return hvp_fd(ws, p, theta, v, 0.0, hv);
  SD_TRY(ws->hvp(p, theta, v, hv, ws->hvp_ctx));
  if (!sd_all_finite(ws->dim, hv)) return sd_error(SD_ERR_NUMERIC, "exact Hessian–vector product not finite");
  return SD_OK;
}

sd_status sd_curvature_hvp(sd_curvature *ws, sd_problem *p, const double *theta, const double *v, double *hv) {
  SD_TRY(check_dim(ws, p));
  return hvp(ws, p, theta, v, hv);
}

sd_status sd_curvature_hvp_fd(sd_curvature *ws, sd_problem *p, const double *theta, const double *v, double h,
                              double *hv) {
  SD_TRY(check_dim(ws, p));
  return hvp_fd(ws, p, theta, v, h, hv);
}

/* w ← (I − QₖᵀQₖ)w twice, Qₖ the first k rows of Q. Returns ‖w‖. */
static double reorth(sd_curvature *ws, int k, double *w) {
  int n = (int)ws->dim;
  for (int pass = 0; pass < 2; pass++) {
    cblas_dgemv(CblasRowMajor, CblasNoTrans, k, n, 1.0, ws->Q, n, w, 1, 0.0, ws->c, 1);
    cblas_dgemv(CblasRowMajor, CblasTrans, k, n, -1.0, ws->Q, n, ws->c, 1, 1.0, w, 1);
  }
  return cblas_dnrm2(n, w, 1);
}

/* Eigen-decomposition of the k×k tridiagonal T (alpha, beta); Ritz values ascending in ws->d, vectors in
 * ws->z (column-major k×k). */
static sd_status ritz(sd_curvature *ws, int k) {
  memcpy(ws->d, ws->alpha, (size_t)k * sizeof(double));
  if (k > 1) memcpy(ws->e, ws->beta, (size_t)(k - 1) * sizeof(double));
  lapack_int info = LAPACKE_dstev_work(LAPACK_COL_MAJOR, 'V', k, ws->d, ws->e, ws->z, k, ws->work);
  if (info != 0) return sd_error(SD_ERR_NUMERIC, "dstev failed on the %d×%d Lanczos matrix (info %d)", k, k, (int)info);
  return SD_OK;
}

/* ‖H Qₖs − θ Qₖs‖ for the Ritz vector s = column col of z: the last β times the last entry of s, and the
 * β dropped at restarts times the entries where they were dropped. */
static double ritz_residual(const sd_curvature *ws, int k, int col, double beta_last) {
  const double *s = ws->z + (size_t)col * k;
  double r2 = beta_last * s[k - 1] * beta_last * s[k - 1];
  for (int j = 0; j + 1 < k; j++) r2 += ws->dropped[j] * s[j] * ws->dropped[j] * s[j];
  return sqrt(r2);
}

static void ritz_vector(const sd_curvature *ws, int k, int col, double *out) {
  int n = (int)ws->dim;
  cblas_dgemv(CblasRowMajor, CblasTrans, k, n, 1.0, ws->Q, n, ws->z + (size_t)col * k, 1, 0.0, out, 1);
  double nrm = cblas_dnrm2(n, out, 1);
  if (nrm > 0) cblas_dscal(n, 1.0 / nrm, out, 1);
}

sd_status sd_curvature_lanczos(sd_curvature *ws, sd_problem *p, const double *theta, const sd_lanczos_options *opt,
                               sd_lanczos_result *res, double *vec_min, double *vec_max) {
  SD_TRY(check_dim(ws, p));
  memset(res, 0, sizeof *res);
  sd_lanczos_options o = opt ? *opt : (sd_lanczos_options){0};
  int kmax = o.iters > 0 && o.iters < ws->kmax ? o.iters : ws->kmax;
  int n = (int)ws->dim;
  const double breakdown = sqrt(DBL_EPSILON);

  sd_rng rng;
  sd_rng_init(&rng, o.seed, SD_STREAM_NOISE, SD_CURVATURE_STREAM_INDEX);
  sd_rng_normal_fill(&rng, ws->Q, (size_t)n, 1.0);
  double q0 = cblas_dnrm2(n, ws->Q, 1);
  cblas_dscal(n, 1.0 / q0, ws->Q, 1);

  double tnorm = 0.0; /* Gershgorin bound on ‖T‖ */
  int k = 0;
  double b = 0.0;
  for (int j = 0; j < kmax; j++) {
    const double *q = ws->Q + (size_t)j * n;
    SD_TRY(hvp(ws, p, theta, q, ws->w));
    ws->alpha[j] = cblas_ddot(n, q, 1, ws->w, 1);
    ws->dropped[j] = 0.0;
    b = reorth(ws, j + 1, ws->w); /* removes α_j q_j and β_{j−1} q_{j−1} too */
    ws->beta[j] = b;
    k = j + 1;
    double row = fabs(ws->alpha[j]) + b + (j > 0 ? ws->beta[j - 1] : 0.0);
    if (row > tnorm) tnorm = row;
    if (o.tol > 0) {
      SD_TRY(ritz(ws, k));
      double scale = fmax(fabs(ws->d[0]), fabs(ws->d[k - 1]));
      if (ritz_residual(ws, k, 0, b) <= o.tol * scale && ritz_residual(ws, k, k - 1, b) <= o.tol * scale) {
        res->converged = 1;
        break;
      }
    }
    if (k == kmax) break;
    double *next = ws->Q + (size_t)k * n;
    if (b <= breakdown * tnorm) {
      /* span(Q) is (numerically) invariant: go on in its orthogonal complement from a fresh vector */
      sd_rng_normal_fill(&rng, ws->w, (size_t)n, 1.0);
      double b2 = reorth(ws, k, ws->w);
      if (!(b2 > 0)) break;
      ws->dropped[j] = b;
      ws->beta[j] = 0.0;
      b = b2;
      res->restarts++;
    }
    for (int i = 0; i < n; i++) next[i] = ws->w[i] / b;
  }
  SD_TRY(ritz(ws, k));
  double blast = ws->beta[k - 1];
  res->iters = k;
  res->lambda_min = ws->d[0];
  res->lambda_max = ws->d[k - 1];
  res->resid_min = ritz_residual(ws, k, 0, blast);
  res->resid_max = ritz_residual(ws, k, k - 1, blast);
  if (vec_min) ritz_vector(ws, k, 0, vec_min);
  if (vec_max) ritz_vector(ws, k, k - 1, vec_max);
  return SD_OK;
}

sd_status sd_curvature_spectrum(sd_curvature *ws, sd_problem *p, const double *theta, double *eigs,
                                double *asymmetry) {
  SD_TRY(check_dim(ws, p));
  if (!ws->H)
    return sd_error(SD_ERR_INTERNAL, "sd_curvature_spectrum needs sd_curvature_reserve_spectrum first");
  size_t n = ws->dim;
  double *B = ws->H;
  memset(ws->w, 0, n * sizeof(double));
  for (size_t j = 0; j < n; j++) { /* row j of B = H e_j = column j of the Hessian, so B = Hᵀ as computed */
    ws->w[j] = 1.0;
    SD_TRY(hvp(ws, p, theta, ws->w, B + j * n));
    ws->w[j] = 0.0;
  }
  double diff2 = 0.0, norm2 = 0.0;
  for (size_t i = 0; i < n; i++) {
    norm2 += B[i * n + i] * B[i * n + i];
    for (size_t j = i + 1; j < n; j++) {
      double a = B[i * n + j], c = B[j * n + i];
      diff2 += 2.0 * (a - c) * (a - c);
      norm2 += a * a + c * c;
      B[i * n + j] = B[j * n + i] = 0.5 * (a + c);
    }
  }
  if (asymmetry) *asymmetry = norm2 > 0 ? sqrt(diff2 / norm2) : 0.0;
  lapack_int info = LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, 'N', 'U', (lapack_int)n, B, (lapack_int)n, eigs, ws->ework,
                                        ws->lwork, ws->iwork, ws->liwork);
  if (info != 0) return sd_error(SD_ERR_NUMERIC, "dsyevd failed on the %zu × %zu Hessian (info %d)", n, n, (int)info);
  return SD_OK;
}
