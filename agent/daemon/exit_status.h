/* exit_status.h: hearsayd's exit statuses (hearsayd(8), docs/operations.md). The systemd unit
 * lists 2 and 65 in RestartPreventExitStatus=: restarting cannot fix either. */
#ifndef HSD_EXIT_STATUS_H
#define HSD_EXIT_STATUS_H

#define HSD_EXIT_OK     0
#define HSD_EXIT_ERROR  1  /* a runtime error: a socket, memory, an I/O error */
#define HSD_EXIT_CONFIG 2  /* bad command line, configuration, or an unsafe file or directory */
#define HSD_EXIT_DATA   65 /* stored Raft data is damaged (EX_DATAERR): repair, see raft.md */

#endif
