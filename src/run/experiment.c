/* experiment.c: config → problem + dynamics → step loop with observations → run directory. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "saddle/alloc.h"
#include "saddle/atomicfile.h"
#include "saddle/checkpoint.h"
#include "saddle/curvature.h"
#include "saddle/linalg.h"
#include "saddle/npy.h"
#include "saddle/outdir.h"
#include "saddle/plot.h"
#include "saddle/run.h"

#ifndef SADDLE_VERSION
#define SADDLE_VERSION "unknown"
#endif

static volatile sig_atomic_t stop_requested = 0;
void sd_request_stop(void) { stop_requested = 1; }
int sd_stop_requested(void) { return stop_requested != 0; }

/* ---------------------------------------------------------------- base schema */

static char problem_choices[256], dynamics_choices[256];

static sd_param BASE[] = {
    {"experiment", SD_T_STRING, "experiment", SD_NO_BOUNDS, NULL, "name of the experiment (names the run directory)"},
    {"description", SD_T_STRING, "", SD_NO_BOUNDS, NULL, "one line shown by `saddle list`"},
    {"paper", SD_T_STRING, "", SD_NO_BOUNDS, NULL, "the paper this experiment reproduces"},
    {"seed", SD_T_INT, "0", 0, 4294967295.0, NULL, "seed of every random stream (truth, data, init, minibatch)"},
    {"problem.kind", SD_T_ENUM, NULL, SD_NO_BOUNDS, problem_choices, "the model family"},
    {"dynamics.kind", SD_T_ENUM, "gd", SD_NO_BOUNDS, dynamics_choices, "the optimizer or flow"},
    {"run.max_steps", SD_T_INT, "1000", 0, 1e15, NULL, "number of steps (t_max = lr · max_steps)"},
    {"run.checkpoint_every", SD_T_INT, "0", 0, 1e15, NULL, "write DIR/checkpoint.bin every N steps (a flow: every N observations); 0: only when interrupted"},
    {"run.max_memory", SD_T_REAL, "0", 0, 1e300, NULL,
     "bytes a run may take (problem, dynamics state, metrics table), estimated before allocating; larger configs are refused (0: physical memory)"},
    {"run.simulate_crash_after_checkpoints", SD_T_INT, "0", 0, 1e15, NULL, "testing aid: stop dead (like a kill) right after the N-th checkpoint; 0: never"},
    {"stop.loss_below", SD_T_REAL, "0", 0, 1e300, NULL, "stop with status converged once the loss is at or below this (0: never)"},
    {"stop.grad_norm_below", SD_T_REAL, "0", 0, 1e300, NULL, "flow: stop with status converged once ‖∇L‖ is at or below this (0: never)"},
    {"lr_schedule.kind", SD_T_ENUM, "constant", SD_NO_BOUNDS, "constant|step|cosine", "discrete dynamics: learning-rate schedule η_k = η·f(k)"},
    {"lr_schedule.warmup_steps", SD_T_INT, "0", 0, 1e15, NULL, "linear warm-up f(k) = (k+1)/W over the first W steps"},
    {"lr_schedule.step_every", SD_T_INT, "1000", 1, 1e15, NULL, "step: multiply by step_factor every this many steps"},
    {"lr_schedule.step_factor", SD_T_REAL, "0.1", 0, 1e300, NULL, "step: the factor"},
    {"lr_schedule.min_factor", SD_T_REAL, "0", 0, 1, NULL, "cosine: f decays from 1 to this over the steps after warm-up"},
    {"clip.grad_norm", SD_T_REAL, "0", 0, 1e300, NULL, "discrete dynamics: clip the gradient to this global norm (0: off)"},
    {"observe.schedule", SD_T_ENUM, "log", SD_NO_BOUNDS, "log|every", "observation steps: log-spaced, or every k steps"},
    {"observe.per_decade", SD_T_INT, "20", 1, 10000, NULL, "log schedule: observations per decade of steps"},
    {"observe.every", SD_T_INT, "1", 1, 1e15, NULL, "every schedule: observe each k-th step"},
    {"observe.hessian", SD_T_ENUM, "off", SD_NO_BOUNDS, "off|lanczos|full", "extreme Hessian eigenvalues as columns hess_min, hess_max: by Lanczos, or the full spectrum (small problems)"},
    {"observe.hessian_every", SD_T_INT, "10", 1, 1e15, NULL, "compute them at every N-th observation, and at the first and the last"},
    {"observe.hessian_iters", SD_T_INT, "40", 2, 100000, NULL, "Lanczos steps (Hessian-vector products, two gradients each)"},
    {"observe.rate_of", SD_T_STRING, "none", SD_NO_BOUNDS, NULL,
     "a column M: adds local_rate = (M_k/M_j)^(1/(k − j)) between consecutive observations j < k (per step; per unit time for a flow)"},
    {"observe.t_first", SD_T_REAL, "0.01", 1e-300, 1e300, NULL, "flow: first positive observation time (then per_decade per decade up to t_max)"},
    {"output.max_array_mb", SD_T_REAL, "512", 0, 1e300, NULL, "arrays larger than this are not saved (they are reproducible from the seed)"},
    {"plateaus.metric", SD_T_STRING, "loss", SD_NO_BOUNDS, NULL, "the metrics.csv column whose plateaus are detected"},
    {"plateaus.max_slope", SD_T_REAL, "0.1", 1e-300, 1e300, NULL, "flat where |Δln y/Δln t| is below this"},
    {"plateaus.min_span", SD_T_REAL, "1.3", 1, 1e300, NULL, "a plateau lasts at least this factor in time (t_end/t_start)"},
    {"phases", SD_T_LIST, NULL, SD_NO_BOUNDS, NULL, "phase rules: list of {name, until: 'metric < x'} (default: the problem's)"},
    {"claims", SD_T_LIST, NULL, SD_NO_BOUNDS, NULL, "the paper's claims, checked by `saddle reproduce`"},
    {"sweep", SD_T_LIST, NULL, SD_NO_BOUNDS, NULL, "run every combination of these axes: list of {key, values: [...]} (docs/sweeps.md)"},
    {"sweep_claims", SD_T_LIST, NULL, SD_NO_BOUNDS, NULL, "claims across the runs of a sweep (docs/sweeps.md)"},
    {"figures", SD_T_LIST, NULL, SD_NO_BOUNDS, NULL, "the paper's figure: panels drawn by `saddle reproduce` and `saddle plot` (docs/plot.md)"},
};

size_t sd_base_params(const sd_param **out) {
  if (!problem_choices[0]) {
    const sd_problem_class *const *pc;
    const sd_dynamics_class *const *dc;
    size_t np = sd_problem_classes(&pc), nd = sd_dynamics_classes(&dc);
    for (size_t i = 0; i < np; i++)
      snprintf(problem_choices + strlen(problem_choices), sizeof problem_choices - strlen(problem_choices), "%s%s",
               i ? "|" : "", pc[i]->kind);
    for (size_t i = 0; i < nd; i++)
      snprintf(dynamics_choices + strlen(dynamics_choices), sizeof dynamics_choices - strlen(dynamics_choices), "%s%s",
               i ? "|" : "", dc[i]->kind);
  }
  *out = BASE;
  return sizeof BASE / sizeof BASE[0];
}

/* ---------------------------------------------------------------- experiment */

#define SD_TRACK_MAX 32 /* thresholds tracked per run (sd_experiment_track) */

