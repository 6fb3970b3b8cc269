/* problem.h: the vtable every model family implements, and the array registry it draws through.
 *
 * A problem owns its data (ground truth, operator, targets), its initial parameters and the workspaces
 * its loss and gradient need, all allocated in create(), never in loss_grad(). Parameters are one
 * contiguous block of `dim` doubles (row-major tensors, shapes in param_shape): the same block the
 * dynamics update and the flows integrate. */
#ifndef SADDLE_PROBLEM_H
#define SADDLE_PROBLEM_H

#include <stddef.h>
#include <stdint.h>

#include "saddle/config.h"
#include "saddle/error.h"
#include "saddle/phases.h"
#include "saddle/rng.h"

typedef struct sd_arrays sd_arrays;
typedef struct sd_problem sd_problem;

typedef struct {
  /* Loss at theta; if grad is not NULL, also its exact gradient (dim doubles). No allocation. */
  double (*loss_grad)(sd_problem *p, const double *theta, double *grad);
  /* Writes every observable at theta, reached at time t, into out (obs_total doubles, in the order of
   * obs_names). t lets observables compare with closed-form trajectories. */
  void (*observe)(sd_problem *p, const double *theta, double t, double *out);
  void (*destroy)(sd_problem *p);
  /* Optional (NULL if the family has none): g ← P(theta)·g, the family's preconditioner with damping
   * lambda ≥ 0 (the low-rank family: g(UᵀU + λI)⁻¹, ScaledGD(λ)). In place, no allocation.
   * Preconditioned dynamics reject problems without it. */
  sd_status (*precondition)(sd_problem *p, const double *theta, double *g, double lambda);
  /* Optional, for alternating dynamics (block updates over the views): the loss and only view v's part of the
   * gradient (the rest of grad untouched), and the preconditioner of that part only. Without them, an
   * alternating step computes the whole gradient and preconditioner for each block. */
  double (*loss_grad_view)(sd_problem *p, const double *theta, size_t v, double *grad);
  sd_status (*precondition_view)(sd_problem *p, const double *theta, size_t v, double *g, double lambda);
  /* Optional, for stochastic dynamics (NULL: the family has no samples). The training set has n_samples
   * samples (sd_problem field). batch_reserve(p, b) allocates what batches of b need (called once, before the
   * loop). loss_grad_batch: the unbiased estimate of loss_grad from the samples idx[0..b) (the loss scaled
   * by n_samples/b). loss_grad_fresh: the same on b fresh samples drawn from the data distribution with rng
   * (online learning; NULL if the family cannot draw new samples). */
  /* Optional: g ← (F(theta) + λI)⁻¹·g with F the Fisher information of the family's statistical model
   * (natural gradient). In place, no allocation. */
  sd_status (*fisher_solve)(sd_problem *p, const double *theta, double *g, double lambda);
  sd_status (*batch_reserve)(sd_problem *p, size_t b);
  double (*loss_grad_batch)(sd_problem *p, const double *theta, const size_t *idx, size_t b, double *grad);
  double (*loss_grad_fresh)(sd_problem *p, const double *theta, sd_rng *rng, size_t b, double *grad);
} sd_problem_ops;

struct sd_problem {
  const sd_problem_ops *ops;
  size_t dim;                 /* number of parameters */
  const char *param_name;     /* e.g. "U": the final parameters are saved as arrays/<param_name>_final.npy */
  int param_ndim;
  size_t param_shape[4];
  double *theta0;             /* initial parameters (dim), owned by the problem */
  /* Optional named tensors carved out of the block (e.g. W1 and W2 of a network): when n_views > 0 the final
   * parameters are saved as arrays/<view>_final.npy each, instead of one <param_name>_final.npy. */
  size_t n_views;
  const char *const *view_name;
  const size_t *view_offset;     /* in doubles from the start of the block */
  const size_t (*view_shape)[2]; /* each a matrix */
  size_t n_obs;               /* observables besides the loss */
  const char *const *obs_names; /* n_obs names; owned by the problem */
  const size_t *obs_len;        /* n_obs lengths: 1 for a scalar, k for a vector written name[0..k) */
  size_t obs_total;             /* sum of obs_len */
  size_t n_samples;             /* training-set size for stochastic dynamics (0: none) */
};

