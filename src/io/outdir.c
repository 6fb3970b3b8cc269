/* outdir.c: the directory a run or a sweep writes into (see outdir.h). */
#include "saddle/outdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
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

void sd_outdir_release(int *lock_fd) {
  if (*lock_fd >= 0) close(*lock_fd); /* closing drops the flock; the file stays (unlinking it would race) */
  *lock_fd = -1;
}

sd_status sd_outdir_claim(const char *dir, int *lock_fd) {
  char path[4200];
  *lock_fd = -1;
  snprintf(path, sizeof path, "%s/.saddle.lock", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) return sd_error(SD_ERR_IO, "cannot claim %s: %s", dir, strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    char pid[32] = "";
    ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
    pid[n > 0 ? n : 0] = '\0';
    pid[strcspn(pid, "\n")] = '\0';
    close(fd);
    if (e == EWOULDBLOCK)
      return sd_error(SD_ERR_CONFIG, "%s is in use by another saddle process%s%s%s; wait for it or choose another -o directory",
                      dir, *pid ? " (pid " : "", pid, *pid ? ")" : "");
    return sd_error(SD_ERR_IO, "cannot lock %s: %s", path, strerror(e));
  }
  char pid[32];
  int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len) { /* the pid is only for the message above */
  }
  *lock_fd = fd;
  return SD_OK;
}

int sd_outdir_summary(const char *dir, char *kind, size_t kind_len, char *status, size_t status_len, char *experiment,
                      size_t experiment_len) {
  char path[4200];
  snprintf(path, sizeof path, "%s/summary.json", dir);
  json_error_t err;
  json_t *root = json_load_file(path, 0, &err);
  if (!root) return 0;
  const char *k = json_string_value(json_object_get(root, "kind"));
  const char *s = json_string_value(json_object_get(root, "status"));
  const char *x = json_string_value(json_object_get(root, "experiment"));
  if (kind) snprintf(kind, kind_len, "%s", k ? k : "run");
  if (status) snprintf(status, status_len, "%s", s ? s : "");
  if (experiment) snprintf(experiment, experiment_len, "%s", x ? x : "");
  json_decref(root);
  return 1;
}

/* What a directory may hold when it has no summary.json yet: saddle writes config.resolved.yaml, arrays/ and
 * temporary files before its first summary.json, so anything else (a metrics.csv, say) is the user's. */
static int ours_before_summary(const char *name) {
  if (!strcmp(name, "config.resolved.yaml") || !strcmp(name, "arrays") || !strcmp(name, ".saddle.lock")) return 1;
  size_t n = strlen(name);
  return name[0] == '.' && n > 5 && strstr(name, ".tmp") != NULL; /* a temporary file of an interrupted write */
}

/* Under the claim: may a new run (or sweep) write into dir? *adopted: it holds a sweep of this experiment. */
static sd_status check_contents(const char *dir, const char *name, sd_outdir_mode mode, int *adopted) {
  char kind[32], status[64], exp[256];
  *adopted = 0;
  if (sd_outdir_summary(dir, kind, sizeof kind, status, sizeof status, exp, sizeof exp)) {
    int is_sweep = !strcmp(kind, "sweep");
    if (mode == SD_OUTDIR_SWEEP && is_sweep && !strcmp(exp, name)) {
      *adopted = 1;
      return SD_OK;
    }
    if (is_sweep)
      return sd_error(SD_ERR_CONFIG, "%s already holds a sweep (of %s); choose another -o directory", dir, exp);
    return sd_error(SD_ERR_CONFIG, "%s already holds a run (status %s); choose another -o directory%s", dir, status,
                    !strcmp(status, "running") || !strcmp(status, "interrupted") ? ", or `saddle resume` it" : "");
  }
  DIR *d = opendir(dir);
  if (!d) return sd_error(SD_ERR_IO, "cannot read %s: %s", dir, strerror(errno));
  struct dirent *de;
  char foreign[256] = "";
  while ((de = readdir(d)) != NULL) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    if (!ours_before_summary(de->d_name)) {
      snprintf(foreign, sizeof foreign, "%s", de->d_name);
      break;
    }
  }
  closedir(d);
  if (*foreign)
    return sd_error(SD_ERR_CONFIG, "%s holds files saddle did not write (%s); saddle would replace them: choose an empty or new -o directory",
                    dir, foreign);
  return SD_OK;
}