struct sd_experiment {
  sd_config *cfg;
  const sd_problem_class *pcls;
  const sd_dynamics_class *dcls;
  sd_arrays *arrays;
  sd_problem *prob;
  sd_dynamics *dyn;
  sd_metrics *metrics;
  sd_schedule sched;
  sd_phase_rule *rules;
  size_t n_rules;
  sd_param *array_params; /* arrays.<name> keys of this problem */
  char **array_keys;
  size_t n_arrays;
  uint64_t seed;
  long max_steps;
  sd_lr_schedule lr;
  /* results */
  char *dir;
  int lock_fd; /* the claim on dir (outdir.h), held from creation until free */
  const char *status;
  long steps;
  double t_end;
  double *times; /* continuous dynamics: observation times (n_times), 0 first, t_max last */
  size_t n_times;
  long diverged_at;
  double wall;
  sd_phase *phases;
  sd_plateau *plateaus;
  size_t n_plateaus;
  sd_claim_result *claims;
  size_t n_claims;
  double *theta;
  double *theta_prev; /* θ before the current step: a step whose loss is not finite leaves θ_k as the final state */
  double *obs;
  /* checkpoints */
  long ckpt_every, crash_after;
  int resuming;
  int wrote;          /* something was written into dir */
  int crashed;        /* run.simulate_crash_after_checkpoints fired: leave the files as a kill would */
  const char *error;  /* while recording a failure: its message, for summary.json */
  uint64_t config_hash; /* of DIR/config.resolved.yaml as written: a checkpoint belongs to exactly that config */
  double *ck[5];      /* a checkpoint read for resuming: meta, theta, dynamics state, metrics rows, crossings */
  size_t ck_len[5];
  /* threshold crossings found at the exact step (sd_experiment_track): (column, '<' or '>', threshold) */
  struct {
    size_t col;
    char op;
    double thr;
    int found;
  } track[SD_TRACK_MAX];
  size_t n_track;
  double *probe; /* the observables of θ_k while a crossing is looked for between observations */
  double *snap_theta, *snap_state, *cur_theta, *cur_state; /* θ and state at the last observation; at step k */
  long snap_k;
  double snap_t;
  double *state;      /* dynamics state buffer */
  size_t state_n;
  /* the local-rate column (observe.rate_of): its place in obs, and the column it follows (-1: off) */
  size_t rate_pos;
  long rate_src;
  /* curvature columns */
  sd_curvature *curv;
  int hess_full;
  long hess_every;
  int hess_iters;
  double *eigs;
  const char **obs_names; /* the problem's observables, then hess_min, hess_max */
  size_t *obs_lens;
  size_t n_obs;
};

enum { CK_META, CK_THETA, CK_STATE, CK_ROWS, CK_TRACK, CK_N };
/* META_THREADS: the OpenBLAS thread count the run used (results depend on it) */
enum { META_VERSION, META_STEP, META_T, META_OUTPUT, META_ROWS, META_COLS, META_THREADS, META_N };
#define CK_VERSION 3

const char *sd_experiment_name(const sd_experiment *e) { return sd_config_str(e->cfg, "experiment"); }
const sd_metrics *sd_experiment_metrics(const sd_experiment *e) { return e->metrics; }
long sd_experiment_steps(const sd_experiment *e) { return e->steps; }
double sd_experiment_t(const sd_experiment *e) { return e->t_end; }
const char *sd_experiment_dir(const sd_experiment *e) { return e->dir; }
const char *sd_experiment_status(const sd_experiment *e) { return e->status; }
void sd_experiment_parts(sd_experiment *e, sd_problem **problem, sd_dynamics **dynamics) {
  *problem = e->prob;
  *dynamics = e->dyn;
}

int sd_experiment_is_flow(const sd_experiment *e) { return e->times != NULL; }

const sd_phase *sd_experiment_phases(const sd_experiment *e, size_t *n) {
  *n = e->n_rules;
  return e->phases;
}

const sd_phase_rule *sd_experiment_phase_rules(const sd_experiment *e, size_t *n) {
  *n = e->n_rules;
  return e->rules;
}

const sd_claim_result *sd_experiment_claims(const sd_experiment *e, size_t *n) {
  *n = e->n_claims;
  return e->claims;
}

void sd_experiment_free(sd_experiment **pe) {
  sd_experiment *e = *pe;
  if (!e) return;
  sd_dynamics_free(&e->dyn);
  sd_problem_free(&e->prob);
  sd_arrays_free(&e->arrays);
  sd_metrics_free(&e->metrics);
  sd_schedule_free(&e->sched);
  sd_free(e->rules);
  for (size_t i = 0; e->array_keys && i < e->n_arrays; i++) sd_free(e->array_keys[i]);
  sd_free(e->array_keys);
  sd_free(e->array_params);
  sd_outdir_release(&e->lock_fd);
  sd_free(e->dir);
  sd_free(e->phases);
  sd_free(e->plateaus);
  sd_free(e->claims);
  sd_free(e->theta);
  sd_free(e->theta_prev);
  sd_free(e->obs);
  sd_free(e->times);
  sd_free(e->state);
  for (int i = 0; i < CK_N; i++) sd_free(e->ck[i]);
  sd_free(e->probe);
  sd_free(e->snap_theta);
  sd_free(e->snap_state);
  sd_free(e->cur_theta);
  sd_free(e->cur_state);
  sd_curvature_free(&e->curv);
  sd_free(e->eigs);
  sd_free(e->obs_names);
  sd_free(e->obs_lens);
  sd_config_free(&e->cfg);
  sd_free(e);
  *pe = NULL;
}

/* Finds the class named by `key` first, since its schema decides which other keys are valid. */
static sd_status pick_kind(sd_config *cfg, const char *key, const char *def, const char *choices, const void **found,
                           int is_problem) {
  const char *kind = sd_config_peek(cfg, key);
  if (!kind) kind = def;
  if (!kind) return sd_config_fail(cfg, key, "required key is missing (one of %s)", choices);
  *found = is_problem ? (const void *)sd_problem_class_find(kind) : (const void *)sd_dynamics_class_find(kind);
  if (*found) return SD_OK;
  return sd_config_fail(cfg, key, "'%s' is not one of %s", kind, choices);
}

/* The metric columns: the problem's observables, then hess_min and hess_max when observe.hessian is on. */
/* The columns after the problem's observables: hess_min, hess_max (observe.hessian), local_rate (observe.rate_of). */
static sd_status setup_curvature(sd_experiment *e) {
  const sd_problem *p = e->prob;
  const char *mode = sd_config_str(e->cfg, "observe.hessian");
  int on = strcmp(mode, "off") != 0, rate = strcmp(sd_config_str(e->cfg, "observe.rate_of"), "none") != 0;
  e->n_obs = p->n_obs + (on ? 2 : 0) + (size_t)rate;
  e->obs_names = sd_calloc(e->n_obs + 1, sizeof *e->obs_names);
  e->obs_lens = sd_calloc(e->n_obs + 1, sizeof *e->obs_lens);
  if (!e->obs_names || !e->obs_lens) return sd_error(SD_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < p->n_obs; i++) e->obs_names[i] = p->obs_names[i], e->obs_lens[i] = p->obs_len[i];
  e->rate_src = -1;
  e->rate_pos = p->obs_total + (on ? 2 : 0);
  if (rate) e->obs_names[e->n_obs - 1] = "local_rate", e->obs_lens[e->n_obs - 1] = 1;
  if (!on) return SD_OK;
  e->obs_names[p->n_obs] = "hess_min";
  e->obs_names[p->n_obs + 1] = "hess_max";
  e->obs_lens[p->n_obs] = e->obs_lens[p->n_obs + 1] = 1;
  e->hess_full = !strcmp(mode, "full");
  e->hess_every = (long)sd_config_int(e->cfg, "observe.hessian_every");
  e->hess_iters = (int)sd_config_int(e->cfg, "observe.hessian_iters");
  SD_TRY(sd_curvature_create(p->dim, e->hess_iters, &e->curv));
  if (e->hess_full) {
    sd_status rc = sd_curvature_reserve_spectrum(e->curv);
    if (rc == SD_ERR_CONFIG) return sd_config_fail(e->cfg, "observe.hessian", "%s; use lanczos", sd_error_message());
    SD_TRY(rc);
    e->eigs = sd_malloc(p->dim * sizeof(double));
    if (!e->eigs) return sd_error(SD_ERR_NOMEM, "out of memory");
  }
  return SD_OK;
}

/* Observation times of a flow: 0, then t_first·10^(j/per_decade) below t_max, then t_max. */
static sd_status make_times(sd_experiment *e, double t_first, double t_max, int per_decade) {
  size_t cap = 3 + (t_max > t_first ? (size_t)(log10(t_max / t_first) * per_decade) + 1 : 0);
  e->times = sd_malloc(cap * sizeof *e->times);
  if (!e->times) return sd_error(SD_ERR_NOMEM, "out of memory");
  e->n_times = 0;
  e->times[e->n_times++] = 0.0;
  for (size_t j = 0; e->n_times < cap - 1; j++) {
    double t = t_first * pow(10.0, (double)j / per_decade);
    if (t >= t_max * (1 - 1e-12)) break;
    e->times[e->n_times++] = t;
  }
  e->times[e->n_times++] = t_max;
  return SD_OK;
}

static void fmt_bytes(char *buf, size_t len, double b) {
  if (b >= 1e9) snprintf(buf, len, "%.1f GB", b / 1e9);
  else if (b >= 1e6) snprintf(buf, len, "%.1f MB", b / 1e6);
  else if (b >= 1e4) snprintf(buf, len, "%.1f kB", b / 1e3);
  else snprintf(buf, len, "%.0f B", b);
}

