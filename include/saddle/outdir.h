/* outdir.h: the directory a run or a sweep writes into, claimed by one process at a time.
 *
 * A directory is claimed by an exclusive flock(2) on DIR/.saddle.lock, held until sd_outdir_release: the
 * kernel drops it when the process dies (even by SIGKILL), so a crash never leaves a stale claim, and of two
 * processes started on one directory at the same moment exactly one gets it. The claim is taken before
 * anything else is written, and the directory's contents are checked under it. */
#ifndef SADDLE_OUTDIR_H
#define SADDLE_OUTDIR_H

#include <stddef.h>

#include "saddle/error.h"

typedef enum {
  SD_OUTDIR_RUN,    /* a new run: refuse a directory holding a run, a sweep, or files saddle did not write */
  SD_OUTDIR_SWEEP,  /* a sweep: as RUN, but a directory holding a sweep of the same experiment is adopted */
  SD_OUTDIR_RESUME  /* go on in a directory that holds a run or a sweep: it must exist; only the claim */
} sd_outdir_mode;

/* Creates out_dir (and its parents) if given, else runs/<name>-<seed>-<UTC time> (with -2, -3, ... when two
 * start in the same second), and claims it. *path (caller frees) is the directory; *lock_fd the claim (release
 * with sd_outdir_release). *adopted is set to 1 when mode SWEEP adopted an existing sweep (else 0; may be NULL).
 * Errors: SD_ERR_CONFIG (nothing written) naming the directory and why: claimed by another process, holds a run
 * or a sweep, holds files saddle did not write; SD_ERR_IO when it cannot be created. */
sd_status sd_outdir_create(const char *out_dir, const char *name, unsigned long long seed, sd_outdir_mode mode,
                           char **path, int *lock_fd, int *adopted);
/* Claims an existing directory (SD_OUTDIR_RESUME). */
sd_status sd_outdir_claim(const char *dir, int *lock_fd);
/* Drops a claim (fd < 0: nothing) and sets *lock_fd = -1. */
void sd_outdir_release(int *lock_fd);
/* Reads DIR/summary.json's "kind" ("run" when absent) and "status" into the buffers; returns 0 when there is
 * no readable summary.json. */
int sd_outdir_summary(const char *dir, char *kind, size_t kind_len, char *status, size_t status_len, char *experiment,
                      size_t experiment_len);
/* Removes the files saddle wrote in a run directory (to run it again from the start); SD_ERR_CONFIG, and
 * nothing removed after the first foreign file, when it holds files saddle did not write. */
sd_status sd_outdir_clear(const char *dir);

#endif
