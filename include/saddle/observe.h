/* observe.h: when to observe (schedules), the metrics table, phase detection and claim checks. */
#ifndef SADDLE_OBSERVE_H
#define SADDLE_OBSERVE_H

#include <stddef.h>
#include <stdio.h>

#include "saddle/config.h"
#include "saddle/error.h"
#include "saddle/phases.h"

/* ---- schedule: the sorted steps at which a run is observed (always 0 and max_steps) */

typedef struct {
  long *steps; /* owned */
  size_t n;
  size_t next; /* index of the next step to observe */
} sd_schedule;

/* Log-spaced: about per_decade distinct steps per decade (round(10^(j/per_decade))), plus 0 and max_steps. */
sd_status sd_schedule_log(sd_schedule *s, long max_steps, int per_decade);
/* Every k steps, plus max_steps. */
sd_status sd_schedule_every(sd_schedule *s, long max_steps, long k);
void sd_schedule_free(sd_schedule *s);
/* Whether step is scheduled; advances the cursor past it. Steps must be asked in increasing order. */
int sd_schedule_due(sd_schedule *s, long step);

/* ---- metrics: one row per observation, columns step, t, loss, then observables (vectors as name[i]) */

typedef struct sd_metrics sd_metrics;

/* Builds the column list from the observables; room for max_rows rows is allocated now, not in the loop. */
sd_status sd_metrics_create(sd_metrics **out, size_t n_obs, const char *const *names, const size_t *lens,
                            size_t max_rows);
void sd_metrics_free(sd_metrics **m);
/* Room for extra rows beyond those asked for at create (setup code only: it reallocates). */
sd_status sd_metrics_reserve(sd_metrics *m, size_t extra);
/* Streams rows to path as they come (under a temporary name until sd_metrics_commit_csv). */
sd_status sd_metrics_open_csv(sd_metrics *m, const char *path);
sd_status sd_metrics_commit_csv(sd_metrics *m);
/* Appends a row: obs holds the observables in column order (sum of lens doubles). */
sd_status sd_metrics_add(sd_metrics *m, double step, double t, double loss, const double *obs);
size_t sd_metrics_rows(const sd_metrics *m);
size_t sd_metrics_cols(const sd_metrics *m);
const char *sd_metrics_name(const sd_metrics *m, size_t col);
/* Column index by name, or -1. */
long sd_metrics_col(const sd_metrics *m, const char *name);
double sd_metrics_at(const sd_metrics *m, size_t row, size_t col);
/* The first row at or after `from` where column col is ≤ thr (op '<') or ≥ thr (op '>'); the row count if none
 * (NaN never qualifies). */
size_t sd_metrics_first(const sd_metrics *m, size_t col, char op, double thr, size_t from);
/* All rows, row-major (rows × cols), borrowed. */
const double *sd_metrics_data(const sd_metrics *m);

/* ---- phases (rules in phases.h) */

/* Reads `phases:` from the config if given, else copies the defaults. *rules is owned by the caller
 * (sd_free); its strings point into cfg or the defaults. Metric names are checked against m. */
sd_status sd_phase_rules_from_config(const sd_config *cfg, const sd_phase_rule *defaults, size_t n_defaults,
                                     const sd_metrics *m, sd_phase_rule **rules, size_t *n_rules);
/* Segments the table; out has n_rules entries. */
void sd_phases_detect(const sd_metrics *m, const sd_phase_rule *rules, size_t n_rules, sd_phase *out);

/* ---- plateaus: long stretches of small relative change in log-time, and the jumps between them
 *
 * Over the rows with t > 0 and a positive finite value y, a pair of consecutive rows is flat when
 * |Δln y/Δln t| < max_slope; a plateau is a maximal run of flat pairs spanning t_end/t_start ≥ min_span, at
 * the level of the median y over its rows. The jump after a plateau is the first time y crosses halfway to
 * the next plateau's level (or to the last value of the run), interpolated linearly in ln t. No law of the
 * plateau lengths is assumed. */

typedef struct {
  double t_start, t_end, level;
  int has_jump;
  double jump_t;
  double hess_min; /* the smallest Hessian eigenvalue observed nearest the plateau's middle (NaN if none) */
} sd_plateau;

/* *out (caller frees with sd_free) receives *n plateaus in time order. */
sd_status sd_plateaus_detect(const sd_metrics *m, const char *metric, double max_slope, double min_span,
                             sd_plateau **out, size_t *n);

/* ---- claims: a paper's statements as data, checked against the metrics and phases */

typedef struct {
  char name[160];
  char condition[200]; /* human-readable, e.g. "rel_error at final < 0.01" */
  char measured[200];  /* human-readable measured value */
  double value;        /* measured number (NaN for non-numeric claims) */
  int pass;
} sd_claim_result;

/* Checks the syntax of `claims:` against the metric columns and phase names (config errors name the line). */
sd_status sd_claims_check_config(const sd_config *cfg, const sd_metrics *m, const sd_phase_rule *rules,
                                 size_t n_rules);
/* Whether `at` names a point of a run with these metrics and phase rules: final | initial | min | max, start:P |
 * end:P | min:P | max:P for a phase P, step:N, or first:M<x / first:M>x (the first observation where metric M
 * is ≤ x / ≥ x). */
int sd_claims_at_valid(const char *at, const sd_metrics *m, const sd_phase_rule *rules, size_t n_rules);
/* The value of metric column col at `at` (NULL: final). *have = 0 (and NaN) if the phase was not reached, step N
 * was not observed or the first: condition never held. */
double sd_claims_value_at(const sd_metrics *m, const sd_phase *phases, size_t n_phases, size_t col, const char *at,
                          int *have);
/* Evaluates every claim; *out (caller frees with sd_free) has *n entries. */
sd_status sd_claims_evaluate(const sd_config *cfg, const sd_metrics *m, const sd_phase *phases, size_t n_phases,
                             const sd_plateau *plateaus, size_t n_plateaus, sd_claim_result **out, size_t *n);

#endif
