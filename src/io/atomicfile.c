/* atomicfile.c: temporary name, then rename (see atomicfile.h). */
#include "saddle/atomicfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "saddle/alloc.h"

sd_status sd_atomic_open(sd_atomic_file *af, const char *path) {
  memset(af, 0, sizeof *af);
  size_t n = strlen(path);
  const char *slash = strrchr(path, '/');
  size_t dir_len = slash ? (size_t)(slash - path + 1) : 0;
  af->path = sd_strdup(path);
  af->tmp_path = sd_malloc(n + 8);
  if (!af->path || !af->tmp_path) {
    sd_atomic_abort(af);
    return sd_error(SD_ERR_NOMEM, "out of memory opening %s", path);
  }
  memcpy(af->tmp_path, path, dir_len);
  snprintf(af->tmp_path + dir_len, n + 8 - dir_len, ".%s.tmp", path + dir_len);
  af->fp = fopen(af->tmp_path, "wb");
  if (!af->fp) {
    int e = errno;
    sd_atomic_abort(af);
    return sd_error(SD_ERR_IO, "cannot create %s: %s", path, strerror(e));
  }
  return SD_OK;
}

sd_status sd_atomic_commit(sd_atomic_file *af) {
  sd_status rc = SD_OK;
  int bad = ferror(af->fp);
  if (fclose(af->fp) != 0 || bad) {
    rc = sd_error(SD_ERR_IO, "cannot write %s: %s", af->path, strerror(errno));
    remove(af->tmp_path);
  } else if (rename(af->tmp_path, af->path) != 0) {
    rc = sd_error(SD_ERR_IO, "cannot rename onto %s: %s", af->path, strerror(errno));
    remove(af->tmp_path);
  }
  af->fp = NULL;
  sd_free(af->path);
  sd_free(af->tmp_path);
  af->path = af->tmp_path = NULL;
  return rc;
}

void sd_atomic_abort(sd_atomic_file *af) {
  if (af->fp) {
    fclose(af->fp);
    remove(af->tmp_path);
  }
  af->fp = NULL;
  sd_free(af->path);
  sd_free(af->tmp_path);
  af->path = af->tmp_path = NULL;
}
