/* errors.c - names of the KS_E* result codes. */
#include "kensa.h"

const char *ks_strerror(int rc)
{
    switch (rc) {
    case KS_OK: return "success";
    case KS_ENOMEM: return "out of memory";
    case KS_ESYNTAX: return "syntax error in rules";
    case KS_EIO: return "could not open or read file";
    case KS_ELIMIT: return "limit reached";
    case KS_EFORMAT: return "malformed input";
    case KS_EARG: return "invalid argument";
    case KS_ETIMEOUT: return "scan timed out";
    case KS_ENOMODULE: return "module not available";
    case KS_EINTERNAL: return "internal error";
    case KS_ESTACK: return "evaluation stack or recursion limit reached";
    case KS_EUNDEF: return "undefined identifier";
    case KS_ETYPE: return "type mismatch";
    case KS_EMODDATA: return "invalid module data";
    default: return "unknown error";
    }
}
