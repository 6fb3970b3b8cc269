/* symfact.c: symmetric low-rank matrix factorization, f(X) = c‖XXᵀ − M‖_F² (c = ¼), X ∈ ℝ^{n×r}.
 *
 * Spec: lowrank.md §4 (Mohammadi, Tinati, Tu, Soltanolkotabi, Jovanović; the cascade is the spec's
 * reconstruction). M = V diag(Λ₁, −Λ₂) Vᵀ, V random orthogonal (truth stream; QR with R's diagonal positive),
 * Λ₁ ≻ 0 the r₁ positive eigenvalues, then the others (≤ 0). Gradient 4c(XXᵀ − M)X; for c = ¼ the flow is
 * Ẋ = (M − XXᵀ)X.
 * Observed in V's basis, Z = VᵀX = [Z₁; Z₂] (Z₁: r₁ × r):
 *   P₁ = Z₁Z₁ᵀ, K = Z₂Z₁⁺ = Z₂Z₁ᵀP₁⁻¹, S = Z₂(I − Z₁ᵀP₁⁻¹Z₁)Z₂ᵀ (the Schur complement of P = ZZᵀ to P₁),
 * which obeys Ṡ = −Λ₂S − SΛ₂ − 2S² by itself; for Λ₂ = 0 (and c = ¼) S(t) = S₀(I + 2tS₀)⁻¹ exactly, so
 * t‖S(t)‖_F → √k/2, k = rank S₀. Shapes row-major: X n×r, V n×n, Z n×r. */
#include "problems/symfact.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "saddle/alloc.h"
#include "saddle/linalg.h"
#include "saddle/rng.h"

enum { OBS_REL, OBS_DIST_PLUS, OBS_SCHUR, OBS_T_SCHUR, OBS_K, OBS_P1, OBS_EIG, OBS_SCHUR_ERR, N_OBS_MAX };
static const char *const OBS_NAMES[N_OBS_MAX] = {"rel_error", "dist_plus", "schur_norm", "t_schur_norm",
                                                 "K_norm", "P1_err", "eig", "schur_err"};

typedef struct {
  sd_problem base;
  int n, r, r1;
  double c;
  double *lam;     /* n eigenvalues of M, descending */
  double *V;       /* n × n, columns the eigenvectors */
  double *M;       /* n × n */
  double *Mplus;   /* n × n, the positive part V₁Λ₁V₁ᵀ */
  double m_norm;
  int exact_schur; /* Λ₂ = 0 and c = ¼: the closed form of S holds */
  double *s0, *u0; /* eigenvalues (n−r₁) and eigenvectors (rows, (n−r₁)×(n−r₁)) of S₀ */
  double s0_norm;
  /* workspaces */
  double *E;       /* n × n */
  double *P1;      /* r₁ × r₁ */
  double *S;       /* (n−r₁)² */
  double *Kt;      /* r₁ × (n−r₁) */
  double *work;    /* sd_symfact_blocks_work(n, r, r₁) */
  sd_svd svd;      /* of X, for eig */
  size_t obs_len[N_OBS_MAX];
} symfact;

/* E ← XXᵀ − M */
static void residual(symfact *q, const double *X) {
  int n = q->n;
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, q->r, 1.0, X, q->r, 0.0, q->E, n);
  for (int i = 0; i < n; i++)
    for (int j = i; j < n; j++) {
      q->E[(size_t)i * n + j] -= q->M[(size_t)i * n + j];
      q->E[(size_t)j * n + i] = q->E[(size_t)i * n + j];
    }
}

static double sf_loss_grad(sd_problem *p, const double *X, double *grad) {
  symfact *q = (symfact *)p;
  residual(q, X);
  double en = cblas_dnrm2(q->n * q->n, q->E, 1);
  if (grad)
    cblas_dsymm(CblasRowMajor, CblasLeft, CblasUpper, q->n, q->r, 4.0 * q->c, q->E, q->n, X, q->r, 0.0, grad, q->r);
  return q->c * en * en;
}

/* Workspace of sd_symfact_blocks: Z (n × r), the Cholesky factor L (r₁ × r₁), Π⊥ (r × r; first Wᵀ, r₁ × r,
 * column-major, which LAPACK solves in place), W = P₁⁻¹Z₁ (r₁ × r), Y = Z₂Π⊥ ((n−r₁) × r); each part starts on a
 * multiple of 8 doubles. */
static size_t blk(size_t k) { return (k + 7) / 8 * 8; }

