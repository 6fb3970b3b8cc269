/* sgd.c: stochastic gradient descent with minibatches, optionally with heavy-ball momentum (PyTorch style).
 *
 * sampling without_replacement: epochs over a fixed training set, reshuffled each epoch (Fisher–Yates);
 *          with_replacement:    each batch drawn independently and uniformly from the training set;
 *          fresh:               each batch is b new samples from the data distribution (online learning).
 * Every random choice comes from the Philox stream (seed, SD_STREAM_MINIBATCH, 0), whose counter is part of
 * the checkpointed state, so resumed runs draw the same batches. t = η·step. */
#include <cblas.h>
#include <string.h>

#include "saddle/alloc.h"
#include "saddle/dynamics.h"

enum { WITHOUT, WITH, FRESH };

typedef struct {
  sd_dynamics base;
  double lr, mu;
  size_t b, n_samples, dim, pos;
  int sampling;
  sd_rng rng;
  size_t *perm;  /* n_samples: the current epoch's order (without replacement) */
  size_t *idx;   /* b */
  double *grad, *buf;
} sgd;

/* uniform integer in [0, n) without modulo bias */
static size_t below(sd_rng *rng, size_t n) {
  uint64_t lim = UINT64_MAX - UINT64_MAX % n, x;
  do x = sd_rng_u64(rng);
  while (x >= lim);
  return (size_t)(x % n);
}

static void shuffle(sgd *s) {
  for (size_t i = 0; i < s->n_samples; i++) s->perm[i] = i;
  for (size_t i = s->n_samples; i > 1; i--) {
    size_t j = below(&s->rng, i), t = s->perm[i - 1];
    s->perm[i - 1] = s->perm[j];
    s->perm[j] = t;
  }
  s->pos = 0;
}

static sd_status sgd_step(sd_dynamics *d, sd_problem *p, double *theta, double *loss) {
  sgd *s = (sgd *)d;
  if (s->sampling == FRESH) {
    *loss = p->ops->loss_grad_fresh(p, theta, &s->rng, s->b, s->grad);
  } else {
    for (size_t k = 0; k < s->b; k++) {
      if (s->sampling == WITH) {
        s->idx[k] = below(&s->rng, s->n_samples);
      } else {
        if (s->pos == s->n_samples) shuffle(s);
        s->idx[k] = s->perm[s->pos++];
      }
    }
    *loss = p->ops->loss_grad_batch(p, theta, s->idx, s->b, s->grad);
  }
  sd_clip_gradient(s->grad, s->dim, d->clip_norm);
  double lr = s->lr * d->lr_factor;
  if (s->mu > 0) {
    cblas_dscal((int)s->dim, s->mu, s->buf, 1);
    cblas_daxpy((int)s->dim, 1.0, s->grad, 1, s->buf, 1);
    cblas_daxpy((int)s->dim, -lr, s->buf, 1, theta, 1);
  } else {
    cblas_daxpy((int)s->dim, -lr, s->grad, 1, theta, 1);
  }
  return SD_OK;
}

/* state: the RNG (4 counter words, 4 buffered words, position, spare flag, spare), the epoch position and
 * order, and the momentum buffer; every number exact in a double */
enum { RNG_WORDS = 11 };

static size_t sgd_state_size(const sd_dynamics *d) {
  const sgd *s = (const sgd *)d;
  return RNG_WORDS + 1 + s->n_samples + s->dim;
}

static void sgd_state_save(const sd_dynamics *d, double *out) {
  const sgd *s = (const sgd *)d;
  for (int i = 0; i < 4; i++) out[i] = s->rng.ctr[i], out[4 + i] = s->rng.buf[i];
  out[8] = s->rng.pos;
  out[9] = s->rng.has_spare;
  out[10] = s->rng.spare;
  out[11] = (double)s->pos;
  for (size_t i = 0; i < s->n_samples; i++) out[12 + i] = (double)s->perm[i];
  memcpy(out + 12 + s->n_samples, s->buf, s->dim * sizeof(double));
}

