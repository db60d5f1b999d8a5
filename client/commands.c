/* client/commands.c — owns the const command table: each command's name,
 * handler, syntax flags, usage and help text, in one place, so that the
 * parser, `flatline help` and dispatch cannot disagree about a command. */
#include "cli.h"

#define EXIT_COMMON                                                        \
  "  2   usage error\n"                                                    \
  "  69  the daemon is unreachable (not running, or no permission on its\n" \
  "      socket)\n"

const fl_cli_command fl_cli_commands[] = {
    {"check", fl_cli_cmd_check, FL_CMD_ARG_SPEC, "SPEC",
     "run the preflight checks on a spec and its data",
     "Reads SPEC and the data files it names (with your permissions),\n"
     "uploads the data the daemon does not already hold, and runs the\n"
     "daemon's preflight checks: label encoding against the loss, labels\n"
     "against the output layer, output activation against the loss, class\n"
     "balance, feature scale, device memory. Each finding is printed with\n"
     "its severity, cause, message and the fix as a JSON merge patch.\n"
     "The spec is validated here first; an error names the key.\n"
     "\n"
     "Examples:\n"
     "  flatline check examples/blobs/mlp.json\n"
     "  flatline --json check mlp.json | jq '.findings[].cause'\n"
     "\n"
     "Exit status:\n"
     "  0   no error findings (warnings may be printed)\n"
     "  1   an error finding, an invalid spec, an unreadable data file, or a\n"
     "      request error\n" EXIT_COMMON},
    {"submit", fl_cli_cmd_submit, FL_CMD_ARG_SPEC | FL_CMD_OPT_FOLLOW,
     "SPEC [--follow]", "queue a training job (and stream it with --follow)",
     "Validates SPEC here, uploads the data files it names (each as a\n"
     "SHA-256-addressed blob; files the daemon already holds for you are\n"
     "skipped), and queues the job. Prints the job id: `submitted j17`.\n"
     "Data paths in SPEC are relative to SPEC's folder.\n"
     "\n"
     "Options:\n"
     "  -f, --follow  stay and show the job's epochs, alerts and diagnoses\n"
     "                until it ends (as `flatline follow ID`); the exit status\n"
     "                is then the job's\n"
     "\n"
     "Examples:\n"
     "  flatline submit examples/blobs/mlp.json\n"
     "  flatline submit --follow mlp.json\n"
     "  flatline --json submit --follow mlp.json > run.jsonl\n"
     "\n"
     "Exit status:\n"
     "  0   queued (with --follow: the job is done)\n"
     "  1   the spec is invalid, the daemon rejected the job, a request\n"
     "      failed, or (with --follow) the job failed or was cancelled\n"
     "  3   with --follow: the job is done, but a problem was diagnosed\n" EXIT_COMMON},
    {"follow", fl_cli_cmd_follow, FL_CMD_ARG_JOB, "ID",
     "stream a job's epochs and diagnoses until it ends",
     "Shows every event of job ID so far, then the live ones, until the job\n"
     "ends: a table with one row per epoch (loss, accuracy, val_loss,\n"
     "val_acc, lr, seconds, samples/s), progress within long epochs on a\n"
     "terminal, each diagnosis as an alert (cause, confidence, evidence,\n"
     "advice, fix), the job's verdict (healthy, problem, or unexplained with\n"
     "what was tried), and at the end a loss sparkline and a summary.\n"
     "Interrupting (Ctrl-C) stops following; the job keeps running.\n"
     "\n"
     "Examples:\n"
     "  flatline follow j17\n"
     "  flatline --json follow j17 | jq -c 'select(.event==\"epoch\") | .loss'\n"
     "\n"
     "Exit status:\n"
     "  0   the job is done\n"
     "  1   the job failed, was rejected or cancelled; or the stream broke\n"
     "  3   the job is done, but a problem was diagnosed\n" EXIT_COMMON},
    {"list", fl_cli_cmd_list, 0, "",
     "show everyone's jobs: owner, state, device, epoch",
     "Lists all jobs, everyone's: on a shared machine you want to see who\n"
     "holds a GPU. Columns: JOB, USER, NAME, STATE, DEVICE, EPOCH.\n"
     "\n"
     "Examples:\n"
     "  flatline list\n"
     "  flatline --json list | jq -r 'select(.state==\"running\") | .job'\n"
     "\n"
     "Exit status:\n"
     "  0   listed\n"
     "  1   a request error\n" EXIT_COMMON},
    {"show", fl_cli_cmd_show, FL_CMD_ARG_JOB | FL_CMD_OPT_FIXED_SPEC,
     "ID [--fixed-spec]", "show a job, or its spec with the diagnosed fix",
     "Shows job ID: owner, state, device, epoch, the last epoch's metrics,\n"
     "the cause and message of a failure or diagnosis, and its spec. Only\n"
     "the job's owner (or root) may see it.\n"
     "\n"
     "Options:\n"
     "  --fixed-spec  print only the job's spec with the top diagnosed fix\n"
     "                applied, ready to save and submit; when there is no\n"
     "                fix, say so and exit 1. Data paths stay relative to\n"
     "                the original spec's folder: save the file there.\n"
     "\n"
     "Examples:\n"
     "  flatline show j17\n"
     "  flatline show j17 --fixed-spec > mlp-fixed.json && \\\n"
     "    flatline submit --follow mlp-fixed.json\n"
     "\n"
     "Exit status:\n"
     "  0   shown\n"
     "  1   no such job, not yours, no fix (--fixed-spec), or a request\n"
     "      error\n" EXIT_COMMON},
    {"cancel", fl_cli_cmd_cancel, FL_CMD_ARG_JOB, "ID",
     "stop a queued or running job",
     "Cancels job ID: a queued job leaves the queue, a running one stops\n"
     "after its current step. Only the job's owner (or root) may cancel it.\n"
     "Prints `cancelled ID`.\n"
     "\n"
     "Examples:\n"
     "  flatline cancel j17\n"
     "\n"
     "Exit status:\n"
     "  0   cancelled\n"
     "  1   no such job, not yours, already ended, or a request error\n" EXIT_COMMON},
    {"devices", fl_cli_cmd_devices, 0, "",
     "list the OpenCL devices and what they run",
     "Lists the devices the daemon trains on: index (what a spec's\n"
     "\"device\" may name), type, name, memory, the running job and the\n"
     "number queued, and the OpenCL platform.\n"
     "\n"
     "Examples:\n"
     "  flatline devices\n"
     "  flatline --json devices\n"
     "\n"
     "Exit status:\n"
     "  0   listed\n"
     "  1   a request error\n" EXIT_COMMON},
    {"export", fl_cli_cmd_export, FL_CMD_ARG_JOB | FL_CMD_OPT_OUTPUT | FL_CMD_OPT_CSV,
     "ID -o FILE | ID --csv FILE", "save a job's model, or its epochs as CSV",
     "Downloads job ID's model (weights and biases per layer) in the\n"
     "safetensors format and writes it to FILE atomically: FILE.tmp is\n"
     "written, synced, then renamed, so FILE is either whole or untouched.\n"
     "With --csv, writes the job's epochs instead, one row each, as Keras'\n"
     "CSVLogger does: epoch (from 0, as Keras counts), then accuracy,\n"
     "learning_rate, loss, val_accuracy, val_loss (those the job has);\n"
     "a running job's epochs so far.\n"
     "Only the job's owner (or root) may export it.\n"
     "\n"
     "Options:\n"
     "  -o, --output FILE  where to write the model\n"
     "  --csv FILE         where to write the epochs (- for standard output)\n"
     "\n"
     "Examples:\n"
     "  flatline export j17 -o digits.safetensors\n"
     "  flatline export j17 --csv history.csv\n"
     "  flatline export j17 --csv - | column -s, -t\n"
     "\n"
     "Exit status:\n"
     "  0   written\n"
     "  1   no such job or model, not yours, FILE not writable, or a\n"
     "      request error\n" EXIT_COMMON},
    {"report", fl_cli_cmd_report, FL_CMD_ARG_JOB | FL_CMD_OPT_OUTPUT,
     "ID -o FILE.html", "write a job's curves, diagnoses and verdict as one HTML page",
     "Reads job ID's events back from the daemon (as follow does) and writes\n"
     "one self-contained HTML page: the loss and accuracy curves (training\n"
     "and validation, log scale for a loss spanning more than two decades),\n"
     "the learning rate per epoch, markers where a plateau, divergence or\n"
     "overfitting was detected and each diagnosis fired, each diagnosis with\n"
     "its causes and its probes beside the baseline, the verdict with its\n"
     "evidence and fix, the class report and the spec. The pictures are\n"
     "inline SVG: no script, nothing fetched from the network. A running\n"
     "job's page shows it as of its last epoch. FILE is written atomically\n"
     "(- for standard output).\n"
     "\n"
     "Options:\n"
     "  -o, --output FILE  where to write the page\n"
     "\n"
     "Examples:\n"
     "  flatline report j17 -o j17.html && xdg-open j17.html\n"
     "\n"
     "Exit status:\n"
     "  0   written\n"
     "  1   no such job, not yours, no epoch yet, FILE not writable, or a\n"
     "      request error\n" EXIT_COMMON},
    {"predict", fl_cli_cmd_predict,
     FL_CMD_ARG_JOB | FL_CMD_ARG_DATA | FL_CMD_OPT_OUTPUT_OPTIONAL,
     "ID DATA [LABELS] [-o FILE]", "classify data with a job's trained model",
     "Uploads DATA and has the daemon run job ID's model on it, on the\n"
     "device the job trained on (after the job it is running, if any).\n"
     "DATA is in the job's training form: X.npy (LABELS: y.npy, optional),\n"
     "a CSV (with the job's label columns, or without: new rows), or IDX\n"
     "images (LABELS: IDX labels). The job's \"scale\" and standardization\n"
     "are applied. Prints one CSV row per\n"
     "data row: the predicted class id, then the probability of each\n"
     "class (header: class,p0,p1,...). With labels, the accuracy goes to\n"
     "stderr. Only the job's owner (or root) may use its model.\n"
     "\n"
     "Options:\n"
     "  -o, --output FILE  write there instead of stdout (atomically);\n"
     "                     FILE.npy: the probabilities as a float32\n"
     "                     (rows, classes) NumPy array\n"
     "\n"
     "Examples:\n"
     "  flatline predict j17 new.npy -o predictions.csv\n"
     "  flatline predict j17 val.csv | head\n"
     "\n"
     "Exit status:\n"
     "  0   predicted\n"
     "  1   no such job or model, not yours, data of the wrong width or\n"
     "      form, FILE not writable, or a request error\n" EXIT_COMMON},
    {"evaluate", fl_cli_cmd_evaluate, FL_CMD_ARG_JOB | FL_CMD_ARG_DATA,
     "ID DATA [LABELS]", "loss, accuracy and confusion matrix on labelled data",
     "Uploads DATA (and LABELS) and has the daemon compute job ID's loss\n"
     "and accuracy on it, with its model, on the device, and the\n"
     "confusion matrix (rows: true class, columns: predicted; up to 100\n"
     "classes). Forms as for predict; a CSV carries its labels.\n"
     "\n"
     "Examples:\n"
     "  flatline evaluate j17 test.csv\n"
     "  flatline --json evaluate j17 Xt.npy yt.npy\n"
     "\n"
     "Exit status:\n"
     "  0   evaluated\n"
     "  1   no such job or model, not yours, data without labels or of\n"
     "      the wrong width, or a request error\n" EXIT_COMMON},
    {"help", fl_cli_cmd_help, FL_CMD_ARG_TOPIC, "[COMMAND]",
     "show this text, or a command's",
     "Shows the list of commands, or what COMMAND does, its options,\n"
     "examples and exit statuses (as `flatline COMMAND --help`).\n"
     "\n"
     "Examples:\n"
     "  flatline help submit\n"
     "\n"
     "Exit status:\n"
     "  0   shown\n"
     "  2   no such command\n"},
};

const size_t fl_cli_n_commands = sizeof fl_cli_commands / sizeof fl_cli_commands[0];
