/* sensing.c: symmetric PSD low-rank matrix sensing trained from a small random initialization.
 *
 * Model (lowrank.md §0–§1, Stöger & Soltanolkotabi 2021):
 *   truth      X⋆ = U⋆U⋆ᵀ,  U⋆ = V_X diag(√λ),  V_X = orth(n×r Gaussian),  λ = linspace(1, 1/κ, r)
 *              (kappa_of: matrix; with kappa_of: factor, √λ = linspace(1, 1/κ, r), so κ(X⋆) = κ²)
 *   operator   A_i = (G_i + G_iᵀ)/(2√m), G_i n×n standard Gaussian, i < m;  y_i = ⟨A_i, X⋆⟩
 *   parameters U ∈ ℝ^{n×w}  (w = r' ≥ r, the width; w = n is the fully over-parameterized case)
 *   loss       c‖A(UUᵀ) − y‖²  with c = loss_scale (¼ in the paper)
 *   gradient   2c(S + Sᵀ)U,  S = A^*(res) = Σ res_i A_i,  res = A(UUᵀ) − y
 *   init       U_0 = α·N(0,1)/√w  (entries N(0, α²/w), the spec's convention; normalize: n or none too)
 *
 * Shapes (row-major): U n×w, U⋆ n×r, X⋆ and S n×n. The operator is stored packed when every A_i is symmetric
 * (always when drawn): row i holds the upper triangle of A_i, off-diagonal entries doubled, so that for
 * symmetric Z, ⟨A_i, Z⟩ = Σ_{j≤k} w_jk A_i,jk Z_jk (w = 2 off the diagonal) is a dot product with Z's upper
 * triangle, and A^*(r) = Σ r_i A_i is the transposed product with the off-diagonal halved: m·n(n+1)/2 numbers
 * instead of m·n². A non-symmetric operator from a file is stored full (row i = vec(A_i)). One step reads the
 * operator twice (a dgemv and a transposed dgemv): it is memory-bound. */
#include "problems/sensing.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "saddle/alloc.h"
#include "saddle/linalg.h"
#include "saddle/rng.h"

enum { OBS_REL, OBS_TRAIN, OBS_SIGRATIO, OBS_NOISE, OBS_NOISE_PERP, OBS_ANGLE_TRUTH, OBS_ANGLE_SPEC, OBS_SIGNAL,
       OBS_EIG, OBS_MISALIGN, OBS_SIGMA_R_ERR, OBS_COND_UU, OBS_SHADOW_SPEC, OBS_SHADOW, N_OBS };

static const char *const OBS_NAMES[N_OBS] = {
    "rel_error", "train_error", "signal_ratio", "noise", "noise_perp", "angle_truth", "angle_spectral", "signal", "eig",
    "misalignment", "sigma_r_err", "cond_UU", "angle_shadow_spectral", "angle_shadow"};

typedef struct {
  sd_problem base;
  int n, r, w, m;
  double c;           /* loss scale */
  double *A;          /* m × cols: the operator, packed (cols = n(n+1)/2) or full (cols = n²) */
  int packed;
  size_t cols;
  double *zp, *sp;    /* cols: Z's packed upper triangle, A^*(r) packed (packed storage only) */
  double *evecs;      /* n × n, eigenvectors (rows, ascending) of sym(A^*(y)) */
  double *c0;         /* n × w, U₀ in that eigenbasis, rows in descending order of the eigenvalues (power shadow) */
  double *y;          /* m        */
  double *Ustar;      /* n × r    */
  double *Xstar;      /* n × n    */
  double *VX;         /* n × r, orthonormal basis of col(U⋆) */
  double *L;          /* n × r, top-r eigenvectors of sym(A^*(y)): the spectral-initialization subspace */
  double *spec;       /* n, eigenvalues of sym(A^*(y)), descending */
  double sigma_min_star, xstar_norm, y_norm;
  /* step workspaces */
  double *Z;          /* n × n */
  double *res;        /* m     */
  /* observation workspaces */
  double *B;          /* r × w  V_XᵀU */
  double *P;          /* n × w  */
  double *T;          /* n × r  */
  double *Lt;         /* n × r  top-r left singular vectors of U */
  double *T2;         /* n × r  those of the power shadow */
  double *shA, *shS, *shU, *shWork; /* power shadow: n × w graded matrix, w singular values, n × w vectors (col-major) */
  lapack_int *shIwork;
  size_t shLwork;
  int wsh;            /* the shadow's width: min(r', n) (for r' > n, C is replaced by its n × n Cholesky factor) */
  sd_svd svd_low;     /* (n − r) × r: the shadow's vectors below the top r rows */
  double *C;          /* r × r  */
  double *K;          /* w × w  UᵀU + λI and its Cholesky factor (preconditioner) */
  double *G;          /* n × n  minibatch S_B */
  double *Af, *yf;    /* batch × n², batch: fresh measurements */
  size_t batch;
  long precond_fallbacks;
  sd_svd svd_B, svd_U, svd_nw, svd_nr, svd_T;
  size_t obs_len[N_OBS];
} sensing;

/* Z ← UUᵀ (full n×n), U n×w. */
static void gram(int n, int w, const double *U, double *Z) {
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, w, 1.0, U, w, 0.0, Z, n);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < i; j++) Z[(size_t)i * n + j] = Z[(size_t)j * n + i];
}

/* Z's upper triangle, row by row, into zp (n(n+1)/2). */
static void pack_upper(int n, const double *Z, double *zp) {
  for (int i = 0; i < n; i++) {
    memcpy(zp, Z + (size_t)i * n + i, (size_t)(n - i) * sizeof(double));
    zp += n - i;
  }
}