/* Refuses, before anything large is allocated, a config whose estimated memory (the problem's estimate, a few
 * parameter vectors of dynamics state, the Hessian workspace, the metrics table) exceeds run.max_memory,
 * naming the keys that drive it. */
static sd_status check_memory(const sd_experiment *e) {
  if (!e->pcls->memory) return SD_OK;
  const sd_config *cfg = e->cfg;
  const char *keys = NULL;
  double dim = 0, need = e->pcls->memory(cfg, &dim, &keys);
  need += 8 * 8 * dim; /* θ, θ_prev, gradients, dynamics state */
  const char *hess = sd_config_str(cfg, "observe.hessian");
  if (!strcmp(hess, "full")) need += 8 * 2 * dim * dim;
  else if (strcmp(hess, "off")) need += 8 * (double)(sd_config_int(cfg, "observe.hessian_iters") + 4) * dim;
  double steps = (double)e->max_steps, rows = !strcmp(sd_config_str(cfg, "observe.schedule"), "every")
                                                  ? steps / (double)sd_config_int(cfg, "observe.every")
                                                  : (double)sd_config_int(cfg, "observe.per_decade") * (log10(steps + 1) + 1);
  need += 8 * (rows + 2) * 33; /* a rough 32 columns, and the schedule */
  double limit = sd_config_real(cfg, "run.max_memory");
  int physical = limit <= 0;
  if (physical) limit = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGE_SIZE);
  if (!(need > limit) || limit <= 0) return SD_OK;
  if (!keys || !*keys) keys = "problem.kind";
  char first[64], named[512] = "", a[32], b[32];
  size_t k = strcspn(keys, ", ");
  snprintf(first, sizeof first, "%.*s", (int)k, keys);
  for (const char *p = keys; *p;) {
    size_t len = strcspn(p, ", ");
    char key[64];
    snprintf(key, sizeof key, "%.*s", (int)len, p);
    snprintf(named + strlen(named), sizeof named - strlen(named), "%s%s=%lld", named[0] ? ", " : "", key,
             sd_config_int(cfg, key));
    p += len;
    p += strspn(p, ", ");
  }
  fmt_bytes(a, sizeof a, need);
  fmt_bytes(b, sizeof b, limit);
  return sd_config_fail(cfg, first, "%s: needs about %s, more than run.max_memory (%s%s); lower them or raise run.max_memory",
                        named, a, b, physical ? ": physical memory" : "");
}

sd_status sd_experiment_prepare(const char *config_path, size_t n_overrides, char *const *overrides,
                                sd_experiment **out) {
  *out = NULL;
  sd_experiment *e = sd_calloc(1, sizeof *e);
  if (!e) return sd_error(SD_ERR_NOMEM, "out of memory");
  e->diverged_at = -1;
  e->lock_fd = -1;
  sd_status rc = sd_config_load(config_path, &e->cfg);
  for (size_t i = 0; rc == SD_OK && i < n_overrides; i++) rc = sd_config_override(e->cfg, overrides[i]);
  const sd_param *base;
  size_t n_base = sd_base_params(&base);
  const void *pc = NULL, *dc = NULL;
  if (rc == SD_OK) rc = sd_config_add_schema(e->cfg, "", base, n_base);
  if (rc == SD_OK) rc = pick_kind(e->cfg, "problem.kind", NULL, problem_choices, &pc, 1);
  if (rc == SD_OK) rc = pick_kind(e->cfg, "dynamics.kind", "gd", dynamics_choices, &dc, 0);
  e->pcls = pc;
  e->dcls = dc;
  if (rc == SD_OK && e->pcls) {
    rc = sd_config_add_schema(e->cfg, "problem.", e->pcls->params, e->pcls->n_params);
    if (rc == SD_OK) rc = sd_config_add_schema(e->cfg, "init.", e->pcls->init_params, e->pcls->n_init_params);
    for (const char *const *a = e->pcls->arrays; *a; a++) e->n_arrays++;
    e->array_params = sd_calloc(e->n_arrays + 1, sizeof *e->array_params);
    e->array_keys = sd_calloc(e->n_arrays + 1, sizeof *e->array_keys);
    if (!e->array_params || !e->array_keys) rc = sd_error(SD_ERR_NOMEM, "out of memory");
    for (size_t i = 0; rc == SD_OK && i < e->n_arrays; i++) {
      e->array_keys[i] = sd_strdup(e->pcls->arrays[i]);
      if (!e->array_keys[i]) rc = sd_error(SD_ERR_NOMEM, "out of memory");
      else
        e->array_params[i] = (sd_param){e->array_keys[i], SD_T_PATH, "", SD_NO_BOUNDS, NULL,
                                        ".npy file to use instead of drawing this array"};
    }
    if (rc == SD_OK) rc = sd_config_add_schema(e->cfg, "arrays.", e->array_params, e->n_arrays);
  }
  if (rc == SD_OK && e->dcls) {
    rc = sd_config_add_schema(e->cfg, "dynamics.", e->dcls->params, e->dcls->n_params);
    const sd_dynamics_class *const *all;
    size_t n_all = sd_dynamics_classes(&all);
    for (size_t i = 0; rc == SD_OK && i < n_all; i++)
      if (all[i] != e->dcls) rc = sd_config_add_inactive_schema(e->cfg, "dynamics.", all[i]->params, all[i]->n_params);
  }
  if (rc == SD_OK) rc = sd_config_resolve(e->cfg);
  if (rc == SD_OK) {
    e->seed = (uint64_t)sd_config_int(e->cfg, "seed");
    e->max_steps = (long)sd_config_int(e->cfg, "run.max_steps");
    rc = sd_arrays_create(e->cfg, &e->arrays);
  }
  if (rc == SD_OK) rc = check_memory(e);
  if (rc == SD_OK) rc = e->pcls->create(e->cfg, e->seed, e->arrays, &e->prob);
  if (rc == SD_OK) rc = e->dcls->create(e->cfg, e->prob, &e->dyn);
  int log_sched = rc == SD_OK && !strcmp(sd_config_str(e->cfg, "observe.schedule"), "log");
  if (rc == SD_OK && e->dyn->ops->advance) {
    if (!log_sched)
      rc = sd_config_fail(e->cfg, "observe.schedule", "a flow is observed at log-spaced times; use observe.per_decade and observe.t_first");
    else if (strcmp(sd_config_str(e->cfg, "lr_schedule.kind"), "constant") || sd_config_int(e->cfg, "lr_schedule.warmup_steps") > 0)
      rc = sd_config_fail(e->cfg, "lr_schedule.kind", "a flow has no learning rate to schedule");
    else if (sd_config_real(e->cfg, "clip.grad_norm") > 0)
      rc = sd_config_fail(e->cfg, "clip.grad_norm", "clipping applies to discrete dynamics, not to the flow");
    else
      rc = make_times(e, sd_config_real(e->cfg, "observe.t_first"), e->dyn->t_max, (int)sd_config_int(e->cfg, "observe.per_decade"));
  } else if (rc == SD_OK) {
    const char *kind = sd_config_str(e->cfg, "lr_schedule.kind");
    e->lr = (sd_lr_schedule){.kind = !strcmp(kind, "step") ? SD_LR_STEP : !strcmp(kind, "cosine") ? SD_LR_COSINE : SD_LR_CONSTANT,
                             .warmup = (long)sd_config_int(e->cfg, "lr_schedule.warmup_steps"),
                             .step_every = (long)sd_config_int(e->cfg, "lr_schedule.step_every"),
                             .step_factor = sd_config_real(e->cfg, "lr_schedule.step_factor"),
                             .min_factor = sd_config_real(e->cfg, "lr_schedule.min_factor"),
                             .max_steps = e->max_steps};
    e->dyn->lr_factor = 1.0;
    e->dyn->clip_norm = sd_config_real(e->cfg, "clip.grad_norm");
    if (sd_config_real(e->cfg, "stop.grad_norm_below") > 0)
      rc = sd_config_fail(e->cfg, "stop.grad_norm_below", "only the flow supports this stop (discrete dynamics: stop.loss_below)");
    else if (log_sched)
      rc = sd_schedule_log(&e->sched, e->max_steps, (int)sd_config_int(e->cfg, "observe.per_decade"));
    else
      rc = sd_schedule_every(&e->sched, e->max_steps, (long)sd_config_int(e->cfg, "observe.every"));
  }
  if (rc == SD_OK) rc = setup_curvature(e);
  if (rc == SD_OK)
    rc = sd_metrics_create(&e->metrics, e->n_obs, e->obs_names, e->obs_lens, (e->times ? e->n_times : e->sched.n) + 2);
  if (rc == SD_OK)
    rc = sd_phase_rules_from_config(e->cfg, e->pcls->phases, e->pcls->n_phases, e->metrics, &e->rules, &e->n_rules);
  if (rc == SD_OK) rc = sd_claims_check_config(e->cfg, e->metrics, e->rules, e->n_rules);
  if (rc == SD_OK) rc = sd_plot_check_config(e->cfg, e->metrics);
  if (rc == SD_OK && strcmp(sd_config_str(e->cfg, "observe.rate_of"), "none")) {
    const char *of = sd_config_str(e->cfg, "observe.rate_of");
    e->rate_src = sd_metrics_col(e->metrics, of);
    if (e->rate_src < 2 || !strcmp(of, "local_rate"))
      rc = sd_config_fail(e->cfg, "observe.rate_of", "'%s' is not a metric of this run (loss or an observable)", of);
  }
  if (rc == SD_OK && sd_metrics_col(e->metrics, sd_config_str(e->cfg, "plateaus.metric")) < 0)
    rc = sd_config_fail(e->cfg, "plateaus.metric", "no metric '%s' in this run", sd_config_str(e->cfg, "plateaus.metric"));
  if (rc == SD_OK) {
    e->ckpt_every = (long)sd_config_int(e->cfg, "run.checkpoint_every");
    e->crash_after = (long)sd_config_int(e->cfg, "run.simulate_crash_after_checkpoints");
    e->state_n = e->dyn->ops->state_size ? e->dyn->ops->state_size(e->dyn) : 0;
    e->state = sd_malloc((e->state_n + 1) * sizeof(double));
    if (!e->state) rc = sd_error(SD_ERR_NOMEM, "out of memory");
  }
  if (rc == SD_OK) {
    e->theta = sd_malloc(e->prob->dim * sizeof(double));
    e->theta_prev = sd_malloc(e->prob->dim * sizeof(double));
    e->obs = sd_malloc((e->prob->obs_total + 4) * sizeof(double));
    e->phases = sd_calloc(e->n_rules + 1, sizeof *e->phases);
    if (!e->theta || !e->theta_prev || !e->obs || !e->phases) rc = sd_error(SD_ERR_NOMEM, "out of memory");
    else memcpy(e->theta, e->prob->theta0, e->prob->dim * sizeof(double));
  }
  if (rc != SD_OK) {
    sd_experiment_free(&e);
    return rc;
  }
  *out = e;
  return SD_OK;
}

