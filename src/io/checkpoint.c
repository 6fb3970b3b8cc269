/* checkpoint.c: the checkpoint file (see checkpoint.h). */
#include "saddle/checkpoint.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "saddle/alloc.h"
#include "saddle/atomicfile.h"

static const char MAGIC[8] = {'S', 'D', 'C', 'K', 'P', 'T', '0', '1'};

sd_status sd_checkpoint_write(const char *path, size_t n_blocks, const double *const *blocks, const size_t *lens) {
  if (n_blocks > SD_CKPT_MAX_BLOCKS) return sd_error(SD_ERR_INTERNAL, "checkpoint: too many blocks");
  sd_atomic_file af;
  SD_TRY(sd_atomic_open(&af, path));
  uint64_t nb = n_blocks;
  fwrite(MAGIC, 1, 8, af.fp);
  fwrite(&nb, sizeof nb, 1, af.fp);
  for (size_t i = 0; i < n_blocks; i++) {
    uint64_t l = lens[i];
    fwrite(&l, sizeof l, 1, af.fp);
  }
  for (size_t i = 0; i < n_blocks; i++)
    if (lens[i]) fwrite(blocks[i], sizeof(double), lens[i], af.fp);
  return sd_atomic_commit(&af);
}

sd_status sd_checkpoint_read(const char *path, size_t n_blocks, double **blocks, size_t *lens) {
  for (size_t i = 0; i < n_blocks; i++) blocks[i] = NULL, lens[i] = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return sd_error(SD_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  char magic[8];
  uint64_t nb = 0, l[SD_CKPT_MAX_BLOCKS];
  sd_status rc = SD_OK;
  if (fread(magic, 1, 8, f) != 8 || memcmp(magic, MAGIC, 8) != 0 || fread(&nb, sizeof nb, 1, f) != 1 ||
      nb != n_blocks || n_blocks > SD_CKPT_MAX_BLOCKS || fread(l, sizeof *l, n_blocks, f) != n_blocks) {
    rc = sd_error(SD_ERR_IO, "%s: not a saddle checkpoint of this version", path);
  }
  for (size_t i = 0; rc == SD_OK && i < n_blocks; i++) {
    lens[i] = (size_t)l[i];
    blocks[i] = sd_malloc((lens[i] ? lens[i] : 1) * sizeof(double));
    if (!blocks[i]) rc = sd_error(SD_ERR_NOMEM, "out of memory reading %s", path);
    else if (lens[i] && fread(blocks[i], sizeof(double), lens[i], f) != lens[i])
      rc = sd_error(SD_ERR_IO, "%s: checkpoint is truncated", path);
  }
  fclose(f);
  if (rc != SD_OK)
    for (size_t i = 0; i < n_blocks; i++) {
      sd_free(blocks[i]);
      blocks[i] = NULL;
    }
  return rc;
}
