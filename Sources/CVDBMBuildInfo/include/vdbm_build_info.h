#ifndef VDBM_BUILD_INFO_H
#define VDBM_BUILD_INFO_H

/// The git commit this binary was built from, as scripts/stamp-commit recorded it before the
/// build (`make build`, `make release`, scripts/test); "" when it did not run.
const char *vdbm_build_commit(void);

#endif
