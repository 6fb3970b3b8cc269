/* asym.c: asymmetric low-rank estimation M⋆ ≈ LRᵀ, L ∈ ℝ^{n₁×r'}, R ∈ ℝ^{n₂×r'} (lowrank.md §0, §2, §3).
 *
 *   operator identity (factorization):  f = c‖LRᵀ − M⋆‖_F²
 *   operator gaussian (sensing):        f = c‖A(LRᵀ) − y‖²,  A_k = randn(n₁, n₂)/√m (not symmetrized), y = A(M⋆)
 *   gradient: Z = 2c·A^*(res) (n₁ × n₂), ∇_L = ZR, ∇_R = ZᵀL   (c = ½ as in the official codes)
 *   truth (G-Tong): U⋆, V⋆ = the r left singular vectors of sign(rand − 0.5) matrices (truth stream, indices 0
 *     and 1), σ⋆ = linspace(1, 1/κ, r), M⋆ = U⋆ diag(σ⋆) V⋆ᵀ; κ = σ₁/σ_r of M⋆
 *   init small_random: entries α·N(0,1)/√n₁ (normalize n; or /√r', or none); spectral: top-r' SVD of A^*(y)
 *     (of M⋆ for factorization), L₀ = U₀Σ₀^{1/2}, R₀ = V₀Σ₀^{1/2}
 *   truth product: M⋆ = G₁G₂ᵀ/σ₁(G₁G₂ᵀ), G entries N(0, 1), n × r (a general rank-r matrix, σ₁ = 1)
 *   preconditioner (ScaledGD(λ)): ∇_L(RᵀR + λI)⁻¹, ∇_R(LᵀL + λI)⁻¹
 *   invariance probe (twin_shift s > 0, lowrank.md §3 claim 3): a second, independent copy from
 *     (L₀Q, R₀Q^{-ᵀ}), Q = G + sI (G r'×r' N(0, 1), init stream index 1), trained alongside by the same
 *     dynamics; the loss (so also stop.loss_below and the Hessian columns) is both copies', invariance_gap =
 *     ‖LRᵀ − L₂R₂ᵀ‖_F/‖LRᵀ‖_F, and the problem's other observables are the first copy's. Dynamics that would
 *     couple the copies (a flow's error control, PrecGD's √loss damping, clipping) are refused.
 * Parameters: L then R (then L₂, R₂) in one block (views L, R, L2, R2), row-major. */
#include "problems/asym.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "saddle/alloc.h"
#include "saddle/linalg.h"
#include "saddle/rng.h"

enum { OBS_REL, OBS_TRAIN, OBS_IMBALANCE, OBS_COND_L, OBS_COND_R, OBS_SIGMA, OBS_GAP, N_OBS };
static const char *const OBS_NAMES[N_OBS] = {"rel_error", "train_error", "imbalance", "cond_LL", "cond_RR", "sigma",
                                             "invariance_gap"};

typedef struct {
  sd_problem base;
  int n1, n2, r, w, m;
  int sensing;        /* gaussian operator */
  double c;
  double *A, *y;      /* m × n₁n₂, m */
  double *Mstar;      /* n₁ × n₂ */
  double m_norm, y_norm;
  double *X, *Z;      /* n₁ × n₂ workspaces */
  double *res;        /* m */
  double *K, *K2;     /* w × w */
  sd_svd svd_X, svd_K;
  int copies;         /* 2 with the invariance probe */
  size_t copy_dim;    /* (n₁ + n₂)·r' */
  double *Q;          /* r' × r', the probe's transformation */
  size_t obs_len[N_OBS];
  const char *view_names[4];
  size_t view_offset[4];
  size_t view_shape[4][2];
  long fallbacks;
} asym;