/* ---------------------------------------------------------------- run directory */

static sd_status hash_file(const char *path, uint64_t *h) {
  FILE *f = fopen(path, "rb");
  if (!f) return sd_error(SD_ERR_IO, "cannot read %s: %s", path, strerror(errno));
  unsigned char buf[8192];
  size_t n;
  *h = SD_FNV_OFFSET;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) *h = sd_fnv1a(*h, buf, n);
  int bad = ferror(f);
  fclose(f);
  return bad ? sd_error(SD_ERR_IO, "cannot read %s", path) : SD_OK;
}

static sd_status create_run_dir(sd_experiment *e, const char *out_dir) {
  SD_TRY(sd_outdir_create(out_dir, sd_experiment_name(e), (unsigned long long)e->seed, SD_OUTDIR_RUN, &e->dir, &e->lock_fd,
                          NULL));
  char sub[4200];
  snprintf(sub, sizeof sub, "%s/arrays", e->dir);
  if (mkdir(sub, 0777) != 0 && errno != EEXIST) return sd_error(SD_ERR_IO, "cannot create %s: %s", sub, strerror(errno));
  return SD_OK;
}

/* ---------------------------------------------------------------- summary.json */

/* jansson refuses NaN and Inf (json_real returns NULL and the key silently vanishes): write null instead,
 * and summary.json says so in its notes. */
static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static sd_status write_summary(const sd_experiment *e, const char *skipped, const char *loaded) {
  json_t *root = json_object();
  if (!root) return sd_error(SD_ERR_NOMEM, "out of memory");
  json_object_set_new(root, "experiment", json_string(sd_experiment_name(e)));
  json_object_set_new(root, "paper", json_string(sd_config_str(e->cfg, "paper")));
  json_object_set_new(root, "problem", json_string(e->pcls->kind));
  json_object_set_new(root, "dynamics", json_string(e->dcls->kind));
  json_object_set_new(root, "seed", json_integer((json_int_t)e->seed));
  json_object_set_new(root, "status", json_string(e->status));
  if (e->error) json_object_set_new(root, "error", json_string(e->error));
  json_object_set_new(root, "steps", json_integer(e->steps));
  json_object_set_new(root, "t", num(e->t_end));
  if (e->dyn->ops->message && *e->dyn->ops->message(e->dyn))
    json_object_set_new(root, "solver_message", json_string(e->dyn->ops->message(e->dyn)));
  if (e->dyn->ops->stats) {
    const char *names[16];
    double values[16];
    size_t n = e->dyn->ops->stats(e->dyn, names, values, 16);
    json_t *st = json_object();
    for (size_t i = 0; i < n && i < 16; i++) json_object_set_new(st, names[i], json_integer((json_int_t)values[i]));
    json_object_set_new(root, "integrator", st);
  }
  json_object_set_new(root, "wall_seconds", num(e->wall));
  if (e->resuming)
    json_object_set_new(root, "resumed_from_step", json_integer((json_int_t)e->ck[CK_META][META_STEP]));
  if (e->diverged_at >= 0) json_object_set_new(root, "diverged_at_step", json_integer(e->diverged_at));
  json_t *final = json_object();
  size_t rows = sd_metrics_rows(e->metrics);
  if (rows)
    for (size_t c = 0; c < sd_metrics_cols(e->metrics); c++)
      json_object_set_new(final, sd_metrics_name(e->metrics, c), num(sd_metrics_at(e->metrics, rows - 1, c)));
  json_object_set_new(root, "final", final);
  json_t *phases = json_array();
  for (size_t i = 0; i < e->n_rules; i++) {
    const sd_phase *p = &e->phases[i];
    const sd_phase_rule *r = &e->rules[i];
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(p->name));
    json_object_set_new(o, "reached", json_boolean(p->reached));
    if (p->reached) {
      json_object_set_new(o, "step_start", json_integer((json_int_t)p->step_start));
      json_object_set_new(o, "step_end", json_integer((json_int_t)p->step_end));
      json_object_set_new(o, "t_start", num(p->t_start));
      json_object_set_new(o, "t_end", num(p->t_end));
    }
    char rule[160];
    if (r->metric) snprintf(rule, sizeof rule, "ends when %s %s %g", r->metric, r->op == '<' ? "<=" : ">=", r->threshold);
    else snprintf(rule, sizeof rule, "runs to the end");
    json_object_set_new(o, "rule", json_string(rule));
    json_object_set_new(o, "meaning", json_string(r->meaning ? r->meaning : ""));
    json_array_append_new(phases, o);
  }
  json_object_set_new(root, "phases", phases);
  json_t *plats = json_array();
  for (size_t i = 0; i < e->n_plateaus; i++) {
    const sd_plateau *q = &e->plateaus[i];
    json_t *o = json_object();
    json_object_set_new(o, "t_start", num(q->t_start));
    json_object_set_new(o, "t_end", num(q->t_end));
    json_object_set_new(o, "level", num(q->level));
    json_object_set_new(o, "jump_t", q->has_jump ? num(q->jump_t) : json_null());
    if (sd_metrics_col(e->metrics, "hess_min") >= 0) json_object_set_new(o, "hess_min", num(q->hess_min));
    json_array_append_new(plats, o);
  }
  json_t *pl = json_object();
  json_object_set_new(pl, "metric", json_string(sd_config_str(e->cfg, "plateaus.metric")));
  json_object_set_new(pl, "found", plats);
  json_object_set_new(root, "plateaus", pl);
  json_t *claims = json_array();
  int all = 1;
  for (size_t i = 0; i < e->n_claims; i++) {
    const sd_claim_result *c = &e->claims[i];
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(c->name));
    json_object_set_new(o, "condition", json_string(c->condition));
    json_object_set_new(o, "measured", json_string(c->measured));
    json_object_set_new(o, "value", num(c->value));
    json_object_set_new(o, "pass", json_boolean(c->pass));
    json_array_append_new(claims, o);
    all &= c->pass;
  }
  json_object_set_new(root, "claims", claims);
  json_object_set_new(root, "claims_pass", e->n_claims ? json_boolean(all) : json_null());
  json_t *arr = json_object();
  json_object_set_new(arr, "loaded_from_files", json_string(loaded ? loaded : ""));
  json_object_set_new(arr, "not_saved_too_large", json_string(skipped ? skipped : ""));
  json_object_set_new(root, "arrays", arr);
  json_t *ver = json_object();
  char *vs = sd_strdup(sd_versions());
  for (char *line = vs ? strtok(vs, "\n") : NULL; line; line = strtok(NULL, "\n")) {
    char *sp = strchr(line, ' ');
    if (!sp) continue;
    *sp = '\0';
    json_object_set_new(ver, line, json_string(sp + 1));
  }
  sd_free(vs);
  json_object_set_new(root, "versions", ver);
  json_t *blas = json_object();
  json_object_set_new(blas, "threads", json_integer(sd_blas_threads()));
  json_object_set_new(blas, "build", json_string(sd_blas_build()));
  json_object_set_new(blas, "note", json_string("results are bit-reproducible for the same thread count and build; resume refuses another count"));
  json_object_set_new(root, "blas", blas);
  const char *lapack_first;
  long lapack_n = sd_lapack_errors(&lapack_first);
  if (lapack_n > 0) {
    json_t *le = json_object();
    json_object_set_new(le, "count", json_integer(lapack_n));
    json_object_set_new(le, "first", json_string(lapack_first));
    json_object_set_new(root, "lapack_errors", le);
  }
  json_t *notes = json_array();
  json_array_append_new(notes, json_string("null stands for NaN or Inf, which JSON cannot hold; metrics.csv has the values"));
  json_object_set_new(root, "notes", notes);

  char path[4200];
  snprintf(path, sizeof path, "%s/summary.json", e->dir);
  sd_atomic_file af;
  sd_status rc = sd_atomic_open(&af, path);
  if (rc == SD_OK) {
    if (json_dumpf(root, af.fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)) != 0) {
      sd_atomic_abort(&af);
      rc = sd_error(SD_ERR_IO, "cannot write %s", path);
    } else {
      fputc('\n', af.fp);
      rc = sd_atomic_commit(&af);
    }
  }
  json_decref(root);
  return rc;
}