/* The operator's view of a symmetric Z: its packed upper triangle, or Z itself for full storage. */
static const double *op_vector(sensing *s, const double *Z) {
  if (!s->packed) return Z;
  pack_upper(s->n, Z, s->zp);
  return s->zp;
}

/* S ← A^*(r) as a full symmetric n×n matrix from v = Aᵀr (cols numbers): packed, the off-diagonal halved
 * (the stored rows carry it doubled); full, (V + Vᵀ)/2 — the symmetric part, all a symmetric Z ever sees.
 * v may be S itself for full storage. */
static void op_symmetric(int n, int packed, const double *v, double *S) {
  if (packed) {
    for (int i = 0; i < n; i++) {
      S[(size_t)i * n + i] = *v++;
      for (int j = i + 1; j < n; j++) S[(size_t)i * n + j] = S[(size_t)j * n + i] = 0.5 * *v++;
    }
    return;
  }
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++) S[(size_t)i * n + j] = S[(size_t)j * n + i] = 0.5 * (v[(size_t)i * n + j] + v[(size_t)j * n + i]);
  if (v != S)
    for (int i = 0; i < n; i++) S[(size_t)i * n + i] = v[(size_t)i * n + i];
}

/* res ← A(Z) − y. */
static void residual(sensing *s, const double *Z, double *res) {
  memcpy(res, s->y, (size_t)s->m * sizeof(double));
  cblas_dgemv(CblasRowMajor, CblasNoTrans, s->m, (int)s->cols, 1.0, s->A, (int)s->cols, op_vector(s, Z), 1, -1.0, res, 1);
}

/* S ← A^*(r) (full symmetric n×n). */
static void adjoint(sensing *s, const double *r, double *S) {
  double *v = s->packed ? s->sp : S;
  cblas_dgemv(CblasRowMajor, CblasTrans, s->m, (int)s->cols, 1.0, s->A, (int)s->cols, r, 1, 0.0, v, 1);
  op_symmetric(s->n, s->packed, v, S);
}

static double sensing_loss_grad(sd_problem *p, const double *U, double *grad) {
  sensing *s = (sensing *)p;
  int n = s->n;
  gram(s->n, s->w, U, s->Z);
  residual(s, s->Z, s->res);
  double loss = s->c * cblas_ddot(s->m, s->res, 1, s->res, 1);
  if (!grad) return loss;
  /* gradient 2c(S + Sᵀ)U = 4c·sym(S)·U, S = A^*(res) (into Z, free again) */
  adjoint(s, s->res, s->Z);
  cblas_dsymm(CblasRowMajor, CblasLeft, CblasUpper, n, s->w, 4.0 * s->c, s->Z, n, U, s->w, 0.0, grad, s->w);
  return loss;
}

/* sin of the largest principal angle between col(Q1) and col(Q2), both n×r orthonormal:
 * ‖(I − Q2Q2ᵀ)Q1‖₂. */
static double sin_angle(sensing *s, const double *Q1, const double *Q2) {
  int n = s->n, r = s->r;
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r, r, n, 1.0, Q2, r, Q1, r, 0.0, s->C, r);
  memcpy(s->T, Q1, (size_t)n * r * sizeof(double));
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, r, r, -1.0, Q2, r, s->C, r, 1.0, s->T, r);
  if (sd_svd_run(&s->svd_nr, s->T) != SD_OK) return NAN;
  double v = s->svd_nr.s[0];
  return v > 1.0 ? 1.0 : v;
}

static double spectral_norm_nw(sensing *s, const double *P) {
  if (sd_svd_run(&s->svd_nw, P) != SD_OK) return NAN;
  return s->svd_nw.s[0];
}

/* The power shadow's top-r left singular vectors (the flow near U = 0 is U̇ = 4c·sym(A^*(y))U, so time t scales
 * the spectrum by 4c·t) in the eigenbasis of sym(A^*(y)) into shU (column-major n × w,
 * the first r columns used); 0 if the SVD fails. */
static int shadow_basis(sensing *s, double t) {
  int n = s->n, w = s->wsh;
  for (int j = 0; j < n; j++) { /* column-major: entry (j, c) at j + c·n */
    double g = exp(4.0 * s->c * t * (s->spec[j] - s->spec[0]));
    for (int c = 0; c < w; c++) s->shA[(size_t)c * n + j] = g * s->c0[(size_t)j * w + c];
  }
  lapack_int info = LAPACKE_dgejsv_work(LAPACK_COL_MAJOR, 'F', 'U', 'N', 'N', 'N', 'N', n, w, s->shA, n, s->shS, s->shU, n,
                                        NULL, 1, s->shWork, (lapack_int)s->shLwork, s->shIwork);
  return info == 0;
}

/* sin∠(L̃_t, L) = ‖rows r..n−1 of the shadow's top-r vectors‖₂ (eigenbasis). */
static double shadow_angle_to_L(sensing *s) {
  int n = s->n, r = s->r;
  if (n == r) return 0.0;
  for (int c = 0; c < r; c++)
    for (int j = r; j < n; j++) s->T[(size_t)(j - r) * r + c] = s->shU[(size_t)c * n + j];
  if (sd_svd_run(&s->svd_low, s->T) != SD_OK) return NAN;
  double v = s->svd_low.s[0];
  return v > 1.0 ? 1.0 : v;
}