/* Z ← 2c·A^*(A(LRᵀ) − y) (identity: 2c(LRᵀ − M⋆)); returns ‖res‖². X ← LRᵀ. */
static double grad_matrix(asym *q, const double *L, const double *R) {
  size_t nn = (size_t)q->n1 * q->n2;
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, q->n1, q->n2, q->w, 1.0, L, q->w, R, q->w, 0.0, q->X, q->n2);
  double rr;
  if (q->sensing) {
    memcpy(q->res, q->y, (size_t)q->m * sizeof(double));
    cblas_dgemv(CblasRowMajor, CblasNoTrans, q->m, (int)nn, 1.0, q->A, (int)nn, q->X, 1, -1.0, q->res, 1);
    rr = cblas_ddot(q->m, q->res, 1, q->res, 1);
    cblas_dgemv(CblasRowMajor, CblasTrans, q->m, (int)nn, 2.0 * q->c, q->A, (int)nn, q->res, 1, 0.0, q->Z, 1);
  } else {
    for (size_t i = 0; i < nn; i++) q->Z[i] = q->X[i] - q->Mstar[i];
    rr = cblas_ddot((int)nn, q->Z, 1, q->Z, 1);
    cblas_dscal((int)nn, 2.0 * q->c, q->Z, 1);
  }
  return rr;
}

static double as_loss_grad(sd_problem *p, const double *theta, double *grad) {
  asym *q = (asym *)p;
  double loss = 0;
  for (int c = 0; c < q->copies; c++) {
    const double *L = theta + c * q->copy_dim, *R = L + (size_t)q->n1 * q->w;
    loss += q->c * grad_matrix(q, L, R);
    if (!grad) continue;
    double *gL = grad + c * q->copy_dim, *gR = gL + (size_t)q->n1 * q->w;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, q->n1, q->w, q->n2, 1.0, q->Z, q->n2, R, q->w, 0.0, gL, q->w);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, q->n2, q->w, q->n1, 1.0, q->Z, q->n2, L, q->w, 0.0, gR, q->w);
  }
  return loss;
}

/* Only view v's part (L, R, then L₂, R₂): one product instead of two. The loss is still both copies'. */
static double as_loss_grad_view(sd_problem *p, const double *theta, size_t v, double *grad) {
  asym *q = (asym *)p;
  size_t c = v / 2, off = c * q->copy_dim;
  const double *L = theta + off, *R = L + (size_t)q->n1 * q->w;
  double loss = q->c * grad_matrix(q, L, R);
  if (v % 2 == 0)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, q->n1, q->w, q->n2, 1.0, q->Z, q->n2, R, q->w, 0.0, grad + off, q->w);
  else
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, q->n2, q->w, q->n1, 1.0, q->Z, q->n2, L, q->w, 0.0,
                grad + off + (size_t)q->n1 * q->w, q->w);
  if (q->copies == 2) { /* the other copy's loss (its residual only) */
    const double *L2 = theta + (1 - c) * q->copy_dim;
    loss += q->c * grad_matrix(q, L2, L2 + (size_t)q->n1 * q->w);
  }
  return loss;
}

static sd_status as_precondition_view(sd_problem *p, const double *theta, size_t v, double *g, double lambda) {
  asym *q = (asym *)p;
  size_t off = v / 2 * q->copy_dim;
  const double *L = theta + off, *R = L + (size_t)q->n1 * q->w;
  if (v % 2 == 0) return sd_solve_gram_right(q->n1, q->w, g + off, q->n2, R, lambda, q->K, &q->fallbacks);
  return sd_solve_gram_right(q->n2, q->w, g + off + (size_t)q->n1 * q->w, q->n1, L, lambda, q->K, &q->fallbacks);
}

static sd_status as_precondition(sd_problem *p, const double *theta, double *g, double lambda) {
  asym *q = (asym *)p;
  for (size_t v = 0; v < 2 * (size_t)q->copies; v++) SD_TRY(as_precondition_view(p, theta, v, g, lambda));
  return SD_OK;
}