size_t sd_symfact_blocks_work(int n, int r, int r1) {
  size_t nn = (size_t)n, rr = (size_t)r, r1s = (size_t)r1, r2 = nn - r1s;
  return blk(nn * rr) + blk(r1s * r1s) + blk(rr * rr) + blk(r1s * rr) + blk(r2 * rr);
}

int sd_symfact_blocks(int n, int r, int r1, const double *V, const double *X, double *P1, double *Kt, double *S, double *work) {
  if (r < r1 || r1 < 1 || r1 > n) return 0;
  int r2 = n - r1;
  double *Z = work, *L = Z + blk((size_t)n * r), *Pi = L + blk((size_t)r1 * r1), *W = Pi + blk((size_t)r * r),
         *Y = W + blk((size_t)r1 * r);
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, r, n, 1.0, V, n, X, r, 0.0, Z, r);
  const double *Z1 = Z, *Z2 = Z + (size_t)r1 * r;
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, r1, r, 1.0, Z1, r, 0.0, P1, r1);
  for (int i = 0; i < r1; i++)
    for (int j = 0; j < i; j++) P1[(size_t)i * r1 + j] = P1[(size_t)j * r1 + i];
  /* W = P₁⁻¹Z₁ by Cholesky; Pi's buffer (r × r ≥ r₁ × r) holds Wᵀ column-major until Π⊥ is computed */
  double *Wt = Pi;
  memcpy(L, P1, (size_t)r1 * r1 * sizeof(double));
  if (LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'U', r1, L, r1) != 0) return 0;
  for (int i = 0; i < r1; i++)
    for (int j = 0; j < r; j++) Wt[(size_t)j * r1 + i] = Z1[(size_t)i * r + j];
  if (LAPACKE_dpotrs_work(LAPACK_COL_MAJOR, 'U', r1, r, L, r1, Wt, r1) != 0) return 0;
  for (int i = 0; i < r1; i++)
    for (int j = 0; j < r; j++) W[(size_t)i * r + j] = Wt[(size_t)j * r1 + i];
  /* Π⊥ = I − Z₁ᵀW (r × r) */
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r, r, r1, -1.0, Z1, r, W, r, 0.0, Pi, r);
  for (int i = 0; i < r; i++) Pi[(size_t)i * r + i] += 1.0;
  /* S = Z₂Π⊥Z₂ᵀ, Kᵀ = WZ₂ᵀ (K = Z₂Z₁ᵀP₁⁻¹ = Z₂Wᵀ) */
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r2, r, r, 1.0, Z2, r, Pi, r, 0.0, Y, r);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r2, r2, r, 1.0, Y, r, Z2, r, 0.0, S, r2);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r1, r2, r, 1.0, W, r, Z2, r, 0.0, Kt, r2);
  return 1;
}

/* S, Kᵀ, P₁ of X into q->S, q->Kt, q->P1; 0 when they do not exist (see sd_symfact_blocks). */
static int schur(symfact *q, const double *X) {
  return sd_symfact_blocks(q->n, q->r, q->r1, q->V, X, q->P1, q->Kt, q->S, q->work);
}

static void sf_observe(sd_problem *p, const double *X, double t, double *out) {
  symfact *q = (symfact *)p;
  int n = q->n, r1 = q->r1, r2 = n - r1;
  double *o[N_OBS_MAX];
  o[0] = out;
  for (int i = 1; i < N_OBS_MAX; i++) o[i] = o[i - 1] + q->obs_len[i - 1];
  residual(q, X);
  *o[OBS_REL] = cblas_dnrm2(n * n, q->E, 1) / q->m_norm;
  double dp = 0;
  for (size_t i = 0; i < (size_t)n * n; i++) {
    double x = q->E[i] + q->M[i] - q->Mplus[i];
    dp += x * x;
  }
  *o[OBS_DIST_PLUS] = sqrt(dp);
  int ok = schur(q, X);
  double sn = ok ? cblas_dnrm2(r2 * r2, q->S, 1) : NAN;
  *o[OBS_SCHUR] = sn;
  *o[OBS_T_SCHUR] = t * sn;
  *o[OBS_K] = ok ? cblas_dnrm2(r1 * r2, q->Kt, 1) : NAN;
  double pe = 0;
  for (int i = 0; i < r1; i++)
    for (int j = 0; j < r1; j++) {
      double x = q->P1[(size_t)i * r1 + j] - (i == j ? q->lam[i] : 0.0);
      pe += x * x;
    }
  *o[OBS_P1] = ok ? sqrt(pe) : NAN;
  int sok = sd_svd_run(&q->svd, X) == SD_OK;
  for (size_t i = 0; i < q->obs_len[OBS_EIG]; i++) o[OBS_EIG][i] = sok ? q->svd.s[i] * q->svd.s[i] : NAN;
  if (q->exact_schur) {
    /* ‖S(t) − S₀(I + 2tS₀)⁻¹‖_F / ‖S₀‖_F, the closed form in S₀'s eigenbasis */
    double err = 0;
    for (int a = 0; a < r2; a++)
      for (int b = 0; b < r2; b++) {
        double ex = 0;
        for (int k = 0; k < r2; k++) ex += q->u0[(size_t)k * r2 + a] * q->u0[(size_t)k * r2 + b] * q->s0[k] / (1.0 + 2.0 * t * q->s0[k]);
        double x = (ok ? q->S[(size_t)a * r2 + b] : NAN) - ex;
        err += x * x;
      }
    *o[OBS_SCHUR_ERR] = sqrt(err) / q->s0_norm;
  }
}