static void sensing_observe(sd_problem *p, const double *U, double t, double *out) {
  sensing *s = (sensing *)p;
  int n = s->n, r = s->r, w = s->w;
  size_t n2 = (size_t)n * n;
  double *o[N_OBS];
  o[0] = out;
  for (int i = 1; i < N_OBS; i++) o[i] = o[i - 1] + s->obs_len[i - 1];

  gram(s->n, s->w, U, s->Z);
  residual(s, s->Z, s->res);
  *o[OBS_TRAIN] = cblas_dnrm2(s->m, s->res, 1) / s->y_norm;
  cblas_daxpy((int)n2, -1.0, s->Xstar, 1, s->Z, 1);
  *o[OBS_REL] = cblas_dnrm2((int)n2, s->Z, 1) / s->xstar_norm;

  /* signal: singular values of V_XᵀU; W = their right singular vectors (first r rows of vt) */
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r, w, n, 1.0, s->VX, r, U, w, 0.0, s->B, w);
  int ok = sd_svd_run(&s->svd_B, s->B) == SD_OK;
  for (int i = 0; i < r; i++) o[OBS_SIGNAL][i] = ok ? s->svd_B.s[i] : NAN;
  *o[OBS_SIGRATIO] = ok ? s->svd_B.s[r - 1] / s->sigma_min_star : NAN;

  /* noise: ‖U(I − WWᵀ)‖₂ */
  const double *Wt = s->svd_B.vt; /* r × w, rows orthonormal */
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, r, w, 1.0, U, w, Wt, w, 0.0, s->T, r);
  memcpy(s->P, U, (size_t)n * w * sizeof(double));
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, w, r, -1.0, s->T, r, Wt, w, 1.0, s->P, w);
  *o[OBS_NOISE] = ok ? spectral_norm_nw(s, s->P) : NAN;
  /* misalignment: ‖V_X⊥ᵀ orth(UW)‖₂, the signal part's column space against the truth's */
  int okT = ok && sd_svd_run(&s->svd_T, s->T) == SD_OK;
  *o[OBS_MISALIGN] = okT ? sin_angle(s, s->svd_T.u, s->VX) : NAN;

  /* noise_perp: ‖(I − V_XV_Xᵀ)U‖₂, the part of U outside the truth's column space */
  memcpy(s->P, U, (size_t)n * w * sizeof(double));
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, w, r, -1.0, s->VX, r, s->B, w, 1.0, s->P, w);
  *o[OBS_NOISE_PERP] = spectral_norm_nw(s, s->P);

  /* top-r column space of U, its angles to col(U⋆) and to the spectral subspace L; eigenvalues of UUᵀ */
  ok = sd_svd_run(&s->svd_U, U) == SD_OK;
  int okU = ok, k = s->svd_U.k;
  for (size_t i = 0; i < s->obs_len[OBS_EIG]; i++) o[OBS_EIG][i] = ok ? s->svd_U.s[i] * s->svd_U.s[i] : NAN;
  for (int i = 0; i < n; i++) memcpy(s->Lt + (size_t)i * r, s->svd_U.u + (size_t)i * k, (size_t)r * sizeof(double));
  *o[OBS_ANGLE_TRUTH] = ok ? sin_angle(s, s->Lt, s->VX) : NAN;
  *o[OBS_ANGLE_SPEC] = ok ? sin_angle(s, s->Lt, s->L) : NAN;
  *o[OBS_SIGMA_R_ERR] = ok ? fabs(s->svd_U.s[r - 1] - s->sigma_min_star) / s->sigma_min_star : NAN;
  /* cond(UᵀU) = (σ₁/σ_r')², infinite when r' > n or U loses rank */
  double smin = w <= n && ok ? s->svd_U.s[w - 1] : 0.0;
  *o[OBS_COND_UU] = ok ? (smin > 0 ? (s->svd_U.s[0] / smin) * (s->svd_U.s[0] / smin) : INFINITY) : NAN;

  /* power shadow (the flow's power method from U₀; near U = 0 the flow is U̇ = 4c·sym(A^*(y))U):
   * Ũ_t = e^{4ct·sym(A^*(y))}U₀ = V e^{4ctΛ} C, C = VᵀU₀. In the eigenbasis it is C with row j scaled by
   * e^{4ct(λ_j − λ₁)} (nothing overflows): a row-graded matrix whose top
   * singular vectors a plain SVD loses once e^{t(λ_r − λ₁)} nears the rounding unit, so LAPACK's Jacobi SVD
   * (dgejsv, accurate for graded rows) takes it. L̃_t = its top-r left singular vectors; in the eigenbasis L
   * is e₁ … e_r, so sin∠(L̃_t, L) is the norm of their rows below r. */
  ok = shadow_basis(s, t);
  *o[OBS_SHADOW_SPEC] = ok ? shadow_angle_to_L(s) : NAN;
  /* back to the original basis: L̃_t = V_desc·(the eigenbasis vectors) */
  for (int i = 0; ok && i < n; i++)
    for (int c = 0; c < r; c++) {
      double v = 0;
      for (int j = 0; j < n; j++) v += s->evecs[(size_t)(n - 1 - j) * n + i] * s->shU[(size_t)c * n + j];
      s->T2[(size_t)i * r + c] = v;
    }
  *o[OBS_SHADOW] = ok && okU ? sin_angle(s, s->Lt, s->T2) : NAN;
}

static void sensing_destroy(sd_problem *p) {
  sensing *s = (sensing *)p;
  if (!s) return;
  double *bufs[] = {s->A, s->y, s->Ustar, s->Xstar, s->VX, s->L, s->spec, s->Z, s->res, s->B, s->P, s->T, s->T2, s->Lt,
                    s->C, s->K, s->G, s->Af, s->yf, s->zp, s->sp, s->evecs, s->c0, s->base.theta0};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) sd_free(bufs[i]);
  sd_svd_free(&s->svd_B);
  sd_svd_free(&s->svd_U);
  sd_svd_free(&s->svd_nw);
  sd_svd_free(&s->svd_nr);
  sd_svd_free(&s->svd_T);
  sd_svd_free(&s->svd_low);
  sd_free(s->shA);
  sd_free(s->shS);
  sd_free(s->shU);
  sd_free(s->shWork);
  sd_free(s->shIwork);
  sd_free(s);
}

/* ---------------------------------------------------------------- minibatches */