static double gram_cond(asym *q, const double *F, int rows) {
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, q->w, rows, 1.0, F, q->w, 0.0, q->K2, q->w);
  for (int i = 0; i < q->w; i++)
    for (int j = 0; j < i; j++) q->K2[(size_t)i * q->w + j] = q->K2[(size_t)j * q->w + i];
  if (sd_svd_run(&q->svd_K, q->K2) != SD_OK) return NAN;
  return q->svd_K.s[0] / q->svd_K.s[q->w - 1];
}

static void as_observe(sd_problem *p, const double *theta, double t, double *out) {
  (void)t;
  asym *q = (asym *)p;
  const double *L = theta, *R = theta + (size_t)q->n1 * q->w;
  size_t nn = (size_t)q->n1 * q->n2;
  double rr = grad_matrix(q, L, R);
  double *o[N_OBS];
  o[0] = out;
  for (int i = 1; i < N_OBS; i++) o[i] = o[i - 1] + q->obs_len[i - 1];
  double d = 0;
  for (size_t i = 0; i < nn; i++) d += (q->X[i] - q->Mstar[i]) * (q->X[i] - q->Mstar[i]);
  *o[OBS_REL] = sqrt(d) / q->m_norm;
  *o[OBS_TRAIN] = sqrt(rr) / (q->sensing ? q->y_norm : q->m_norm);
  /* LᵀL − RᵀR: conserved by the flow (balancedness) */
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, q->w, q->n1, 1.0, L, q->w, 0.0, q->K, q->w);
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, q->w, q->n2, -1.0, R, q->w, 1.0, q->K, q->w);
  double b = 0;
  for (int i = 0; i < q->w; i++)
    for (int j = i; j < q->w; j++) b += (i == j ? 1.0 : 2.0) * q->K[(size_t)i * q->w + j] * q->K[(size_t)i * q->w + j];
  *o[OBS_IMBALANCE] = sqrt(b);
  *o[OBS_COND_L] = gram_cond(q, L, q->n1);
  *o[OBS_COND_R] = gram_cond(q, R, q->n2);
  if (q->copies == 2) { /* ‖LRᵀ − L₂R₂ᵀ‖/‖LRᵀ‖, before the SVD below overwrites X */
    const double *L2 = theta + q->copy_dim, *R2 = L2 + (size_t)q->n1 * q->w;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, q->n1, q->n2, q->w, 1.0, L2, q->w, R2, q->w, 0.0, q->Z, q->n2);
    double num = 0, den = 0;
    for (size_t i = 0; i < nn; i++) num += (q->X[i] - q->Z[i]) * (q->X[i] - q->Z[i]), den += q->X[i] * q->X[i];
    *o[OBS_GAP] = sqrt(num / den);
  }
  int ok = sd_svd_run(&q->svd_X, q->X) == SD_OK;
  for (size_t i = 0; i < q->obs_len[OBS_SIGMA]; i++) o[OBS_SIGMA][i] = ok ? q->svd_X.s[i] : NAN;
}

static void as_destroy(sd_problem *p) {
  asym *q = (asym *)p;
  double *b[] = {q->A, q->y, q->Mstar, q->X, q->Z, q->res, q->K, q->K2, q->Q, q->base.theta0};
  for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) sd_free(b[i]);
  sd_svd_free(&q->svd_X);
  sd_svd_free(&q->svd_K);
  sd_free(q);
}

static const sd_problem_ops AS_OPS = {.loss_grad = as_loss_grad,
                                      .observe = as_observe,
                                      .destroy = as_destroy,
                                      .precondition = as_precondition,
                                      .loss_grad_view = as_loss_grad_view,
                                      .precondition_view = as_precondition_view};

