/* data/array.c — placeholder, being written. */