/* ---------------------------------------------------------------- the loop */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Appends the metrics row of θ at (step, t). final: the run's last row (curvature is always computed there). */
static sd_status observe_row(sd_experiment *e, long step, double t, double loss_known, int have_loss, int final) {
  sd_problem *p = e->prob;
  double loss = have_loss ? loss_known : p->ops->loss_grad(p, e->theta, NULL);
  p->ops->observe(p, e->theta, t, e->obs);
  if (e->curv) {
    double *h = e->obs + p->obs_total;
    h[0] = h[1] = NAN;
    size_t row = sd_metrics_rows(e->metrics);
    if ((final || row % (size_t)e->hess_every == 0) && sd_all_finite(p->dim, e->theta)) {
      if (e->hess_full) {
        double asym;
        if (sd_curvature_spectrum(e->curv, p, e->theta, e->eigs, &asym) == SD_OK)
          h[0] = e->eigs[0], h[1] = e->eigs[p->dim - 1];
      } else {
        sd_lanczos_options opt = {.iters = e->hess_iters, .tol = 0, .seed = e->seed};
        sd_lanczos_result res;
        if (sd_curvature_lanczos(e->curv, p, e->theta, &opt, &res, NULL, NULL) == SD_OK)
          h[0] = res.lambda_min, h[1] = res.lambda_max;
      }
    }
  }
  if (e->rate_src >= 0) { /* (M_k/M_j)^(1/(k − j)) against the previous row; per unit time for a flow */
    size_t rows = sd_metrics_rows(e->metrics), tc = e->times ? 1 : 0;
    double now = e->rate_src == 2 ? loss : e->obs[e->rate_src - 3], x = e->times ? t : (double)step;
    double v = NAN;
    if (rows > 0) {
      double before = sd_metrics_at(e->metrics, rows - 1, (size_t)e->rate_src), dx = x - sd_metrics_at(e->metrics, rows - 1, tc);
      if (dx > 0) v = pow(now / before, 1.0 / dx);
    }
    e->obs[e->rate_pos] = v;
  }
  return sd_metrics_add(e->metrics, (double)step, t, loss, e->obs);
}

static void progress(const sd_experiment *e, long step, double t_sim, double loss, double t0, double *last, int force) {
  double t = now_s();
  if (!force && t - *last < 0.2) return;
  *last = t;
  double el = t - t0;
  if (e->times) {
    /* a flow's ETA: log-time progress is what the integrator's cost tracks least badly */
    fprintf(stderr, "\r%s: t=%.4g/%.4g  steps %ld  loss=%.4e  elapsed %.1fs   ", sd_experiment_name(e), t_sim,
            e->dyn->t_max, step, loss, el);
  } else {
    double eta = step > 0 ? el * (double)(e->max_steps - step) / (double)step : 0.0;
    fprintf(stderr, "\r%s: step %ld/%ld  t=%.4g  loss=%.4e  elapsed %.1fs  ETA %.1fs   ", sd_experiment_name(e), step,
            e->max_steps, t_sim, loss, el, eta);
  }
  if (force) fputc('\n', stderr);
}

/* Writes DIR/checkpoint.bin: where the run is (step, t, flow output index), θ, the dynamics' state and the
 * metrics rows so far. For a flow, the integrator then restarts from exactly this state, as a resumed run
 * will. Counts toward run.simulate_crash_after_checkpoints. */
static sd_status checkpoint(sd_experiment *e, long step, double t, long output) {
  size_t rows = sd_metrics_rows(e->metrics), cols = sd_metrics_cols(e->metrics);
  double meta[META_N] = {CK_VERSION, (double)step, t, (double)output, (double)rows, (double)cols, (double)sd_blas_threads()};
  if (e->state_n) e->dyn->ops->state_save(e->dyn, e->state);
  double tr[3 * SD_TRACK_MAX];
  for (size_t i = 0; i < e->n_track; i++) {
    tr[3 * i] = (double)e->track[i].col;
    tr[3 * i + 1] = e->track[i].op;
    tr[3 * i + 2] = e->track[i].thr;
  }
  const double *blocks[CK_N] = {meta, e->theta, e->state, sd_metrics_data(e->metrics), tr};
  size_t lens[CK_N] = {META_N, e->prob->dim, e->state_n, rows * cols, 3 * e->n_track};
  char path[4200];
  snprintf(path, sizeof path, "%s/checkpoint.bin", e->dir);
  SD_TRY(sd_checkpoint_write(path, e->config_hash, CK_N, blocks, lens));
  if (e->state_n && e->dyn->ops->advance) SD_TRY(e->dyn->ops->state_load(e->dyn, e->state));
  /* the ordinal of this periodic checkpoint, the same in a resumed run, which so never crashes again */
  long ordinal = e->ckpt_every > 0 ? (output >= 0 ? output : step) / e->ckpt_every : 0;
  if (e->crash_after > 0 && ordinal == e->crash_after) {
    e->crashed = 1;
    return sd_error(SD_ERR_IO, "simulated crash after checkpoint %ld (run.simulate_crash_after_checkpoints)", ordinal);
  }
  return SD_OK;
}

/* Each plateau's curvature: hess_min observed nearest its middle in log t (a saddle has hess_min < 0). */
static void plateau_curvature(sd_experiment *e) {
  long hc = sd_metrics_col(e->metrics, "hess_min");
  for (size_t i = 0; i < e->n_plateaus; i++) {
    sd_plateau *q = &e->plateaus[i];
    double best = INFINITY, v = NAN, mid = 0.5 * (log(q->t_start) + log(q->t_end));
    for (size_t r = 0; hc >= 0 && r < sd_metrics_rows(e->metrics); r++) {
      double tr = sd_metrics_at(e->metrics, r, 1), x = sd_metrics_at(e->metrics, r, (size_t)hc);
      if (tr >= q->t_start && tr <= q->t_end && !isnan(x) && fabs(log(tr) - mid) < best) best = fabs(log(tr) - mid), v = x;
    }
    q->hess_min = v;
  }
}