static sd_status sensing_batch_reserve(sd_problem *p, size_t b) {
  sensing *s = (sensing *)p;
  size_t n2 = (size_t)s->n * s->n;
  sd_free(s->Af);
  sd_free(s->yf);
  s->Af = sd_malloc(b * n2 * sizeof(double));
  s->yf = sd_malloc(b * sizeof(double));
  s->batch = b;
  if (!s->Af || !s->yf) return sd_error(SD_ERR_NOMEM, "out of memory for minibatches of %zu measurements", b);
  return SD_OK;
}

/* loss (m/b)·c·Σ_B res_i² and gradient 4c(m/b)·sym(S_B)U, S_B = Σ_B res_i A_i, for measurements A_i: rows of the
 * stored operator at the given indices (packed as it is), or fresh full rows (Af). */
static double batch_loss_grad(sensing *s, const double *U, const double *A, int packed, const size_t *idx,
                              const double *y, size_t b, double *grad) {
  int n = s->n;
  size_t cols = packed ? (size_t)n * (n + 1) / 2 : (size_t)n * n;
  double scale = (double)s->m / (double)b, sum = 0.0;
  gram(n, s->w, U, s->Z);
  const double *z = s->Z;
  if (packed) {
    pack_upper(n, s->Z, s->zp);
    z = s->zp;
  }
  double *acc = packed ? s->sp : s->G;
  if (grad) memset(acc, 0, cols * sizeof(double));
  for (size_t k = 0; k < b; k++) {
    size_t i = idx ? idx[k] : k;
    const double *Ai = A + i * cols;
    double r = cblas_ddot((int)cols, Ai, 1, z, 1) - y[i];
    sum += r * r;
    if (grad) cblas_daxpy((int)cols, r, Ai, 1, acc, 1);
  }
  double loss = s->c * scale * sum;
  if (!grad) return loss;
  op_symmetric(n, packed, acc, s->G);
  cblas_dsymm(CblasRowMajor, CblasLeft, CblasUpper, n, s->w, 4.0 * s->c * scale, s->G, n, U, s->w, 0.0, grad, s->w);
  return loss;
}

static double sensing_loss_grad_batch(sd_problem *p, const double *U, const size_t *idx, size_t b, double *grad) {
  sensing *s = (sensing *)p;
  return batch_loss_grad(s, U, s->A, s->packed, idx, s->y, b, grad);
}

/* b fresh measurements A_i = (G_i + G_iᵀ)/(2√m) from rng, y_i = ⟨A_i, X⋆⟩: online sensing. */
static double sensing_loss_grad_fresh(sd_problem *p, const double *U, sd_rng *rng, size_t b, double *grad) {
  sensing *s = (sensing *)p;
  int n = s->n;
  size_t n2 = (size_t)n * n;
  double scale = 1.0 / (2.0 * sqrt((double)s->m));
  if (b > s->batch) return NAN; /* batch_reserve was not called for this size: a bug, shown as divergence */
  for (size_t k = 0; k < b; k++) {
    double *Ai = s->Af + k * n2;
    sd_rng_normal_fill(rng, Ai, n2, 1.0);
    for (int a = 0; a < n; a++) {
      Ai[(size_t)a * n + a] *= 2.0 * scale;
      for (int c = a + 1; c < n; c++) {
        double v = (Ai[(size_t)a * n + c] + Ai[(size_t)c * n + a]) * scale;
        Ai[(size_t)a * n + c] = Ai[(size_t)c * n + a] = v;
      }
    }
    s->yf[k] = cblas_ddot((int)n2, Ai, 1, s->Xstar, 1);
  }
  return batch_loss_grad(s, U, s->Af, 0, NULL, s->yf, b, grad);
}

/* ScaledGD(λ) preconditioner: G ← G(UᵀU + λI)⁻¹, guarded against a singular UᵀU (the spec's tiny-init pitfall). */
static sd_status sensing_precondition(sd_problem *p, const double *U, double *G, double lambda) {
  sensing *s = (sensing *)p;
  return sd_solve_gram_right(s->n, s->w, G, s->n, U, lambda, s->K, &s->precond_fallbacks);
}

static const sd_problem_ops SENSING_OPS = {.loss_grad = sensing_loss_grad,
                                           .observe = sensing_observe,
                                           .destroy = sensing_destroy,
                                           .precondition = sensing_precondition,
                                           .batch_reserve = sensing_batch_reserve,
                                           .loss_grad_batch = sensing_loss_grad_batch,
                                           .loss_grad_fresh = sensing_loss_grad_fresh};

/* ---------------------------------------------------------------- setup: truth, operator, init */

static sd_status make_truth(sensing *s, const sd_config *cfg, uint64_t seed, sd_arrays *arrays) {
  int n = s->n, r = s->r;
  size_t shape[2] = {(size_t)n, (size_t)r};
  int loaded;
  SD_TRY(sd_arrays_load_or_draw(arrays, "U_star", 2, shape, s->Ustar, &loaded));
  if (!loaded) {
    double kappa = sd_config_real(cfg, "problem.kappa");
    int factor = strcmp(sd_config_str(cfg, "problem.kappa_of"), "factor") == 0;
    sd_rng rng;
    sd_rng_init(&rng, seed, SD_STREAM_TRUTH, 0);
    double *g = s->T; /* n×r scratch */
    sd_rng_normal_fill(&rng, g, (size_t)n * r, 1.0);
    SD_TRY(sd_orth(n, r, g, s->VX));
    for (int j = 0; j < r; j++) {
      double lin = r == 1 ? 1.0 : 1.0 + (1.0 / kappa - 1.0) * j / (r - 1); /* linspace(1, 1/κ, r) */
      double sq = factor ? lin : sqrt(lin);
      for (int i = 0; i < n; i++) s->Ustar[(size_t)i * r + j] = s->VX[(size_t)i * r + j] * sq;
    }
  }
  /* from the (drawn or given) U⋆: its column space and smallest singular value */
  sd_svd svd;
  SD_TRY(sd_svd_create(&svd, n, r, 1, 0));
  sd_status rc = sd_svd_run(&svd, s->Ustar);
  if (rc == SD_OK) {
    s->sigma_min_star = svd.s[r - 1];
    memcpy(s->VX, svd.u, (size_t)n * r * sizeof(double));
    if (!(s->sigma_min_star > 1e-12 * svd.s[0]))
      rc = sd_config_fail(cfg, "arrays.U_star", "U_star has rank < %d (singular values %g … %g)", r, svd.s[0],
                          s->sigma_min_star);
  }
  sd_svd_free(&svd);
  SD_TRY(rc);
  gram(n, r, s->Ustar, s->Xstar);
  s->xstar_norm = cblas_dnrm2(n * n, s->Xstar, 1);
  return SD_OK;
}

