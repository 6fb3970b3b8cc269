/* checkpoint.c: the checkpoint file (see checkpoint.h). */
#include "saddle/checkpoint.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "saddle/alloc.h"
#include "saddle/atomicfile.h"

static const char MAGIC[8] = {'S', 'D', 'C', 'K', 'P', 'T', '0', '2'};

uint64_t sd_fnv1a(uint64_t h, const void *data, size_t n) {
  const unsigned char *p = data;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ULL; /* each byte's change alters h: ×prime is a bijection */
  return h;
}

/* fwrite that also folds the bytes into the running checksum */
static void put(FILE *f, uint64_t *h, const void *data, size_t n) {
  fwrite(data, 1, n, f);
  *h = sd_fnv1a(*h, data, n);
}

sd_status sd_checkpoint_write(const char *path, uint64_t tag, size_t n_blocks, const double *const *blocks, const size_t *lens) {
  if (n_blocks > SD_CKPT_MAX_BLOCKS) return sd_error(SD_ERR_INTERNAL, "checkpoint: too many blocks");
  sd_atomic_file af;
  SD_TRY(sd_atomic_open(&af, path));
  uint64_t nb = n_blocks, h = SD_FNV_OFFSET;
  put(af.fp, &h, MAGIC, 8);
  put(af.fp, &h, &nb, sizeof nb);
  for (size_t i = 0; i < n_blocks; i++) {
    uint64_t l = lens[i];
    put(af.fp, &h, &l, sizeof l);
  }
  put(af.fp, &h, &tag, sizeof tag);
  for (size_t i = 0; i < n_blocks; i++)
    if (lens[i]) put(af.fp, &h, blocks[i], lens[i] * sizeof(double));
  fwrite(&h, sizeof h, 1, af.fp);
  return sd_atomic_commit(&af);
}

/* fread that folds what it read into the running checksum; 0 when short */
static int get(FILE *f, uint64_t *h, void *data, size_t n) {
  if (fread(data, 1, n, f) != n) return 0;
  *h = sd_fnv1a(*h, data, n);
  return 1;
}

sd_status sd_checkpoint_read(const char *path, size_t n_blocks, double **blocks, size_t *lens, uint64_t *tag) {
  for (size_t i = 0; i < n_blocks; i++) blocks[i] = NULL, lens[i] = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return sd_error(SD_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  char magic[8];
  uint64_t nb = 0, l[SD_CKPT_MAX_BLOCKS], h = SD_FNV_OFFSET, stored = 0;
  sd_status rc = SD_OK;
  if (!get(f, &h, magic, 8) || memcmp(magic, MAGIC, 6) != 0) {
    rc = sd_error(SD_ERR_IO, "%s: not a saddle checkpoint", path);
  } else if (memcmp(magic, MAGIC, 8) != 0) {
    rc = sd_error(SD_ERR_IO, "%s: a checkpoint of another saddle version (%.8s; this one reads %.8s)", path, magic, MAGIC);
  } else if (!get(f, &h, &nb, sizeof nb) || nb != n_blocks || n_blocks > SD_CKPT_MAX_BLOCKS ||
             !get(f, &h, l, n_blocks * sizeof *l) || !get(f, &h, tag, sizeof *tag)) {
    rc = sd_error(SD_ERR_IO, "%s: corrupt checkpoint (bad header)", path);
  }
  /* the lengths must account for the file's size exactly before anything is allocated from them */
  long here = ftell(f);
  uint64_t need = 0;
  for (size_t i = 0; rc == SD_OK && i < n_blocks; i++) need += l[i] > ((uint64_t)1 << 56) ? ((uint64_t)1 << 60) : l[i] * sizeof(double);
  if (rc == SD_OK && (here < 0 || fseek(f, 0, SEEK_END) != 0 || (uint64_t)ftell(f) != (uint64_t)here + need + sizeof stored ||
                      fseek(f, here, SEEK_SET) != 0))
    rc = sd_error(SD_ERR_IO, "%s: corrupt checkpoint (its block lengths do not match its size)", path);
  for (size_t i = 0; rc == SD_OK && i < n_blocks; i++) {
    lens[i] = (size_t)l[i];
    blocks[i] = sd_malloc((lens[i] ? lens[i] : 1) * sizeof(double));
    if (!blocks[i]) rc = sd_error(SD_ERR_NOMEM, "out of memory reading %s", path);
    else if (lens[i] && !get(f, &h, blocks[i], lens[i] * sizeof(double)))
      rc = sd_error(SD_ERR_IO, "%s: checkpoint is truncated", path);
  }
  char extra;
  if (rc == SD_OK && fread(&stored, sizeof stored, 1, f) != 1) rc = sd_error(SD_ERR_IO, "%s: checkpoint is truncated", path);
  else if (rc == SD_OK && (stored != h || fread(&extra, 1, 1, f) != 0))
    rc = sd_error(SD_ERR_IO, "%s: corrupt checkpoint (checksum mismatch): refusing to resume from it", path);
  fclose(f);
  if (rc != SD_OK)
    for (size_t i = 0; i < n_blocks; i++) {
      sd_free(blocks[i]);
      blocks[i] = NULL;
    }
  return rc;
}
