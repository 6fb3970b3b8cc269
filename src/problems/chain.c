/* chain.c: a deep scalar linear chain, f(w) = ½(s − w_D⋯w_1)², w ∈ ℝ^D (networks.md §8.4, claim 2).
 *
 * From the balanced initialization w_k = a₀, the product u = Π w_k obeys u̇ = D u^{2−2/D}(s − u) (τ = 1) and the
 * chain stays balanced. For D ≥ 3 the escape from the saddle at 0 is a power law, t_½ ≈ 1/((D − 2) s a₀^{D−2})
 * (the spec's asymptote), not logarithmic: a long plateau whose dynamics slow down as a₀ shrinks, then one fast
 * jump. The exact t(u) = ∫_{u₀}^{u} dv/(D v^{2−2/D}(s − v)) is observed as `t_exact` (Gauss–Legendre in the
 * logit of v) so that the flow's timing is checked without an ODE solver; `u_err` = |u − u_exact(t)|/s, the
 * exact u(t) found from that integral by Newton's method. */
#include "problems/chain.h"

#include <math.h>
#include <string.h>

#include "saddle/alloc.h"

enum { OBS_U, OBS_TEXACT, OBS_ERR, OBS_BALANCE, N_OBS };
static const char *const OBS_NAMES[N_OBS] = {"u", "t_exact", "u_err", "balance"};
static const size_t OBS_LEN[N_OBS] = {1, 1, 1, 1};

typedef struct {
  sd_problem base;
  int D;
  double s, u0;
} chain;

static double product(const double *w, int D, int skip) {
  double p = 1.0;
  for (int k = 0; k < D; k++)
    if (k != skip) p *= w[k];
  return p;
}

static double ch_loss_grad(sd_problem *p, const double *w, double *grad) {
  chain *c = (chain *)p;
  double e = c->s - product(w, c->D, -1);
  if (grad)
    for (int k = 0; k < c->D; k++) grad[k] = -e * product(w, c->D, k);
  return 0.5 * e * e;
}

/* t(u) = ∫_{u₀}^{u} dv / (D v^{2−2/D}(s − v)). In the logit y = ln(v/(s − v)), dv = v(s − v)/s dy takes the
 * pole at v = s away: t = ∫ v(y)^{2/D−1}/(sD) dy, smooth, by composite 8-point Gauss–Legendre on 64 panels. */
static double time_to_logit(const chain *c, double b) {
  static const double x[4] = {0.1834346424956498, 0.5255324099163290, 0.7966664774136267, 0.9602898564975363};
  static const double wt[4] = {0.3626837833783620, 0.3137066458778873, 0.2223810344533745, 0.1012285362903763};
  double a = log(c->u0 / (c->s - c->u0)), h = (b - a) / 64, sum = 0;
  for (int k = 0; k < 64; k++) {
    double mid = a + (k + 0.5) * h;
    for (int j = 0; j < 4; j++)
      for (int sg = -1; sg <= 1; sg += 2) {
        double y = mid + sg * x[j] * h / 2, v = c->s / (1.0 + exp(-y));
        sum += wt[j] * h / 2 * pow(v, 2.0 / c->D - 1.0) / (c->s * c->D);
      }
  }
  return sum;
}

static double time_to(const chain *c, double u) {
  if (!(u > c->u0) || !(u < c->s)) return u <= c->u0 ? 0.0 : INFINITY;
  return time_to_logit(c, log(u / (c->s - u)));
}

/* u_exact(t): Newton on the logit y, dt/dy = v^{2/D−1}/(sD) > 0, from the logit of a guess. */
static double u_exact(const chain *c, double t, double guess) {
  double g = fmin(fmax(guess, c->u0), c->s * (1 - 1e-12));
  double y = log(g / (c->s - g));
  for (int it = 0; it < 60; it++) {
    double v = c->s / (1.0 + exp(-y)), f = time_to_logit(c, y) - t, d = pow(v, 2.0 / c->D - 1.0) / (c->s * c->D);
    double step = f / d;
    if (step > 5) step = 5; /* keep far guesses from overshooting into the flat tails */
    if (step < -5) step = -5;
    y -= step;
    if (fabs(step) < 1e-14 * fmax(1.0, fabs(y))) break;
  }
  return c->s / (1.0 + exp(-y));
}

