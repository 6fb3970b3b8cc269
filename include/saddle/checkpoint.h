/* checkpoint.h: one binary file holding a run's state, written atomically (temporary name, then rename).
 *
 * Layout (little-endian): "SDCKPT01", u64 number of blocks, u64 length of each block (in doubles), then the
 * blocks' doubles one after the other. What the blocks mean is the run layer's business (run.c). */
#ifndef SADDLE_CHECKPOINT_H
#define SADDLE_CHECKPOINT_H

#include <stddef.h>
#include "saddle/error.h"

#define SD_CKPT_MAX_BLOCKS 8

sd_status sd_checkpoint_write(const char *path, size_t n_blocks, const double *const *blocks, const size_t *lens);
/* Reads a checkpoint with exactly n_blocks blocks; blocks[i] (caller frees each with sd_free) and lens[i] are set. */
sd_status sd_checkpoint_read(const char *path, size_t n_blocks, double **blocks, size_t *lens);

#endif
