/* deeplinear.c: two-layer linear network ŷ = W2·W1·x on whitened inputs (Saxe et al. 2014; networks.md §8).
 *
 * With Σ11 = Σ_μ x x ᵀ = I, the loss ½Σ_μ‖y − W2W1x‖² equals ½‖Σ31 − W2W1‖_F² plus a constant; saddle uses
 *   L(W1, W2) = ½‖Σ31 − W2W1‖_F²,   Σ31 = U diag(s) Vᵀ  (N_o × N_i; U, V random orthogonal, s given)
 *   ∇_{W1} L = W2ᵀE,  ∇_{W2} L = E W1ᵀ,  E = W2W1 − Σ31
 * so the flow is τẆ1 = W2ᵀ(Σ31 − W2W1), τẆ2 = (Σ31 − W2W1)W1ᵀ with τ = 1 (t = lr·step for GD).
 * Shapes: W1 N_h × N_i, W2 N_o × N_h, stored one after the other in θ.
 * Decoupled init W1 = a₀·R Vᵀ_k, W2 = a₀·U_k Rᵀ (R: N_h × k orthonormal columns) makes each mode strength
 * u_α = (UᵀW2W1V)_αα follow u̇ = 2u(s_α − u) exactly: u(t) = s e^{2st}/(e^{2st} − 1 + s/u₀), u₀ = a₀². */
#include "problems/deeplinear.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "saddle/alloc.h"
#include "saddle/linalg.h"
#include "saddle/rng.h"

enum { OBS_REL, OBS_OFFDIAG, OBS_BALANCE, OBS_U, OBS_THEORY, OBS_ANALYTIC_ERR, N_OBS_MAX };
static const char *const OBS_NAMES[N_OBS_MAX] = {"rel_error", "offdiag", "balance", "u", "u_theory", "analytic_err"};

typedef struct {
  sd_problem base;
  int ni, nh, no, k;
  int decoupled;
  double u0;
  double *s;       /* k */
  double *U, *V;   /* N_o × N_o, N_i × N_i (columns are the singular vectors) */
  double *S31;     /* N_o × N_i */
  double s31_norm;
  double *E;       /* N_o × N_i workspace */
  double *M;       /* N_o × N_i workspace */
  double *T;       /* max(N_o,N_i) × max(N_o,N_i) workspace */
  double *B1, *B2; /* N_h × N_h workspaces (balance) */
  size_t obs_len[N_OBS_MAX];
  const char *names[N_OBS_MAX];
  const char *view_names[2];
  size_t view_offset[2];
  size_t view_shape[2][2];
} deeplinear;

static double dl_loss_grad(sd_problem *p, const double *theta, double *grad) {
  deeplinear *q = (deeplinear *)p;
  const double *W1 = theta, *W2 = theta + (size_t)q->nh * q->ni;
  /* E = W2W1 − Σ31 */
  memcpy(q->E, q->S31, (size_t)q->no * q->ni * sizeof(double));
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, q->no, q->ni, q->nh, 1.0, W2, q->nh, W1, q->ni, -1.0, q->E, q->ni);
  double en = cblas_dnrm2(q->no * q->ni, q->E, 1);
  if (grad) {
    double *g1 = grad, *g2 = grad + (size_t)q->nh * q->ni;
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, q->nh, q->ni, q->no, 1.0, W2, q->nh, q->E, q->ni, 0.0, g1, q->ni);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, q->no, q->nh, q->ni, 1.0, q->E, q->ni, W1, q->ni, 0.0, g2, q->nh);
  }
  return 0.5 * en * en;
}

/* u(t) of the decoupled flow: the logistic solution of u̇ = 2u(s − u). */
static double logistic(double s, double u0, double t) {
  double e = exp(-2.0 * s * t);
  return s / (1.0 + (s / u0 - 1.0) * e);
}

