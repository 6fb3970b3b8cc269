/* checkpoint.h: one binary file holding a run's state, written atomically (temporary name, then rename).
 *
 * Layout (little-endian): "SDCKPT02", u64 number of blocks, u64 length of each block (in doubles), u64 tag
 * (the run layer's hash of the config the state belongs to), the blocks' doubles one after the other, and
 * last a u64 FNV-1a checksum of every byte before it, so that a changed, truncated or extended file is refused
 * rather than resumed into different results. What the blocks mean is the run layer's business. */
#ifndef SADDLE_CHECKPOINT_H
#define SADDLE_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>
#include "saddle/error.h"

#define SD_CKPT_MAX_BLOCKS 8

sd_status sd_checkpoint_write(const char *path, uint64_t tag, size_t n_blocks, const double *const *blocks, const size_t *lens);
/* Reads a checkpoint with exactly n_blocks blocks and verifies its checksum; blocks[i] (caller frees each with
 * sd_free), lens[i] and *tag are set. SD_ERR_IO naming the file when it is not one, is corrupt or truncated. */
sd_status sd_checkpoint_read(const char *path, size_t n_blocks, double **blocks, size_t *lens, uint64_t *tag);
/* FNV-1a 64 of n bytes, continuing from h (start with SD_FNV_OFFSET). */
#define SD_FNV_OFFSET 0xcbf29ce484222325ULL
uint64_t sd_fnv1a(uint64_t h, const void *data, size_t n);

#endif