static sd_status sgd_state_load(sd_dynamics *d, const double *in) {
  sgd *s = (sgd *)d;
  for (int i = 0; i < 4; i++) s->rng.ctr[i] = (uint32_t)in[i], s->rng.buf[i] = (uint32_t)in[4 + i];
  s->rng.pos = (int)in[8];
  s->rng.has_spare = (int)in[9];
  s->rng.spare = in[10];
  s->pos = (size_t)in[11];
  for (size_t i = 0; i < s->n_samples; i++) s->perm[i] = (size_t)in[12 + i];
  memcpy(s->buf, in + 12 + s->n_samples, s->dim * sizeof(double));
  return SD_OK;
}

static void sgd_destroy(sd_dynamics *d) {
  sgd *s = (sgd *)d;
  sd_free(s->perm);
  sd_free(s->idx);
  sd_free(s->grad);
  sd_free(s->buf);
  sd_free(s);
}

static const sd_dynamics_ops SGD_OPS = {.step = sgd_step,
                                        .state_size = sgd_state_size,
                                        .state_save = sgd_state_save,
                                        .state_load = sgd_state_load,
                                        .destroy = sgd_destroy};

static sd_status sgd_create(const sd_config *cfg, const sd_problem *p, sd_dynamics **out) {
  const char *mode = sd_config_str(cfg, "dynamics.sampling");
  int sampling = !strcmp(mode, "fresh") ? FRESH : !strcmp(mode, "with_replacement") ? WITH : WITHOUT;
  size_t b = (size_t)sd_config_int(cfg, "dynamics.batch_size");
  const char *kind = sd_config_str(cfg, "problem.kind");
  if (!p->n_samples || !p->ops->loss_grad_batch || !p->ops->batch_reserve)
    return sd_config_fail(cfg, "dynamics.kind", "sgd needs a problem with samples, and '%s' has none", kind);
  if (sampling == FRESH && !p->ops->loss_grad_fresh)
    return sd_config_fail(cfg, "dynamics.sampling", "'%s' cannot draw fresh samples", kind);
  if (sampling != FRESH && b > p->n_samples)
    return sd_config_fail(cfg, "dynamics.batch_size", "%zu exceeds the %zu samples of the training set", b, p->n_samples);
  sgd *s = sd_calloc(1, sizeof *s);
  if (!s) return sd_error(SD_ERR_NOMEM, "out of memory");
  s->base.ops = &SGD_OPS;
  s->lr = sd_config_real(cfg, "dynamics.lr");
  s->mu = sd_config_real(cfg, "dynamics.momentum");
  s->b = b;
  s->sampling = sampling;
  s->n_samples = p->n_samples;
  s->dim = p->dim;
  s->pos = s->n_samples; /* the first step shuffles */
  s->base.dt = s->lr;
  sd_rng_init(&s->rng, (uint64_t)sd_config_int(cfg, "seed"), SD_STREAM_MINIBATCH, 0);
  s->perm = sd_malloc(s->n_samples * sizeof *s->perm);
  s->idx = sd_malloc(b * sizeof *s->idx);
  s->grad = sd_malloc(p->dim * sizeof(double));
  s->buf = sd_calloc(p->dim, sizeof(double));
  sd_status rc = (s->perm && s->idx && s->grad && s->buf) ? SD_OK : sd_error(SD_ERR_NOMEM, "out of memory");
  if (rc == SD_OK) {
    for (size_t i = 0; i < s->n_samples; i++) s->perm[i] = i;
    rc = p->ops->batch_reserve((sd_problem *)p, b);
  }
  if (rc != SD_OK) {
    sgd_destroy(&s->base);
    return rc;
  }
  *out = &s->base;
  return SD_OK;
}

static const sd_param SGD_PARAMS[] = {
    {"lr", SD_T_REAL, "0.01", 1e-300, 1e300, NULL, "learning rate η (t = η·step)"},
    {"batch_size", SD_T_INT, "32", 1, 1e12, NULL, "samples per step"},
    {"sampling", SD_T_ENUM, "without_replacement", SD_NO_BOUNDS, "without_replacement|with_replacement|fresh",
     "epochs over the training set, independent draws from it, or new samples each step (online)"},
    {"momentum", SD_T_REAL, "0", 0, 1, NULL, "heavy-ball momentum μ (0: plain SGD)"},
};

const sd_dynamics_class sd_dynamics_sgd = {
    .kind = "sgd",
    .summary = "minibatch SGD (epochs, with replacement, or fresh samples), optional momentum",
    .params = SGD_PARAMS,
    .n_params = sizeof SGD_PARAMS / sizeof SGD_PARAMS[0],
    .create = sgd_create,
};