static void dl_observe(sd_problem *p, const double *theta, double t, double *out) {
  deeplinear *q = (deeplinear *)p;
  const double *W1 = theta, *W2 = theta + (size_t)q->nh * q->ni;
  double *o[N_OBS_MAX];
  o[0] = out;
  for (int i = 1; i < N_OBS_MAX; i++) o[i] = o[i - 1] + q->obs_len[i - 1];
  dl_loss_grad(p, theta, NULL); /* E = W2W1 − Σ31 */
  *o[OBS_REL] = cblas_dnrm2(q->no * q->ni, q->E, 1) / q->s31_norm;
  /* M = Uᵀ(W2W1)V in the singular bases of Σ31 */
  double *P = q->M;
  memcpy(P, q->E, (size_t)q->no * q->ni * sizeof(double));
  cblas_daxpy(q->no * q->ni, 1.0, q->S31, 1, P, 1);
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, q->no, q->ni, q->no, 1.0, q->U, q->no, P, q->ni, 0.0, q->T, q->ni);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, q->no, q->ni, q->ni, 1.0, q->T, q->ni, q->V, q->ni, 0.0, P, q->ni);
  double off = 0, err = 0;
  for (int a = 0; a < q->no; a++)
    for (int b = 0; b < q->ni; b++)
      if (a != b || a >= q->k) off += P[(size_t)a * q->ni + b] * P[(size_t)a * q->ni + b];
  *o[OBS_OFFDIAG] = sqrt(off);
  for (int a = 0; a < q->k; a++) {
    o[OBS_U][a] = P[(size_t)a * q->ni + a];
    if (q->decoupled) {
      o[OBS_THEORY][a] = logistic(q->s[a], q->u0, t);
      err = fmax(err, fabs(o[OBS_U][a] - o[OBS_THEORY][a]) / q->s[a]);
    }
  }
  if (q->decoupled) *o[OBS_ANALYTIC_ERR] = err;
  /* balance ‖W2ᵀW2 − W1W1ᵀ‖_F, conserved by the flow */
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, q->nh, q->no, 1.0, W2, q->nh, 0.0, q->B1, q->nh);
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, q->nh, q->ni, -1.0, W1, q->ni, 1.0, q->B1, q->nh);
  double bal = 0;
  for (int a = 0; a < q->nh; a++)
    for (int b = a; b < q->nh; b++) bal += (a == b ? 1.0 : 2.0) * q->B1[(size_t)a * q->nh + b] * q->B1[(size_t)a * q->nh + b];
  *o[OBS_BALANCE] = sqrt(bal);
}

static void dl_destroy(sd_problem *p) {
  deeplinear *q = (deeplinear *)p;
  double *b[] = {q->s, q->U, q->V, q->S31, q->E, q->M, q->T, q->B1, q->B2, q->base.theta0};
  for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) sd_free(b[i]);
  sd_free(q);
}

static const sd_problem_ops DL_OPS = {.loss_grad = dl_loss_grad, .observe = dl_observe, .destroy = dl_destroy};

static sd_status random_orthogonal(sd_rng *rng, int n, double *Q) {
  double *G = sd_malloc((size_t)n * n * sizeof(double));
  if (!G) return sd_error(SD_ERR_NOMEM, "out of memory");
  sd_rng_normal_fill(rng, G, (size_t)n * n, 1.0);
  sd_status rc = sd_orth(n, n, G, Q);
  sd_free(G);
  return rc;
}