/* The r left singular vectors of a sign(rand − 0.5) matrix (G-Tong), n × r row-major into out. */
static sd_status sign_basis(uint64_t seed, uint32_t index, int n, int r, double *out) {
  double *S = sd_malloc((size_t)n * r * sizeof(double));
  if (!S) return sd_error(SD_ERR_NOMEM, "out of memory");
  sd_rng rng;
  sd_rng_init(&rng, seed, SD_STREAM_TRUTH, index);
  for (size_t i = 0; i < (size_t)n * r; i++) S[i] = sd_rng_uniform(&rng) < 0.5 ? -1.0 : 1.0;
  sd_svd svd;
  sd_status rc = sd_svd_create(&svd, n, r, 1, 0);
  if (rc == SD_OK) rc = sd_svd_run(&svd, S);
  if (rc == SD_OK) memcpy(out, svd.u, (size_t)n * r * sizeof(double));
  sd_svd_free(&svd);
  sd_free(S);
  return rc;
}

/* M⋆ = G₁G₂ᵀ/σ₁(G₁G₂ᵀ) from G₁ (into U, n₁ × r) and G₂ (into V, n₂ × r), truth stream index 2. */
static sd_status product_truth(asym *q, uint64_t seed, double *U, double *V) {
  sd_rng rng;
  sd_rng_init(&rng, seed, SD_STREAM_TRUTH, 2);
  sd_rng_normal_fill(&rng, U, (size_t)q->n1 * q->r, 1.0);
  sd_rng_normal_fill(&rng, V, (size_t)q->n2 * q->r, 1.0);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, q->n1, q->n2, q->r, 1.0, U, q->r, V, q->r, 0.0, q->Mstar, q->n2);
  memcpy(q->X, q->Mstar, (size_t)q->n1 * q->n2 * sizeof(double));
  SD_TRY(sd_svd_run(&q->svd_X, q->X));
  cblas_dscal(q->n1 * q->n2, 1.0 / q->svd_X.s[0], q->Mstar, 1);
  return SD_OK;
}

/* The probe's copy: L₂ = L₀Q, R₂ = R₀Q^{-ᵀ} (Q drawn, or loaded as arrays.Q). */
static sd_status twin_init(asym *q, const sd_config *cfg, uint64_t seed, sd_arrays *arrays) {
  int w = q->w;
  size_t sq[2] = {(size_t)w, (size_t)w};
  int loaded;
  SD_TRY(sd_arrays_try_load(arrays, "Q", 2, sq, q->Q, &loaded));
  if (!loaded) {
    sd_rng rng;
    sd_rng_init(&rng, seed, SD_STREAM_INIT, 1);
    sd_rng_normal_fill(&rng, q->Q, (size_t)w * w, 1.0);
    for (int i = 0; i < w; i++) q->Q[(size_t)i * w + i] += sd_config_real(cfg, "problem.twin_shift");
  }
  SD_TRY(sd_arrays_register(arrays, "Q", 2, sq, q->Q));
  const double *L = q->base.theta0, *R = L + (size_t)q->n1 * w;
  double *L2 = q->base.theta0 + q->copy_dim, *R2 = L2 + (size_t)q->n1 * w;
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, q->n1, w, w, 1.0, L, w, q->Q, w, 0.0, L2, w);
  /* R₂Qᵀ = R₀, i.e. Q·R₂ᵀ = R₀ᵀ, solved in place: R₂ (n₂ × r' row-major) read column-major is R₂ᵀ (r' × n₂),
   * so R₂ ← R₀ and K2 ← Q column-major */
  memcpy(R2, R, (size_t)q->n2 * w * sizeof(double));
  for (int i = 0; i < w; i++)
    for (int j = 0; j < w; j++) q->K2[(size_t)j * w + i] = q->Q[(size_t)i * w + j];
  lapack_int *piv = sd_malloc((size_t)w * sizeof *piv);
  if (!piv) return sd_error(SD_ERR_NOMEM, "out of memory");
  lapack_int info = LAPACKE_dgesv(LAPACK_COL_MAJOR, w, q->n2, q->K2, w, piv, R2, w);
  sd_free(piv);
  if (info != 0) return sd_config_fail(cfg, "problem.twin_shift", "the probe's Q is singular: choose another shift or seed");
  return SD_OK;
}

