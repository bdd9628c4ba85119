#ifndef AMALGAM_CPOSTGRES_SHIM_H
#define AMALGAM_CPOSTGRES_SHIM_H

// libpq, PostgreSQL's C client (Debian's libpq-dev; pkg-config adds -I/usr/include/postgresql).
#include <libpq-fe.h>

#endif
