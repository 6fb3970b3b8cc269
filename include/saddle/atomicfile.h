/* atomicfile.h: files that appear whole or not at all: written under a temporary name, then renamed. */
#ifndef SADDLE_ATOMICFILE_H
#define SADDLE_ATOMICFILE_H

#include <stdio.h>
#include "saddle/error.h"

typedef struct {
  FILE *fp;          /* write here; owned until commit/abort */
  char *path;        /* final name */
  char *tmp_path;    /* "<dir>/.<name>.tmp" */
} sd_atomic_file;

sd_status sd_atomic_open(sd_atomic_file *af, const char *path);
/* Flushes, closes and renames onto the final name. Frees af's strings whatever happens. */
sd_status sd_atomic_commit(sd_atomic_file *af);
/* Closes and removes the temporary file. Safe on a zeroed or already finished af. */
void sd_atomic_abort(sd_atomic_file *af);

#endif
