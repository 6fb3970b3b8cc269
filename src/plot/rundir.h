/* rundir.h: a run directory read back for plotting: metrics.csv, summary.json, config.resolved.yaml and
 * arrays/NAME.npy, and nothing else, so runs of older versions plot too.
 *
 * Damage is tolerated where a figure can still be drawn, and each oddity is recorded in `notes`: a
 * truncated last line of metrics.csv is dropped, short rows and unparsable fields become NaN, a missing
 * or unreadable summary.json only loses the phases and plateaus, a missing config only the legend keys.
 * A directory without metrics.csv, or with no row in it, is an error (SD_ERR_CONFIG). */
#ifndef SADDLE_PLOT_RUNDIR_H
#define SADDLE_PLOT_RUNDIR_H

#include <stddef.h>

#include "plot/tree.h"
#include "saddle/error.h"
#include "saddle/npy.h"

typedef struct {
  char *name;
  int reached;
  double t_start, t_end, step_start, step_end; /* NaN when not reached or unknown */
} sd_rd_phase;

typedef struct {
  double t_start, t_end, level, jump_t; /* jump_t NaN: none */
} sd_rd_plateau;

typedef struct {
  char *dir;
  char *experiment; /* summary.json, else the config, else the directory's base name */
  char *status;     /* "" when unknown */
  /* metrics.csv: n_rows × n_cols, row-major; non-finite values kept as they were written */
  size_t n_cols, n_rows;
  char **cols;
  double *data;
  /* summary.json */
  sd_rd_phase *phases;
  size_t n_phases;
  char *plateau_metric; /* NULL when unknown */
  sd_rd_plateau *plateaus;
  size_t n_plateaus;
  double diverged_t;    /* t of the first non-finite loss (NaN when the run did not diverge) */
  /* config.resolved.yaml (NULL when missing or unreadable) */
  sd_tree *config;
  /* one line per oddity found while reading */
  char *notes;
  size_t notes_len;
} sd_rundir;

sd_status sd_rundir_open(const char *dir, sd_rundir **out);
void sd_rundir_free(sd_rundir **rd);

/* Column index, or -1. */
long sd_rundir_col(const sd_rundir *rd, const char *name);
static inline double sd_rundir_at(const sd_rundir *rd, size_t row, size_t col) { return rd->data[row * rd->n_cols + col]; }
/* Members of the family `name` (columns name[0], name[1], ... in index order): writes up to max column
 * indices to cols (may be NULL) and returns how many there are. */
size_t sd_rundir_family(const sd_rundir *rd, const char *name, size_t *cols, size_t max);
/* Reads arrays/NAME.npy (SD_ERR_CONFIG naming the file when absent or not a float64 array). */
sd_status sd_rundir_array(const sd_rundir *rd, const char *name, sd_array *out);
/* Appends a formatted line to the notes (silently dropped when memory runs out). */
void sd_rundir_note(sd_rundir *rd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Helpers on column names shared with the validation of specs: the family of "name[3]" ("name", 1) or 0. */
int sd_col_family(const char *col, char *family, size_t len);

#endif
