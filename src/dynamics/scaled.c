/* scaled.c: preconditioned gradient descent θ ← θ − η·P(θ)∇L(θ) through the problem's precondition hook.
 *
 * damping_rule constant: P = the family's preconditioner with damping λ = dynamics.damping (the low-rank
 *   family: ScaledGD for λ = 0, Tong et al.; ScaledGD(λ), Xu et al.);
 * damping_rule sqrt_loss: λ_k = √L(θ_k) (PrecGD, Zhang, Fattahi, Zhang: damping that tracks the error).
 * alternating: true updates the problem's parameter blocks (views: L then R) one after the other, each with
 *   the gradient and preconditioner at the blocks updated so far (AltScaledGD, Jia et al. 2023; with η = 1
 *   it is alternating least squares).
 * natural_gd: θ ← θ − η(F(θ) + λI)⁻¹∇L(θ) through the problem's Fisher hook (natural gradient).
 * Problems without the hook are rejected with a config error. t = η·step. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "saddle/alloc.h"
#include "saddle/dynamics.h"

typedef struct {
  sd_dynamics base;
  double lr, damping;
  int sqrt_loss;
  int natural;
  int alternating;
  double *grad;
} scaled;

/* The preconditioned gradient at theta into s->grad; returns the loss there. */
static sd_status direction(scaled *s, sd_problem *p, const double *theta, double *loss) {
  *loss = p->ops->loss_grad(p, theta, s->grad);
  double lambda = s->sqrt_loss ? sqrt(fmax(*loss, 0.0)) : s->damping;
  SD_TRY(s->natural ? p->ops->fisher_solve(p, theta, s->grad, lambda) : p->ops->precondition(p, theta, s->grad, lambda));
  sd_clip_gradient(s->grad, p->dim, s->base.clip_norm);
  return SD_OK;
}

static sd_status scaled_step(sd_dynamics *d, sd_problem *p, double *theta, double *loss) {
  scaled *s = (scaled *)d;
  double lr = s->lr * d->lr_factor;
  if (!s->alternating) {
    SD_TRY(direction(s, p, theta, loss));
    cblas_daxpy((int)p->dim, -lr, s->grad, 1, theta, 1);
    return SD_OK;
  }
  /* block by block, with the problem's per-block hooks when it has them (one product and one solve per block) */
  int per_view = !s->natural && p->ops->loss_grad_view && p->ops->precondition_view;
  for (size_t v = 0; v < p->n_views; v++) {
    double l;
    size_t off = p->view_offset[v], len = p->view_shape[v][0] * p->view_shape[v][1];
    if (per_view) {
      l = p->ops->loss_grad_view(p, theta, v, s->grad);
      double lambda = s->sqrt_loss ? sqrt(fmax(l, 0.0)) : s->damping;
      SD_TRY(p->ops->precondition_view(p, theta, v, s->grad, lambda));
      sd_clip_gradient(s->grad + off, len, d->clip_norm);
    } else {
      SD_TRY(direction(s, p, theta, &l));
    }
    if (v == 0) *loss = l;
    cblas_daxpy((int)len, -lr, s->grad + off, 1, theta + off, 1);
  }
  return SD_OK;
}

static void scaled_destroy(sd_dynamics *d) {
  scaled *s = (scaled *)d;
  sd_free(s->grad);
  sd_free(s);
}

static const sd_dynamics_ops SCALED_OPS = {.step = scaled_step, .destroy = scaled_destroy};

static sd_status create(const sd_config *cfg, const sd_problem *p, sd_dynamics **out, int natural) {
  if (!natural && !p->ops->precondition)
    return sd_config_fail(cfg, "dynamics.kind", "scaled_gd needs a problem with a preconditioner hook, and '%s' has none",
                          sd_config_str(cfg, "problem.kind"));
  if (natural && !p->ops->fisher_solve)
    return sd_config_fail(cfg, "dynamics.kind", "natural_gd needs a problem with a Fisher hook, and '%s' has none",
                          sd_config_str(cfg, "problem.kind"));
  scaled *s = sd_calloc(1, sizeof *s);
  if (s) s->grad = sd_malloc(p->dim * sizeof(double));
  if (!s || !s->grad) {
    if (s) sd_free(s);
    return sd_error(SD_ERR_NOMEM, "out of memory");
  }
  s->base.ops = &SCALED_OPS;
  s->lr = sd_config_real(cfg, "dynamics.lr");
  s->damping = sd_config_real(cfg, "dynamics.damping");
  s->sqrt_loss = !strcmp(sd_config_str(cfg, "dynamics.damping_rule"), "sqrt_loss");
  s->natural = natural;
  s->alternating = sd_config_bool(cfg, "dynamics.alternating");
  if (s->alternating && p->n_views < 2) {
    sd_free(s->grad);
    sd_free(s);
    return sd_config_fail(cfg, "dynamics.alternating", "problem '%s' has no parameter blocks to alternate over",
                          sd_config_str(cfg, "problem.kind"));
  }
  s->base.dt = s->lr;
  *out = &s->base;
  return SD_OK;
}

static sd_status scaled_create(const sd_config *cfg, const sd_problem *p, sd_dynamics **out) { return create(cfg, p, out, 0); }
static sd_status natural_create(const sd_config *cfg, const sd_problem *p, sd_dynamics **out) { return create(cfg, p, out, 1); }

static const sd_param SCALED_PARAMS[] = {
    {"lr", SD_T_REAL, "0.5", 1e-300, 1e300, NULL, "learning rate η (t = η·step)"},
    {"damping", SD_T_REAL, "0", 0, 1e300, NULL, "λ of the preconditioner (damping_rule: constant)"},
    {"damping_rule", SD_T_ENUM, "constant", SD_NO_BOUNDS, "constant|sqrt_loss", "constant λ, or λ_k = √L(θ_k) (PrecGD)"},
    {"alternating", SD_T_BOOL, "false", SD_NO_BOUNDS, NULL, "update the parameter blocks one after the other (AltScaledGD)"},
};

const sd_dynamics_class sd_dynamics_scaled = {
    .kind = "scaled_gd",
    .summary = "preconditioned GD θ ← θ − η·P(θ)∇L (ScaledGD, ScaledGD(λ), PrecGD via the problem's hook)",
    .params = SCALED_PARAMS,
    .n_params = sizeof SCALED_PARAMS / sizeof SCALED_PARAMS[0],
    .create = scaled_create,
};

const sd_dynamics_class sd_dynamics_natural = {
    .kind = "natural_gd",
    .summary = "natural gradient θ ← θ − η(F(θ) + λI)⁻¹∇L through the problem's Fisher hook",
    .params = SCALED_PARAMS,
    .n_params = sizeof SCALED_PARAMS / sizeof SCALED_PARAMS[0],
    .create = natural_create,
};