static void mark_found(sd_experiment *e, size_t from);

/* Puts a resumed run back where its checkpoint left it: rows, θ, dynamics state. */
static sd_status restore(sd_experiment *e) {
  size_t cols = sd_metrics_cols(e->metrics), rows = (size_t)e->ck[CK_META][META_ROWS];
  if ((size_t)e->ck[CK_META][META_COLS] != cols || e->ck_len[CK_THETA] != e->prob->dim || e->ck_len[CK_STATE] != e->state_n ||
      e->ck_len[CK_ROWS] != rows * cols)
    return sd_error(SD_ERR_IO, "%s/checkpoint.bin does not fit this run's config", e->dir);
  /* the crossings the run was tracking (a sweep's thresholds), so that it adds the same rows as if never stopped */
  for (size_t i = 0; i + 2 < e->ck_len[CK_TRACK]; i += 3) {
    size_t col = (size_t)e->ck[CK_TRACK][i];
    if (col >= cols) return sd_error(SD_ERR_IO, "%s/checkpoint.bin does not fit this run's config", e->dir);
    SD_TRY(sd_experiment_track(e, sd_metrics_name(e->metrics, col), (char)e->ck[CK_TRACK][i + 1], e->ck[CK_TRACK][i + 2]));
  }
  for (size_t r = 0; r < rows; r++) {
    const double *row = e->ck[CK_ROWS] + r * cols;
    SD_TRY(sd_metrics_add(e->metrics, row[0], row[1], row[2], row + 3));
  }
  memcpy(e->theta, e->ck[CK_THETA], e->prob->dim * sizeof(double));
  mark_found(e, 0);
  if (e->state_n) SD_TRY(e->dyn->ops->state_load(e->dyn, e->ck[CK_STATE]));
  return SD_OK;
}

static double last_loss(const sd_experiment *e, double fallback) {
  size_t rows = sd_metrics_rows(e->metrics);
  return rows ? sd_metrics_at(e->metrics, rows - 1, 2) : fallback;
}

/* ---------------------------------------------------------------- exact crossings */

sd_status sd_experiment_track(sd_experiment *e, const char *metric, char op, double thr) {
  long col = sd_metrics_col(e->metrics, metric);
  /* a flow has no steps; hess_min and local_rate exist only at observations: those stay on the grid */
  if (e->times || col < 2 || (size_t)col >= 3 + e->prob->obs_total || (op != '<' && op != '>')) return SD_OK;
  for (size_t i = 0; i < e->n_track; i++)
    if (e->track[i].col == (size_t)col && e->track[i].op == op && e->track[i].thr == thr) return SD_OK;
  if (e->n_track == SD_TRACK_MAX) return sd_error(SD_ERR_CONFIG, "more than %d thresholds to track in one run", SD_TRACK_MAX);
  if (!e->probe) {
    size_t dim = e->prob->dim, sn = e->state_n + 1;
    e->probe = sd_malloc((e->prob->obs_total + 1) * sizeof(double));
    e->snap_theta = sd_malloc(dim * sizeof(double));
    e->cur_theta = sd_malloc(dim * sizeof(double));
    e->snap_state = sd_malloc(sn * sizeof(double));
    e->cur_state = sd_malloc(sn * sizeof(double));
    e->snap_k = -1;
    if (!e->probe || !e->snap_theta || !e->cur_theta || !e->snap_state || !e->cur_state) return sd_error(SD_ERR_NOMEM, "out of memory");
  }
  SD_TRY(sd_metrics_reserve(e->metrics, 1)); /* each crossing adds at most one row */
  e->track[e->n_track].col = (size_t)col;
  e->track[e->n_track].op = op;
  e->track[e->n_track].thr = thr;
  e->track[e->n_track++].found = 0;
  return SD_OK;
}

/* Marks the crossings the rows from `from` on show (after every row: the last; on resume: all). */
static void mark_found(sd_experiment *e, size_t from) {
  size_t rows = sd_metrics_rows(e->metrics);
  for (size_t i = 0; i < e->n_track; i++)
    if (!e->track[i].found && rows > from)
      e->track[i].found = sd_metrics_first(e->metrics, e->track[i].col, e->track[i].op, e->track[i].thr, from) < rows;
}

/* Does a tracked metric, still uncrossed, cross at θ_k? Costs a loss (and an observation, for an observable)
 * per step only while some tracked crossing is unfound. */
static int crosses(sd_experiment *e, const double *theta, double t) {
  int need_loss = 0, need_obs = 0;
  for (size_t i = 0; i < e->n_track; i++)
    if (!e->track[i].found) {
      need_loss |= e->track[i].col == 2;
      need_obs |= e->track[i].col > 2;
    }
  if (!need_loss && !need_obs) return 0;
  sd_problem *p = e->prob;
  double loss = need_loss ? p->ops->loss_grad(p, theta, NULL) : NAN;
  if (need_obs) p->ops->observe(p, theta, t, e->probe);
  for (size_t i = 0; i < e->n_track; i++) {
    if (e->track[i].found) continue;
    double v = e->track[i].col == 2 ? loss : e->probe[e->track[i].col - 3];
    if (e->track[i].op == '<' ? v <= e->track[i].thr : v >= e->track[i].thr) return 1;
  }
  return 0;
}

/* Remembers θ_k and the dynamics' state: a crossing found later is looked for in the steps after it. */
static void snapshot(sd_experiment *e, long k, double t) {
  if (!e->snap_theta || e->n_track == 0) return;
  memcpy(e->snap_theta, e->theta, e->prob->dim * sizeof(double));
  if (e->state_n) e->dyn->ops->state_save(e->dyn, e->snap_state);
  e->snap_k = k;
  e->snap_t = t;
}

/* At step k (an observation or a checkpoint): when a tracked metric, uncrossed at the snapshot, has crossed
 * by θ_k, replays the steps after the snapshot (deterministically: the dynamics' state is part of it) and adds
 * a row at the first step whose metric crosses, if that is before k; then puts θ_k and its state back. The
 * cost is one evaluation per observation while a threshold is pending, and one replay of an observation gap
 * (with an evaluation per step) per threshold. */
static sd_status settle(sd_experiment *e, long k, double tk, int constant) {
  if (!e->snap_theta || e->snap_k < 0 || e->snap_k + 1 >= k || !crosses(e, e->theta, tk)) return SD_OK;
  sd_problem *p = e->prob;
  sd_dynamics *d = e->dyn;
  memcpy(e->cur_theta, e->theta, p->dim * sizeof(double));
  if (e->state_n) d->ops->state_save(d, e->cur_state);
  double keep_factor = d->lr_factor, t = e->snap_t, loss;
  memcpy(e->theta, e->snap_theta, p->dim * sizeof(double));
  sd_status rc = e->state_n ? d->ops->state_load(d, e->snap_state) : SD_OK;
  for (long j = e->snap_k; rc == SD_OK && j + 1 < k;) {
    if (!constant) d->lr_factor = sd_lr_factor(&e->lr, j);
    rc = d->ops->step(d, p, e->theta, &loss);
    j++;
    t = constant ? (double)j * d->dt : t + d->dt * d->lr_factor; /* as the loop computes it */
    if (rc == SD_OK && crosses(e, e->theta, t)) {
      rc = observe_row(e, j, t, 0.0, 0, 0);
      if (rc == SD_OK) mark_found(e, sd_metrics_rows(e->metrics) - 1);
      break;
    }
  }
  memcpy(e->theta, e->cur_theta, p->dim * sizeof(double));
  if (e->state_n) {
    sd_status r2 = d->ops->state_load(d, e->cur_state);
    if (rc == SD_OK) rc = r2;
  }
  d->lr_factor = keep_factor;
  return rc;
}

