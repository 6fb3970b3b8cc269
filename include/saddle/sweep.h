/* sweep.h: one config, many runs: every combination of a few keys' values, and claims across the runs.
 *
 *   sweep:                                  # axes; the runs are their Cartesian product, first axis slowest
 *     - {key: problem.kappa, values: [1, 10, 100]}
 *     - {key: dynamics.kind, values: [gd, scaled_gd]}
 *   sweep_claims:
 *     - name: ScaledGD needs as many steps whatever κ
 *       value: first_step:rel_error<1e-8    # steps | t | final:M | first_step:M<x | first_t:M>x
 *       where: {dynamics.kind: scaled_gd}   # the runs compared (axis values)
 *       across: problem.kappa               # in the order of this axis
 *       max_ratio: 1.5                      # and/or min_ratio, increasing: true, below, above
 *
 * Each run is a complete run directory DIR/<i>-<label>; DIR has sweep.csv (a row per run) and summary.json
 * (runs, statuses, the values and the sweep claims). */
#ifndef SADDLE_SWEEP_H
#define SADDLE_SWEEP_H

#include <stddef.h>

#include "saddle/observe.h"
#include "saddle/run.h"

typedef struct sd_sweep sd_sweep;

/* Reads the config's sweep; *out is NULL (and SD_OK) when it has none. Every run's config is prepared once
 * here, so a bad value anywhere is reported before anything is written. */
sd_status sd_sweep_prepare(const char *config_path, size_t n_overrides, char *const *overrides, sd_sweep **out);
/* Runs every combination in turn (opt->out_dir: the sweep's directory) and evaluates the claims. A run that
 * diverges is recorded and the sweep goes on; an interrupt stops the sweep. A directory that holds this sweep
 * already (same config and overrides) is continued: its finished runs are kept. */
sd_status sd_sweep_run(sd_sweep *s, const sd_run_options *opt);
void sd_sweep_free(sd_sweep **s);
/* Prepares the sweep in DIR again (its config and overrides, recorded in DIR/summary.json) so that
 * sd_sweep_run with out_dir = DIR finishes it: finished runs are kept, interrupted ones resumed from their
 * checkpoints, missing ones run. Running the same config with -o DIR does the same. */
sd_status sd_sweep_resume(const char *dir, sd_sweep **out);
/* 1 when every run finished (the sweep claims are evaluated only then); the sweep's status: running,
 * complete, interrupted or error (as in DIR/summary.json). */
int sd_sweep_complete(const sd_sweep *s);
const char *sd_sweep_state(const sd_sweep *s);

const char *sd_sweep_dir(const sd_sweep *s);
size_t sd_sweep_size(const sd_sweep *s);
const char *sd_sweep_label(const sd_sweep *s, size_t i);
const char *sd_sweep_status(const sd_sweep *s, size_t i);  /* NULL if not run */
/* Per-run claims of run i (borrowed), and the sweep claims. */
const sd_claim_result *sd_sweep_run_claims(const sd_sweep *s, size_t i, size_t *n);
const sd_claim_result *sd_sweep_claims(const sd_sweep *s, size_t *n);

#endif
