/* SPDX-License-Identifier: Apache-2.0 */
/* JSON Schema draft-04 "format" checkers. */
#ifndef IDMEFV2_FORMAT_PRIVATE_H
#define IDMEFV2_FORMAT_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

/* Returns true if @s (@len bytes, may contain NUL) conforms. */
typedef bool (*idmefv2__format_fn)(const char *s, size_t len);

/*
 * The checker of @name: "date-time" (RFC 3339), "email" (RFC 5321
 * addr-spec), "hostname" (RFC 1123), "ipv4", "ipv6" (RFC 4291 text forms),
 * "uri" (RFC 3986 absolute URI with scheme). NULL for an unknown format,
 * which draft-04 says to ignore.
 */
idmefv2__format_fn idmefv2__format_lookup(const char *name);

#endif
