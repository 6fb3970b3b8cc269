/* examples.c: where the bundled experiments live. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "saddle/run.h"

#ifndef SADDLE_EXAMPLES_DIR
#define SADDLE_EXAMPLES_DIR "examples"
#endif

static int is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *sd_examples_dir(void) {
  static char buf[PATH_MAX];
  const char *env = getenv("SADDLE_EXAMPLES_DIR");
  if (env && *env) return env;
  if (is_dir(SADDLE_EXAMPLES_DIR)) return SADDLE_EXAMPLES_DIR;
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) {
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (slash) {
      *slash = '\0';
      strncat(buf, "/../share/saddle/examples", sizeof buf - strlen(buf) - 1);
      if (is_dir(buf)) return buf;
    }
  }
  return SADDLE_EXAMPLES_DIR;
}
