/* daemon/config.h — the daemon's config file: `key = value` lines, `#`
 * comments. Keys: max_queued_jobs, max_blob_bytes (per user),
 * follower_max_frames, follower_max_bytes (per connection), autotune
 * (true|false: tune a device's GEMMs on first use; read at start only). */
#ifndef FL_DAEMON_CONFIG_H
#define FL_DAEMON_CONFIG_H

#include "daemon.h"

void fl_limits_default(fl_limits *l);
/* Reads path into *l (keys absent keep their value). Unknown keys and bad
 * values are errors naming the line. */
int fl_config_load(const char *path, fl_limits *l, fl_error *err);

#endif
