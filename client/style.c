/* client/style.c — owns when the client uses colour and which ANSI
 * sequences it uses. Colour is for people at a terminal only: a pipe, a
 * log file or a script gets plain text. */
#include <string.h>

#include "output.h"

bool fl_cli_color_wanted(bool is_tty, bool no_color_flag,
                         const char *no_color_env, const char *term_env) {
  if (!is_tty || no_color_flag) return false;
  /* no-color.org: set and non-empty disables colour, whatever its value. */
  if (no_color_env && no_color_env[0]) return false;
  if (term_env && strcmp(term_env, "dumb") == 0) return false;
  return true;
}

const char *fl_cli_style(const fl_cli_out *o, fl_style s) {
  if (!o || !o->color) return "";
  switch (s) {
    case FL_STYLE_BOLD: return "\033[1m";
    case FL_STYLE_DIM: return "\033[2m";
    case FL_STYLE_ALERT: return "\033[1;31m";
    case FL_STYLE_WARN: return "\033[1;33m";
    case FL_STYLE_GOOD: return "\033[32m";
    case FL_STYLE_RESET: return "\033[0m";
    case FL_STYLE_NONE: break;
  }
  return "";
}

fl_style fl_cli_state_style(const char *state) {
  if (!state) return FL_STYLE_NONE;
  if (strcmp(state, "running") == 0 || strcmp(state, "done") == 0)
    return FL_STYLE_GOOD;
  if (strcmp(state, "failed") == 0 || strcmp(state, "rejected") == 0)
    return FL_STYLE_ALERT;
  if (strcmp(state, "cancelled") == 0) return FL_STYLE_DIM;
  return FL_STYLE_NONE;
}