/* arrays/A.npy from the stored operator: the full m×n×n array, unpacked when packed. */
static void fill_operator(const void *ctx, double *out) {
  const sensing *s = ctx;
  int n = s->n;
  size_t n2 = (size_t)n * n;
  if (!s->packed) {
    memcpy(out, s->A, (size_t)s->m * n2 * sizeof(double));
    return;
  }
  for (int i = 0; i < s->m; i++) {
    const double *v = s->A + (size_t)i * s->cols;
    double *Ai = out + (size_t)i * n2;
    for (int a = 0; a < n; a++) {
      Ai[(size_t)a * n + a] = *v++;
      for (int b = a + 1; b < n; b++) Ai[(size_t)a * n + b] = Ai[(size_t)b * n + a] = 0.5 * *v++;
    }
  }
}

/* Row i of the packed operator from a symmetric A_i: its upper triangle, off-diagonal doubled (exact in floating
 * point, so unpacking gives A_i back bit for bit). */
static void pack_row(int n, const double *Ai, double *row) {
  for (int a = 0; a < n; a++) {
    *row++ = Ai[(size_t)a * n + a];
    for (int b = a + 1; b < n; b++) *row++ = 2.0 * Ai[(size_t)a * n + b];
  }
}

static int all_symmetric(int m, int n, const double *A) {
  for (int i = 0; i < m; i++) {
    const double *Ai = A + (size_t)i * n * n;
    for (int a = 0; a < n; a++)
      for (int b = a + 1; b < n; b++)
        if (Ai[(size_t)a * n + b] != Ai[(size_t)b * n + a]) return 0;
  }
  return 1;
}

static sd_status make_operator(sensing *s, const sd_config *cfg, uint64_t seed, sd_arrays *arrays) {
  int n = s->n, m = s->m;
  size_t n2 = (size_t)n * n, half = (size_t)n * (n + 1) / 2;
  size_t shape[3] = {(size_t)m, (size_t)n, (size_t)n};
  int force_full = !strcmp(sd_config_str(cfg, "problem.storage"), "full");
  int loaded = 0;
  double *full = NULL;
  char *file = sd_config_path(cfg, "arrays.A");
  if (file) { /* a given operator is read whole, then packed if every A_i is symmetric */
    sd_free(file);
    full = sd_malloc((size_t)m * n2 * sizeof(double));
    if (!full) return sd_error(SD_ERR_NOMEM, "out of memory reading the operator (%d × %d × %d)", m, n, n);
    sd_status rc = sd_arrays_try_load(arrays, "A", 3, shape, full, &loaded);
    if (rc != SD_OK) {
      sd_free(full);
      return rc;
    }
  }
  s->packed = !force_full && (!loaded || all_symmetric(m, n, full));
  s->cols = s->packed ? half : n2;
  if (s->packed) {
    s->A = sd_malloc((size_t)m * half * sizeof(double));
    s->zp = sd_malloc(half * sizeof(double));
    s->sp = sd_malloc(half * sizeof(double));
    if (!s->A || !s->zp || !s->sp) {
      sd_free(full);
      return sd_error(SD_ERR_NOMEM, "out of memory for the operator (%.1f MiB packed)", (double)m * half * 8 / 1048576.0);
    }
  } else if (loaded) {
    s->A = full; /* kept as it is */
    full = NULL;
  } else if (!(s->A = sd_malloc((size_t)m * n2 * sizeof(double)))) {
    return sd_error(SD_ERR_NOMEM, "out of memory for the operator (%.1f MiB)", (double)m * n2 * 8 / 1048576.0);
  }
  if (loaded && s->packed) {
    for (int i = 0; i < m; i++) pack_row(n, full + (size_t)i * n2, s->A + (size_t)i * half);
  } else if (!loaded) {
    /* A_i = (G_i + G_iᵀ)/(2√m), G_i from the data stream row by row (the same numbers either storage) */
    sd_rng rng;
    sd_rng_init(&rng, seed, SD_STREAM_DATA, 0);
    double scale = 1.0 / (2.0 * sqrt((double)m));
    for (int i = 0; i < m; i++) {
      double *Ai = s->packed ? s->Z : s->A + (size_t)i * n2;
      sd_rng_normal_fill(&rng, Ai, n2, 1.0); /* G_i */
      for (int a = 0; a < n; a++) {
        Ai[(size_t)a * n + a] *= 2.0 * scale;
        for (int b = a + 1; b < n; b++) {
          double v = (Ai[(size_t)a * n + b] + Ai[(size_t)b * n + a]) * scale;
          Ai[(size_t)a * n + b] = Ai[(size_t)b * n + a] = v;
        }
      }
      if (s->packed) pack_row(n, Ai, s->A + (size_t)i * half);
    }
  }
  sd_free(full);
  SD_TRY(sd_arrays_register_fn(arrays, "A", 3, shape, fill_operator, s, loaded));
  cblas_dgemv(CblasRowMajor, CblasNoTrans, m, (int)s->cols, 1.0, s->A, (int)s->cols, op_vector(s, s->Xstar), 1, 0.0, s->y,
              1); /* y = A(X⋆) */
  s->y_norm = cblas_dnrm2(m, s->y, 1);
  size_t yshape[1] = {(size_t)m};
  SD_TRY(sd_arrays_register(arrays, "y", 1, yshape, s->y));

  /* the eigen-decomposition of sym(A^*(y)): L (spectral subspace), the spectrum, and the spectral init */
  double *M = sd_malloc(n2 * sizeof(double)), *wv = sd_malloc((size_t)n * sizeof(double));
  s->evecs = sd_malloc(n2 * sizeof(double));
  sd_status rc = (M && wv && s->evecs) ? SD_OK : sd_error(SD_ERR_NOMEM, "out of memory");
  if (rc == SD_OK) {
    adjoint(s, s->y, M);
    rc = sd_sym_eig(n, M, wv, s->evecs);
  }
  if (rc == SD_OK) {
    for (int j = 0; j < n; j++) s->spec[j] = wv[n - 1 - j];
    for (int j = 0; j < s->r; j++)
      for (int i = 0; i < n; i++) s->L[(size_t)i * s->r + j] = s->evecs[(size_t)(n - 1 - j) * n + i];
    size_t sshape[1] = {(size_t)n};
    rc = sd_arrays_register(arrays, "spectrum_Astar_y", 1, sshape, s->spec);
  }
  sd_free(M);
  sd_free(wv);
  return rc;
}