/* Discrete dynamics: observe on the step schedule, step, watch for divergence, convergence and signals. */
static sd_status run_discrete(sd_experiment *e, int show, double t0) {
  sd_problem *p = e->prob;
  double stop_loss = sd_config_real(e->cfg, "stop.loss_below");
  double last_print = 0.0, loss = NAN, t = 0.0;
  long k = 0;
  int converged = 0;
  int constant = e->lr.kind == SD_LR_CONSTANT && e->lr.warmup == 0;
  sd_status rc = SD_OK;
  long seen = -1;  /* a step whose row is already in the table (a resumed run's checkpoint step) */
  long start = -1; /* the step a resumed run starts from: its checkpoint is the one read */
  if (e->resuming) {
    k = start = (long)e->ck[CK_META][META_STEP];
    t = e->ck[CK_META][META_T];
    size_t rows = sd_metrics_rows(e->metrics);
    if (rows && sd_metrics_at(e->metrics, rows - 1, 0) == (double)k) seen = k;
    snapshot(e, k, t);
  }
  for (;;) {
    int due = sd_schedule_due(&e->sched, k);
    int last = k >= e->max_steps || converged || stop_requested;
    /* an interrupted run can be resumed from where it stopped: checkpoint before the extra final row */
    if (last && stop_requested && !converged && k < e->max_steps && k != start) {
      rc = settle(e, k, t, constant);
      if (rc == SD_OK) rc = checkpoint(e, k, t, -1);
      if (rc != SD_OK) break;
    }
    if ((due || last) && k != seen) {
      rc = settle(e, k, t, constant);
      if (rc == SD_OK) rc = observe_row(e, k, t, 0.0, 0, last);
      if (rc != SD_OK) break;
      mark_found(e, sd_metrics_rows(e->metrics) - 1);
      snapshot(e, k, t);
    }
    if (last) {
      e->status = converged ? "converged" : stop_requested ? "interrupted" : "max_steps";
      break;
    }
    if (e->ckpt_every > 0 && k % e->ckpt_every == 0 && k != start && k > 0) {
      rc = settle(e, k, t, constant); /* a resumed run starts from here: what lies behind is settled first */
      if (rc == SD_OK) rc = checkpoint(e, k, t, -1);
      if (rc != SD_OK) break;
      snapshot(e, k, t);
    }
    if (!constant) e->dyn->lr_factor = sd_lr_factor(&e->lr, k);
    memcpy(e->theta_prev, e->theta, p->dim * sizeof(double));
    rc = e->dyn->ops->step(e->dyn, p, e->theta, &loss);
    if (rc != SD_OK) break;
    if (!isfinite(loss) || !sd_all_finite(p->dim, e->theta)) {
      e->status = "diverged";
      if (!isfinite(loss)) { /* the loss of θ_k (computed before the update) broke: θ_k is the final state */
        memcpy(e->theta, e->theta_prev, p->dim * sizeof(double));
        e->diverged_at = k;
      } else { /* θ_k was fine and the update made θ_{k+1} non-finite */
        e->diverged_at = ++k;
        t = constant ? (double)k * e->dyn->dt : t + e->dyn->dt * e->dyn->lr_factor;
      }
      /* one row per step: step k's may be in the table already (it was due) */
      size_t rows = sd_metrics_rows(e->metrics);
      if (!rows || sd_metrics_at(e->metrics, rows - 1, 0) != (double)k) rc = observe_row(e, k, t, 0.0, 0, 1);
      break;
    }
    if (stop_loss > 0 && loss <= stop_loss) converged = 1;
    k++;
    /* t = Σ η_j; k·η exactly when constant, so that t columns read 300, not 299.99999999999 */
    t = constant ? (double)k * e->dyn->dt : t + e->dyn->dt * e->dyn->lr_factor;
    if (show) progress(e, k, t, loss, t0, &last_print, 0);
  }
  e->steps = k;
  e->t_end = t;
  if (show) progress(e, k, e->t_end, last_loss(e, loss), t0, &last_print, 1);
  return rc;
}

/* Continuous dynamics: the integrator advances to each observation time in turn. */
static sd_status run_flow(sd_experiment *e, int show, double t0) {
  double last_print = 0.0, t = 0.0;
  size_t j0 = 1;
  sd_status rc = SD_OK;
  if (e->resuming) {
    t = e->ck[CK_META][META_T];
    j0 = (size_t)e->ck[CK_META][META_OUTPUT] + 1;
  } else {
    rc = observe_row(e, 0, 0.0, 0.0, 0, 0);
  }
  e->status = "t_max";
  for (size_t j = j0; rc == SD_OK && j < e->n_times; j++) {
    sd_advance_result res;
    rc = e->dyn->ops->advance(e->dyn, e->prob, e->theta, e->times[j], &t, &res);
    if (rc != SD_OK) break;
    if (res == SD_ADVANCE_DIVERGED || !sd_all_finite(e->prob->dim, e->theta)) {
      e->status = "diverged";
      e->diverged_at = e->dyn->steps;
    } else if (res == SD_ADVANCE_FAILED) {
      e->status = "solver_failed";
    }
    rc = observe_row(e, e->dyn->steps, t, 0.0, 0, res != SD_ADVANCE_REACHED || j + 1 == e->n_times);
    if (res == SD_ADVANCE_CONVERGED) e->status = "converged";
    if (res == SD_ADVANCE_INTERRUPTED) e->status = "interrupted";
    if (res != SD_ADVANCE_REACHED || e->diverged_at >= 0) break;
    if (rc == SD_OK && e->ckpt_every > 0 && j % (size_t)e->ckpt_every == 0 && j + 1 < e->n_times)
      rc = checkpoint(e, e->dyn->steps, t, (long)j);
    if (show) progress(e, e->dyn->steps, t, last_loss(e, NAN), t0, &last_print, 0);
  }
  e->steps = e->dyn->steps;
  e->t_end = t;
  if (show) progress(e, e->steps, t, last_loss(e, NAN), t0, &last_print, 1);
  return rc;
}

sd_status sd_experiment_resume(const char *dir, sd_experiment **out) {
  char path[4200];
  int lock = -1;
  *out = NULL;
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return sd_error(SD_ERR_CONFIG, "%s: no such run directory", dir);
  SD_TRY(sd_outdir_claim(dir, &lock)); /* before reading anything: another process may be writing it */
  char status[64];
  if (sd_outdir_summary(dir, NULL, 0, status, sizeof status, NULL, 0) && sd_status_finished(status)) {
    sd_outdir_release(&lock);
    return sd_error(SD_ERR_CONFIG, "%s: the run has finished (status %s): nothing to resume", dir, status);
  }
  snprintf(path, sizeof path, "%s/config.resolved.yaml", dir);
  sd_status rc = sd_experiment_prepare(path, 0, NULL, out);
  if (rc != SD_OK) {
    sd_outdir_release(&lock);
    return rc;
  }
  sd_experiment *e = *out;
  e->lock_fd = lock;
  snprintf(path, sizeof path, "%s/checkpoint.bin", dir);
  uint64_t tag = 0;
  rc = access(path, F_OK) == 0 ? sd_checkpoint_read(path, CK_N, e->ck, e->ck_len, &tag)
                               : sd_error(SD_ERR_CONFIG, "%s: no checkpoint to resume from (run with --checkpoint-every N)", dir);
  if (rc == SD_OK && (e->ck_len[CK_META] != META_N || e->ck[CK_META][META_VERSION] != CK_VERSION))
    rc = sd_error(SD_ERR_IO, "%s: checkpoint of another version", path);
  if (rc == SD_OK) {
    char cpath[4200];
    snprintf(cpath, sizeof cpath, "%s/config.resolved.yaml", dir);
    rc = hash_file(cpath, &e->config_hash);
    if (rc == SD_OK && e->config_hash != tag)
      rc = sd_error(SD_ERR_CONFIG, "%s was changed after %s was written: the checkpoint belongs to another config; refusing to resume",
                    cpath, path);
  }
  int was = rc == SD_OK ? (int)e->ck[CK_META][META_THREADS] : 0, now = sd_blas_threads();
  if (rc == SD_OK && was != now)
    rc = sd_error(SD_ERR_CONFIG,
                  "%s: the run used %d OpenBLAS thread%s and this process has %d; its results depend on the count, so the "
                  "resumed run would not be the same: resume with OPENBLAS_NUM_THREADS=%d",
                  dir, was, was == 1 ? "" : "s", now, was);
  if (rc == SD_OK && !(e->dir = sd_strdup(dir))) rc = sd_error(SD_ERR_NOMEM, "out of memory");
  if (rc != SD_OK) {
    sd_experiment_free(out);
    return rc;
  }
  e->resuming = 1;
  return SD_OK;
}

/* Phases, plateaus (with their curvature) and claims of the finished metrics table. */
static sd_status analyse(sd_experiment *e) {
  sd_phases_detect(e->metrics, e->rules, e->n_rules, e->phases);
  SD_TRY(sd_plateaus_detect(e->metrics, sd_config_str(e->cfg, "plateaus.metric"), sd_config_real(e->cfg, "plateaus.max_slope"),
                            sd_config_real(e->cfg, "plateaus.min_span"), &e->plateaus, &e->n_plateaus));
  plateau_curvature(e);
  return sd_claims_evaluate(e->cfg, e->metrics, e->phases, e->n_rules, e->plateaus, e->n_plateaus, &e->claims, &e->n_claims);
}

