#include "gateway/core/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int
pc_err_set(struct pc_err *e, enum pc_err_kind kind, const char *field, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		goto out;
	e->kind = kind;
	snprintf(e->field, sizeof(e->field), "%s", field != NULL ? field : "");
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
out:
	switch (kind) {
	case PC_ERR_NONE:
		return 0;
	case PC_ERR_INVALID:
		return -EINVAL;
	case PC_ERR_NOTFOUND:
		return -ENOENT;
	case PC_ERR_CONFLICT:
		return -EEXIST;
	case PC_ERR_FORBIDDEN:
		return -EPERM;
	case PC_ERR_APPLY:
		return -EREMOTEIO;
	case PC_ERR_INTERNAL:
	default:
		return -EIO;
	}
}

void
pc_err_clear(struct pc_err *e)
{
	if (e != NULL)
		memset(e, 0, sizeof(*e));
}

const char *
pc_err_kind_name(enum pc_err_kind kind)
{
	static const char *const names[] = {"none",      "invalid", "not_found", "conflict",
	                                    "forbidden", "apply",   "internal"};

	if ((unsigned)kind >= sizeof(names) / sizeof(names[0]))
		return "internal";
	return names[kind];
}
