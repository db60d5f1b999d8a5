/* client/main.c — flatline's entry point: parse the command line, decide
 * how output looks (JSON, colour, terminal), dispatch through the command
 * table, and turn the result into the exit status. The only exit is here. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "output.h"
#include "slurm.h"

int main(int argc, char **argv) {
  /* SIGPIPE keeps its default: `flatline list | head` ends quietly as
   * Unix tools do. The socket is written with MSG_NOSIGNAL (protocol/conn.c),
   * so a daemon hanging up is an error we report, not a silent death. */
  fl_cli_args args;
  char msg[512];
  if (fl_cli_parse(argc, argv, &args, msg, sizeof msg)) {
    fprintf(stderr, "flatline: %s\n", msg);
    return FL_EXIT_USAGE;
  }
  if (args.version) {
    printf("flatline %s (protocol %d)\n", FL_VERSION_STRING,
           FL_PROTOCOL_VERSION);
    return FL_EXIT_OK;
  }
  fl_cli_out out = {
      .out = stdout,
      .err = stderr,
      .json = args.json,
      .out_tty = isatty(STDOUT_FILENO) == 1,
      .err_tty = isatty(STDERR_FILENO) == 1,
  };
  out.columns = fl_cli_columns(getenv("COLUMNS"), out.out_tty);
  out.color = fl_cli_color_wanted(out.out_tty, args.no_color,
                                  getenv("NO_COLOR"), getenv("TERM"));

  int rc;
  if (args.help) {
    fl_cli_args help = args;
    help.topic = args.command;
    rc = fl_cli_cmd_help(&help, &out);
  } else if ((rc = fl_cli_slurm_dispatch(&args, &out)) < 0) {
    /* not about Slurm jobs (client/slurm.h): the daemon's command */
    rc = args.command->handler(&args, &out);
  }

  if (fflush(stdout) != 0 || ferror(stdout)) {
    /* A full disk or a closed descriptor: worth a sentence, and not a
     * success. (EPIPE only reaches here if SIGPIPE is ignored.) */
    if (errno != EPIPE)
      fprintf(stderr, "flatline: cannot write the output: %s\n",
              strerror(errno));
    if (rc == FL_EXIT_OK) rc = FL_EXIT_FAILED;
  }
  return rc;
}
