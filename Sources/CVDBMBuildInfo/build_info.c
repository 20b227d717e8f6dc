#include "vdbm_build_info.h"

// Written by scripts/stamp-commit (not committed): `#define VDBM_BUILD_COMMIT "<sha>"`.
#if __has_include("vdbm_build_commit.h")
#include "vdbm_build_commit.h"
#endif

#ifndef VDBM_BUILD_COMMIT
#define VDBM_BUILD_COMMIT ""
#endif

const char *vdbm_build_commit(void) { return VDBM_BUILD_COMMIT; }
