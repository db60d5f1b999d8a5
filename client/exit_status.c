/* client/exit_status.c — owns the exit statuses of DESIGN.md §6, a contract
 * users' scripts rely on: 0 done, 1 failed or rejected (and cancelled, and
 * any request error), 2 usage, 3 done with a diagnosed problem, 69 daemon
 * unreachable. */
#include <string.h>

#include "output.h"

int fl_cli_exit_for_end(const char *state, bool diagnosed) {
  if (state && strcmp(state, "done") == 0)
    return diagnosed ? FL_EXIT_DIAGNOSED : FL_EXIT_OK;
  /* failed, rejected, cancelled (no model came out), or a state this
   * client does not know: none of them is success. */
  return FL_EXIT_FAILED;
}

int fl_cli_exit_for_connect(int code) {
  return code == FL_ECONNECTION || code == FL_EPERM ? FL_EXIT_UNREACHABLE
                                                    : FL_EXIT_FAILED;
}

bool fl_cli_findings_have_error(const fl_json *findings) {
  for (size_t i = 0; i < fl_json_array_size(findings); i++) {
    const char *sev =
        fl_json_string(fl_json_get(fl_json_array_at(findings, i), "severity"));
    if (sev && strcmp(sev, "error") == 0) return true;
  }
  return false;
}

/* failed > diagnosed > done: the order a script cares about. */
static int exit_rank(int e) {
  return e == FL_EXIT_OK ? 0 : e == FL_EXIT_DIAGNOSED ? 1 : 2;
}

int fl_cli_exit_worst(int a, int b) {
  if (exit_rank(a) != exit_rank(b)) return exit_rank(a) > exit_rank(b) ? a : b;
  return a;
}