static sd_status dl_draw(deeplinear *q, const sd_config *cfg, uint64_t seed, sd_arrays *arrays) {
  int ni = q->ni, nh = q->nh, no = q->no, k = q->k;
  sd_rng rng;
  sd_rng_init(&rng, seed, SD_STREAM_TRUTH, 0);
  SD_TRY(random_orthogonal(&rng, no, q->U));
  SD_TRY(random_orthogonal(&rng, ni, q->V));
  /* Σ31 = Σ_α s_α u_α v_αᵀ */
  memset(q->S31, 0, (size_t)no * ni * sizeof(double));
  for (int a = 0; a < k; a++)
    for (int i = 0; i < no; i++)
      for (int j = 0; j < ni; j++) q->S31[(size_t)i * ni + j] += q->s[a] * q->U[(size_t)i * no + a] * q->V[(size_t)j * ni + a];
  size_t sh[2] = {(size_t)no, (size_t)ni};
  int loaded;
  SD_TRY(sd_arrays_load_or_draw(arrays, "Sigma31", 2, sh, q->S31, &loaded));
  if (loaded && q->decoupled)
    return sd_config_fail(cfg, "init.scheme", "the decoupled initialization needs the drawn Σ31 (its singular vectors); use init.scheme: random with arrays.Sigma31");
  if (loaded) {
    /* recover U, s, V from the given Σ31 */
    sd_svd svd;
    SD_TRY(sd_svd_create(&svd, no, ni, 1, 1));
    sd_status rc = sd_svd_run(&svd, q->S31);
    if (rc == SD_OK) {
      int mn = svd.k;
      memset(q->U, 0, (size_t)no * no * sizeof(double));
      memset(q->V, 0, (size_t)ni * ni * sizeof(double));
      for (int i = 0; i < no; i++)
        for (int a = 0; a < mn; a++) q->U[(size_t)i * no + a] = svd.u[(size_t)i * mn + a];
      for (int j = 0; j < ni; j++)
        for (int a = 0; a < mn; a++) q->V[(size_t)j * ni + a] = svd.vt[(size_t)a * ni + j];
      for (int a = 0; a < k; a++) q->s[a] = svd.s[a];
    }
    sd_svd_free(&svd);
    SD_TRY(rc);
  }
  q->s31_norm = cblas_dnrm2(no * ni, q->S31, 1);

  double *W1 = q->base.theta0, *W2 = q->base.theta0 + (size_t)nh * ni;
  size_t s1[2] = {(size_t)nh, (size_t)ni}, s2[2] = {(size_t)no, (size_t)nh};
  int l1, l2;
  double a0 = sd_config_real(cfg, "init.scale");
  sd_rng_init(&rng, seed, SD_STREAM_INIT, 0);
  if (q->decoupled) {
    /* R: N_h × k orthonormal columns */
    double *G = sd_malloc((size_t)nh * k * sizeof(double)), *R = sd_malloc((size_t)nh * k * sizeof(double));
    sd_status rc = G && R ? SD_OK : sd_error(SD_ERR_NOMEM, "out of memory");
    if (rc == SD_OK) {
      sd_rng_normal_fill(&rng, G, (size_t)nh * k, 1.0);
      rc = sd_orth(nh, k, G, R);
    }
    if (rc == SD_OK) {
      memset(W1, 0, (size_t)nh * ni * sizeof(double));
      memset(W2, 0, (size_t)no * nh * sizeof(double));
      for (int a = 0; a < k; a++) {
        for (int h = 0; h < nh; h++)
          for (int j = 0; j < ni; j++) W1[(size_t)h * ni + j] += a0 * R[(size_t)h * k + a] * q->V[(size_t)j * ni + a];
        for (int i = 0; i < no; i++)
          for (int h = 0; h < nh; h++) W2[(size_t)i * nh + h] += a0 * q->U[(size_t)i * no + a] * R[(size_t)h * k + a];
      }
    }
    sd_free(G);
    sd_free(R);
    SD_TRY(rc);
  } else {
    sd_rng_normal_fill(&rng, W1, (size_t)nh * ni, a0);
    sd_rng_normal_fill(&rng, W2, (size_t)no * nh, a0);
  }
  SD_TRY(sd_arrays_load_or_draw(arrays, "W1_0", 2, s1, W1, &l1));
  SD_TRY(sd_arrays_load_or_draw(arrays, "W2_0", 2, s2, W2, &l2));
  if ((l1 || l2) && q->decoupled)
    return sd_config_fail(cfg, "init.scheme", "initial weights were given from files, so the init is not the decoupled one; use init.scheme: random");
  size_t su[2] = {(size_t)no, (size_t)no}, sv[2] = {(size_t)ni, (size_t)ni}, ss[1] = {(size_t)k};
  SD_TRY(sd_arrays_register(arrays, "U", 2, su, q->U));
  SD_TRY(sd_arrays_register(arrays, "V", 2, sv, q->V));
  return sd_arrays_register(arrays, "s", 1, ss, q->s);
}