static sd_status make_init(sensing *s, const sd_config *cfg, uint64_t seed, sd_arrays *arrays) {
  size_t shape[2] = {(size_t)s->n, (size_t)s->w};
  int loaded;
  SD_TRY(sd_arrays_load_or_draw(arrays, "U0", 2, shape, s->base.theta0, &loaded));
  if (loaded) return SD_OK;
  if (!strcmp(sd_config_str(cfg, "init.scheme"), "spectral")) {
    /* U₀ = V Λ₊^{1/2}: the top-r' eigenpairs of sym(A^*(y)) (make_operator), negative eigenvalues clipped to 0 */
    int n = s->n, w = s->w;
    if (w > n) return sd_config_fail(cfg, "problem.width", "spectral init has only n = %d eigenpairs for width %d", n, w);
    for (int j = 0; j < w; j++) {
      double lam = s->spec[j], sc = lam > 0 ? sqrt(lam) : 0.0;
      for (int i = 0; i < n; i++) s->base.theta0[(size_t)i * w + j] = s->evecs[(size_t)(n - 1 - j) * n + i] * sc;
    }
    return SD_OK;
  }
  double alpha = sd_config_real(cfg, "init.scale");
  const char *norm = sd_config_str(cfg, "init.normalize");
  double denom = !strcmp(norm, "width") ? sqrt((double)s->w) : !strcmp(norm, "n") ? sqrt((double)s->n) : 1.0;
  sd_rng rng;
  sd_rng_init(&rng, seed, SD_STREAM_INIT, 0);
  sd_rng_normal_fill(&rng, s->base.theta0, (size_t)s->n * s->w, alpha / denom);
  return SD_OK;
}

/* c0 = VᵀU₀ (rows in descending order of the eigenvalues of sym(A^*(y))), the power shadow's start. For r' > n
 * the left singular vectors of DC (D diagonal) are those of DF with FFᵀ = CCᵀ: c0 becomes F = Rᵀ (n × n) from
 * the QR factorization Cᵀ = QR, which exists for any U₀, so the shadow's SVD has at least as many rows as
 * columns. */
static sd_status shadow_start(sensing *s) {
  int n = s->n, w = s->w;
  double *C = s->w > n ? s->P : s->c0; /* P is n × w */
  for (int j = 0; j < n; j++)
    cblas_dgemv(CblasRowMajor, CblasTrans, n, w, 1.0, s->base.theta0, w, s->evecs + (size_t)(n - 1 - j) * n, 1, 0.0,
                C + (size_t)j * w, 1);
  if (w <= n) return SD_OK;
  /* C row-major (n × w) read column-major is Cᵀ (w × n): its QR leaves R in the top n × n triangle */
  double *tau = sd_malloc((size_t)n * sizeof(double));
  if (!tau) return sd_error(SD_ERR_NOMEM, "out of memory");
  lapack_int info = LAPACKE_dgeqrf(LAPACK_COL_MAJOR, w, n, C, w, tau);
  sd_free(tau);
  if (info != 0) return sd_error(SD_ERR_NUMERIC, "dgeqrf failed (info %d)", (int)info);
  for (int i = 0; i < n; i++) /* F[i][j] = R[j][i], R column-major at C[j + i·w] */
    for (int j = 0; j < n; j++) s->c0[(size_t)i * n + j] = j <= i ? C[(size_t)j + (size_t)i * w] : 0.0;
  return SD_OK;
}