static void sf_destroy(sd_problem *p) {
  symfact *q = (symfact *)p;
  double *b[] = {q->lam, q->V, q->M, q->Mplus, q->s0, q->u0, q->E, q->P1, q->S, q->Kt, q->work, q->base.theta0};
  for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) sd_free(b[i]);
  sd_svd_free(&q->svd);
  sd_free(q);
}

static const sd_problem_ops SF_OPS = {.loss_grad = sf_loss_grad, .observe = sf_observe, .destroy = sf_destroy};

static sd_status sf_setup(symfact *q, const sd_config *cfg, uint64_t seed, sd_arrays *arrays) {
  int n = q->n, r = q->r;
  sd_rng rng;
  sd_rng_init(&rng, seed, SD_STREAM_TRUTH, 0);
  double *G = sd_malloc((size_t)n * n * sizeof(double));
  if (!G) return sd_error(SD_ERR_NOMEM, "out of memory");
  sd_rng_normal_fill(&rng, G, (size_t)n * n, 1.0);
  sd_status rc = sd_orth(n, n, G, q->V);
  sd_free(G);
  SD_TRY(rc);
  /* M = V diag(λ) Vᵀ, M₊ = its positive part */
  memset(q->M, 0, (size_t)n * n * sizeof(double));
  memset(q->Mplus, 0, (size_t)n * n * sizeof(double));
  for (int k = 0; k < n; k++)
    for (int i = 0; i < n; i++)
      for (int j = 0; j < n; j++) {
        double x = q->lam[k] * q->V[(size_t)i * n + k] * q->V[(size_t)j * n + k];
        q->M[(size_t)i * n + j] += x;
        if (q->lam[k] > 0) q->Mplus[(size_t)i * n + j] += x;
      }
  q->m_norm = cblas_dnrm2(n * n, q->M, 1);
  size_t sm[2] = {(size_t)n, (size_t)n}, sx[2] = {(size_t)n, (size_t)r}, sl[1] = {(size_t)n};
  SD_TRY(sd_arrays_register(arrays, "M", 2, sm, q->M));
  SD_TRY(sd_arrays_register(arrays, "V", 2, sm, q->V));
  SD_TRY(sd_arrays_register(arrays, "eigenvalues", 1, sl, q->lam));
  int loaded;
  SD_TRY(sd_arrays_load_or_draw(arrays, "X0", 2, sx, q->base.theta0, &loaded));
  if (!loaded && !strcmp(sd_config_str(cfg, "init.scheme"), "aligned")) {
    /* X₀ = a·[v₁ … v_r]: each column on an eigenvector, so s_i = (VᵀXXᵀV)_ii follows ṡ = 2(λ_i − s)s exactly */
    double a = sd_config_real(cfg, "init.scale");
    for (int i = 0; i < n; i++)
      for (int j = 0; j < r; j++) q->base.theta0[(size_t)i * r + j] = a * q->V[(size_t)i * n + j];
  } else if (!loaded) {
    const char *norm = sd_config_str(cfg, "init.normalize");
    double a = sd_config_real(cfg, "init.scale");
    double denom = !strcmp(norm, "width") ? sqrt((double)r) : !strcmp(norm, "n") ? sqrt((double)n) : 1.0;
    sd_rng_init(&rng, seed, SD_STREAM_INIT, 0);
    sd_rng_normal_fill(&rng, q->base.theta0, (size_t)n * r, a / denom);
  }
  /* S₀ and its eigen-decomposition for the closed form */
  int r2 = n - q->r1;
  if (q->exact_schur) {
    if (!schur(q, q->base.theta0))
      return sd_config_fail(cfg, "init.scale", "rank of Z₁ = (VᵀX₀)₁ is below r₁ = %d: the Schur complement does not exist", q->r1);
    SD_TRY(sd_sym_eig(r2, q->S, q->s0, q->u0));
    q->s0_norm = cblas_dnrm2(r2 * r2, q->S, 1);
    if (!(q->s0_norm > 0)) q->s0_norm = 1.0;
  }
  return SD_OK;
}