static sd_status as_setup(asym *q, const sd_config *cfg, uint64_t seed, sd_arrays *arrays) {
  int n1 = q->n1, n2 = q->n2, r = q->r, w = q->w;
  size_t nn = (size_t)n1 * n2;
  double *U = sd_malloc((size_t)n1 * r * sizeof(double)), *V = sd_malloc((size_t)n2 * r * sizeof(double));
  sd_status rc = U && V ? SD_OK : sd_error(SD_ERR_NOMEM, "out of memory");
  if (rc == SD_OK && !strcmp(sd_config_str(cfg, "problem.truth"), "product")) {
    rc = product_truth(q, seed, U, V);
    sd_free(U);
    sd_free(V);
    SD_TRY(rc);
    goto drawn;
  }
  if (rc == SD_OK) rc = sign_basis(seed, 0, n1, r, U);
  if (rc == SD_OK) rc = sign_basis(seed, 1, n2, r, V);
  if (rc == SD_OK) {
    double kappa = sd_config_real(cfg, "problem.kappa");
    memset(q->Mstar, 0, nn * sizeof(double));
    for (int k = 0; k < r; k++) {
      double s = r == 1 ? 1.0 : 1.0 + (1.0 / kappa - 1.0) * k / (r - 1);
      for (int i = 0; i < n1; i++)
        for (int j = 0; j < n2; j++) q->Mstar[(size_t)i * n2 + j] += s * U[(size_t)i * r + k] * V[(size_t)j * r + k];
    }
  }
  sd_free(U);
  sd_free(V);
  SD_TRY(rc);
drawn:;
  size_t sm[2] = {(size_t)n1, (size_t)n2};
  int loaded;
  SD_TRY(sd_arrays_load_or_draw(arrays, "M_star", 2, sm, q->Mstar, &loaded));
  q->m_norm = cblas_dnrm2((int)nn, q->Mstar, 1);
  if (q->sensing) {
    size_t sa[3] = {(size_t)q->m, (size_t)n1, (size_t)n2}, sy[1] = {(size_t)q->m};
    SD_TRY(sd_arrays_load_or_draw(arrays, "A", 3, sa, q->A, &loaded));
    if (!loaded) {
      sd_rng rng;
      sd_rng_init(&rng, seed, SD_STREAM_DATA, 0);
      sd_rng_normal_fill(&rng, q->A, (size_t)q->m * nn, 1.0 / sqrt((double)q->m));
    }
    cblas_dgemv(CblasRowMajor, CblasNoTrans, q->m, (int)nn, 1.0, q->A, (int)nn, q->Mstar, 1, 0.0, q->y, 1);
    q->y_norm = cblas_dnrm2(q->m, q->y, 1);
    SD_TRY(sd_arrays_register(arrays, "y", 1, sy, q->y));
  }
  /* initialization */
  double *L = q->base.theta0, *R = q->base.theta0 + (size_t)n1 * w;
  size_t sl[2] = {(size_t)n1, (size_t)w}, sr[2] = {(size_t)n2, (size_t)w};
  const char *scheme = sd_config_str(cfg, "init.scheme");
  if (!strcmp(scheme, "spectral")) {
    /* top-w SVD of A^*(y) (M⋆ itself for factorization) */
    if (q->sensing) cblas_dgemv(CblasRowMajor, CblasTrans, q->m, (int)nn, 1.0, q->A, (int)nn, q->y, 1, 0.0, q->Z, 1);
    else memcpy(q->Z, q->Mstar, nn * sizeof(double));
    sd_svd svd;
    SD_TRY(sd_svd_create(&svd, n1, n2, 1, 1));
    rc = sd_svd_run(&svd, q->Z);
    if (rc == SD_OK && w > svd.k) rc = sd_config_fail(cfg, "problem.width", "spectral init needs width ≤ min(n₁, n₂)");
    if (rc == SD_OK)
      for (int k = 0; k < w; k++) {
        double s = sqrt(svd.s[k]);
        for (int i = 0; i < n1; i++) L[(size_t)i * w + k] = svd.u[(size_t)i * svd.k + k] * s;
        for (int j = 0; j < n2; j++) R[(size_t)j * w + k] = svd.vt[(size_t)k * n2 + j] * s;
      }
    sd_svd_free(&svd);
    SD_TRY(rc);
  } else {
    double alpha = sd_config_real(cfg, "init.scale");
    const char *norm = sd_config_str(cfg, "init.normalize");
    double denom = !strcmp(norm, "n") ? sqrt((double)n1) : !strcmp(norm, "width") ? sqrt((double)w) : 1.0;
    sd_rng rng;
    sd_rng_init(&rng, seed, SD_STREAM_INIT, 0);
    sd_rng_normal_fill(&rng, L, (size_t)n1 * w, alpha / denom);
    sd_rng_normal_fill(&rng, R, (size_t)n2 * w, alpha / denom);
  }
  int l1, l2;
  SD_TRY(sd_arrays_load_or_draw(arrays, "L0", 2, sl, L, &l1));
  SD_TRY(sd_arrays_load_or_draw(arrays, "R0", 2, sr, R, &l2));
  return q->copies == 2 ? twin_init(q, cfg, seed, arrays) : SD_OK;
}

