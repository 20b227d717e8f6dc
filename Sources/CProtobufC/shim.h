#ifndef VDBM_CPROTOBUFC_SHIM_H
#define VDBM_CPROTOBUFC_SHIM_H
#include <protobuf-c/protobuf-c.h>
#endif
