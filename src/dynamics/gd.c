/* gd.c: plain gradient descent, θ ← θ − η∇L(θ), with t = η·step. */
#include <cblas.h>

#include "saddle/alloc.h"
#include "saddle/dynamics.h"

typedef struct {
  sd_dynamics base;
  double lr;
  double *grad; /* dim */
} gd;

static sd_status gd_step(sd_dynamics *d, sd_problem *p, double *theta, double *loss) {
  gd *g = (gd *)d;
  *loss = p->ops->loss_grad(p, theta, g->grad);
  sd_clip_gradient(g->grad, p->dim, d->clip_norm);
  cblas_daxpy((int)p->dim, -g->lr * d->lr_factor, g->grad, 1, theta, 1);
  return SD_OK;
}

static void gd_destroy(sd_dynamics *d) {
  gd *g = (gd *)d;
  sd_free(g->grad);
  sd_free(g);
}

static const sd_dynamics_ops GD_OPS = {.step = gd_step, .destroy = gd_destroy};

static sd_status gd_create(const sd_config *cfg, const sd_problem *p, sd_dynamics **out) {
  gd *g = sd_calloc(1, sizeof *g);
  if (g) g->grad = sd_malloc(p->dim * sizeof(double));
  if (!g || !g->grad) {
    if (g) sd_free(g);
    return sd_error(SD_ERR_NOMEM, "out of memory for gradient descent (%zu parameters)", p->dim);
  }
  g->base.ops = &GD_OPS;
  g->lr = sd_config_real(cfg, "dynamics.lr");
  g->base.dt = g->lr;
  *out = &g->base;
  return SD_OK;
}

static const sd_param GD_PARAMS[] = {
    {"lr", SD_T_REAL, "0.01", 1e-300, 1e300, NULL, "learning rate η (also the time per step: t = η·step)"},
};

const sd_dynamics_class sd_dynamics_gd = {
    .kind = "gd",
    .summary = "gradient descent θ ← θ − η∇L(θ)",
    .params = GD_PARAMS,
    .n_params = sizeof GD_PARAMS / sizeof GD_PARAMS[0],
    .create = gd_create,
};