static sd_status sf_create(const sd_config *cfg, uint64_t seed, sd_arrays *arrays, sd_problem **out) {
  *out = NULL;
  int n = (int)sd_config_int(cfg, "problem.n"), r = (int)sd_config_int(cfg, "problem.rank");
  size_t ne = sd_config_reals(cfg, "problem.eigenvalues", NULL, 0);
  if ((int)ne != n) return sd_config_fail(cfg, "problem.eigenvalues", "%zu values given, but n = %d", ne, n);
  symfact *q = sd_calloc(1, sizeof *q);
  if (!q) return sd_error(SD_ERR_NOMEM, "out of memory");
  q->n = n, q->r = r;
  q->c = sd_config_real(cfg, "problem.loss_scale");
  size_t nn = (size_t)n * n;
  q->lam = sd_malloc((size_t)n * sizeof(double));
  sd_status rc = q->lam ? SD_OK : sd_error(SD_ERR_NOMEM, "out of memory");
  if (rc == SD_OK) {
    sd_config_reals(cfg, "problem.eigenvalues", q->lam, (size_t)n);
    for (int i = 0; i < n; i++) {
      if (i && q->lam[i] > q->lam[i - 1]) rc = sd_config_fail(cfg, "problem.eigenvalues", "list them in decreasing order");
      if (q->lam[i] > 0) q->r1++;
    }
    int neg = 0;
    for (int i = 0; i < n; i++) neg |= q->lam[i] < 0;
    q->exact_schur = !neg && q->c == 0.25;
    if (rc == SD_OK && q->r1 == 0) rc = sd_config_fail(cfg, "problem.eigenvalues", "M needs a positive eigenvalue");
    if (rc == SD_OK && r < q->r1)
      rc = sd_config_fail(cfg, "problem.rank", "r = %d is below the %d positive eigenvalues: the Schur complement to them needs r ≥ r₁", r, q->r1);
  }
  int r1 = q->r1, r2 = n - r1;
  if (rc == SD_OK) {
    q->V = sd_malloc(nn * sizeof(double));
    q->M = sd_malloc(nn * sizeof(double));
    q->Mplus = sd_malloc(nn * sizeof(double));
    q->s0 = sd_malloc((size_t)(r2 + 1) * sizeof(double));
    q->u0 = sd_malloc((size_t)(r2 * r2 + 1) * sizeof(double));
    q->E = sd_malloc(nn * sizeof(double));
    q->P1 = sd_malloc((size_t)r1 * r1 * sizeof(double));
    q->S = sd_malloc((size_t)(r2 * r2 + 1) * sizeof(double));
    q->Kt = sd_malloc((size_t)(r1 * r2 + 1) * sizeof(double));
    q->work = sd_malloc((sd_symfact_blocks_work(n, r, r1) + 1) * sizeof(double));
    q->base.theta0 = sd_malloc((size_t)n * r * sizeof(double));
    if (!q->V || !q->M || !q->Mplus || !q->s0 || !q->u0 || !q->E || !q->P1 || !q->S || !q->Kt || !q->work ||
        !q->base.theta0)
      rc = sd_error(SD_ERR_NOMEM, "out of memory");
  }
  if (rc == SD_OK && r > n) rc = sd_config_fail(cfg, "problem.rank", "r = %d exceeds n = %d", r, n);
  if (rc == SD_OK) rc = sd_svd_create(&q->svd, n, r, 0, 0);
  if (rc == SD_OK) rc = sf_setup(q, cfg, seed, arrays);
  if (rc != SD_OK) {
    sf_destroy(&q->base);
    return rc;
  }
  q->base.ops = &SF_OPS;
  q->base.dim = (size_t)n * r;
  q->base.param_name = "X";
  q->base.param_ndim = 2;
  q->base.param_shape[0] = (size_t)n;
  q->base.param_shape[1] = (size_t)r;
  q->base.n_obs = q->exact_schur ? N_OBS_MAX : N_OBS_MAX - 1;
  q->base.obs_names = OBS_NAMES;
  for (int i = 0; i < N_OBS_MAX; i++) q->obs_len[i] = 1;
  q->obs_len[OBS_EIG] = (size_t)(r < n ? r : n);
  if (!q->exact_schur) q->obs_len[OBS_SCHUR_ERR] = 0;
  q->base.obs_len = q->obs_len;
  q->base.obs_total = 6 + q->obs_len[OBS_EIG] + q->obs_len[OBS_SCHUR_ERR];
  *out = &q->base;
  return SD_OK;
}