static sd_status dl_create(const sd_config *cfg, uint64_t seed, sd_arrays *arrays, sd_problem **out) {
  *out = NULL;
  int ni = (int)sd_config_int(cfg, "problem.inputs"), nh = (int)sd_config_int(cfg, "problem.hidden"),
      no = (int)sd_config_int(cfg, "problem.outputs");
  size_t k = sd_config_reals(cfg, "problem.singular_values", NULL, 0);
  int mn = ni < no ? ni : no;
  if ((int)k > mn)
    return sd_config_fail(cfg, "problem.singular_values", "%zu values, but Σ31 is %d×%d (at most %d)", k, no, ni, mn);
  int decoupled = !strcmp(sd_config_str(cfg, "init.scheme"), "decoupled");
  if (decoupled && (int)k > nh)
    return sd_config_fail(cfg, "problem.hidden", "the decoupled init needs hidden ≥ %zu (one unit per mode)", k);
  deeplinear *q = sd_calloc(1, sizeof *q);
  if (!q) return sd_error(SD_ERR_NOMEM, "out of memory");
  q->ni = ni, q->nh = nh, q->no = no, q->k = (int)k, q->decoupled = decoupled;
  double a0 = sd_config_real(cfg, "init.scale");
  q->u0 = a0 * a0;
  int mx = ni > no ? ni : no;
  size_t dim = (size_t)nh * ni + (size_t)no * nh;
  q->s = sd_malloc(k * sizeof(double));
  q->U = sd_malloc((size_t)no * no * sizeof(double));
  q->V = sd_malloc((size_t)ni * ni * sizeof(double));
  q->S31 = sd_malloc((size_t)no * ni * sizeof(double));
  q->E = sd_malloc((size_t)no * ni * sizeof(double));
  q->M = sd_malloc((size_t)no * ni * sizeof(double));
  q->T = sd_malloc((size_t)mx * mx * sizeof(double));
  q->B1 = sd_malloc((size_t)nh * nh * sizeof(double));
  q->B2 = sd_malloc((size_t)nh * nh * sizeof(double));
  q->base.theta0 = sd_malloc(dim * sizeof(double));
  sd_status rc = SD_OK;
  if (!q->s || !q->U || !q->V || !q->S31 || !q->E || !q->M || !q->T || !q->B1 || !q->B2 || !q->base.theta0)
    rc = sd_error(SD_ERR_NOMEM, "out of memory for the deep linear network");
  if (rc == SD_OK) {
    sd_config_reals(cfg, "problem.singular_values", q->s, k);
    for (size_t a = 1; a < k; a++)
      if (q->s[a] > q->s[a - 1]) rc = sd_config_fail(cfg, "problem.singular_values", "list them in decreasing order");
  }
  if (rc == SD_OK) rc = dl_draw(q, cfg, seed, arrays);
  if (rc != SD_OK) {
    dl_destroy(&q->base);
    return rc;
  }
  q->base.ops = &DL_OPS;
  q->base.dim = dim;
  q->base.param_name = "theta";
  q->base.param_ndim = 1;
  q->base.param_shape[0] = dim;
  q->view_names[0] = "W1", q->view_names[1] = "W2";
  q->view_offset[0] = 0, q->view_offset[1] = (size_t)nh * ni;
  q->view_shape[0][0] = (size_t)nh, q->view_shape[0][1] = (size_t)ni;
  q->view_shape[1][0] = (size_t)no, q->view_shape[1][1] = (size_t)nh;
  q->base.n_views = 2;
  q->base.view_name = q->view_names;
  q->base.view_offset = q->view_offset;
  q->base.view_shape = (const size_t(*)[2])q->view_shape;
  /* observables: the analytic ones only where the theory applies (decoupled init) */
  size_t n = 0;
  const size_t lens[N_OBS_MAX] = {1, 1, 1, k, k, 1};
  for (int i = 0; i < N_OBS_MAX; i++) {
    if (!decoupled && (i == OBS_THEORY || i == OBS_ANALYTIC_ERR)) {
      q->obs_len[i] = 0;
      continue;
    }
    q->names[n] = OBS_NAMES[i];
    q->obs_len[i] = lens[i];
    n++;
  }
  /* obs_len is indexed by kind; the analytic kinds come last, so without them it is still packed */
  q->base.n_obs = n;
  q->base.obs_names = q->names;
  q->base.obs_len = q->obs_len;
  q->base.obs_total = 3 + 2 * k + 1;
  if (!decoupled) q->base.obs_total = 3 + k;
  *out = &q->base;
  return SD_OK;
}

