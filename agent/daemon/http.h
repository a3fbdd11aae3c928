/* http.h: the HTTP/1.1 + JSON API front-end on the unix socket (docs/api.md): it parses
 * requests, calls the engine's operations and renders their answers. */
#ifndef HSD_HTTP_H
#define HSD_HTTP_H

#include "engine.h"

/* Creates the socket and starts serving; 0, or -1 (logged). */
int hsd_http_open(hsd_engine *e);
void hsd_http_close(void);

#endif
