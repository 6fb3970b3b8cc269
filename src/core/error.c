/* error.c: the single error choke point (see error.h). */
#include "saddle/error.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_msg[2048];
static _Thread_local char last_origin[256];

sd_status sd_error_at(sd_status code, const char *src_file, int src_line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_msg, sizeof last_msg, fmt, ap);
  va_end(ap);
  snprintf(last_origin, sizeof last_origin, "%s:%d", src_file, src_line);
  return code;
}

const char *sd_error_message(void) { return last_msg; }
const char *sd_error_origin(void) { return last_origin; }
void sd_error_clear(void) { last_msg[0] = '\0'; last_origin[0] = '\0'; }

const char *sd_status_name(sd_status code) {
  switch (code) {
    case SD_OK: return "ok";
    case SD_ERR_NOMEM: return "out of memory";
    case SD_ERR_IO: return "i/o error";
    case SD_ERR_CONFIG: return "config error";
    case SD_ERR_NUMERIC: return "numerical error";
    case SD_ERR_INTERNAL: return "internal error";
  }
  return "unknown error";
}