static sd_status as_create(const sd_config *cfg, uint64_t seed, sd_arrays *arrays, sd_problem **out) {
  *out = NULL;
  int n1 = (int)sd_config_int(cfg, "problem.rows"), n2 = (int)sd_config_int(cfg, "problem.cols");
  int r = (int)sd_config_int(cfg, "problem.rank"), w = (int)sd_config_int(cfg, "problem.width");
  if (w == 0) w = r;
  int mn = n1 < n2 ? n1 : n2;
  if (r > mn) return sd_config_fail(cfg, "problem.rank", "rank %d exceeds min(rows, cols) = %d", r, mn);
  if (sd_config_real(cfg, "problem.twin_shift") > 0) {
    /* the probe trains both copies as one problem: dynamics that couple them would change the first copy */
    const char *kind = sd_config_peek(cfg, "dynamics.kind"), *rule = sd_config_peek(cfg, "dynamics.damping_rule"),
               *clip = sd_config_peek(cfg, "clip.grad_norm");
    if (kind && !strcmp(kind, "scaled_gd") && rule && !strcmp(rule, "sqrt_loss"))
      return sd_config_fail(cfg, "problem.twin_shift", "the invariance probe cannot share PrecGD's damping √loss between copies");
    if (clip && strtod(clip, NULL) > 0)
      return sd_config_fail(cfg, "problem.twin_shift", "the invariance probe cannot share gradient clipping between copies");
    if (kind && !strcmp(kind, "flow"))
      return sd_config_fail(cfg, "problem.twin_shift", "the invariance probe cannot share a flow's error control between copies");
  }
  asym *q = sd_calloc(1, sizeof *q);
  if (!q) return sd_error(SD_ERR_NOMEM, "out of memory");
  q->n1 = n1, q->n2 = n2, q->r = r, q->w = w;
  q->sensing = !strcmp(sd_config_str(cfg, "problem.operator"), "gaussian");
  q->m = q->sensing ? (int)sd_config_int(cfg, "problem.measurements") : 0;
  q->c = sd_config_real(cfg, "problem.loss_scale");
  q->copies = sd_config_real(cfg, "problem.twin_shift") > 0 ? 2 : 1;
  q->copy_dim = (size_t)(n1 + n2) * w;
  size_t nn = (size_t)n1 * n2, dim = q->copies * q->copy_dim;
  q->Mstar = sd_malloc(nn * sizeof(double));
  q->X = sd_malloc(nn * sizeof(double));
  q->Z = sd_malloc(nn * sizeof(double));
  q->K = sd_malloc((size_t)w * w * sizeof(double));
  q->K2 = sd_malloc((size_t)w * w * sizeof(double));
  q->base.theta0 = sd_malloc(dim * sizeof(double));
  if (q->copies == 2) q->Q = sd_malloc((size_t)w * w * sizeof(double));
  if (q->sensing) {
    q->A = sd_malloc((size_t)q->m * nn * sizeof(double));
    q->y = sd_malloc((size_t)q->m * sizeof(double));
    q->res = sd_malloc((size_t)q->m * sizeof(double));
  }
  sd_status rc = SD_OK;
  if (!q->Mstar || !q->X || !q->Z || !q->K || !q->K2 || !q->base.theta0 || (q->sensing && (!q->A || !q->y || !q->res)) ||
      (q->copies == 2 && !q->Q))
    rc = sd_error(SD_ERR_NOMEM, "out of memory for the asymmetric problem");
  if (rc == SD_OK) rc = sd_svd_create(&q->svd_X, n1, n2, 0, 0);
  if (rc == SD_OK) rc = sd_svd_create(&q->svd_K, w, w, 0, 0);
  if (rc == SD_OK) rc = as_setup(q, cfg, seed, arrays);
  if (rc != SD_OK) {
    as_destroy(&q->base);
    return rc;
  }
  q->base.ops = &AS_OPS;
  q->base.dim = dim;
  q->base.param_name = "theta";
  q->base.param_ndim = 1;
  q->base.param_shape[0] = dim;
  static const char *const VIEWS[4] = {"L", "R", "L2", "R2"};
  for (size_t v = 0; v < 2 * (size_t)q->copies; v++) {
    q->view_names[v] = VIEWS[v];
    q->view_offset[v] = v / 2 * q->copy_dim + (v % 2 ? (size_t)n1 * w : 0);
    q->view_shape[v][0] = (size_t)(v % 2 ? n2 : n1), q->view_shape[v][1] = (size_t)w;
  }
  q->base.n_views = 2 * (size_t)q->copies;
  q->base.view_name = q->view_names;
  q->base.view_offset = q->view_offset;
  q->base.view_shape = (const size_t(*)[2])q->view_shape;
  for (int i = 0; i < N_OBS; i++) q->obs_len[i] = 1;
  q->obs_len[OBS_SIGMA] = (size_t)(r + 1 < mn ? r + 1 : mn);
  q->base.n_obs = q->copies == 2 ? N_OBS : N_OBS - 1;
  q->base.obs_names = OBS_NAMES;
  q->base.obs_len = q->obs_len;
  q->base.obs_total = 5 + q->obs_len[OBS_SIGMA] + (q->copies == 2);
  *out = &q->base;
  return SD_OK;
}

