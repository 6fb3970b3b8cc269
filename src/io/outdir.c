/* outdir.c: the directory a run or a sweep writes into (see outdir.h). */
#include "saddle/outdir.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "saddle/alloc.h"

static int make_parents(const char *path) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  return 0;
}

sd_status sd_outdir_create(const char *out_dir, const char *name, unsigned long long seed, char **out) {
  char path[4096];
  *out = NULL;
  if (out_dir) {
    snprintf(path, sizeof path, "%s", out_dir);
    if (make_parents(path) != 0) return sd_error(SD_ERR_IO, "cannot create the parents of %s: %s", path, strerror(errno));
    if (mkdir(path, 0777) != 0) {
      if (errno != EEXIST) return sd_error(SD_ERR_IO, "cannot create %s: %s", path, strerror(errno));
      char probe[4200];
      snprintf(probe, sizeof probe, "%s/summary.json", path);
      if (access(probe, F_OK) == 0) return sd_error(SD_ERR_IO, "%s already holds a run; choose another -o directory", path);
    }
  } else {
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    if (mkdir("runs", 0777) != 0 && errno != EEXIST) return sd_error(SD_ERR_IO, "cannot create runs/: %s", strerror(errno));
    int made = 0;
    for (int k = 1; k < 1000 && !made; k++) {
      if (k == 1) snprintf(path, sizeof path, "runs/%s-%llu-%s", name, seed, stamp);
      else snprintf(path, sizeof path, "runs/%s-%llu-%s-%d", name, seed, stamp, k);
      if (mkdir(path, 0777) == 0) made = 1;
      else if (errno != EEXIST) return sd_error(SD_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    }
    if (!made) return sd_error(SD_ERR_IO, "cannot find a free directory name under runs/");
  }
  *out = sd_strdup(path);
  return *out ? SD_OK : sd_error(SD_ERR_NOMEM, "out of memory");
}
