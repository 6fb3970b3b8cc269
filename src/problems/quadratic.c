/* quadratic.c: L(θ) = ½(θ−θ⋆)ᵀH(θ−θ⋆) with H = Q diag(h) Qᵀ of a chosen spectrum.
 *
 * The validation problem of the dynamics layer: gradient H(θ−θ⋆) is linear, so GD, momentum and the flow
 * have closed forms in the eigenbasis of H (tests/test_dynamics.c checks them).
 *   Q   d×d random orthogonal (QR of a Gaussian from the truth stream, index 0)
 *   h   spectrum from h_max down to h_min, linearly or log-spaced
 *   θ⋆  N(0, 1) entries (truth stream, index 1)
 *   θ₀  θ⋆ + init.scale·N(0, 1) (init stream), so init.scale is the initial distance scale */
#include "problems/quadratic.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "saddle/alloc.h"
#include "saddle/linalg.h"
#include "saddle/rng.h"

typedef struct {
  sd_problem base;
  int d;
  double *H;      /* d × d */
  double *spec;   /* d, eigenvalues of H, descending */
  double *star;   /* d, θ⋆ */
  double *Q;      /* d × d, eigenvectors of H as rows, in the order of spec */
  size_t n_modes; /* min(d, 32) observed mode coordinates */
  size_t obs_len[4];
  double *z0;     /* d, eigen-coordinates of θ₀ − θ⋆ (for the exact flow) */
  double z0_norm;
  double *e;      /* d, workspace θ − θ⋆ */
  double *g;      /* d, workspace */
} quadratic;

enum { OBS_DIST, OBS_GRAD, OBS_FLOW_ERR, OBS_MODE, N_OBS };
static const char *const OBS_NAMES[N_OBS] = {"dist", "grad_norm", "flow_err", "mode"};

static double quad_loss_grad(sd_problem *p, const double *theta, double *grad) {
  quadratic *q = (quadratic *)p;
  int d = q->d;
  for (int i = 0; i < d; i++) q->e[i] = theta[i] - q->star[i];
  double *g = grad ? grad : q->g;
  cblas_dsymv(CblasRowMajor, CblasUpper, d, 1.0, q->H, d, q->e, 1, 0.0, g, 1);
  return 0.5 * cblas_ddot(d, q->e, 1, g, 1);
}

static void quad_observe(sd_problem *p, const double *theta, double t, double *out) {
  (void)t;
  quadratic *q = (quadratic *)p;
  quad_loss_grad(p, theta, NULL);
  out[OBS_DIST] = cblas_dnrm2(q->d, q->e, 1);
  out[OBS_GRAD] = cblas_dnrm2(q->d, q->g, 1);
  /* coordinates of θ − θ⋆ along the eigenvectors: each decays on its own in every linear dynamics */
  cblas_dgemv(CblasRowMajor, CblasNoTrans, q->d, q->d, 1.0, q->Q, q->d, q->e, 1, 0.0, q->g, 1);
  memcpy(out + OBS_MODE, q->g, q->n_modes * sizeof(double));
  /* distance to the exact gradient flow e^{−Ht}(θ₀ − θ⋆), relative to ‖θ₀ − θ⋆‖ */
  double err = 0;
  for (int j = 0; j < q->d; j++) {
    double x = q->g[j] - exp(-q->spec[j] * t) * q->z0[j];
    err += x * x;
  }
  out[OBS_FLOW_ERR] = sqrt(err) / q->z0_norm;
}

/* The quadratic is the KL divergence between Gaussians of precision H and means θ⋆ and θ, whose Fisher
 * information in θ is H itself: (H + λI)⁻¹g = Qᵀdiag(1/(h + λ))Qg in H's eigenbasis. */
static sd_status quad_fisher_solve(sd_problem *p, const double *theta, double *g, double lambda) {
  (void)theta;
  quadratic *q = (quadratic *)p;
  int d = q->d;
  cblas_dgemv(CblasRowMajor, CblasNoTrans, d, d, 1.0, q->Q, d, g, 1, 0.0, q->e, 1);
  for (int j = 0; j < d; j++) {
    double h = q->spec[j] + lambda;
    if (!(h > 0)) return sd_error(SD_ERR_NUMERIC, "Fisher information H + λI is singular (eigenvalue %g)", h);
    q->e[j] /= h;
  }
  cblas_dgemv(CblasRowMajor, CblasTrans, d, d, 1.0, q->Q, d, q->e, 1, 0.0, g, 1);
  return SD_OK;
}