/* What as_create allocates, in bytes: the Gaussian operator (m·n₁n₂ doubles), the n₁×n₂ truth and workspaces,
 * the factors (two copies with twin_shift), the SVD workspaces, and the largest temporary (the spectral init's
 * full SVD, or the truth's factors). */
static double as_memory(const sd_config *cfg, double *dim, const char **keys) {
  double n1 = (double)sd_config_int(cfg, "problem.rows"), n2 = (double)sd_config_int(cfg, "problem.cols");
  double r = (double)sd_config_int(cfg, "problem.rank"), w = (double)sd_config_int(cfg, "problem.width");
  if (w == 0) w = r;
  int sensing = !strcmp(sd_config_str(cfg, "problem.operator"), "gaussian");
  double m = sensing ? (double)sd_config_int(cfg, "problem.measurements") : 0;
  double copies = sd_config_real(cfg, "problem.twin_shift") > 0 ? 2 : 1, nn = n1 * n2, d = copies * (n1 + n2) * w;
  double held = 8 * (3 * nn + (1 + copies) * w * w + d + m * nn + 2 * m) + sd_svd_memory(n1, n2, 0, 0) +
                sd_svd_memory(w, w, 0, 0);
  double mx = n1 > n2 ? n1 : n2;
  double temp = 8 * (n1 + n2) * r + sd_svd_memory(mx, r, 1, 0) + 8 * mx * r;
  if (!strcmp(sd_config_str(cfg, "init.scheme"), "spectral")) temp += sd_svd_memory(n1, n2, 1, 1);
  if (dim) *dim = d;
  *keys = sensing && m * nn > 3 * nn ? "problem.rows, problem.cols, problem.measurements" : "problem.rows, problem.cols";
  return held + temp + (double)sizeof(asym);
}