/* The run after its directory is claimed; sd_experiment_run records how it ended when this fails. */
static sd_status run_in_dir(sd_experiment *e, const sd_run_options *opt) {
  char path[4200];
  snprintf(path, sizeof path, "%s/config.resolved.yaml", e->dir);
  SD_TRY(sd_config_write_resolved(e->cfg, path));
  e->wrote = 1;
  SD_TRY(hash_file(path, &e->config_hash));
  e->status = "running";
  SD_TRY(write_summary(e, NULL, NULL));
  snprintf(path, sizeof path, "%s/metrics.csv", e->dir);
  SD_TRY(sd_metrics_open_csv(e->metrics, path));
  if (e->resuming) SD_TRY(restore(e));

  sd_problem *p = e->prob;
  int show = opt && opt->progress;
  stop_requested = 0;
  double t0 = now_s();
  sd_status rc = e->times ? run_flow(e, show, t0) : run_discrete(e, show, t0);
  e->wall = now_s() - t0;
  if (rc != SD_OK) return rc;
  SD_TRY(sd_metrics_commit_csv(e->metrics));
  SD_TRY(analyse(e));

  snprintf(path, sizeof path, "%s/arrays", e->dir);
  char *skipped = NULL, *loaded = sd_arrays_loaded_names(e->arrays);
  double max_mb = sd_config_real(e->cfg, "output.max_array_mb");
  size_t max_bytes = max_mb * 1048576.0 >= 1.8e19 ? (size_t)-1 : (size_t)(max_mb * 1048576.0);
  rc = sd_arrays_save(e->arrays, path, max_bytes, &skipped);
  char fpath[4300];
  if (rc == SD_OK && p->n_views == 0) {
    snprintf(fpath, sizeof fpath, "%s/arrays/%s_final.npy", e->dir, p->param_name);
    rc = sd_npy_write(fpath, e->theta, p->param_ndim, p->param_shape);
  }
  for (size_t v = 0; rc == SD_OK && v < p->n_views; v++) {
    snprintf(fpath, sizeof fpath, "%s/arrays/%s_final.npy", e->dir, p->view_name[v]);
    rc = sd_npy_write(fpath, e->theta + p->view_offset[v], 2, p->view_shape[v]);
  }
  if (rc == SD_OK) rc = write_summary(e, skipped, loaded);
  sd_free(skipped);
  sd_free(loaded);
  return rc;
}

/* A run that failed after writing into its directory says so in summary.json (not `running`): its status
 * (io_error when a write failed, e.g. a full disk) and the error. When the disk is too full even for a new
 * summary.json under a temporary name, the running one is overwritten in place with the short form. */
static void record_failure(sd_experiment *e, sd_status failed) {
  char msg[1024];
  snprintf(msg, sizeof msg, "%s", sd_error_message());
  e->status = failed == SD_ERR_IO ? "io_error" : failed == SD_ERR_NOMEM ? "out_of_memory" : "error";
  e->error = msg;
  if (write_summary(e, NULL, NULL) != SD_OK) {
    char path[4200];
    snprintf(path, sizeof path, "%s/summary.json", e->dir);
    FILE *f = fopen(path, "w");
    json_t *o = json_pack("{s:s, s:s, s:s, s:I}", "experiment", sd_experiment_name(e), "status", e->status, "error", msg, "steps",
                          (json_int_t)e->steps);
    if (f && o) json_dumpf(o, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (f) fclose(f);
    json_decref(o);
  }
  e->error = NULL;
  sd_error(failed, "%s", msg); /* the caller reports the original error */
}

sd_status sd_experiment_run(sd_experiment *e, const sd_run_options *opt) {
  if (!e->resuming) SD_TRY(create_run_dir(e, opt ? opt->out_dir : NULL));
  sd_status rc = run_in_dir(e, opt);
  if (rc != SD_OK && e->wrote && !e->crashed) record_failure(e, rc);
  return rc;
}

int sd_experiment_wrote(const sd_experiment *e) { return e->wrote; }

/* ---------------------------------------------------------------- a finished run, read back */

/* Statuses are string literals of this layer (callers keep the pointers): the one named s, or NULL. */
static const char *known_status(const char *s) {
  static const char *const all[] = {"converged", "max_steps", "t_max", "diverged", "solver_failed", "interrupted",
                                    "running", "io_error", "out_of_memory", "error", NULL};
  for (const char *const *a = all; *a; a++)
    if (!strcmp(s, *a)) return *a;
  return NULL;
}

int sd_status_finished(const char *status) {
  return status && (!strcmp(status, "converged") || !strcmp(status, "max_steps") || !strcmp(status, "t_max") ||
                    !strcmp(status, "diverged") || !strcmp(status, "solver_failed"));
}

/* Reads DIR/metrics.csv (written with %.17g, so every value reads back exactly) into the empty table. */
static sd_status read_metrics(sd_experiment *e, const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return sd_error(SD_ERR_IO, "cannot read %s: %s", path, strerror(errno));
  size_t cols = sd_metrics_cols(e->metrics), cap = 0, lineno = 0;
  char *line = NULL;
  double *row = sd_malloc((cols + 1) * sizeof *row);
  sd_status rc = row ? SD_OK : sd_error(SD_ERR_NOMEM, "out of memory");
  while (rc == SD_OK && getline(&line, &cap, f) > 0) {
    lineno++;
    line[strcspn(line, "\r\n")] = '\0';
    char *p = line;
    size_t c = 0;
    if (lineno == 1) { /* the header must name this config's columns, in order */
      for (char *tok = strtok(line, ","); tok && rc == SD_OK; tok = strtok(NULL, ","), c++)
        if (c >= cols || strcmp(tok, sd_metrics_name(e->metrics, c)) != 0) rc = sd_error(SD_ERR_IO, "%s: its columns are not this config's", path);
      if (rc == SD_OK && c != cols) rc = sd_error(SD_ERR_IO, "%s: its columns are not this config's", path);
      continue;
    }
    for (c = 0; c < cols && rc == SD_OK; c++) {
      char *end;
      row[c] = strtod(p, &end);
      if (end == p || (*end != ',' && *end != '\0') || (*end == '\0' && c + 1 < cols))
        rc = sd_error(SD_ERR_IO, "%s:%zu: not a row of %zu numbers", path, lineno, cols);
      p = end + (*end == ',');
    }
    if (rc == SD_OK) rc = sd_metrics_add(e->metrics, row[0], row[1], row[2], row + 3);
  }
  free(line);
  sd_free(row);
  fclose(f);
  return rc;
}

sd_status sd_experiment_load(const char *dir, sd_experiment **out) {
  char path[4200];
  snprintf(path, sizeof path, "%s/config.resolved.yaml", dir);
  SD_TRY(sd_experiment_prepare(path, 0, NULL, out));
  sd_experiment *e = *out;
  snprintf(path, sizeof path, "%s/summary.json", dir);
  json_error_t err;
  json_t *root = json_load_file(path, 0, &err);
  const char *st = root ? json_string_value(json_object_get(root, "status")) : NULL;
  sd_status rc = SD_OK;
  if (!root) rc = sd_error(SD_ERR_IO, "%s: %s (line %d)", path, err.text, err.line);
  else if (!st || !sd_status_finished(st)) rc = sd_error(SD_ERR_IO, "%s: the run has not finished (status %s)", path, st ? st : "missing");
  if (rc == SD_OK) {
    e->status = known_status(st);
    e->steps = (long)json_integer_value(json_object_get(root, "steps"));
    json_t *t = json_object_get(root, "t");
    e->t_end = json_is_number(t) ? json_number_value(t) : NAN;
    json_t *dv = json_object_get(root, "diverged_at_step");
    if (json_is_integer(dv)) e->diverged_at = (long)json_integer_value(dv);
    json_t *w = json_object_get(root, "wall_seconds");
    e->wall = json_is_number(w) ? json_number_value(w) : NAN;
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    rc = read_metrics(e, path);
  }
  json_decref(root);
  if (rc == SD_OK) rc = analyse(e);
  if (rc == SD_OK && !(e->dir = sd_strdup(dir))) rc = sd_error(SD_ERR_NOMEM, "out of memory");
  if (rc != SD_OK) sd_experiment_free(out);
  return rc;
}
