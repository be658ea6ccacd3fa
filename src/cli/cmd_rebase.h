/* ringvm snapshot-rebase (cmd_rebase.c). */
#ifndef RINGVM_CMD_REBASE_H
#define RINGVM_CMD_REBASE_H

/* argv[0] is "snapshot-rebase".  Returns the exit status. */
int cmd_snapshot_rebase(int argc, char **argv);

#endif