static sd_status sensing_create(const sd_config *cfg, uint64_t seed, sd_arrays *arrays, sd_problem **out) {
  *out = NULL;
  long long n = sd_config_int(cfg, "problem.n"), r = sd_config_int(cfg, "problem.rank");
  long long w = sd_config_int(cfg, "problem.width"), m = sd_config_int(cfg, "problem.measurements");
  if (w == 0) w = n;
  if (r > n) return sd_config_fail(cfg, "problem.rank", "rank %lld exceeds n = %lld", r, n);
  if (w < r) return sd_config_fail(cfg, "problem.width", "width %lld is below the rank %lld (need r' ≥ r)", w, r);
  double bytes = (double)m * (double)n * (double)(n + 1) * 4.0; /* packed */
  if (bytes > 64.0 * (1u << 30))
    return sd_config_fail(cfg, "problem.measurements", "the operator would need %.1f GiB (m·n² doubles)", bytes / (1u << 30));

  sensing *s = sd_calloc(1, sizeof *s);
  if (!s) return sd_error(SD_ERR_NOMEM, "out of memory");
  s->n = (int)n, s->r = (int)r, s->w = (int)w, s->m = (int)m;
  s->c = sd_config_real(cfg, "problem.loss_scale");
  size_t nn = (size_t)n * n, nw = (size_t)n * w, nr = (size_t)n * r;
  s->y = sd_malloc((size_t)m * sizeof(double));
  s->res = sd_malloc((size_t)m * sizeof(double));
  s->Ustar = sd_malloc(nr * sizeof(double));
  s->VX = sd_malloc(nr * sizeof(double));
  s->L = sd_malloc(nr * sizeof(double));
  s->T = sd_malloc(nr * sizeof(double));
  s->Lt = sd_malloc(nr * sizeof(double));
  s->T2 = sd_malloc(nr * sizeof(double));
  s->c0 = sd_malloc(nw * sizeof(double));
  s->Xstar = sd_malloc(nn * sizeof(double));
  s->Z = sd_malloc(nn * sizeof(double));
  s->spec = sd_malloc((size_t)n * sizeof(double));
  s->B = sd_malloc((size_t)r * w * sizeof(double));
  s->C = sd_malloc((size_t)r * r * sizeof(double));
  s->K = sd_malloc((size_t)w * w * sizeof(double));
  s->G = sd_malloc(nn * sizeof(double));
  s->P = sd_malloc(nw * sizeof(double));
  s->base.theta0 = sd_malloc(nw * sizeof(double));
  sd_status rc = SD_OK;
  if (!s->y || !s->res || !s->Ustar || !s->VX || !s->L || !s->T || !s->Lt || !s->T2 || !s->c0 || !s->Xstar || !s->Z || !s->spec ||
      !s->B || !s->C || !s->K || !s->G || !s->P || !s->base.theta0)
    rc = sd_error(SD_ERR_NOMEM, "out of memory for the sensing problem (operator: %.1f MiB)", bytes / (1 << 20));
  if (rc == SD_OK) rc = sd_svd_create(&s->svd_B, (int)r, (int)w, 0, 1);
  if (rc == SD_OK) rc = sd_svd_create(&s->svd_U, (int)n, (int)w, 1, 0);
  if (rc == SD_OK) rc = sd_svd_create(&s->svd_nw, (int)n, (int)w, 0, 0);
  if (rc == SD_OK) rc = sd_svd_create(&s->svd_nr, (int)n, (int)r, 0, 0);
  if (rc == SD_OK) rc = sd_svd_create(&s->svd_T, (int)n, (int)r, 1, 0);
  if (rc == SD_OK && n > r) rc = sd_svd_create(&s->svd_low, (int)(n - r), (int)r, 0, 0);
  s->wsh = (int)(w < n ? w : n);
  if (rc == SD_OK) { /* dgejsv (JOBA = 'F', JOBU = 'U', JOBV = 'N') needs LWORK ≥ max(2m + n, 4n + 1, 7); more is faster */
    size_t mm = (size_t)n, ww = (size_t)s->wsh;
    s->shLwork = 2 * mm + 6 * ww + 2 * ww * ww + mm * ww + 64;
    s->shA = sd_malloc(nw * sizeof(double));
    s->shU = sd_malloc(nw * sizeof(double));
    s->shS = sd_malloc(ww * sizeof(double));
    s->shWork = sd_malloc(s->shLwork * sizeof(double));
    s->shIwork = sd_malloc((mm + 3 * ww + 8) * sizeof(lapack_int));
    if (!s->shA || !s->shU || !s->shS || !s->shWork || !s->shIwork) rc = sd_error(SD_ERR_NOMEM, "out of memory");
  }
  if (rc == SD_OK) rc = make_truth(s, cfg, seed, arrays);
  if (rc == SD_OK) rc = make_operator(s, cfg, seed, arrays);
  if (rc == SD_OK) rc = make_init(s, cfg, seed, arrays);
  if (rc == SD_OK) rc = shadow_start(s);
  if (rc != SD_OK) {
    sensing_destroy(&s->base);
    return rc;
  }
  s->base.ops = &SENSING_OPS;
  s->base.dim = nw;
  s->base.param_name = "U";
  s->base.param_ndim = 2;
  s->base.param_shape[0] = (size_t)n;
  s->base.param_shape[1] = (size_t)w;
  s->base.n_obs = N_OBS;
  s->base.obs_names = OBS_NAMES;
  for (int i = 0; i < N_OBS; i++) s->obs_len[i] = 1;
  s->obs_len[OBS_SIGNAL] = (size_t)r;
  s->obs_len[OBS_EIG] = (size_t)((r + 1 < s->svd_U.k) ? r + 1 : s->svd_U.k);
  s->base.obs_len = s->obs_len;
  s->base.n_samples = (size_t)m;
  s->base.obs_total = 0;
  for (int i = 0; i < N_OBS; i++) s->base.obs_total += s->obs_len[i];
  *out = &s->base;
  return SD_OK;
}

/* What sensing_create allocates, in bytes: the operator (m·n(n+1)/2 doubles packed, m·n² full; an operator read
 * from a file is first read whole), the n×n truth and workspaces, the n×r' factors and SVD workspaces, and the
 * largest temporary (the eigen-decomposition of A^*(y), or the truth's SVD). */
