/* run.h: one experiment from config to run directory, and the registry of problems and dynamics.
 *
 * prepare() does everything that can fail on bad input (config, arrays from files, problem setup) before
 * anything is written; run() creates the run directory and writes the contract every tool reads:
 * config.resolved.yaml, metrics.csv, summary.json, arrays/. */
#ifndef SADDLE_RUN_H
#define SADDLE_RUN_H

#include <stddef.h>

#include "saddle/dynamics.h"
#include "saddle/error.h"
#include "saddle/observe.h"
#include "saddle/problem.h"

typedef struct sd_experiment sd_experiment;

typedef struct {
  const char *out_dir; /* NULL: runs/<experiment>-<seed>-<UTC timestamp> */
  int progress;        /* a progress line on stderr */
} sd_run_options;

/* Loads the config, applies the overrides ("key.path=value"), resolves it and builds the problem and the
 * dynamics. SD_ERR_CONFIG for any bad input. *out is freed with sd_experiment_free. */
sd_status sd_experiment_prepare(const char *config_path, size_t n_overrides, char *const *overrides,
                                sd_experiment **out);
/* Prepares the run in DIR (a run directory with checkpoint.bin) to go on from its last checkpoint; then
 * sd_experiment_run continues it in place, and its metrics.csv and final parameters are bit-identical to
 * those of an uninterrupted run. */
sd_status sd_experiment_resume(const char *dir, sd_experiment **out);
/* Reads back the finished run in DIR without running it (its config, summary.json and metrics.csv) and
 * evaluates its phases and claims as the run did: for a sweep that keeps its finished runs. Nothing is written. */
sd_status sd_experiment_load(const char *dir, sd_experiment **out);
/* 1 for the statuses of a run that ended by itself (converged, max_steps, t_max, diverged, solver_failed). */
int sd_status_finished(const char *status);
/* Adds a metrics row at the exact step where `metric` first crosses thr (op '<': ≤ thr, '>': ≥ thr) when
 * that step is not an observation, so that counts read off the rows ("first step with M ≤ x") are exact
 * whatever the observation schedule. Call after prepare or resume, before run (sweeps do, for their
 * first_step/first_t/rate/@first: values). Checking costs one loss (and one observation for an observable)
 * per step until every tracked threshold is crossed. A flow, and columns that exist only at observations
 * (hess_min, local_rate), keep their grid. */
sd_status sd_experiment_track(sd_experiment *e, const char *metric, char op, double thr);
/* Runs to the end (status converged, max_steps, t_max, diverged or interrupted) and writes the run directory. */
sd_status sd_experiment_run(sd_experiment *e, const sd_run_options *opt);
void sd_experiment_free(sd_experiment **e);
/* The prepared problem and dynamics (borrowed), for step-level use by benchmarks and tests. */
void sd_experiment_parts(sd_experiment *e, sd_problem **problem, sd_dynamics **dynamics);

const char *sd_experiment_name(const sd_experiment *e);
const sd_metrics *sd_experiment_metrics(const sd_experiment *e); /* after run; borrowed */
long sd_experiment_steps(const sd_experiment *e);                /* after run */
double sd_experiment_t(const sd_experiment *e);                  /* after run */
const char *sd_experiment_dir(const sd_experiment *e);    /* after run */
const char *sd_experiment_status(const sd_experiment *e); /* after run */
/* 1 once the run has written into its directory (so a failed run left partial results there). */
int sd_experiment_wrote(const sd_experiment *e);
/* 1 for continuous dynamics (a flow: observed at times, not steps). */
int sd_experiment_is_flow(const sd_experiment *e);
/* The phase rules (after prepare) and the phases found (after run), *n each; borrowed. */
const sd_phase_rule *sd_experiment_phase_rules(const sd_experiment *e, size_t *n);
const sd_phase *sd_experiment_phases(const sd_experiment *e, size_t *n);
/* Claim results after run (borrowed). */
const sd_claim_result *sd_experiment_claims(const sd_experiment *e, size_t *n);

/* Asks a running experiment to stop cleanly at the next step (async-signal-safe: call it from a handler). */
void sd_request_stop(void);

/* Registries (static tables). */
size_t sd_problem_classes(const sd_problem_class *const **out);
size_t sd_dynamics_classes(const sd_dynamics_class *const **out);
const sd_problem_class *sd_problem_class_find(const char *kind);
const sd_dynamics_class *sd_dynamics_class_find(const char *kind);

/* The base keys every config has (experiment, seed, run.*, observe.*, ...). */
size_t sd_base_params(const sd_param **out);

/* Library versions, one "name version" line each, for --version and summary.json. */
const char *sd_versions(void);
/* The number of threads OpenBLAS uses in this process (results depend on it), and its build string
 * (version, target core, threading). */
int sd_blas_threads(void);
const char *sd_blas_build(void);

#endif

#ifndef SADDLE_RUN_EXAMPLES_H
#define SADDLE_RUN_EXAMPLES_H
/* Directory of the bundled experiments: $SADDLE_EXAMPLES_DIR, else the source tree's examples/ when it
 * exists, else <prefix>/share/saddle/examples next to the executable. Owned by libsaddle. */
const char *sd_examples_dir(void);
#endif
