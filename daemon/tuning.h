/* daemon/tuning.h — GEMM tuning results in the cache dir
 * (<cache dir>/tune/<key>.json, engine/tune.c says what is in them): where
 * the cache dir is, loading and saving, `flatlined --tune`, and the
 * service's tuning of a device on first use. */
#ifndef FL_DAEMON_TUNING_H
#define FL_DAEMON_TUNING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include "flatline/engine.h"

/* The cache dir as the service finds it: opt when given, else the first
 * folder of $CACHE_DIRECTORY (systemd), else /var/cache/flatline. */
void fl_cache_dir_resolve(const char *opt, char *out, size_t size);

/* <cache_dir>/tune/<key of dev>.json */
int fl_tuning_path(const char *cache_dir, fl_device *dev, char *out,
                   size_t size, fl_error *err);

/* Read dev's tuning from the cache dir into *r (not applied). FL_ENOTFOUND
 * when there is none; any other error means the file is there but unusable
 * (malformed, or made for another device/driver/build), and err says why
 * with the path. path (may be NULL) receives the file's path. */
int fl_tuning_load(const char *cache_dir, fl_device *dev, fl_tune_result *r,
                   char *path, size_t path_size, fl_error *err);

/* Write r atomically (mkdir -p of the folder, temp file, rename). */
int fl_tuning_save(const char *cache_dir, const fl_tune_result *r, char *path,
                   size_t path_size, fl_error *err);

/* Load and apply dev's tuning if there is a usable one; for the foreground
 * runner. Says on `note` (may be NULL) which file it used, or why it
 * ignored one; no file is not worth a word. Returns true when applied. */
bool fl_tuning_use_saved(const char *cache_dir, fl_device *dev, FILE *note);

/* `flatlined --tune`: search on the device `device` selects (NULL: auto),
 * print progress on err_out and the table on out, save to the cache dir.
 * Returns the exit status. */
int fl_tune_command(const char *device, const char *cache_dir, bool quick,
                    FILE *out, FILE *err_out);

/* The service's worker, right after opening device `index`: apply the saved
 * tuning; without one and with autotune, run `flatlined --tune --quick` for
 * this device in a child process (its output goes to tune/<key>.log), wait
 * for it, and apply what it saved. Logs what happened. Returns early, with
 * the child killed, once *stopping is set. */
void fl_tuning_prepare_device(const char *cache_dir, fl_device *dev, int index,
                              bool autotune, atomic_bool *stopping);

#endif