static double sensing_memory(const sd_config *cfg, double *dim, const char **keys) {
  double n = (double)sd_config_int(cfg, "problem.n"), r = (double)sd_config_int(cfg, "problem.rank");
  double w = (double)sd_config_int(cfg, "problem.width"), m = (double)sd_config_int(cfg, "problem.measurements");
  if (w == 0) w = n;
  if (r > n) r = n;
  char *file = sd_config_path(cfg, "arrays.A");
  int from_file = file != NULL, packed = strcmp(sd_config_str(cfg, "problem.storage"), "full") != 0;
  sd_free(file);
  double nn = n * n, nw = n * w, nr = n * r, half = n * (n + 1) / 2, ww = w < n ? w : n;
  double op = 8 * (m * (packed ? half : nn) + (packed ? 2 * half : 0));
  double fixed = 8 * (2 * m + 6 * nr + 5 * nw + 4 * nn + n + r * w + r * r + w * w + ww +
                      (2 * n + 6 * ww + 2 * ww * ww + n * ww + 64)) + 4 * (n + 3 * ww + 8);
  double svds = sd_svd_memory(r, w, 0, 1) + sd_svd_memory(n, w, 1, 0) + sd_svd_memory(n, w, 0, 0) +
                sd_svd_memory(n, r, 0, 0) + sd_svd_memory(n, r, 1, 0) + (n > r ? sd_svd_memory(n - r, r, 0, 0) : 0);
  double eig = 8 * (nn + n + 64 * n), temp = sd_svd_memory(n, r, 1, 0);
  if (eig > temp) temp = eig;
  if (from_file && packed) temp += 8 * m * nn;
  if (dim) *dim = nw;
  double by_width = 8 * 5 * nw + svds;
  *keys = by_width > op + 8 * 4 * nn ? "problem.n, problem.width" : "problem.n, problem.measurements";
  return op + fixed + svds + temp + (double)sizeof(sensing);
}

static const sd_param SENSING_PARAMS[] = {
    {"n", SD_T_INT, "20", 1, 100000, NULL, "matrix size n (X⋆ is n×n)"},
    {"rank", SD_T_INT, "2", 1, 100000, NULL, "rank r of the ground truth X⋆"},
    {"width", SD_T_INT, "0", 0, 100000, NULL, "width r' of the factor U ∈ ℝ^{n×r'} (r' ≥ r; 0 means r' = n)"},
    {"measurements", SD_T_INT, "150", 1, 1e9, NULL, "number of measurements m"},
    {"operator", SD_T_ENUM, "symmetric_gaussian", SD_NO_BOUNDS, "symmetric_gaussian",
     "measurement operator: A_i = (G_i + G_iᵀ)/(2√m), G_i standard Gaussian"},
    {"storage", SD_T_ENUM, "auto", SD_NO_BOUNDS, "auto|full",
     "auto: symmetric A_i packed to their upper triangles (half the memory and traffic); full: m·n² numbers"},
    {"kappa", SD_T_REAL, "2", 1, 1e300, NULL, "condition number κ of the ground truth (see kappa_of)"},
    {"kappa_of", SD_T_ENUM, "matrix", SD_NO_BOUNDS, "matrix|factor",
     "matrix: eigenvalues of X⋆ are linspace(1, 1/κ, r); factor: singular values of U⋆ are, so κ(X⋆) = κ²"},
    {"loss_scale", SD_T_REAL, "0.25", 1e-300, 1e300, NULL, "c in the loss c‖A(UUᵀ) − y‖² (¼ in the paper)"},
};

static const sd_param SENSING_INIT[] = {
    {"scheme", SD_T_ENUM, "small_random", SD_NO_BOUNDS, "small_random|spectral",
     "small random Gaussian, or spectral: U₀ = top-r' eigenpairs VΛ₊^{1/2} of sym(A^*(y))"},
    {"scale", SD_T_REAL, "1e-6", 0, 1e300, NULL, "initialization scale α"},
    {"normalize", SD_T_ENUM, "width", SD_NO_BOUNDS, "width|n|none",
     "U_0 = α·N(0,1)/√r' (width, the paper's N(0, α²/r')), α·N(0,1)/√n (n), or α·N(0,1) (none)"},
};

static const char *const SENSING_ARRAYS[] = {"U_star", "A", "U0", NULL};

/* Phase rules (saddle's measured definitions of the paper's three phases; docs/problems/sensing.md):
 *   alignment   until UUᵀ stops being negligible: rel_error ≤ 0.99. While it holds, GD is a power method
 *               on A^*(y) and col(U) turns to the spectral subspace L;
 *   growth      until the weakest signal direction is within 10% of its target: signal_ratio ≥ 0.9;
 *   refinement  the rest: local convergence. */
static const sd_phase_rule SENSING_PHASES[] = {
    {"alignment", "rel_error", '<', 0.99, "spectral alignment: UUᵀ negligible, col(U) turns to the top eigenspace of A^*(y)"},
    {"growth", "signal_ratio", '>', 0.9, "saddle-avoiding growth of the signal σ_i(V_XᵀU) to its target"},
    {"refinement", NULL, 0, 0, "local refinement: convergence to X⋆"},
};

const sd_problem_class sd_problem_sensing = {
    .kind = "sensing",
    .summary = "symmetric PSD low-rank matrix sensing, U ∈ ℝ^{n×r'}, loss c‖A(UUᵀ) − y‖²",
    .params = SENSING_PARAMS,
    .n_params = sizeof SENSING_PARAMS / sizeof SENSING_PARAMS[0],
    .init_params = SENSING_INIT,
    .n_init_params = sizeof SENSING_INIT / sizeof SENSING_INIT[0],
    .arrays = SENSING_ARRAYS,
    .phases = SENSING_PHASES,
    .n_phases = sizeof SENSING_PHASES / sizeof SENSING_PHASES[0],
    .create = sensing_create,
    .memory = sensing_memory,
};