sd_status sd_outdir_create(const char *out_dir, const char *name, unsigned long long seed, sd_outdir_mode mode,
                           char **out, int *lock_fd, int *adopted) {
  char path[4096];
  int adopt = 0;
  *out = NULL;
  *lock_fd = -1;
  if (adopted) *adopted = 0;
  if (out_dir) {
    snprintf(path, sizeof path, "%s", out_dir);
    if (mode == SD_OUTDIR_RESUME) {
      struct stat st;
      if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return sd_error(SD_ERR_IO, "%s: no such directory", path);
    } else {
      if (make_parents(path) != 0) return sd_error(SD_ERR_IO, "cannot create the parents of %s: %s", path, strerror(errno));
      if (mkdir(path, 0777) != 0 && errno != EEXIST) return sd_error(SD_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    }
    SD_TRY(sd_outdir_claim(path, lock_fd));
    if (mode != SD_OUTDIR_RESUME) {
      sd_status rc = check_contents(path, name, mode, &adopt);
      if (rc != SD_OK) {
        sd_outdir_release(lock_fd);
        return rc;
      }
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
      if (mkdir(path, 0777) == 0) made = 1; /* a directory this process made is its own */
      else if (errno != EEXIST) return sd_error(SD_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    }
    if (!made) return sd_error(SD_ERR_IO, "cannot find a free directory name under runs/");
    SD_TRY(sd_outdir_claim(path, lock_fd));
  }
  *out = sd_strdup(path);
  if (!*out) {
    sd_outdir_release(lock_fd);
    return sd_error(SD_ERR_NOMEM, "out of memory");
  }
  if (adopted) *adopted = adopt;
  return SD_OK;
}

/* Removes what saddle writes in a run directory (its top-level files and the .npy files in arrays/); refuses when it holds
 * anything else, so a user's file is never deleted. */
sd_status sd_outdir_clear(const char *dir) {
  static const char *const files[] = {"config.resolved.yaml", "metrics.csv", "summary.json", "checkpoint.bin",
                                      "figure.png", "figure.svg", "figure.pdf", NULL};
  char path[4400];
  DIR *d = opendir(dir);
  if (!d) return sd_error(SD_ERR_IO, "cannot read %s: %s", dir, strerror(errno));
  struct dirent *de;
  sd_status rc = SD_OK;
  while (rc == SD_OK && (de = readdir(d)) != NULL) {
    const char *n = de->d_name;
    if (!strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, ".saddle.lock") || !strcmp(n, "arrays")) continue;
    int known = n[0] == '.' && strstr(n, ".tmp") != NULL;
    for (const char *const *f = files; *f && !known; f++) known = !strcmp(n, *f);
    if (!known) {
      rc = sd_error(SD_ERR_CONFIG, "%s holds files saddle did not write (%s): not clearing it to rerun the run", dir, n);
      break;
    }
    snprintf(path, sizeof path, "%s/%s", dir, n);
    if (remove(path) != 0) rc = sd_error(SD_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
  }
  closedir(d);
  snprintf(path, sizeof path, "%s/arrays", dir);
  DIR *a = rc == SD_OK ? opendir(path) : NULL;
  while (a && rc == SD_OK && (de = readdir(a)) != NULL) {
    size_t n = strlen(de->d_name);
    if (n > 4 && (!strcmp(de->d_name + n - 4, ".npy") || strstr(de->d_name, ".tmp"))) {
      char f[4700];
      snprintf(f, sizeof f, "%s/%s", path, de->d_name);
      if (remove(f) != 0) rc = sd_error(SD_ERR_IO, "cannot remove %s: %s", f, strerror(errno));
    }
  }
  if (a) closedir(a);
  return rc;
}