/* What sf_create allocates, in bytes: the n×n matrices (V, M, M₊, E and a temporary), the blocks of the
 * Schur complement (r₂ = n − r₁, r₁ the positive eigenvalues), the workspaces and X. */
static double sf_memory(const sd_config *cfg, double *dim, const char **keys) {
  int n = (int)sd_config_int(cfg, "problem.n"), r = (int)sd_config_int(cfg, "problem.rank");
  size_t ne = sd_config_reals(cfg, "problem.eigenvalues", NULL, 0);
  int r1 = 1;
  double *lam = ne ? sd_malloc(ne * sizeof(double)) : NULL;
  if (lam) {
    sd_config_reals(cfg, "problem.eigenvalues", lam, ne);
    r1 = 0;
    for (size_t i = 0; i < ne; i++) r1 += lam[i] > 0;
    if (r1 < 1) r1 = 1;
    if (r1 > n) r1 = n;
    sd_free(lam);
  }
  double nd = n, rd = r, r1d = r1, r2 = nd - r1d, nn = nd * nd;
  if (dim) *dim = nd * rd;
  *keys = "problem.n";
  return 8 * (nd + 5 * nn + 3 * (r2 * r2 + 1) + r2 + 1 + r1d * r1d + r1d * r2 + 1 +
              (double)sd_symfact_blocks_work(n, r, r1) + 1 + nd * rd) +
         sd_svd_memory(nd, rd, 0, 0) + (double)sizeof(symfact);
}

static const sd_param SF_PARAMS[] = {
    {"n", SD_T_INT, "8", 1, 5000, NULL, "M is n×n"},
    {"rank", SD_T_INT, "5", 1, 5000, NULL, "r, the width of X ∈ ℝ^{n×r} (≥ the number r₁ of positive eigenvalues)"},
    {"eigenvalues", SD_T_REALS, "1,0.3,0,0,0,0,0,0", -1e300, 1e300, NULL,
     "the n eigenvalues of M, decreasing: the positive ones are Λ₁, the others −Λ₂"},
    {"loss_scale", SD_T_REAL, "0.25", 1e-300, 1e300, NULL, "c in c‖XXᵀ − M‖² (¼: the spec's constants 2t, √k/2 assume it)"},
};

static const sd_param SF_INIT[] = {
    {"scheme", SD_T_ENUM, "random", SD_NO_BOUNDS, "random|aligned",
     "random: X₀ = a·G/√r, G standard Gaussian; aligned: X₀ = a·[v₁ … v_r] on M's top eigenvectors (exact logistic timing)"},
    {"scale", SD_T_REAL, "0.5", 0, 1e300, NULL, "a"},
    {"normalize", SD_T_ENUM, "width", SD_NO_BOUNDS, "width|n|none", "divide by √r (width), √n, or nothing"},
};

static const char *const SF_ARRAYS[] = {"X0", NULL};

static const sd_phase_rule SF_PHASES[] = {
    {"flow", NULL, 0, 0, "one phase; the plateaus of a small initialization are its saddles"},
};

const sd_problem_class sd_problem_symfact = {
    .kind = "symfact",
    .summary = "symmetric low-rank factorization ¼‖XXᵀ − M‖², M possibly indefinite, with its Schur-complement cascade",
    .params = SF_PARAMS,
    .n_params = sizeof SF_PARAMS / sizeof SF_PARAMS[0],
    .init_params = SF_INIT,
    .n_init_params = sizeof SF_INIT / sizeof SF_INIT[0],
    .arrays = SF_ARRAYS,
    .phases = SF_PHASES,
    .n_phases = 1,
    .create = sf_create,
    .memory = sf_memory,
};
