/* daemon/config.h — the daemon's config file: `key = value` lines, `#`
 * comments. Keys (all optional; flatlined(8) and packaging/flatlined.conf
 * explain each):
 * max_queued_jobs, max_storage_bytes (alias max_blob_bytes) and
 * max_storage_files (per user: uploads and job files together),
 * follower_max_frames, follower_max_bytes (per connection),
 * max_connections_per_user, load_memory_bytes (data loads and checks, all
 * users together), cpu_memory_percent (of RAM, for models on a CPU
 * device), autotune (true|false: tune a device's GEMMs on first use; read
 * at start only), retention_days (finished jobs and unused uploads expire;
 * 0 = never), test_clock_offset (tests only: seconds added to the clock).
 * Which file: --config when given, else FL_CONFIG_DEFAULT_PATH when it
 * exists (the Debian package ships it, every line commented), else none. */
#ifndef FL_DAEMON_CONFIG_H
#define FL_DAEMON_CONFIG_H

#include "daemon.h"

/* An admin looks for a daemon's settings in /etc; a build for another
 * layout may say otherwise (-DFL_CONFIG_DEFAULT_PATH=...). */
#ifndef FL_CONFIG_DEFAULT_PATH
#define FL_CONFIG_DEFAULT_PATH "/etc/flatline/flatlined.conf"
#endif

void fl_limits_default(fl_limits *l);
/* Reads path into *l: keys absent from the file take their default (so a
 * reload forgets a removed key). Unknown keys and values out of a key's
 * range are errors naming the line and the range; *l is then unchanged. */
int fl_config_load(const char *path, fl_limits *l, fl_error *err);

/* The daemon's limits at start and on SIGHUP: explicit_path (--config; it
 * must exist) when not NULL, else default_path when it exists, else the
 * defaults. A file is read through its links (admins manage /etc with
 * them; a reload reads what the link names now). *used is the file read,
 * or NULL when none was; on an error *l is unchanged. A default file that
 * exists but cannot be read or parsed is an error, not a silent default. */
int fl_config_load_chosen(const char *explicit_path, const char *default_path,
                          fl_limits *l, const char **used, fl_error *err);

#endif