typedef struct {
  const char *kind;              /* value of problem.kind */
  const char *summary;           /* one line */
  const sd_param *params;        /* keys under "problem." */
  size_t n_params;
  const sd_param *init_params;   /* keys under "init." */
  size_t n_init_params;
  const char *const *arrays;     /* names of the arrays it draws, each loadable from "arrays.<name>"; NULL-terminated */
  const sd_phase_rule *phases;   /* default phase rules (overridable by `phases:` in the config) */
  size_t n_phases;
  /* Reads its keys from the resolved cfg, draws or loads its arrays through `arrays`, allocates its
   * workspaces. Bad combinations of keys give SD_ERR_CONFIG naming the key. */
  sd_status (*create)(const sd_config *cfg, uint64_t seed, sd_arrays *arrays, sd_problem **out);
  /* Optional: the bytes create() would allocate from the resolved cfg (operator, data, parameters, workspaces,
   * its largest temporaries), without allocating; a double since n²m overflows size_t. Sets *keys to the keys
   * that drive it, most important first ("problem.n, problem.measurements"), and *dim (if not NULL) to the
   * number of parameters. sd_experiment_prepare refuses a config whose estimate exceeds run.max_memory. */
  double (*memory)(const sd_config *cfg, double *dim, const char **keys);
} sd_problem_class;

/* Bytes of an sd_svd_create(m, n, want_u, want_vt) workspace, roughly (dgesvd's work array included). */
static inline double sd_svd_memory(double m, double n, int want_u, int want_vt) {
  double k = m < n ? m : n, mx = m > n ? m : n;
  double work = 3 * k + 64 * (m + n) + (want_u || want_vt ? k * k + 2 * mx : 0) + 5 * k;
  return 8 * (m * n + k + (want_u ? m * k : 0) + (want_vt ? k * n : 0) + work);
}

static inline void sd_problem_free(sd_problem **p) {
  if (*p) (*p)->ops->destroy(*p);
  *p = NULL;
}

/* ---- array registry: every array a run draws is saved to arrays/, and may instead come from a file. */

sd_status sd_arrays_create(const sd_config *cfg, sd_arrays **out);
void sd_arrays_free(sd_arrays **a);
/* If the config names a file for `name` (arrays.<name>), reads it into dst (shape must match exactly:
 * SD_ERR_CONFIG otherwise) and sets *loaded = 1; else sets *loaded = 0 and the caller draws into dst. In both
 * cases dst (borrowed, must outlive the registry's use) is registered to be saved as arrays/<name>.npy. */
sd_status sd_arrays_load_or_draw(sd_arrays *a, const char *name, int ndim, const size_t *shape, double *dst,
                                 int *loaded);
/* Like sd_arrays_load_or_draw without registering dst (the caller registers what it keeps). */
sd_status sd_arrays_try_load(sd_arrays *a, const char *name, int ndim, const size_t *shape, double *dst, int *loaded);
/* Registers an array that is produced only when saved: fill(ctx, out) writes its product-of-shape doubles
 * (for data kept in another layout, e.g. a packed operator). */
typedef void (*sd_array_fill_fn)(const void *ctx, double *out);
sd_status sd_arrays_register_fn(sd_arrays *a, const char *name, int ndim, const size_t *shape, sd_array_fill_fn fill,
                                const void *ctx, int loaded);
/* Registers a derived array (not loadable) to be saved too. */
sd_status sd_arrays_register(sd_arrays *a, const char *name, int ndim, const size_t *shape, const double *data);
/* Writes every registered array below max_bytes into dir; names the skipped ones in *skipped (a
 * comma-separated list the caller frees, or NULL). */
sd_status sd_arrays_save(const sd_arrays *a, const char *dir, size_t max_bytes, char **skipped);
/* Names of arrays loaded from files (comma-separated, caller frees; NULL if none). */
char *sd_arrays_loaded_names(const sd_arrays *a);

#endif
