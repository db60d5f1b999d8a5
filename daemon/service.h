/* daemon/service.h — flatlined as a service: the libuv loop with its
 * listening socket, device workers, mailbox, signals and systemd hooks. */
#ifndef FL_DAEMON_SERVICE_H
#define FL_DAEMON_SERVICE_H

typedef struct {
  const char *socket_path;  /* NULL: default */
  const char *state_dir;
  const char *cache_dir;
  const char *config_path;  /* NULL: none */
  unsigned socket_mode;     /* when binding the socket ourselves */
  const char *socket_group; /* NULL: leave the group as it is */
} fl_service_options;

/* Runs until SIGTERM/SIGINT; returns the process exit status. */
int fl_service_run(const fl_service_options *opt);

#endif