static const sd_param AS_PARAMS[] = {
    {"rows", SD_T_INT, "50", 1, 100000, NULL, "n₁, rows of M⋆ and of L"},
    {"cols", SD_T_INT, "50", 1, 100000, NULL, "n₂, columns of M⋆ and rows of R"},
    {"rank", SD_T_INT, "5", 1, 100000, NULL, "r, rank of M⋆"},
    {"width", SD_T_INT, "0", 0, 100000, NULL, "r', columns of L and R (0: r)"},
    {"operator", SD_T_ENUM, "identity", SD_NO_BOUNDS, "identity|gaussian",
     "identity: factorization of M⋆; gaussian: m measurements ⟨A_k, M⋆⟩, A_k = randn/√m"},
    {"measurements", SD_T_INT, "1000", 1, 1e9, NULL, "m (gaussian operator)"},
    {"truth", SD_T_ENUM, "tong", SD_NO_BOUNDS, "tong|product",
     "tong: G-Tong (sign-matrix singular vectors, σ⋆ = linspace(1, 1/κ, r)); product: G₁G₂ᵀ/σ₁, G Gaussian n × r"},
    {"kappa", SD_T_REAL, "10", 1, 1e300, NULL, "κ = σ₁/σ_r of M⋆; σ⋆ = linspace(1, 1/κ, r) (truth tong)"},
    {"loss_scale", SD_T_REAL, "0.5", 1e-300, 1e300, NULL, "c in c‖A(LRᵀ) − y‖² (½ in the official codes)"},
    {"twin_shift", SD_T_REAL, "0", 0, 1e300, NULL,
     "s > 0: invariance probe, a second copy from (L₀Q, R₀Q^{-ᵀ}), Q = N(0,1) + sI; observable invariance_gap"},
};

static const sd_param AS_INIT[] = {
    {"scheme", SD_T_ENUM, "small_random", SD_NO_BOUNDS, "small_random|spectral", "small random, or the top-r' SVD of A^*(y)"},
    {"scale", SD_T_REAL, "1e-2", 0, 1e300, NULL, "α for small_random"},
    {"normalize", SD_T_ENUM, "n", SD_NO_BOUNDS, "n|width|none", "entries α·N(0,1)/√n₁ (n, the spec's N(0, α²/n)), /√r', or none"},
};

static const char *const AS_ARRAYS[] = {"M_star", "A", "L0", "R0", "Q", NULL};

static const sd_phase_rule AS_PHASES[] = {
    {"escape", "rel_error", '<', 0.5, "from the initialization until half of M⋆ is fitted"},
    {"local", NULL, 0, 0, "local convergence"},
};

const sd_problem_class sd_problem_asym = {
    .kind = "asym",
    .summary = "asymmetric low-rank factorization or Gaussian sensing M⋆ ≈ LRᵀ",
    .params = AS_PARAMS,
    .n_params = sizeof AS_PARAMS / sizeof AS_PARAMS[0],
    .init_params = AS_INIT,
    .n_init_params = sizeof AS_INIT / sizeof AS_INIT[0],
    .arrays = AS_ARRAYS,
    .phases = AS_PHASES,
    .n_phases = 2,
    .create = as_create,
    .memory = as_memory,
};
