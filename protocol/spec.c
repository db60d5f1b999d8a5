/* protocol/spec.c — placeholder, being written. */
