/* The keeper (keeper.c): `gestalt-exec --keeper STATE_DIR`. */
#ifndef GESTALT_KEEPER_H
#define GESTALT_KEEPER_H

/* Bumped with any change of the protocol (the top of keeper.c): a daemon adopts jobs only from a
   keeper that speaks its version. Keep in step with Keeper.java. */
#define KEEPER_VERSION "2"

/* The longest job name (a GPID; LaunchSpec allows 128 characters). */
#define MAX_NAME 128

/* Starts the keeper of this state folder in the background; returns once it listens (0) or not. */
int keeper_main(const char *state, int late_status);

#endif
