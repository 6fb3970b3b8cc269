/* outdir.h: the directory a run or a sweep writes into. */
#ifndef SADDLE_OUTDIR_H
#define SADDLE_OUTDIR_H

#include "saddle/error.h"

/* Creates out_dir (and its parents) if given, refusing one that already holds a run (a summary.json); else
 * runs/<name>-<seed>-<UTC time>, with -2, -3, ... when two start in the same second. *path (caller frees) is
 * the directory made. */
sd_status sd_outdir_create(const char *out_dir, const char *name, unsigned long long seed, char **path);

#endif
