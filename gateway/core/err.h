/* An error that says what failed, which field, and why: what the API turns into a 4xx body and the
 * CLI prints. Functions that take a struct pc_err * still return 0 or a negative errno. */
#ifndef PORTCULLIS_CORE_ERR_H
#define PORTCULLIS_CORE_ERR_H

#include <stddef.h>

enum pc_err_kind {
	PC_ERR_NONE = 0,
	PC_ERR_INVALID,  /* malformed or out of range input (HTTP 400/422) */
	PC_ERR_NOTFOUND, /* unknown id or name (404) */
	PC_ERR_CONFLICT, /* duplicate, or still referenced (409) */
	PC_ERR_FORBIDDEN,
	PC_ERR_APPLY,    /* the kernel or another subsystem refused the change */
	PC_ERR_INTERNAL, /* database or system failure (500) */
};

struct pc_err {
	enum pc_err_kind kind;
	char field[64]; /* which field, "" when the error is not about one field */
	char msg[512];
};

int pc_err_set(struct pc_err *e, enum pc_err_kind kind, const char *field, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
void pc_err_clear(struct pc_err *e);
const char *pc_err_kind_name(enum pc_err_kind kind);

#endif
