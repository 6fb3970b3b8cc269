/* momentum.c: heavy-ball and Nesterov momentum, in PyTorch's convention so trajectories compare one to one:
 *   b ← μb + ∇L(θ);  heavy ball: θ ← θ − ηb;  Nesterov: θ ← θ − η(∇L(θ) + μb).   b₀ = 0, t = η·step. */
#include <cblas.h>
#include <string.h>

#include "saddle/alloc.h"
#include "saddle/dynamics.h"

typedef struct {
  sd_dynamics base;
  double lr, mu;
  int nesterov;
  size_t dim;
  double *grad, *buf; /* dim each */
} momentum;

static size_t mom_state_size(const sd_dynamics *d) { return ((const momentum *)d)->dim; }
static void mom_state_save(const sd_dynamics *d, double *out) {
  const momentum *m = (const momentum *)d;
  memcpy(out, m->buf, m->dim * sizeof(double));
}
static sd_status mom_state_load(sd_dynamics *d, const double *in) {
  momentum *m = (momentum *)d;
  memcpy(m->buf, in, m->dim * sizeof(double));
  return SD_OK;
}

static sd_status mom_step(sd_dynamics *d, sd_problem *p, double *theta, double *loss) {
  momentum *m = (momentum *)d;
  int n = (int)p->dim;
  *loss = p->ops->loss_grad(p, theta, m->grad);
  sd_clip_gradient(m->grad, p->dim, d->clip_norm);
  double lr = m->lr * d->lr_factor;
  cblas_dscal(n, m->mu, m->buf, 1);
  cblas_daxpy(n, 1.0, m->grad, 1, m->buf, 1);
  if (m->nesterov) {
    cblas_daxpy(n, -lr, m->grad, 1, theta, 1);
    cblas_daxpy(n, -lr * m->mu, m->buf, 1, theta, 1);
  } else {
    cblas_daxpy(n, -lr, m->buf, 1, theta, 1);
  }
  return SD_OK;
}

static void mom_destroy(sd_dynamics *d) {
  momentum *m = (momentum *)d;
  sd_free(m->grad);
  sd_free(m->buf);
  sd_free(m);
}

static const sd_dynamics_ops MOM_OPS = {.step = mom_step,
                                        .state_size = mom_state_size,
                                        .state_save = mom_state_save,
                                        .state_load = mom_state_load,
                                        .destroy = mom_destroy};

static sd_status create(const sd_config *cfg, const sd_problem *p, sd_dynamics **out, int nesterov) {
  momentum *m = sd_calloc(1, sizeof *m);
  if (m) {
    m->grad = sd_calloc(p->dim, sizeof(double));
    m->buf = sd_calloc(p->dim, sizeof(double));
  }
  if (!m || !m->grad || !m->buf) {
    if (m) mom_destroy(&m->base);
    return sd_error(SD_ERR_NOMEM, "out of memory for momentum (%zu parameters)", p->dim);
  }
  m->base.ops = &MOM_OPS;
  m->lr = sd_config_real(cfg, "dynamics.lr");
  m->mu = sd_config_real(cfg, "dynamics.momentum");
  m->nesterov = nesterov;
  m->dim = p->dim;
  m->base.dt = m->lr;
  *out = &m->base;
  return SD_OK;
}

static sd_status hb_create(const sd_config *cfg, const sd_problem *p, sd_dynamics **out) { return create(cfg, p, out, 0); }
static sd_status nag_create(const sd_config *cfg, const sd_problem *p, sd_dynamics **out) { return create(cfg, p, out, 1); }

static const sd_param MOM_PARAMS[] = {
    {"lr", SD_T_REAL, "0.01", 1e-300, 1e300, NULL, "learning rate η (t = η·step)"},
    {"momentum", SD_T_REAL, "0.9", 0, 1, NULL, "momentum μ"},
};

const sd_dynamics_class sd_dynamics_momentum = {
    .kind = "momentum",
    .summary = "heavy-ball momentum b ← μb + ∇L, θ ← θ − ηb (PyTorch convention)",
    .params = MOM_PARAMS,
    .n_params = 2,
    .create = hb_create,
};

const sd_dynamics_class sd_dynamics_nesterov = {
    .kind = "nesterov",
    .summary = "Nesterov momentum b ← μb + ∇L, θ ← θ − η(∇L + μb) (PyTorch convention)",
    .params = MOM_PARAMS,
    .n_params = 2,
    .create = nag_create,
};