static void ch_observe(sd_problem *p, const double *w, double t, double *out) {
  chain *c = (chain *)p;
  double u = product(w, c->D, -1), lo = INFINITY, hi = -INFINITY;
  out[OBS_U] = u;
  out[OBS_TEXACT] = time_to(c, u);
  out[OBS_ERR] = fabs(u - u_exact(c, t, u)) / c->s;
  for (int k = 0; k < c->D; k++) lo = fmin(lo, w[k] * w[k]), hi = fmax(hi, w[k] * w[k]);
  out[OBS_BALANCE] = hi - lo; /* w_k² − w_j² is conserved by the flow: 0 from a balanced start */
}

static void ch_destroy(sd_problem *p) {
  sd_free(p->theta0);
  sd_free(p);
}

static const sd_problem_ops CH_OPS = {.loss_grad = ch_loss_grad, .observe = ch_observe, .destroy = ch_destroy};

static sd_status ch_create(const sd_config *cfg, uint64_t seed, sd_arrays *arrays, sd_problem **out) {
  (void)seed;
  *out = NULL;
  chain *c = sd_calloc(1, sizeof *c);
  if (!c) return sd_error(SD_ERR_NOMEM, "out of memory");
  c->D = (int)sd_config_int(cfg, "problem.depth");
  c->s = sd_config_real(cfg, "problem.s");
  double a0 = sd_config_real(cfg, "init.scale");
  c->u0 = pow(a0, c->D);
  c->base.theta0 = sd_malloc((size_t)c->D * sizeof(double));
  if (!c->base.theta0) {
    sd_free(c);
    return sd_error(SD_ERR_NOMEM, "out of memory");
  }
  for (int k = 0; k < c->D; k++) c->base.theta0[k] = a0;
  size_t shape[1] = {(size_t)c->D};
  int loaded;
  sd_status rc = sd_arrays_load_or_draw(arrays, "w0", 1, shape, c->base.theta0, &loaded);
  if (rc == SD_OK && loaded) rc = sd_config_fail(cfg, "arrays.w0", "the chain starts balanced at init.scale; w0 cannot be given");
  if (rc == SD_OK && !(c->u0 < c->s)) rc = sd_config_fail(cfg, "init.scale", "a₀^D = %g must be below s = %g", c->u0, c->s);
  if (rc != SD_OK) {
    ch_destroy(&c->base);
    return rc;
  }
  c->base.ops = &CH_OPS;
  c->base.dim = (size_t)c->D;
  c->base.param_name = "w";
  c->base.param_ndim = 1;
  c->base.param_shape[0] = (size_t)c->D;
  c->base.n_obs = N_OBS;
  c->base.obs_names = OBS_NAMES;
  c->base.obs_len = OBS_LEN;
  c->base.obs_total = N_OBS;
  *out = &c->base;
  return SD_OK;
}

/* What ch_create allocates, in bytes: the D weights and the problem itself. */
static double ch_memory(const sd_config *cfg, double *dim, const char **keys) {
  double D = (double)sd_config_int(cfg, "problem.depth");
  if (dim) *dim = D;
  *keys = "problem.depth";
  return 8 * D + (double)sizeof(chain);
}

static const sd_param CH_PARAMS[] = {
    {"depth", SD_T_INT, "3", 2, 64, NULL, "D, the number of scalar layers"},
    {"s", SD_T_REAL, "1", 1e-300, 1e300, NULL, "the target s"},
};

static const sd_param CH_INIT[] = {
    {"scale", SD_T_REAL, "0.01", 1e-300, 1e300, NULL, "a₀: every layer starts at w_k = a₀ (balanced)"},
};

static const char *const CH_ARRAYS[] = {"w0", NULL};

static const sd_phase_rule CH_PHASES[] = {
    {"plateau", "u", '>', 0.5, "until u reaches s/2 (with s = 1; set phases: for another s)"},
    {"learned", NULL, 0, 0, "after the jump"},
};

const sd_problem_class sd_problem_chain = {
    .kind = "chain",
    .summary = "deep scalar linear chain ½(s − w_D⋯w_1)², power-law plateaus for D ≥ 3",
    .params = CH_PARAMS,
    .n_params = 2,
    .init_params = CH_INIT,
    .n_init_params = 1,
    .arrays = CH_ARRAYS,
    .phases = CH_PHASES,
    .n_phases = 2,
    .create = ch_create,
    .memory = ch_memory,
};
