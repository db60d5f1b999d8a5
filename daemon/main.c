/* daemon/main.c — placeholder while the engine is written. */
int main(void) { return 0; }