/* What dl_create allocates, in bytes: the orthogonal frames (N_o², N_i²), Σ31 and its workspaces (N_o·N_i),
 * the hidden-layer blocks (N_h²), the weights, and the largest temporary (a random orthogonal matrix, the SVD
 * of Σ31). */
static double dl_memory(const sd_config *cfg, double *dim, const char **keys) {
  double ni = (double)sd_config_int(cfg, "problem.inputs"), nh = (double)sd_config_int(cfg, "problem.hidden"),
         no = (double)sd_config_int(cfg, "problem.outputs");
  double k = (double)sd_config_reals(cfg, "problem.singular_values", NULL, 0), mx = ni > no ? ni : no;
  double d = nh * ni + no * nh, big = mx > nh ? mx : nh;
  double temp = 8 * big * big + 8 * 2 * nh * k;
  double svd = sd_svd_memory(no, ni, 1, 1);
  if (svd > temp) temp = svd;
  if (dim) *dim = d;
  *keys = "problem.inputs, problem.hidden, problem.outputs";
  return 8 * (k + no * no + ni * ni + 3 * no * ni + mx * mx + 2 * nh * nh + d) + temp + (double)sizeof(deeplinear);
}

static const sd_param DL_PARAMS[] = {
    {"inputs", SD_T_INT, "5", 1, 100000, NULL, "N_i, input dimension (inputs are whitened)"},
    {"hidden", SD_T_INT, "6", 1, 100000, NULL, "N_h, hidden units"},
    {"outputs", SD_T_INT, "4", 1, 100000, NULL, "N_o, output dimension"},
    {"singular_values", SD_T_REALS, "3,2,1,0.5", 0, 1e300, NULL, "singular values s of the input–output correlation Σ31, decreasing"},
};

static const sd_param DL_INIT[] = {
    {"scheme", SD_T_ENUM, "decoupled", SD_NO_BOUNDS, "decoupled|random",
     "decoupled: W1 = a₀RVᵀ, W2 = a₀URᵀ (exact logistic modes); random: entries N(0, a₀²)"},
    {"scale", SD_T_REAL, "1e-3", 0, 1e300, NULL, "a₀ (u₀ = a₀² for the decoupled init)"},
};

static const char *const DL_ARRAYS[] = {"Sigma31", "W1_0", "W2_0", NULL};

static const sd_phase_rule DL_PHASES[] = {
    {"learning", NULL, 0, 0, "modes are learned one after the other: see the plateaus"},
};

const sd_problem_class sd_problem_deeplinear = {
    .kind = "deeplinear",
    .summary = "two-layer linear network on whitened inputs, L = ½‖Σ31 − W2W1‖²",
    .params = DL_PARAMS,
    .n_params = sizeof DL_PARAMS / sizeof DL_PARAMS[0],
    .init_params = DL_INIT,
    .n_init_params = sizeof DL_INIT / sizeof DL_INIT[0],
    .arrays = DL_ARRAYS,
    .phases = DL_PHASES,
    .n_phases = 1,
    .create = dl_create,
    .memory = dl_memory,
};
