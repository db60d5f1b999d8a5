/* client/help.c — owns the help text: the global page (commands, options,
 * which socket would be used and why, exit statuses) and each command's
 * page from its table entry; also the `help [COMMAND]` handler. */
#include <string.h>

#include "cli.h"

void fl_cli_print_usage(FILE *f, const fl_cli_command *cmd) {
  if (!cmd) {
    fprintf(f, "usage: flatline [--socket PATH] [--json] [--no-color] "
            "COMMAND [ARGS]\n");
    return;
  }
  fprintf(f, "usage: flatline [--socket PATH] [--json] [--no-color] %s%s%s\n",
          cmd->name, cmd->usage[0] ? " " : "", cmd->usage);
}

void fl_cli_print_help(FILE *f, const fl_cli_command *cmd,
                       const char *socket_note) {
  fl_cli_print_usage(f, cmd);
  fputc('\n', f);
  if (cmd) {
    fprintf(f, "flatline %s: %s.\n\n%s", cmd->name, cmd->summary, cmd->help);
    fprintf(f, "\nGlobal options (--socket, --json, --no-color) are in "
            "'flatline --help'.\n");
    return;
  }
  fprintf(f,
          "flatline queues training jobs on the flatlined daemon, which owns\n"
          "this machine's OpenCL devices, streams their epochs, and tells you\n"
          "why a loss stays flat.\n\nCommands:\n");
  size_t width = 0;
  for (size_t i = 0; i < fl_cli_n_commands; i++) {
    size_t w = strlen(fl_cli_commands[i].name) + 1 + strlen(fl_cli_commands[i].usage);
    if (w > width) width = w;
  }
  for (size_t i = 0; i < fl_cli_n_commands; i++) {
    const fl_cli_command *c = &fl_cli_commands[i];
    char left[96];
    snprintf(left, sizeof left, "%s %s", c->name, c->usage);
    fprintf(f, "  %-*s  %s\n", (int)width, left, c->summary);
  }
  fprintf(f,
          "\nOptions (before or after the command):\n"
          "  --socket PATH  the daemon's socket (also FLATLINE_SOCKET)\n"
          "  --json         print one JSON object per line, each with an \"event\"\n"
          "                 key (preflight, submitted, epoch, progress, diagnosis,\n"
          "                 verdict, end, job, device, cancelled, exported,\n"
          "                 fixed_spec, submitted_group, group_job)\n"
          "  --no-color     no colour; colour is only used on a terminal, and\n"
          "                 NO_COLOR=1 turns it off too\n"
          "  -h, --help     this text; 'flatline COMMAND --help' for a command\n"
          "  --version      the client's version\n"
          "\nSocket: without --socket or FLATLINE_SOCKET, %s is used if it\n"
          "exists, else $XDG_RUNTIME_DIR/%s (a per-user daemon).\n",
          FL_DEFAULT_SOCKET, FL_SOCKET_NAME);
  if (socket_note) fprintf(f, "Socket now: %s.\n", socket_note);
  fprintf(f,
          "\nExit status: 0 done (or ok), 1 failed, rejected or cancelled, or\n"
          "a request error, 2 usage error, 3 done with a diagnosed problem,\n"
          "69 daemon unreachable.\n"
          "\nSee flatline(1) for the output formats, flatlined(8) for the "
          "daemon.\n");
}

int fl_cli_cmd_help(const fl_cli_args *args, const fl_cli_out *out) {
  fl_cli_socket sock;
  const char *note = NULL;
  if (!args->topic && fl_cli_socket_find(args->socket_path, &sock) == 0)
    note = sock.note;
  fl_cli_print_help(out->out, args->topic, note);
  return FL_EXIT_OK;
}