static void quad_destroy(sd_problem *p) {
  quadratic *q = (quadratic *)p;
  sd_free(q->H);
  sd_free(q->Q);
  sd_free(q->z0);
  sd_free(q->spec);
  sd_free(q->star);
  sd_free(q->e);
  sd_free(q->g);
  sd_free(q->base.theta0);
  sd_free(q);
}

static const sd_problem_ops QUAD_OPS = {
    .loss_grad = quad_loss_grad, .observe = quad_observe, .destroy = quad_destroy, .fisher_solve = quad_fisher_solve};

static sd_status quad_draw(quadratic *q, const sd_config *cfg, uint64_t seed, sd_arrays *arrays) {
  int d = q->d;
  size_t dd[2] = {(size_t)d, (size_t)d}, dv[1] = {(size_t)d};
  int loaded;
  SD_TRY(sd_arrays_load_or_draw(arrays, "H", 2, dd, q->H, &loaded));
  if (!loaded) {
    double hmax = sd_config_real(cfg, "problem.h_max"), hmin = sd_config_real(cfg, "problem.h_min");
    if (hmin > hmax) return sd_config_fail(cfg, "problem.h_min", "h_min %g exceeds h_max %g", hmin, hmax);
    int logsp = !strcmp(sd_config_str(cfg, "problem.spectrum"), "log");
    if (logsp && hmin <= 0) return sd_config_fail(cfg, "problem.h_min", "a log-spaced spectrum needs h_min > 0");
    double *G = sd_malloc((size_t)d * d * sizeof(double)), *Q = sd_malloc((size_t)d * d * sizeof(double));
    if (!G || !Q) {
      sd_free(G);
      sd_free(Q);
      return sd_error(SD_ERR_NOMEM, "out of memory");
    }
    sd_rng rng;
    sd_rng_init(&rng, seed, SD_STREAM_TRUTH, 0);
    sd_rng_normal_fill(&rng, G, (size_t)d * d, 1.0);
    sd_status rc = sd_orth(d, d, G, Q);
    if (rc == SD_OK) {
      for (int j = 0; j < d; j++) {
        double f = d == 1 ? 0.0 : (double)j / (d - 1);
        double h = logsp ? hmax * pow(hmin / hmax, f) : hmax + (hmin - hmax) * f;
        for (int i = 0; i < d; i++) G[(size_t)i * d + j] = Q[(size_t)i * d + j] * h; /* Q diag(h) */
      }
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d, d, d, 1.0, G, d, Q, d, 0.0, q->H, d);
      for (int i = 0; i < d; i++) /* exactly symmetric */
        for (int j = i + 1; j < d; j++) q->H[(size_t)j * d + i] = q->H[(size_t)i * d + j];
    }
    sd_free(G);
    sd_free(Q);
    SD_TRY(rc);
  }
  SD_TRY(sd_arrays_load_or_draw(arrays, "theta_star", 1, dv, q->star, &loaded));
  if (!loaded) {
    sd_rng rng;
    sd_rng_init(&rng, seed, SD_STREAM_TRUTH, 1);
    sd_rng_normal_fill(&rng, q->star, (size_t)d, 1.0);
  }
  SD_TRY(sd_arrays_load_or_draw(arrays, "theta0", 1, dv, q->base.theta0, &loaded));
  if (!loaded) {
    sd_rng rng;
    sd_rng_init(&rng, seed, SD_STREAM_INIT, 0);
    sd_rng_normal_fill(&rng, q->base.theta0, (size_t)d, sd_config_real(cfg, "init.scale"));
    for (int i = 0; i < d; i++) q->base.theta0[i] += q->star[i];
  }
  /* the spectrum of the H actually used (drawn or given) */
  double *vecs = sd_malloc((size_t)d * d * sizeof(double)), *w = sd_malloc((size_t)d * sizeof(double));
  sd_status rc = vecs && w ? sd_sym_eig(d, q->H, w, vecs) : sd_error(SD_ERR_NOMEM, "out of memory");
  if (rc == SD_OK)
    for (int j = 0; j < d; j++) {
      q->spec[j] = w[d - 1 - j];
      memcpy(q->Q + (size_t)j * d, vecs + (size_t)(d - 1 - j) * d, (size_t)d * sizeof(double));
    }
  sd_free(vecs);
  sd_free(w);
  SD_TRY(rc);
  return sd_arrays_register(arrays, "spectrum_H", 1, dv, q->spec);
}

