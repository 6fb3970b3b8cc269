/* adam.c: Adam and AdamW (Kingma & Ba; Loshchilov & Hutter), in PyTorch's convention:
 *   g = ∇L(θ) (+ λθ for adam's coupled weight decay)
 *   m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,  m̂ = m/(1−β₁ᵏ),  v̂ = v/(1−β₂ᵏ)
 *   adamw first decays θ ← θ(1 − ηλ) (decoupled);  then θ ← θ − η m̂/(√v̂ + ε).   t = η·step. */
#include <math.h>
#include <string.h>

#include "saddle/alloc.h"
#include "saddle/dynamics.h"

typedef struct {
  sd_dynamics base;
  double lr, b1, b2, eps, wd;
  int decoupled;
  long k;              /* steps taken */
  size_t dim;
  double *grad, *m, *v;
} adam;

/* state: m, v, then the step count (exact in a double up to 2^53) */
static size_t adam_state_size(const sd_dynamics *d) { return 2 * ((const adam *)d)->dim + 1; }
static void adam_state_save(const sd_dynamics *d, double *out) {
  const adam *a = (const adam *)d;
  memcpy(out, a->m, a->dim * sizeof(double));
  memcpy(out + a->dim, a->v, a->dim * sizeof(double));
  out[2 * a->dim] = (double)a->k;
}
static sd_status adam_state_load(sd_dynamics *d, const double *in) {
  adam *a = (adam *)d;
  memcpy(a->m, in, a->dim * sizeof(double));
  memcpy(a->v, in + a->dim, a->dim * sizeof(double));
  a->k = (long)in[2 * a->dim];
  return SD_OK;
}

static sd_status adam_step(sd_dynamics *d, sd_problem *p, double *theta, double *loss) {
  adam *a = (adam *)d;
  size_t n = p->dim;
  *loss = p->ops->loss_grad(p, theta, a->grad);
  sd_clip_gradient(a->grad, n, d->clip_norm);
  a->k++;
  double lr = a->lr * d->lr_factor;
  double c1 = 1.0 - pow(a->b1, (double)a->k), c2 = 1.0 - pow(a->b2, (double)a->k);
  double shrink = a->decoupled ? 1.0 - lr * a->wd : 1.0;
  for (size_t i = 0; i < n; i++) {
    double g = a->grad[i] + (a->decoupled ? 0.0 : a->wd * theta[i]);
    a->m[i] = a->b1 * a->m[i] + (1.0 - a->b1) * g;
    a->v[i] = a->b2 * a->v[i] + (1.0 - a->b2) * g * g;
    theta[i] = theta[i] * shrink - lr * (a->m[i] / c1) / (sqrt(a->v[i] / c2) + a->eps);
  }
  return SD_OK;
}

static void adam_destroy(sd_dynamics *d) {
  adam *a = (adam *)d;
  sd_free(a->grad);
  sd_free(a->m);
  sd_free(a->v);
  sd_free(a);
}

static const sd_dynamics_ops ADAM_OPS = {.step = adam_step,
                                         .state_size = adam_state_size,
                                         .state_save = adam_state_save,
                                         .state_load = adam_state_load,
                                         .destroy = adam_destroy};

static sd_status create(const sd_config *cfg, const sd_problem *p, sd_dynamics **out, int decoupled) {
  adam *a = sd_calloc(1, sizeof *a);
  if (a) {
    a->grad = sd_calloc(p->dim, sizeof(double));
    a->m = sd_calloc(p->dim, sizeof(double));
    a->v = sd_calloc(p->dim, sizeof(double));
  }
  if (!a || !a->grad || !a->m || !a->v) {
    if (a) adam_destroy(&a->base);
    return sd_error(SD_ERR_NOMEM, "out of memory for Adam (%zu parameters)", p->dim);
  }
  a->base.ops = &ADAM_OPS;
  a->lr = sd_config_real(cfg, "dynamics.lr");
  a->b1 = sd_config_real(cfg, "dynamics.beta1");
  a->b2 = sd_config_real(cfg, "dynamics.beta2");
  a->eps = sd_config_real(cfg, "dynamics.eps");
  a->wd = sd_config_real(cfg, "dynamics.weight_decay");
  a->decoupled = decoupled;
  a->dim = p->dim;
  a->base.dt = a->lr;
  *out = &a->base;
  return SD_OK;
}

static sd_status adam_create(const sd_config *cfg, const sd_problem *p, sd_dynamics **out) { return create(cfg, p, out, 0); }
static sd_status adamw_create(const sd_config *cfg, const sd_problem *p, sd_dynamics **out) { return create(cfg, p, out, 1); }

static const sd_param ADAM_PARAMS[] = {
    {"lr", SD_T_REAL, "0.001", 1e-300, 1e300, NULL, "learning rate η (t = η·step)"},
    {"beta1", SD_T_REAL, "0.9", 0, 0.999999999, NULL, "first-moment decay β₁"},
    {"beta2", SD_T_REAL, "0.999", 0, 0.999999999, NULL, "second-moment decay β₂"},
    {"eps", SD_T_REAL, "1e-8", 0, 1e300, NULL, "ε added to √v̂"},
    {"weight_decay", SD_T_REAL, "0", 0, 1e300, NULL, "λ: coupled L2 (adam) or decoupled decay (adamw)"},
};

const sd_dynamics_class sd_dynamics_adam = {
    .kind = "adam",
    .summary = "Adam with bias correction; weight_decay adds λθ to the gradient (PyTorch convention)",
    .params = ADAM_PARAMS,
    .n_params = 5,
    .create = adam_create,
};

const sd_dynamics_class sd_dynamics_adamw = {
    .kind = "adamw",
    .summary = "AdamW: Adam with decoupled weight decay θ ← θ(1 − ηλ) (PyTorch convention)",
    .params = ADAM_PARAMS,
    .n_params = 5,
    .create = adamw_create,
};
