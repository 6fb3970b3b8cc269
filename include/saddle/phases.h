/* phases.h: segmenting a run into named phases from its observed metrics.
 *
 * A phase list is a sequence of rules. Phase k starts where phase k-1 ended (the first phase at the first
 * observation) and ends at the first later observation where its condition `metric op threshold` holds;
 * the last phase has no condition and runs to the end. A phase whose condition never holds runs to the
 * end, and the phases after it are reported as not reached. */
#ifndef SADDLE_PHASES_H
#define SADDLE_PHASES_H

#include <stddef.h>

typedef struct {
  const char *name;
  const char *metric;   /* a metrics.csv column; NULL for the last phase */
  char op;              /* '<' or '>' (the condition holds when metric op threshold, <= / >= inclusive) */
  double threshold;
  const char *meaning;  /* one line: what this phase is, for summary.json and docs */
} sd_phase_rule;

typedef struct {
  const char *name;
  int reached;
  size_t first_row, last_row; /* rows of the metrics table, inclusive */
  double step_start, step_end, t_start, t_end;
} sd_phase;

#endif