static sd_status quad_create(const sd_config *cfg, uint64_t seed, sd_arrays *arrays, sd_problem **out) {
  *out = NULL;
  int d = (int)sd_config_int(cfg, "problem.d");
  quadratic *q = sd_calloc(1, sizeof *q);
  if (!q) return sd_error(SD_ERR_NOMEM, "out of memory");
  q->d = d;
  q->H = sd_malloc((size_t)d * d * sizeof(double));
  q->Q = sd_malloc((size_t)d * d * sizeof(double));
  q->z0 = sd_malloc((size_t)d * sizeof(double));
  q->spec = sd_malloc((size_t)d * sizeof(double));
  q->star = sd_malloc((size_t)d * sizeof(double));
  q->e = sd_malloc((size_t)d * sizeof(double));
  q->g = sd_malloc((size_t)d * sizeof(double));
  q->base.theta0 = sd_malloc((size_t)d * sizeof(double));
  sd_status rc = (q->H && q->Q && q->z0 && q->spec && q->star && q->e && q->g && q->base.theta0)
                     ? quad_draw(q, cfg, seed, arrays)
                     : sd_error(SD_ERR_NOMEM, "out of memory for the quadratic problem (d = %d)", d);
  if (rc != SD_OK) {
    quad_destroy(&q->base);
    return rc;
  }
  q->base.ops = &QUAD_OPS;
  q->base.dim = (size_t)d;
  q->base.param_name = "theta";
  q->base.param_ndim = 1;
  q->base.param_shape[0] = (size_t)d;
  q->base.n_obs = N_OBS;
  q->base.obs_names = OBS_NAMES;
  q->n_modes = d < 32 ? (size_t)d : 32;
  for (int j = 0; j < d; j++) q->e[j] = q->base.theta0[j] - q->star[j];
  cblas_dgemv(CblasRowMajor, CblasNoTrans, d, d, 1.0, q->Q, d, q->e, 1, 0.0, q->z0, 1);
  q->z0_norm = cblas_dnrm2(d, q->z0, 1);
  if (!(q->z0_norm > 0)) q->z0_norm = 1.0;
  q->obs_len[OBS_DIST] = q->obs_len[OBS_GRAD] = q->obs_len[OBS_FLOW_ERR] = 1;
  q->obs_len[OBS_MODE] = q->n_modes;
  q->base.obs_len = q->obs_len;
  q->base.obs_total = 3 + q->n_modes;
  *out = &q->base;
  return SD_OK;
}

/* What quad_create allocates, in bytes: H and its eigenvectors (d² each), two d×d temporaries while drawing
 * them, and the d-vectors. */
static double quad_memory(const sd_config *cfg, double *dim, const char **keys) {
  double d = (double)sd_config_int(cfg, "problem.d");
  if (dim) *dim = d;
  *keys = "problem.d";
  return 8 * (4 * d * d + 7 * d) + (double)sizeof(quadratic);
}

static const sd_param QUAD_PARAMS[] = {
    {"d", SD_T_INT, "10", 1, 20000, NULL, "dimension d of θ"},
    {"h_max", SD_T_REAL, "1", 0, 1e300, NULL, "largest eigenvalue of H"},
    {"h_min", SD_T_REAL, "0.01", 0, 1e300, NULL, "smallest eigenvalue of H"},
    {"spectrum", SD_T_ENUM, "log", SD_NO_BOUNDS, "log|linear", "eigenvalues of H log-spaced or linearly spaced from h_max to h_min"},
};

static const sd_param QUAD_INIT[] = {
    {"scale", SD_T_REAL, "1", 0, 1e300, NULL, "θ₀ = θ⋆ + scale·N(0, I)"},
};

static const char *const QUAD_ARRAYS[] = {"H", "theta_star", "theta0", NULL};

static const sd_phase_rule QUAD_PHASES[] = {
    {"descent", NULL, 0, 0, "a convex quadratic has one phase"},
};

const sd_problem_class sd_problem_quadratic = {
    .kind = "quadratic",
    .summary = "linear-quadratic validation problem ½(θ−θ⋆)ᵀH(θ−θ⋆) with a chosen spectrum",
    .params = QUAD_PARAMS,
    .n_params = sizeof QUAD_PARAMS / sizeof QUAD_PARAMS[0],
    .init_params = QUAD_INIT,
    .n_init_params = sizeof QUAD_INIT / sizeof QUAD_INIT[0],
    .arrays = QUAD_ARRAYS,
    .phases = QUAD_PHASES,
    .n_phases = 1,
    .create = quad_create,
    .memory = quad_memory,
};
