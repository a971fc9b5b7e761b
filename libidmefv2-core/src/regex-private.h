/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Regular expressions with ECMA-262 semantics, as JSON Schema "pattern"
 * requires: `$` matches only at the very end of the subject (never before a
 * trailing newline), subjects are length-delimited (may contain NUL), `\xHH`,
 * `\d`, `\w`, `\s` as in ECMA-262, and the match is a search (unanchored
 * unless the pattern anchors itself).
 */
#ifndef IDMEFV2_REGEX_PRIVATE_H
#define IDMEFV2_REGEX_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct idmefv2__regex idmefv2__regex;

/*
 * Compile @pattern (UTF-8, @len bytes). Returns NULL and writes a message
 * naming the offset at fault into @errstr if the pattern is invalid.
 */
idmefv2__regex *idmefv2__regex_compile(const char *pattern, size_t len,
                                       char *errstr, size_t errstr_size);

/*
 * Search @subject (UTF-8, @len bytes). Thread-safe on a shared regex; no
 * allocation in the steady state.
 * Returns 1 on a match, 0 on no match, -1 on an engine error (e.g. match limit).
 */
int idmefv2__regex_match(const idmefv2__regex *re, const char *subject, size_t len);

void idmefv2__regex_free(idmefv2__regex *re);

/*
 * For tests: match with one engine, the byte DFA (@dfa true; -1 if the
 * pattern has none) or PCRE2. Every pattern has the PCRE2 engine.
 */
int idmefv2__regex_match_engine(const idmefv2__regex *re, const char *subject, size_t len, bool dfa);
/* For tests: whether idmefv2__regex_match() uses the DFA for @re. */
bool idmefv2__regex_has_dfa(const idmefv2__regex *re);

#endif
