/* daemon/config.h — the daemon's config file: `key = value` lines, `#`
 * comments. Keys (all optional; docs/flatlined.conf.example explains each):
 * max_queued_jobs, max_storage_bytes (alias max_blob_bytes) and
 * max_storage_files (per user: uploads and job files together),
 * follower_max_frames, follower_max_bytes (per connection),
 * max_connections_per_user, load_memory_bytes (data loads and checks, all
 * users together), cpu_memory_percent (of RAM, for models on a CPU
 * device), autotune (true|false: tune a device's GEMMs on first use; read
 * at start only). */
#ifndef FL_DAEMON_CONFIG_H
#define FL_DAEMON_CONFIG_H

#include "daemon.h"

void fl_limits_default(fl_limits *l);
/* Reads path into *l: keys absent from the file take their default (so a
 * reload forgets a removed key). Unknown keys and values out of a key's
 * range are errors naming the line and the range; *l is then unchanged. */
int fl_config_load(const char *path, fl_limits *l, fl_error *err);

#endif
