/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ECMA-262 patterns for JSON Schema "pattern".
 *
 * The pattern is parsed once into a small syntax tree with ECMA-262 meaning
 * (character sets resolved to code point ranges: `.`, `\s`, `\d`, `\w`,
 * negated classes). From that tree:
 *  - a PCRE2 pattern is written whose meaning is the ECMA one, and compiled
 *    (with JIT when available); it answers every pattern;
 *  - when the pattern lies in the regular subset (no lookaround, no
 *    back-reference, no `\b`, anchors only at the ends of top-level
 *    alternatives, no Unicode property), a byte DFA is built by Thompson
 *    construction and subset construction over UTF-8. Matching then costs
 *    one table load per subject byte, which PCRE2's per-call overhead cannot
 *    approach on the short strings schemas check (UUIDs, timestamps, IPs).
 *
 * Both engines answer the same question: does the pattern match anywhere in
 * the subject, with `$` only at the very end. Lazy and greedy quantifiers are
 * then the same, and captures do not matter.
 */
#include "regex-private.h"
#include "idmefv2-common.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNBOUNDED UINT32_MAX
/* PCRE2's own limit on repetition counts. */
#define MAX_REPEAT 65535
/* Nesting limit, so that recursive parsing and compiling stay shallow. */
#define MAX_DEPTH 200
#define MAX_CODEPOINT 0x10ffff

/* Past these the pattern is left to PCRE2 alone. */
#define NFA_MAX_STATES 40000
#define DFA_MAX_STATES 4096
/* Table entries, and NFA states visited while building, before giving up. */
#define DFA_MAX_ENTRIES (1u << 20)
#define DFA_MAX_WORK 4000000L
/* Two-byte steps when their table stays this small (entries of 16 bits). */
#define DFA_PAIR_MAX_ENTRIES 24576

/* ------------------------------------------------------------------ */
/* Syntax tree                                                          */

enum node_kind {
	N_EMPTY,
	N_SET,     /* one character out of ranges (and PCRE2 property items) */
	N_CAT,
	N_ALT,
	N_REPEAT,
	N_GROUP,   /* capturing */
	N_BOL,
	N_EOL,
	N_WORDB,
	N_NWORDB,
	N_LOOK,
	N_BACKREF,
	N_NAMEDREF,
};

struct range {
	uint32_t lo, hi;
};

struct node {
	uint8_t kind;
	bool lazy;        /* N_REPEAT */
	bool negative;    /* N_LOOK; N_SET with property items: negated class */
	bool behind;      /* N_LOOK */
	int child, last;  /* first and last child */
	int next;         /* next sibling */
	uint32_t min, max; /* N_REPEAT; N_BACKREF: group number in min */
	int r_first, r_count; /* N_SET: ranges */
	int raw_off, raw_len; /* N_SET: PCRE2 property items; names of groups and refs */
	size_t at;        /* offset in the pattern, for messages */
};

struct range_vec {
	struct range *v;
	int n, cap;
};

struct parser {
	const char *p;
	size_t len, i;
	struct node *nodes;
	int n_nodes, cap_nodes;
	struct range_vec ranges;
	char *raw;
	size_t raw_len, raw_cap;
	int n_groups;
	int depth;
	bool nomem;
	const char *err;
	size_t err_at;
};

static bool range_push(struct parser *ps, struct range_vec *rv, uint32_t lo, uint32_t hi)
{
	if (rv->n == rv->cap) {
		int cap = rv->cap ? rv->cap * 2 : 16;
		struct range *v = realloc(rv->v, (size_t)cap * sizeof(*v));
		if (!v) {
			ps->nomem = true;
			return false;
		}
		rv->v = v;
		rv->cap = cap;
	}
	rv->v[rv->n++] = (struct range){lo, hi};
	return true;
}

static int range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sorts and merges rv->v[from..n) in place. */
static void ranges_normalize(struct range_vec *rv, int from)
{
	int n = rv->n - from;
	struct range *r = rv->v + from;
	if (n <= 1)
		return;
	qsort(r, (size_t)n, sizeof(*r), range_cmp);
	int w = 0;
	for (int k = 1; k < n; k++) {
		if (r[k].lo <= r[w].hi + 1) {
			if (r[k].hi > r[w].hi)
				r[w].hi = r[k].hi;
		} else {
			r[++w] = r[k];
		}
	}
	rv->n = from + w + 1;
}

/* Replaces the normalized rv->v[from..n) by its complement in [0, MAX_CODEPOINT]. */
static bool ranges_complement(struct parser *ps, struct range_vec *rv, int from)
{
	int n = rv->n - from;
	uint32_t next = 0;
	/* Append the complement after the original, then slide it down. */
	for (int k = 0; k < n; k++) {
		struct range r = rv->v[from + k];
		if (r.lo > next && !range_push(ps, rv, next, r.lo - 1))
			return false;
		next = r.hi + 1;
	}
	if (next <= MAX_CODEPOINT && !range_push(ps, rv, next, MAX_CODEPOINT))
		return false;
	memmove(rv->v + from, rv->v + from + n, (size_t)(rv->n - from - n) * sizeof(*rv->v));
	rv->n -= n;
	return true;
}

static void parse_error(struct parser *ps, size_t at, const char *why)
{
	if (!ps->err) {
		ps->err = why;
		ps->err_at = at;
	}
}

static int node_new(struct parser *ps, enum node_kind kind, size_t at)
{
	if (ps->n_nodes == ps->cap_nodes) {
		int cap = ps->cap_nodes ? ps->cap_nodes * 2 : 64;
		struct node *v = realloc(ps->nodes, (size_t)cap * sizeof(*v));
		if (!v) {
			ps->nomem = true;
			return -1;
		}
		ps->nodes = v;
		ps->cap_nodes = cap;
	}
	int id = ps->n_nodes++;
	ps->nodes[id] = (struct node){.kind = (uint8_t)kind, .child = -1, .last = -1, .next = -1, .at = at};
	return id;
}

static void node_append(struct parser *ps, int parent, int child)
{
	struct node *p = &ps->nodes[parent];
	if (p->last < 0)
		p->child = child;
	else
		ps->nodes[p->last].next = child;
	p->last = child;
}

static bool raw_append(struct parser *ps, const char *s, size_t n)
{
	if (ps->raw_len + n + 1 > ps->raw_cap) {
		size_t cap = (ps->raw_cap ? ps->raw_cap * 2 : 64) + n;
		char *v = realloc(ps->raw, cap);
		if (!v) {
			ps->nomem = true;
			return false;
		}
		ps->raw = v;
		ps->raw_cap = cap;
	}
	memcpy(ps->raw + ps->raw_len, s, n);
	ps->raw_len += n;
	ps->raw[ps->raw_len] = '\0';
	return true;
}


static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_word(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* Decodes one UTF-8 character of the pattern; -1 on malformed input. */
static int32_t utf8_decode(const char *s, size_t len, size_t *i)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t c = u[*i];
	int n;
	uint32_t min;
	if (c < 0x80) {
		(*i)++;
		return (int32_t)c;
	} else if (c >= 0xc2 && c <= 0xdf) {
		n = 1, c &= 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2, c &= 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3, c &= 0x07, min = 0x10000;
	} else {
		return -1;
	}
	if (*i + (size_t)n >= len)
		return -1;
	for (int k = 1; k <= n; k++) {
		if ((u[*i + k] & 0xc0) != 0x80)
			return -1;
		c = (c << 6) | (u[*i + k] & 0x3f);
	}
	if (c < min || c > MAX_CODEPOINT || (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*i += (size_t)n + 1;
	return (int32_t)c;
}

static const struct range space_ranges[] = {
	{0x09, 0x0d}, {0x20, 0x20}, {0xa0, 0xa0}, {0x1680, 0x1680}, {0x2000, 0x200a},
	{0x2028, 0x2029}, {0x202f, 0x202f}, {0x205f, 0x205f}, {0x3000, 0x3000}, {0xfeff, 0xfeff},
};
static const struct range digit_ranges[] = {{'0', '9'}};
static const struct range word_ranges[] = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
static const struct range dot_excluded[] = {{0x0a, 0x0a}, {0x0d, 0x0d}, {0x2028, 0x2029}};

/* Appends a fixed table, or its complement, to rv. */
static bool push_table(struct parser *ps, struct range_vec *rv, const struct range *t, int n, bool negate)
{
	if (!negate) {
		for (int k = 0; k < n; k++)
			if (!range_push(ps, rv, t[k].lo, t[k].hi))
				return false;
		return true;
	}
	uint32_t next = 0;
	for (int k = 0; k < n; k++) {
		if (t[k].lo > next && !range_push(ps, rv, next, t[k].lo - 1))
			return false;
		next = t[k].hi + 1;
	}
	return range_push(ps, rv, next, MAX_CODEPOINT);
}

/* \d \D \s \S \w \W: true if handled (c was one of them). */
static bool class_escape(struct parser *ps, struct range_vec *rv, int c)
{
	switch (c) {
	case 'd': case 'D':
		push_table(ps, rv, digit_ranges, 1, c == 'D');
		return true;
	case 's': case 'S':
		push_table(ps, rv, space_ranges, (int)(sizeof(space_ranges) / sizeof(space_ranges[0])), c == 'S');
		return true;
	case 'w': case 'W':
		push_table(ps, rv, word_ranges, 4, c == 'W');
		return true;
	default:
		return false;
	}
}

/* \p{...} / \P{...}: appended to ps->raw in PCRE2 spelling. */
static bool property_escape(struct parser *ps, bool negated, size_t at)
{
	if (ps->i >= ps->len || ps->p[ps->i] != '{') {
		parse_error(ps, at, "\\p must be followed by {property}");
		return false;
	}
	size_t start = ps->i + 1, end = start;
	while (end < ps->len && ps->p[end] != '}') {
		char c = ps->p[end];
		if (!is_word((unsigned char)c) && c != '=') {
			parse_error(ps, at, "malformed Unicode property escape");
			return false;
		}
		end++;
	}
	if (end >= ps->len || end == start) {
		parse_error(ps, at, "malformed Unicode property escape");
		return false;
	}
	ps->i = end + 1;
	const char *name = ps->p + start;
	size_t n = end - start;
	const char *eq = memchr(name, '=', n);
	char buf[96];
	if (eq) {
		size_t kl = (size_t)(eq - name);
		const char *val = eq + 1;
		size_t vl = n - kl - 1;
		const char *pfx;
		if ((kl == 6 && !memcmp(name, "Script", 6)) || (kl == 2 && !memcmp(name, "sc", 2)))
			pfx = "sc:";
		else if ((kl == 17 && !memcmp(name, "Script_Extensions", 17)) || (kl == 3 && !memcmp(name, "scx", 3)))
			pfx = "scx:";
		else if ((kl == 16 && !memcmp(name, "General_Category", 16)) || (kl == 2 && !memcmp(name, "gc", 2)))
			pfx = "";
		else {
			parse_error(ps, at, "unknown Unicode property name");
			return false;
		}
		if (vl == 0 || vl > 60) {
			parse_error(ps, at, "malformed Unicode property escape");
			return false;
		}
		snprintf(buf, sizeof(buf), "\\%c{%s%.*s}", negated ? 'P' : 'p', pfx, (int)vl, val);
	} else {
		if (n > 60) {
			parse_error(ps, at, "malformed Unicode property escape");
			return false;
		}
		snprintf(buf, sizeof(buf), "\\%c{%.*s}", negated ? 'P' : 'p', (int)n, name);
	}
	return raw_append(ps, buf, strlen(buf));
}

/*
 * A character escape (the part after the backslash) that stands for one
 * code point. Returns the code point, -2 if c starts no such escape, -1 on
 * error. A lone surrogate from \u yields 0x110000, which matches nothing in
 * UTF-8 text.
 */
static int32_t char_escape(struct parser *ps, int c, size_t at)
{
	const char *p = ps->p;
	size_t len = ps->len;
	switch (c) {
	case 'f': return 0x0c;
	case 'n': return 0x0a;
	case 'r': return 0x0d;
	case 't': return 0x09;
	case 'v': return 0x0b;
	case 'c':
		if (ps->i < len && ((p[ps->i] >= 'a' && p[ps->i] <= 'z') || (p[ps->i] >= 'A' && p[ps->i] <= 'Z')))
			return p[ps->i++] % 32;
		parse_error(ps, at, "\\c must be followed by a letter");
		return -1;
	case '0':
		if (ps->i < len && is_digit((unsigned char)p[ps->i])) {
			parse_error(ps, at, "octal escapes are not allowed");
			return -1;
		}
		return 0;
	case 'x':
		if (ps->i + 2 <= len && idmefv2__hex_value((unsigned char)p[ps->i]) >= 0 && idmefv2__hex_value((unsigned char)p[ps->i + 1]) >= 0) {
			int32_t v = idmefv2__hex_value((unsigned char)p[ps->i]) * 16 + idmefv2__hex_value((unsigned char)p[ps->i + 1]);
			ps->i += 2;
			return v;
		}
		parse_error(ps, at, "\\x must be followed by two hex digits");
		return -1;
	case 'u': {
		if (ps->i < len && p[ps->i] == '{') {
			size_t j = ps->i + 1;
			uint32_t v = 0;
			while (j < len && idmefv2__hex_value((unsigned char)p[j]) >= 0 && v <= MAX_CODEPOINT)
				v = v * 16 + (uint32_t)idmefv2__hex_value((unsigned char)p[j++]);
			if (j == ps->i + 1 || j >= len || p[j] != '}' || v > MAX_CODEPOINT) {
				parse_error(ps, at, "malformed \\u{...} escape");
				return -1;
			}
			ps->i = j + 1;
			return v >= 0xd800 && v <= 0xdfff ? MAX_CODEPOINT + 1 : (int32_t)v;
		}
		int32_t v = 0;
		if (ps->i + 4 > len)
			goto bad_u;
		for (int k = 0; k < 4; k++) {
			int h = idmefv2__hex_value((unsigned char)p[ps->i + k]);
			if (h < 0)
				goto bad_u;
			v = v * 16 + h;
		}
		ps->i += 4;
		/* A surrogate pair written as two escapes is one code point. */
		if (v >= 0xd800 && v <= 0xdbff && ps->i + 6 <= len && p[ps->i] == '\\' && p[ps->i + 1] == 'u') {
			int32_t lo = 0;
			int k;
			for (k = 0; k < 4; k++) {
				int h = idmefv2__hex_value((unsigned char)p[ps->i + 2 + k]);
				if (h < 0)
					break;
				lo = lo * 16 + h;
			}
			if (k == 4 && lo >= 0xdc00 && lo <= 0xdfff) {
				ps->i += 6;
				return 0x10000 + ((v - 0xd800) << 10) + (lo - 0xdc00);
			}
		}
		return v >= 0xd800 && v <= 0xdfff ? MAX_CODEPOINT + 1 : v;
	bad_u:
		parse_error(ps, at, "\\u must be followed by four hex digits");
		return -1;
	}
	default:
		break;
	}
	if (c >= 0x80 || (c < 0x80 && !is_word(c)))
		return c; /* identity escape */
	return -2;
}

/* Reads the character at ps->i (escape handled by the caller). */
static int32_t pattern_char(struct parser *ps)
{
	size_t at = ps->i;
	int32_t c = utf8_decode(ps->p, ps->len, &ps->i);
	if (c < 0)
		parse_error(ps, at, "invalid UTF-8 in pattern");
	return c;
}

/* A class "[...]" (ps->i just past '['), resolved to code point ranges. */
static int parse_class(struct parser *ps)
{
	size_t at = ps->i - 1;
	int id = node_new(ps, N_SET, at);
	if (id < 0)
		return -1;
	struct range_vec *rv = &ps->ranges;
	int from = rv->n;
	size_t raw_from = ps->raw_len;
	bool negate = ps->i < ps->len && ps->p[ps->i] == '^';
	if (negate)
		ps->i++;

	for (;;) {
		if (ps->i >= ps->len) {
			parse_error(ps, at, "unterminated character class");
			return -1;
		}
		if (ps->p[ps->i] == ']') {
			ps->i++;
			break;
		}
		/* One class atom: a code point (lo) or a set (is_set). */
		int32_t lo = -1;
		size_t atom_at = ps->i;
		bool is_set = false;
		if (ps->p[ps->i] == '\\') {
			ps->i++;
			if (ps->i >= ps->len) {
				parse_error(ps, atom_at, "\\ at end of pattern");
				return -1;
			}
			int c = (unsigned char)ps->p[ps->i];
			if (c == 'd' || c == 'D' || c == 's' || c == 'S' || c == 'w' || c == 'W') {
				ps->i++;
				class_escape(ps, rv, c);
				is_set = true;
			} else if (c == 'p' || c == 'P') {
				ps->i++;
				if (!property_escape(ps, c == 'P', atom_at))
					return -1;
				is_set = true;
			} else if (c == 'b') {
				ps->i++;
				lo = 0x08;
			} else if (c == '-') {
				ps->i++;
				lo = '-';
			} else {
				if (c >= 0x80) {
					lo = pattern_char(ps);
					if (lo < 0)
						return -1;
				} else {
					ps->i++;
					lo = char_escape(ps, c, atom_at);
					if (lo == -2)
						parse_error(ps, atom_at, is_digit(c) ? "back-reference in a character class"
						                                     : "invalid escape");
					if (lo < 0)
						return -1;
				}
			}
		} else {
			lo = pattern_char(ps);
			if (lo < 0)
				return -1;
		}
		if (ps->nomem)
			return -1;

		/* A range needs '-' then a non-']' atom; otherwise '-' is literal. */
		if (!is_set && ps->i + 1 < ps->len && ps->p[ps->i] == '-' && ps->p[ps->i + 1] != ']') {
			size_t save = ps->i;
			ps->i++;
			int32_t hi = -1;
			size_t hi_at = ps->i;
			if (ps->p[ps->i] == '\\') {
				ps->i++;
				if (ps->i >= ps->len) {
					parse_error(ps, hi_at, "\\ at end of pattern");
					return -1;
				}
				int c = (unsigned char)ps->p[ps->i];
				if (c == 'd' || c == 'D' || c == 's' || c == 'S' || c == 'w' || c == 'W' || c == 'p' ||
				    c == 'P') {
					/* [a-\d]: ECMA (Annex B) takes '-' literally. */
					ps->i = save;
				} else if (c == 'b') {
					ps->i++;
					hi = 0x08;
				} else if (c == '-') {
					ps->i++;
					hi = '-';
				} else if (c >= 0x80) {
					hi = pattern_char(ps);
					if (hi < 0)
						return -1;
				} else {
					ps->i++;
					hi = char_escape(ps, c, hi_at);
					if (hi == -2)
						parse_error(ps, hi_at, "invalid escape");
					if (hi < 0)
						return -1;
				}
			} else {
				hi = pattern_char(ps);
				if (hi < 0)
					return -1;
			}
			if (hi >= 0) {
				if (hi < lo) {
					parse_error(ps, atom_at, "range out of order in character class");
					return -1;
				}
				if (lo <= MAX_CODEPOINT && !range_push(ps, rv, (uint32_t)lo,
				                                        (uint32_t)(hi > MAX_CODEPOINT ? MAX_CODEPOINT : hi)))
					return -1;
				continue;
			}
		}
		if (!is_set && lo <= MAX_CODEPOINT && !range_push(ps, rv, (uint32_t)lo, (uint32_t)lo))
			return -1;
	}

	ranges_normalize(rv, from);
	struct node *nd = &ps->nodes[id];
	if (ps->raw_len > raw_from) {
		/* With property items the negation stays symbolic, for PCRE2. */
		nd->negative = negate;
		nd->raw_off = (int)raw_from;
		nd->raw_len = (int)(ps->raw_len - raw_from);
	} else if (negate && !ranges_complement(ps, rv, from)) {
		return -1;
	}
	nd->r_first = from;
	nd->r_count = rv->n - from;
	return id;
}

static int set_node(struct parser *ps, size_t at, const struct range *t, int n, bool negate)
{
	int id = node_new(ps, N_SET, at);
	if (id < 0)
		return -1;
	int from = ps->ranges.n;
	if (!push_table(ps, &ps->ranges, t, n, negate))
		return -1;
	ps->nodes[id].r_first = from;
	ps->nodes[id].r_count = ps->ranges.n - from;
	return id;
}

static int char_node(struct parser *ps, size_t at, int32_t c)
{
	int id = node_new(ps, N_SET, at);
	if (id < 0)
		return -1;
	ps->nodes[id].r_first = ps->ranges.n;
	if (c <= MAX_CODEPOINT && !range_push(ps, &ps->ranges, (uint32_t)c, (uint32_t)c))
		return -1;
	ps->nodes[id].r_count = ps->ranges.n - ps->nodes[id].r_first;
	return id;
}

static bool is_group_name(const char *s, size_t n)
{
	if (n == 0 || n > 32 || is_digit((unsigned char)s[0]))
		return false;
	for (size_t k = 0; k < n; k++)
		if (!is_word((unsigned char)s[k]))
			return false;
	return true;
}

/* Reads "<name>" at ps->i; stores the name's pattern offset in the node. */
static bool parse_group_name(struct parser *ps, int id, size_t at)
{
	if (ps->i >= ps->len || ps->p[ps->i] != '<') {
		parse_error(ps, at, "expected <name>");
		return false;
	}
	size_t start = ps->i + 1;
	const char *close = memchr(ps->p + start, '>', ps->len - start);
	if (!close || !is_group_name(ps->p + start, (size_t)(close - ps->p) - start)) {
		parse_error(ps, at, "invalid group name");
		return false;
	}
	ps->nodes[id].raw_off = (int)start;
	ps->nodes[id].raw_len = (int)((size_t)(close - ps->p) - start);
	ps->i = (size_t)(close - ps->p) + 1;
	return true;
}

/* Escape outside a class. */
static int parse_atom_escape(struct parser *ps, size_t at)
{
	if (ps->i >= ps->len) {
		parse_error(ps, at, "\\ at end of pattern");
		return -1;
	}
	int c = (unsigned char)ps->p[ps->i];
	if (c >= 0x80) {
		int32_t cp = pattern_char(ps);
		return cp < 0 ? -1 : char_node(ps, at, cp);
	}
	ps->i++;
	switch (c) {
	case 'd': case 'D': return set_node(ps, at, digit_ranges, 1, c == 'D');
	case 'w': case 'W': return set_node(ps, at, word_ranges, 4, c == 'W');
	case 's': case 'S':
		return set_node(ps, at, space_ranges, (int)(sizeof(space_ranges) / sizeof(space_ranges[0])), c == 'S');
	case 'b': return node_new(ps, N_WORDB, at);
	case 'B': return node_new(ps, N_NWORDB, at);
	case 'p': case 'P': {
		int id = node_new(ps, N_SET, at);
		if (id < 0)
			return -1;
		size_t from = ps->raw_len;
		if (!property_escape(ps, c == 'P', at))
			return -1;
		ps->nodes[id].r_first = ps->ranges.n;
		ps->nodes[id].raw_off = (int)from;
		ps->nodes[id].raw_len = (int)(ps->raw_len - from);
		return id;
	}
	case 'k': {
		int id = node_new(ps, N_NAMEDREF, at);
		if (id < 0 || !parse_group_name(ps, id, at))
			return -1;
		return id;
	}
	default:
		break;
	}
	if (c >= '1' && c <= '9') {
		uint32_t v = (uint32_t)(c - '0');
		while (ps->i < ps->len && is_digit((unsigned char)ps->p[ps->i]) && v < 100000)
			v = v * 10 + (uint32_t)(ps->p[ps->i++] - '0');
		if (v > (uint32_t)ps->n_groups) {
			parse_error(ps, at, "back-reference to a non-existent group");
			return -1;
		}
		int id = node_new(ps, N_BACKREF, at);
		if (id >= 0)
			ps->nodes[id].min = v;
		return id;
	}
	int32_t cp = char_escape(ps, c, at);
	if (cp == -2)
		parse_error(ps, at, "invalid escape");
	if (cp < 0)
		return -1;
	return char_node(ps, at, cp);
}

static int parse_disjunction(struct parser *ps);

/* Reads {n}, {n,}, {n,m} at ps->i. False (ps->i unchanged) if not one. */
static bool parse_braces(struct parser *ps, uint32_t *ret_min, uint32_t *ret_max)
{
	size_t j = ps->i + 1;
	uint64_t a = 0, b;
	size_t start = j;
	while (j < ps->len && is_digit((unsigned char)ps->p[j])) {
		if (a <= UINT32_MAX)
			a = a * 10 + (uint64_t)(ps->p[j] - '0');
		j++;
	}
	if (j == start || j >= ps->len)
		return false;
	if (ps->p[j] == '}') {
		b = a;
	} else if (ps->p[j] == ',') {
		j++;
		start = j;
		b = 0;
		while (j < ps->len && is_digit((unsigned char)ps->p[j])) {
			if (b <= UINT32_MAX)
				b = b * 10 + (uint64_t)(ps->p[j] - '0');
			j++;
		}
		if (j >= ps->len || ps->p[j] != '}')
			return false;
		if (j == start)
			b = UINT64_MAX;
	} else {
		return false;
	}
	ps->i = j + 1;
	*ret_min = a > UINT32_MAX - 1 ? UINT32_MAX - 1 : (uint32_t)a;
	*ret_max = b == UINT64_MAX ? UNBOUNDED : (b > UINT32_MAX - 1 ? UINT32_MAX - 1 : (uint32_t)b);
	return true;
}

/* Reads an optional quantifier; -2 if none, -1 on error, else 0. */
static int parse_quantifier(struct parser *ps, uint32_t *ret_min, uint32_t *ret_max, bool *ret_lazy)
{
	if (ps->i >= ps->len)
		return -2;
	size_t at = ps->i;
	switch (ps->p[ps->i]) {
	case '*': *ret_min = 0, *ret_max = UNBOUNDED, ps->i++; break;
	case '+': *ret_min = 1, *ret_max = UNBOUNDED, ps->i++; break;
	case '?': *ret_min = 0, *ret_max = 1, ps->i++; break;
	case '{':
		if (!parse_braces(ps, ret_min, ret_max))
			return -2; /* Annex B: a literal '{' */
		if (*ret_max < *ret_min) {
			parse_error(ps, at, "numbers out of order in {} quantifier");
			return -1;
		}
		if (*ret_min > MAX_REPEAT || (*ret_max != UNBOUNDED && *ret_max > MAX_REPEAT)) {
			parse_error(ps, at, "quantifier bound too large");
			return -1;
		}
		break;
	default:
		return -2;
	}
	*ret_lazy = ps->i < ps->len && ps->p[ps->i] == '?';
	if (*ret_lazy)
		ps->i++;
	return 0;
}

static bool at_quantifier(struct parser *ps)
{
	if (ps->i >= ps->len)
		return false;
	char c = ps->p[ps->i];
	if (c == '*' || c == '+' || c == '?')
		return true;
	if (c == '{') {
		size_t save = ps->i;
		uint32_t a, b;
		bool q = parse_braces(ps, &a, &b);
		ps->i = save;
		return q;
	}
	return false;
}

/* One term: an assertion, or an atom with its optional quantifier. */
static int parse_term(struct parser *ps)
{
	size_t at = ps->i;
	char c = ps->p[ps->i];
	int id = -1;
	bool quantifiable = true;

	switch (c) {
	case '^':
		ps->i++;
		id = node_new(ps, N_BOL, at);
		quantifiable = false;
		break;
	case '$':
		ps->i++;
		id = node_new(ps, N_EOL, at);
		quantifiable = false;
		break;
	case '.':
		ps->i++;
		id = set_node(ps, at, dot_excluded, 3, true);
		break;
	case '[':
		ps->i++;
		id = parse_class(ps);
		break;
	case '\\':
		ps->i++;
		id = parse_atom_escape(ps, at);
		if (id >= 0 && (ps->nodes[id].kind == N_WORDB || ps->nodes[id].kind == N_NWORDB))
			quantifiable = false;
		break;
	case '(': {
		ps->i++;
		enum node_kind kind = N_GROUP;
		bool named = false, look = false, negative = false, behind = false;
		if (ps->i < ps->len && ps->p[ps->i] == '?') {
			const char *q = ps->p + ps->i + 1;
			size_t left = ps->len - ps->i - 1;
			if (left >= 1 && q[0] == ':') {
				kind = N_EMPTY; /* marker: non-capturing */
				ps->i += 2;
			} else if (left >= 1 && (q[0] == '=' || q[0] == '!')) {
				look = true, negative = q[0] == '!';
				ps->i += 2;
			} else if (left >= 2 && q[0] == '<' && (q[1] == '=' || q[1] == '!')) {
				look = true, behind = true, negative = q[1] == '!';
				ps->i += 3;
			} else if (left >= 1 && q[0] == '<') {
				named = true;
				ps->i += 1;
			} else {
				parse_error(ps, at, "invalid group");
				return -1;
			}
		}
		if (look)
			kind = N_LOOK;
		int g = -1;
		if (kind != N_EMPTY) {
			g = node_new(ps, kind, at);
			if (g < 0)
				return -1;
			ps->nodes[g].negative = negative;
			ps->nodes[g].behind = behind;
			if (named && !parse_group_name(ps, g, at))
				return -1;
		}
		if (++ps->depth > MAX_DEPTH) {
			parse_error(ps, at, "groups nested too deeply");
			return -1;
		}
		int inner = parse_disjunction(ps);
		ps->depth--;
		if (inner < 0)
			return -1;
		if (ps->i >= ps->len || ps->p[ps->i] != ')') {
			parse_error(ps, at, "missing )");
			return -1;
		}
		ps->i++;
		if (g >= 0) {
			node_append(ps, g, inner);
			id = g;
		} else {
			id = inner;
		}
		/* Annex B quantifies lookaheads; lookbehinds never. */
		if (look && behind)
			quantifiable = false;
		break;
	}
	case ')':
		parse_error(ps, at, "unmatched )");
		return -1;
	case '*': case '+': case '?':
		parse_error(ps, at, "nothing to repeat");
		return -1;
	case '{':
		if (at_quantifier(ps)) {
			parse_error(ps, at, "nothing to repeat");
			return -1;
		}
		ps->i++;
		id = char_node(ps, at, '{');
		break;
	default: {
		int32_t cp = pattern_char(ps);
		if (cp < 0)
			return -1;
		id = char_node(ps, at, cp);
		break;
	}
	}
	if (id < 0)
		return -1;

	uint32_t min, max;
	bool lazy;
	if (!quantifiable) {
		if (at_quantifier(ps)) {
			parse_error(ps, ps->i, "nothing to repeat");
			return -1;
		}
		return id;
	}
	int q = parse_quantifier(ps, &min, &max, &lazy);
	if (q == -1)
		return -1;
	if (q == -2)
		return id;
	if (at_quantifier(ps)) {
		parse_error(ps, ps->i, "nothing to repeat");
		return -1;
	}
	int r = node_new(ps, N_REPEAT, at);
	if (r < 0)
		return -1;
	ps->nodes[r].min = min;
	ps->nodes[r].max = max;
	ps->nodes[r].lazy = lazy;
	node_append(ps, r, id);
	return r;
}

static int parse_alternative(struct parser *ps)
{
	int cat = node_new(ps, N_CAT, ps->i);
	if (cat < 0)
		return -1;
	while (ps->i < ps->len && ps->p[ps->i] != '|' && ps->p[ps->i] != ')') {
		int t = parse_term(ps);
		if (t < 0)
			return -1;
		node_append(ps, cat, t);
	}
	return cat;
}

static int parse_disjunction(struct parser *ps)
{
	int first = parse_alternative(ps);
	if (first < 0 || ps->i >= ps->len || ps->p[ps->i] != '|')
		return first;
	int alt = node_new(ps, N_ALT, ps->nodes[first].at);
	if (alt < 0)
		return -1;
	node_append(ps, alt, first);
	while (ps->i < ps->len && ps->p[ps->i] == '|') {
		ps->i++;
		int a = parse_alternative(ps);
		if (a < 0)
			return -1;
		node_append(ps, alt, a);
	}
	return alt;
}

/* Capturing groups, counted ahead so that \N can be checked while parsing. */
static int count_groups(const char *p, size_t len)
{
	int n = 0;
	bool in_class = false;
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\\') {
			i++;
		} else if (in_class) {
			in_class = p[i] != ']';
		} else if (p[i] == '[') {
			in_class = true;
		} else if (p[i] == '(') {
			if (i + 1 >= len || p[i + 1] != '?')
				n++;
			else if (i + 3 < len && p[i + 2] == '<' && p[i + 3] != '=' && p[i + 3] != '!')
				n++;
		}
	}
	return n;
}

/* ------------------------------------------------------------------ */
/* PCRE2 pattern                                                        */

struct out {
	char *buf;
	size_t *src; /* pattern offset of each output byte, for PCRE2's messages */
	size_t len, cap;
	bool nomem;
};

static void out_put(struct out *o, const char *s, size_t n, size_t at)
{
	if (o->nomem)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = (o->cap ? o->cap * 2 : 128) + n;
		char *b = realloc(o->buf, cap);
		if (!b) {
			o->nomem = true;
			return;
		}
		o->buf = b;
		size_t *m = realloc(o->src, cap * sizeof(*m));
		if (!m) {
			o->nomem = true;
			return;
		}
		o->src = m;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, s, n);
	for (size_t k = 0; k < n; k++)
		o->src[o->len + k] = at;
	o->len += n;
	o->buf[o->len] = '\0';
}

static void out_str(struct out *o, const char *s, size_t at)
{
	out_put(o, s, strlen(s), at);
}

static void out_cp(struct out *o, uint32_t cp, size_t at)
{
	char tmp[16];
	if (is_word((int)cp) && cp < 0x80) {
		tmp[0] = (char)cp;
		tmp[1] = '\0';
	} else {
		snprintf(tmp, sizeof(tmp), "\\x{%x}", (unsigned)cp);
	}
	out_str(o, tmp, at);
}

static void emit(const struct parser *ps, int id, struct out *o);
static void emit_children(const struct parser *ps, const struct node *nd, struct out *o, const char *sep);

/*
 * The body of a group or assertion: an alternation goes bare, since PCRE2
 * accepts branches of different fixed lengths in a lookbehind only there.
 */
static void emit_body(const struct parser *ps, int id, struct out *o)
{
	if (ps->nodes[id].kind == N_ALT)
		emit_children(ps, &ps->nodes[id], o, "|");
	else
		emit(ps, id, o);
}

static void emit_set(const struct parser *ps, const struct node *nd, struct out *o)
{
	const struct range *r = ps->ranges.v + nd->r_first;
	if (nd->raw_len == 0) {
		if (nd->r_count == 0) {
			out_str(o, "(?!)", nd->at);
			return;
		}
		if (nd->r_count == 1 && r[0].lo == r[0].hi) {
			out_cp(o, r[0].lo, nd->at);
			return;
		}
	}
	out_str(o, nd->negative ? "[^" : "[", nd->at);
	for (int k = 0; k < nd->r_count; k++) {
		/* Surrogates cannot be written in a UTF pattern; skip over them. */
		uint32_t lo = r[k].lo, hi = r[k].hi;
		if (lo <= 0xdfff && hi >= 0xd800) {
			if (lo < 0xd800) {
				out_cp(o, lo, nd->at);
				if (0xd7ff > lo) {
					out_str(o, "-", nd->at);
					out_cp(o, 0xd7ff, nd->at);
				}
			}
			if (hi <= 0xdfff)
				continue;
			lo = 0xe000;
		}
		out_cp(o, lo, nd->at);
		if (hi > lo) {
			out_str(o, "-", nd->at);
			out_cp(o, hi, nd->at);
		}
	}
	if (nd->raw_len)
		out_put(o, ps->raw + nd->raw_off, (size_t)nd->raw_len, nd->at);
	out_str(o, "]", nd->at);
}

static void emit_children(const struct parser *ps, const struct node *nd, struct out *o, const char *sep)
{
	for (int c = nd->child; c >= 0; c = ps->nodes[c].next) {
		if (c != nd->child && sep)
			out_str(o, sep, ps->nodes[c].at);
		emit(ps, c, o);
	}
}

static void emit(const struct parser *ps, int id, struct out *o)
{
	const struct node *nd = &ps->nodes[id];
	char tmp[64];
	switch ((enum node_kind)nd->kind) {
	case N_EMPTY:
		break;
	case N_SET:
		emit_set(ps, nd, o);
		break;
	case N_CAT:
		emit_children(ps, nd, o, NULL);
		break;
	case N_ALT:
		out_str(o, "(?:", nd->at);
		emit_children(ps, nd, o, "|");
		out_str(o, ")", nd->at);
		break;
	case N_REPEAT:
		out_str(o, "(?:", nd->at);
		emit(ps, nd->child, o);
		out_str(o, ")", nd->at);
		if (nd->max == UNBOUNDED)
			snprintf(tmp, sizeof(tmp), "{%u,}", (unsigned)nd->min);
		else
			snprintf(tmp, sizeof(tmp), "{%u,%u}", (unsigned)nd->min, (unsigned)nd->max);
		out_str(o, tmp, nd->at);
		if (nd->lazy)
			out_str(o, "?", nd->at);
		break;
	case N_GROUP:
		if (nd->raw_len) {
			out_str(o, "(?<", nd->at);
			out_put(o, ps->p + nd->raw_off, (size_t)nd->raw_len, nd->at);
			out_str(o, ">", nd->at);
		} else {
			out_str(o, "(", nd->at);
		}
		emit_body(ps, nd->child, o);
		out_str(o, ")", nd->at);
		break;
	case N_BOL:
		out_str(o, "^", nd->at);
		break;
	case N_EOL:
		/* "$" is the very end with DOLLAR_ENDONLY, and obeys PCRE2_NOTEOL. */
		out_str(o, "$", nd->at);
		break;
	case N_WORDB:
		out_str(o, "\\b", nd->at);
		break;
	case N_NWORDB:
		out_str(o, "\\B", nd->at);
		break;
	case N_LOOK:
		out_str(o, nd->behind ? (nd->negative ? "(?<!" : "(?<=") : (nd->negative ? "(?!" : "(?="), nd->at);
		emit_body(ps, nd->child, o);
		out_str(o, ")", nd->at);
		break;
	case N_BACKREF:
		snprintf(tmp, sizeof(tmp), "\\g{%u}", (unsigned)nd->min);
		out_str(o, tmp, nd->at);
		break;
	case N_NAMEDREF:
		out_str(o, "\\k<", nd->at);
		out_put(o, ps->p + nd->raw_off, (size_t)nd->raw_len, nd->at);
		out_str(o, ">", nd->at);
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Thompson NFA over UTF-8 bytes                                        */

enum { S_BYTE, S_SPLIT, S_EPS, S_MATCH_NOW, S_MATCH_END };

struct nstate {
	uint8_t type, lo, hi;
	int out, out2;
};

struct nfa {
	struct nstate *s;
	int n, cap;
	bool overflow;
};

static int nfa_new(struct nfa *a, uint8_t type, int out, int out2)
{
	if (a->overflow)
		return -1;
	if (a->n == a->cap) {
		if (a->cap >= NFA_MAX_STATES) {
			a->overflow = true;
			return -1;
		}
		int cap = a->cap ? a->cap * 2 : 256;
		struct nstate *v = realloc(a->s, (size_t)cap * sizeof(*v));
		if (!v) {
			a->overflow = true;
			return -1;
		}
		a->s = v;
		a->cap = cap;
	}
	a->s[a->n] = (struct nstate){.type = type, .out = out, .out2 = out2};
	return a->n++;
}

static int nfa_byte(struct nfa *a, uint8_t lo, uint8_t hi, int out)
{
	int s = nfa_new(a, S_BYTE, out, -1);
	if (s >= 0) {
		a->s[s].lo = lo;
		a->s[s].hi = hi;
	}
	return s;
}

/* Joins @s into the alternation *alt (-1 when empty). */
static void nfa_alt_add(struct nfa *a, int *alt, int s)
{
	*alt = *alt < 0 ? s : nfa_new(a, S_SPLIT, s, *alt);
}

static int utf8_encode(uint32_t cp, uint8_t *b)
{
	if (cp < 0x80) {
		b[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = (uint8_t)(0xc0 | (cp >> 6));
		b[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = (uint8_t)(0xe0 | (cp >> 12));
		b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	b[0] = (uint8_t)(0xf0 | (cp >> 18));
	b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
	b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
	b[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Adds to *alt the byte sequences whose UTF-8 decodings are exactly the code
 * points [lo, hi], then @next. The range is split until every piece is a
 * product of per-byte ranges: same encoded length, and for each suffix of
 * continuation bytes either a shared prefix or a full 0x80-0xBF span.
 */
static void utf8_range(struct nfa *a, uint32_t lo, uint32_t hi, int next, int *alt)
{
	static const uint32_t len_max[3] = {0x7f, 0x7ff, 0xffff};
	if (lo > hi)
		return;
	if (lo <= 0xdfff && hi >= 0xd800) {
		if (lo < 0xd800)
			utf8_range(a, lo, 0xd7ff, next, alt);
		if (hi > 0xdfff)
			utf8_range(a, 0xe000, hi, next, alt);
		return;
	}
	for (int k = 0; k < 3; k++) {
		if (lo <= len_max[k] && hi > len_max[k]) {
			utf8_range(a, lo, len_max[k], next, alt);
			utf8_range(a, len_max[k] + 1, hi, next, alt);
			return;
		}
	}
	uint8_t bl[4], bh[4];
	int n = utf8_encode(lo, bl);
	utf8_encode(hi, bh);
	for (int k = 1; k < n; k++) {
		uint32_t m = (1u << (6 * k)) - 1;
		if ((lo & ~m) != (hi & ~m)) {
			if ((lo & m) != 0) {
				utf8_range(a, lo, lo | m, next, alt);
				utf8_range(a, (lo | m) + 1, hi, next, alt);
				return;
			}
			if ((hi & m) != m) {
				utf8_range(a, lo, (hi & ~m) - 1, next, alt);
				utf8_range(a, hi & ~m, hi, next, alt);
				return;
			}
		}
	}
	int s = next;
	for (int k = n - 1; k >= 0; k--)
		s = nfa_byte(a, bl[k], bh[k], s);
	nfa_alt_add(a, alt, s);
}

static int nfa_node(const struct parser *ps, struct nfa *a, int id, int next);

/* Children c..(up to and excluding stop) of a concatenation, then next. */
static int nfa_seq(const struct parser *ps, struct nfa *a, int first, int stop, int next)
{
	int ids[64];
	int n = 0;
	for (int c = first; c != stop && c >= 0; c = ps->nodes[c].next) {
		if (n == 64) {
			/* Long sequences: compile the tail first, recursively. */
			next = nfa_seq(ps, a, c, stop, next);
			break;
		}
		ids[n++] = c;
	}
	for (int k = n - 1; k >= 0 && next >= 0; k--)
		next = nfa_node(ps, a, ids[k], next);
	return next;
}

static int nfa_node(const struct parser *ps, struct nfa *a, int id, int next)
{
	const struct node *nd = &ps->nodes[id];
	if (next < 0)
		return -1;
	switch ((enum node_kind)nd->kind) {
	case N_EMPTY:
		return next;
	case N_SET: {
		int alt = -1;
		for (int k = 0; k < nd->r_count; k++) {
			const struct range *r = &ps->ranges.v[nd->r_first + k];
			utf8_range(a, r->lo, r->hi, next, &alt);
		}
		if (alt < 0) /* the empty set: a state with no way out */
			alt = nfa_new(a, S_EPS, -1, -1);
		return a->overflow ? -1 : alt;
	}
	case N_CAT:
		return nfa_seq(ps, a, nd->child, -1, next);
	case N_ALT: {
		int alt = -1;
		/* Only whether some branch matches counts, so order is free here. */
		for (int c = nd->child; c >= 0; c = ps->nodes[c].next) {
			int s = nfa_node(ps, a, c, next);
			if (s < 0)
				return -1;
			nfa_alt_add(a, &alt, s);
		}
		return alt;
	}
	case N_GROUP:
		return nfa_node(ps, a, nd->child, next);
	case N_REPEAT: {
		int cur = next;
		if (nd->max == UNBOUNDED) {
			/* loop: split(body -> loop, next) */
			int loop = nfa_new(a, S_SPLIT, -1, next);
			if (loop < 0)
				return -1;
			int body = nfa_node(ps, a, nd->child, loop);
			if (body < 0)
				return -1;
			a->s[loop].out = body;
			cur = loop;
		} else {
			for (uint32_t k = nd->min; k < nd->max; k++) {
				int body = nfa_node(ps, a, nd->child, cur);
				if (body < 0)
					return -1;
				cur = nfa_new(a, S_SPLIT, body, next);
				if (cur < 0)
					return -1;
			}
		}
		for (uint32_t k = 0; k < nd->min; k++) {
			cur = nfa_node(ps, a, nd->child, cur);
			if (cur < 0)
				return -1;
		}
		return cur;
	}
	default:
		return -1;
	}
}

/* True if the subtree has only what the DFA handles (no anchor, no property). */
static bool dfa_supported(const struct parser *ps, int id)
{
	const struct node *nd = &ps->nodes[id];
	switch ((enum node_kind)nd->kind) {
	case N_EMPTY:
		return true;
	case N_SET:
		return nd->raw_len == 0;
	case N_CAT:
	case N_ALT:
	case N_GROUP:
	case N_REPEAT:
		for (int c = nd->child; c >= 0; c = ps->nodes[c].next)
			if (!dfa_supported(ps, c))
				return false;
		return true;
	default:
		return false;
	}
}

/* ------------------------------------------------------------------ */
/* Subset construction                                                  */

enum { DFA_DEAD = 0, DFA_ACCEPT = 1 };

/*
 * Rows of nclasses + 1 entries: the next state for each byte class, then 1
 * if a subject ending in this state matches. States are stored premultiplied
 * by the row stride so that a step is one add and one load.
 */
struct dfa {
	uint32_t *trans;
	uint8_t cls[256];
	uint32_t nclasses;
	uint32_t start;
	uint32_t accept;     /* DFA_ACCEPT premultiplied; DFA_DEAD is 0 */
	int nstates;
	/*
	 * Optional two-byte steps, which halve the chain of dependent loads a
	 * subject costs. Rows of nclasses^2 + nclasses + 1 entries: the state
	 * after a pair of byte classes, then for one last byte of each class
	 * whether the subject matches, then whether it matches when it ends here.
	 */
	uint16_t *pairs;
	uint16_t cls_mul[256]; /* cls[b] * nclasses */
	uint16_t pair_start, pair_accept;
	uint32_t pair_tail;    /* nclasses^2 */
};

struct dstate_key {
	int off, n; /* in the set pool */
	uint32_t hash;
};

struct subset {
	const struct nfa *a;
	int *stack, *mark;
	int gen;
	int *pool;
	size_t pool_len, pool_cap;
	struct dstate_key *keys;
	int nkeys, capkeys;
	int *table; /* open addressing over keys */
	int table_cap;
	int *tmp;
	long work;
	bool nomem;
};

/*
 * Epsilon closure of the states in @in (n of them) into s->tmp, in no
 * particular order; s->mark[x] == s->gen tells membership until the next
 * closure, which is how sets are compared without sorting them.
 */
static int closure(struct subset *s, const int *in, int n)
{
	const struct nfa *a = s->a;
	int sp = 0, out = 0;
	s->gen++;
	for (int k = 0; k < n; k++) {
		if (in[k] >= 0 && s->mark[in[k]] != s->gen) {
			s->mark[in[k]] = s->gen;
			s->stack[sp++] = in[k];
		}
	}
	while (sp > 0) {
		int st = s->stack[--sp];
		const struct nstate *ns = &a->s[st];
		s->work++;
		switch (ns->type) {
		case S_SPLIT:
		case S_EPS:
			for (int e = 0; e < 2; e++) {
				int t = e ? ns->out2 : ns->out;
				if (t >= 0 && s->mark[t] != s->gen) {
					s->mark[t] = s->gen;
					s->stack[sp++] = t;
				}
			}
			break;
		default:
			s->tmp[out++] = st;
			break;
		}
	}
	return out;
}

/* Independent of the order of the members. */
static uint32_t set_hash(const int *v, int n)
{
	uint32_t h = (uint32_t)n;
	for (int k = 0; k < n; k++) {
		uint32_t x = (uint32_t)v[k] * 0x9e3779b1u;
		h += x ^ (x >> 15);
	}
	return h;
}

/* Whether the stored set @key equals the set just built by closure(). */
static bool set_equal_current(const struct subset *s, const struct dstate_key *key, int n)
{
	if (key->n != n)
		return false;
	for (int k = 0; k < n; k++)
		if (s->mark[s->pool[key->off + k]] != s->gen)
			return false;
	return true;
}

static bool subset_grow_table(struct subset *s)
{
	int cap = s->table_cap ? s->table_cap * 2 : 1024;
	int *t = malloc((size_t)cap * sizeof(*t));
	if (!t)
		return false;
	for (int k = 0; k < cap; k++)
		t[k] = -1;
	for (int k = 0; k < s->nkeys; k++) {
		uint32_t h = s->keys[k].hash & (uint32_t)(cap - 1);
		while (t[h] >= 0)
			h = (h + 1) & (uint32_t)(cap - 1);
		t[h] = k;
	}
	free(s->table);
	s->table = t;
	s->table_cap = cap;
	return true;
}

/*
 * The DFA state of the NFA state set s->tmp[0..n) that closure() just built. Sets containing a
 * MATCH_NOW state all collapse into DFA_ACCEPT. Returns -1 past the cap.
 */
static int subset_intern(struct subset *s, int n)
{
	if (n == 0)
		return DFA_DEAD;
	for (int k = 0; k < n; k++)
		if (s->a->s[s->tmp[k]].type == S_MATCH_NOW)
			return DFA_ACCEPT;
	uint32_t h = set_hash(s->tmp, n);
	uint32_t mask = (uint32_t)(s->table_cap - 1);
	for (uint32_t k = h & mask; s->table[k] >= 0; k = (k + 1) & mask) {
		struct dstate_key *key = &s->keys[s->table[k]];
		if (key->hash == h && set_equal_current(s, key, n))
			return s->table[k];
	}
	if (s->nkeys >= DFA_MAX_STATES)
		return -1;
	if (s->nkeys == s->capkeys) {
		int cap = s->capkeys * 2;
		struct dstate_key *v = realloc(s->keys, (size_t)cap * sizeof(*v));
		if (!v) {
			s->nomem = true;
			return -1;
		}
		s->keys = v;
		s->capkeys = cap;
	}
	if (s->pool_len + (size_t)n > s->pool_cap) {
		size_t cap = s->pool_cap * 2 + (size_t)n;
		int *v = realloc(s->pool, cap * sizeof(*v));
		if (!v) {
			s->nomem = true;
			return -1;
		}
		s->pool = v;
		s->pool_cap = cap;
	}
	memcpy(s->pool + s->pool_len, s->tmp, (size_t)n * sizeof(int));
	int id = s->nkeys++;
	s->keys[id] = (struct dstate_key){.off = (int)s->pool_len, .n = n, .hash = h};
	s->pool_len += (size_t)n;
	if ((size_t)s->nkeys * 2 > (size_t)s->table_cap) {
		if (!subset_grow_table(s)) {
			s->nomem = true;
			return -1;
		}
	} else {
		uint32_t k = h & mask;
		while (s->table[k] >= 0)
			k = (k + 1) & mask;
		s->table[k] = id;
	}
	return id;
}

static void dfa_free(struct dfa *d)
{
	if (!d)
		return;
	free(d->trans);
	free(d->pairs);
	free(d);
}

static uint32_t block_signature_hash(const struct dfa *d, const int *block, int st)
{
	size_t stride = d->nclasses + 1;
	const uint32_t *row = d->trans + (size_t)st * stride;
	uint32_t h = (uint32_t)block[st] * 0x9e3779b1u;
	for (size_t c = 0; c < d->nclasses; c++)
		h = (h ^ (uint32_t)block[row[c] / stride]) * 0x01000193u;
	return h;
}

static bool block_signature_equal(const struct dfa *d, const int *block, int x, int y)
{
	size_t stride = d->nclasses + 1;
	const uint32_t *rx = d->trans + (size_t)x * stride, *ry = d->trans + (size_t)y * stride;
	if (block[x] != block[y])
		return false;
	for (size_t c = 0; c < d->nclasses; c++)
		if (block[rx[c] / stride] != block[ry[c] / stride])
			return false;
	return true;
}

/*
 * Merges equivalent states (Moore's partition refinement), which shrinks
 * the tables and lets more patterns have two-byte steps. States from which
 * no match is reachable join DEAD, and states from which every path
 * matches join ACCEPT, so the search also stops earlier. On any failure the
 * DFA is left as it was, which is correct, only larger.
 */
static void dfa_minimize(struct dfa *d)
{
	int n = d->nstates;
	size_t nc = d->nclasses, stride = nc + 1;
	int cap = 1;
	while (cap < 2 * n)
		cap *= 2;
	int *block = malloc((size_t)n * sizeof(int));
	int *next = malloc((size_t)n * sizeof(int));
	int *rep = malloc((size_t)n * sizeof(int));
	int *table = malloc((size_t)cap * sizeof(int));
	int *newid = malloc((size_t)n * sizeof(int));
	uint32_t *trans = NULL;
	long work = 0;
	int nb = 2;

	if (!block || !next || !rep || !table || !newid)
		goto out;
	for (int st = 0; st < n; st++)
		block[st] = (int)d->trans[(size_t)st * stride + nc];
	for (;;) {
		int count = 0;
		for (int k = 0; k < cap; k++)
			table[k] = -1;
		for (int st = 0; st < n; st++) {
			uint32_t k = block_signature_hash(d, block, st) & (uint32_t)(cap - 1);
			while (table[k] >= 0 && !block_signature_equal(d, block, rep[table[k]], st))
				k = (k + 1) & (uint32_t)(cap - 1);
			if (table[k] < 0) {
				table[k] = count;
				rep[count++] = st;
			}
			next[st] = table[k];
		}
		int *t = block;
		block = next;
		next = t;
		work += (long)n * (long)nc;
		if (count == nb)
			break;
		nb = count;
		if (work > DFA_MAX_WORK)
			goto out;
	}
	if (nb == n)
		goto out;

	/* Keep DEAD and ACCEPT as states 0 and 1. */
	for (int b = 0; b < nb; b++)
		newid[b] = -1;
	newid[block[DFA_DEAD]] = DFA_DEAD;
	newid[block[DFA_ACCEPT]] = DFA_ACCEPT;
	int m = 2;
	for (int b = 0; b < nb; b++)
		if (newid[b] < 0)
			newid[b] = m++;
	trans = malloc((size_t)nb * stride * sizeof(*trans));
	if (!trans)
		goto out;
	for (int b = 0; b < nb; b++) {
		const uint32_t *from = d->trans + (size_t)rep[b] * stride;
		uint32_t *to = trans + (size_t)newid[b] * stride;
		for (size_t c = 0; c < nc; c++)
			to[c] = (uint32_t)((size_t)newid[block[from[c] / stride]] * stride);
		to[nc] = from[nc];
	}
	d->start = (uint32_t)((size_t)newid[block[d->start / stride]] * stride);
	free(d->trans);
	d->trans = trans;
	d->nstates = nb;
	trans = NULL;
out:
	free(trans);
	free(block);
	free(next);
	free(rep);
	free(table);
	free(newid);
}

static void dfa_build_pairs(struct dfa *d)
{
	size_t nc = d->nclasses, stride = nc + 1, sq = nc * nc, stride2 = sq + nc + 1;
	size_t total = (size_t)d->nstates * stride2;
	if (total > DFA_PAIR_MAX_ENTRIES)
		return;
	uint16_t *t2 = malloc(total * sizeof(*t2));
	if (!t2)
		return; /* single steps still work */
	for (size_t st = 0; st < (size_t)d->nstates; st++) {
		const uint32_t *row = d->trans + st * stride;
		uint16_t *row2 = t2 + st * stride2;
		for (size_t c1 = 0; c1 < nc; c1++) {
			const uint32_t *mid = d->trans + row[c1];
			for (size_t c2 = 0; c2 < nc; c2++)
				row2[c1 * nc + c2] = (uint16_t)(mid[c2] / stride * stride2);
			row2[sq + c1] = (uint16_t)mid[nc];
		}
		row2[sq + nc] = (uint16_t)row[nc];
	}
	for (int b = 0; b < 256; b++)
		d->cls_mul[b] = (uint16_t)(d->cls[b] * nc);
	d->pair_start = (uint16_t)(d->start / stride * stride2);
	d->pair_accept = (uint16_t)(DFA_ACCEPT * stride2);
	d->pair_tail = (uint32_t)sq;
	d->pairs = t2;
}

static struct dfa *dfa_build(const struct nfa *a, int start)
{
	struct subset s = {.a = a};
	struct dfa *d = calloc(1, sizeof(*d));
	uint32_t *trans = NULL;
	size_t trans_cap = 0;
	int *moves = NULL;
	bool ok = false;

	if (!d)
		return NULL;
	/* Byte classes: bytes no NFA transition tells apart share a column. */
	bool brk[257] = {false};
	for (int k = 0; k < a->n; k++) {
		if (a->s[k].type == S_BYTE) {
			brk[a->s[k].lo] = true;
			brk[a->s[k].hi + 1] = true;
		}
	}
	uint8_t rep[256];
	int nc = 0;
	for (int b = 0; b < 256; b++) {
		if (b > 0 && brk[b])
			nc++;
		d->cls[b] = (uint8_t)nc;
		rep[nc] = (uint8_t)b;
	}
	nc++;
	d->nclasses = (uint32_t)nc;

	s.stack = malloc((size_t)a->n * sizeof(int));
	s.mark = calloc((size_t)a->n, sizeof(int));
	s.tmp = malloc((size_t)a->n * sizeof(int));
	moves = malloc((size_t)a->n * sizeof(int));
	s.capkeys = 64;
	s.keys = malloc((size_t)s.capkeys * sizeof(*s.keys));
	s.pool_cap = 1024;
	s.pool = malloc(s.pool_cap * sizeof(int));
	if (!s.stack || !s.mark || !s.tmp || !moves || !s.keys || !s.pool || !subset_grow_table(&s))
		goto out;

	/* Keys 0 and 1 stand for DEAD and ACCEPT; their sets are never looked up. */
	s.keys[0] = (struct dstate_key){0};
	s.keys[1] = (struct dstate_key){0};
	s.nkeys = 2;

	size_t stride = (size_t)nc + 1;
	trans_cap = stride * 64;
	trans = malloc(trans_cap * sizeof(*trans));
	if (!trans)
		goto out;

	int st0 = subset_intern(&s, closure(&s, &start, 1));
	if (st0 < 0)
		goto out;

	for (int cur = 2; cur < s.nkeys; cur++) {
		if ((size_t)(cur + 1) * stride > trans_cap) {
			size_t cap = trans_cap * 2;
			uint32_t *v = realloc(trans, cap * sizeof(*v));
			if (!v)
				goto out;
			trans = v;
			trans_cap = cap;
		}
		const struct dstate_key *key = &s.keys[cur];
		uint32_t *row = trans + (size_t)cur * stride;
		for (int c = 0; c < nc; c++) {
			int nm = 0;
			s.work += key->n;
			for (int k = 0; k < key->n; k++) {
				const struct nstate *ns = &a->s[s.pool[key->off + k]];
				if (ns->type == S_BYTE && rep[c] >= ns->lo && rep[c] <= ns->hi)
					moves[nm++] = ns->out;
			}
			int t = subset_intern(&s, closure(&s, moves, nm));
			if (t < 0)
				goto out;
			/* subset_intern may move s.keys; key is re-read below. */
			key = &s.keys[cur];
			row[c] = (uint32_t)((size_t)t * stride);
		}
		if (s.work > DFA_MAX_WORK || (size_t)s.nkeys * stride > DFA_MAX_ENTRIES)
			goto out;
		row[nc] = 0;
		for (int j = 0; j < key->n; j++)
			if (a->s[s.pool[key->off + j]].type == S_MATCH_END)
				row[nc] = 1;
	}
	for (int c = 0; c < nc; c++) {
		trans[c] = 0;
		trans[stride + (size_t)c] = (uint32_t)stride;
	}
	trans[nc] = 0;
	trans[stride + (size_t)nc] = 1;
	d->trans = trans;
	trans = NULL;
	d->nstates = s.nkeys;
	d->start = (uint32_t)((size_t)st0 * stride);
	d->accept = (uint32_t)stride;
	dfa_minimize(d);
	dfa_build_pairs(d);
	ok = true;
out:
	free(trans);
	free(moves);
	free(s.stack);
	free(s.mark);
	free(s.tmp);
	free(s.keys);
	free(s.pool);
	free(s.table);
	if (!ok) {
		dfa_free(d);
		return NULL;
	}
	return d;
}

/*
 * The DFA of the whole pattern, or NULL when it is outside the subset or too
 * large. Anchors are accepted at the start (`^`) and end (`$`) of each
 * top-level alternative.
 */
static struct dfa *dfa_compile(const struct parser *ps, int root)
{
	struct nfa a = {0};
	struct dfa *d = NULL;
	int alts[256];
	int nalts = 0;

	if (ps->nodes[root].kind == N_ALT) {
		for (int c = ps->nodes[root].child; c >= 0; c = ps->nodes[c].next) {
			if (nalts == 256)
				return NULL;
			alts[nalts++] = c;
		}
	} else {
		alts[nalts++] = root;
	}

	int match_now = nfa_new(&a, S_MATCH_NOW, -1, -1);
	int match_end = nfa_new(&a, S_MATCH_END, -1, -1);
	int anchored = -1, floating = -1;
	for (int k = 0; k < nalts; k++) {
		const struct node *nd = &ps->nodes[alts[k]];
		int first, stop = -1;
		bool bol = false, eol = false;
		if (nd->kind == N_CAT) {
			first = nd->child;
			if (first >= 0 && ps->nodes[first].kind == N_BOL) {
				bol = true;
				first = ps->nodes[first].next;
			}
			if (nd->last >= 0 && ps->nodes[nd->last].kind == N_EOL && (nd->last != nd->child || !bol)) {
				eol = true;
				stop = nd->last;
			}
		} else {
			first = alts[k];
		}
		if (nd->kind == N_CAT) {
			for (int c = first; c != stop && c >= 0; c = ps->nodes[c].next)
				if (!dfa_supported(ps, c))
					goto out;
		} else if (!dfa_supported(ps, first)) {
			goto out;
		}
		int s;
		if (nd->kind == N_CAT)
			s = nfa_seq(ps, &a, first, stop, eol ? match_end : match_now);
		else
			s = nfa_node(ps, &a, first, match_now);
		if (s < 0)
			goto out;
		nfa_alt_add(&a, bol ? &anchored : &floating, s);
	}
	int start = anchored;
	if (floating >= 0) {
		/* Search: any byte may precede an unanchored alternative. */
		int resume = nfa_new(&a, S_SPLIT, floating, -1);
		int any = nfa_byte(&a, 0x00, 0xff, resume);
		if (resume < 0 || any < 0)
			goto out;
		a.s[resume].out2 = any;
		nfa_alt_add(&a, &start, resume);
	}
	if (start < 0 || a.overflow)
		goto out;
	d = dfa_build(&a, start);
out:
	free(a.s);
	return d;
}

static int dfa_match_pairs(const struct dfa *d, const unsigned char *s, size_t len)
{
	const uint16_t *t = d->pairs;
	const uint8_t *cls = d->cls;
	const uint16_t *cls_mul = d->cls_mul;
	uint32_t st = d->pair_start, acc = d->pair_accept;
	size_t i = 0;
	if (st <= acc)
		return st == acc;
	for (; i + 2 <= len; i += 2) {
		st = t[st + cls_mul[s[i]] + cls[s[i + 1]]];
		if (st <= acc)
			return st == acc;
	}
	return t[st + d->pair_tail + (i < len ? cls[s[i]] : d->nclasses)];
}

static int dfa_match(const struct dfa *d, const unsigned char *s, size_t len)
{
	if (d->pairs)
		return dfa_match_pairs(d, s, len);
	const uint32_t *t = d->trans;
	const uint8_t *cls = d->cls;
	uint32_t st = d->start, acc = d->accept;
	if (st <= acc)
		return st == acc;
	for (size_t i = 0; i < len; i++) {
		st = t[st + cls[s[i]]];
		if (st <= acc)
			return st == acc;
	}
	return (int)t[st + d->nclasses];
}

/* ------------------------------------------------------------------ */
/* Public entry points                                                  */

struct idmefv2__regex {
	struct dfa *dfa;
	pcre2_code *code;
};

static pthread_key_t match_data_key;
static pthread_once_t match_data_once = PTHREAD_ONCE_INIT;
static _Thread_local pcre2_match_data *tls_match_data;

static void match_data_destroy(void *md)
{
	/* Runs in the exiting thread: a later match there would start afresh. */
	if (tls_match_data == md)
		tls_match_data = NULL;
	pcre2_match_data_free(md);
}

static void match_data_key_create(void)
{
	(void)pthread_key_create(&match_data_key, match_data_destroy);
}

/*
 * One match_data per thread serves every pattern: only the overall match
 * matters, so a single ovector pair is enough whatever the group count. The
 * key's destructor frees it when the thread ends.
 */
static pcre2_match_data *thread_match_data(void)
{
	if (tls_match_data)
		return tls_match_data;
	pthread_once(&match_data_once, match_data_key_create);
	tls_match_data = pcre2_match_data_create(1, NULL);
	if (tls_match_data)
		(void)pthread_setspecific(match_data_key, tls_match_data);
	return tls_match_data;
}

static void set_error(char *errstr, size_t errstr_size, size_t at, const char *why)
{
	if (errstr && errstr_size)
		snprintf(errstr, errstr_size, "invalid pattern at offset %zu: %s", at, why);
}

idmefv2__regex *idmefv2__regex_compile(const char *pattern, size_t len, char *errstr, size_t errstr_size)
{
	struct parser ps = {.p = pattern, .len = len};
	struct out o = {0};
	idmefv2__regex *re = NULL;

	if (!pattern) {
		set_error(errstr, errstr_size, 0, "no pattern");
		return NULL;
	}
	ps.n_groups = count_groups(pattern, len);
	int root = parse_disjunction(&ps);
	if (root >= 0 && ps.i < len && !ps.err)
		parse_error(&ps, ps.i, "unmatched )");
	if (ps.nomem) {
		set_error(errstr, errstr_size, 0, "out of memory");
		goto out;
	}
	if (ps.err || root < 0) {
		set_error(errstr, errstr_size, ps.err_at, ps.err ? ps.err : "invalid pattern");
		goto out;
	}

	emit(&ps, root, &o);
	out_put(&o, "", 0, len);
	if (o.nomem) {
		set_error(errstr, errstr_size, 0, "out of memory");
		goto out;
	}
	int errcode;
	PCRE2_SIZE erroff;
	pcre2_code *code = pcre2_compile((PCRE2_SPTR)o.buf, o.len,
	                                 PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_MATCH_UNSET_BACKREF,
	                                 &errcode, &erroff, NULL);
	if (!code) {
		PCRE2_UCHAR msg[160];
		pcre2_get_error_message(errcode, msg, sizeof(msg));
		set_error(errstr, errstr_size, erroff < o.len ? o.src[erroff] : len, (const char *)msg);
		goto out;
	}
	re = calloc(1, sizeof(*re));
	if (!re) {
		pcre2_code_free(code);
		set_error(errstr, errstr_size, 0, "out of memory");
		goto out;
	}
	re->code = code;
	re->dfa = dfa_compile(&ps, root);
	/* With a DFA, PCRE2 only serves as the reference in tests: no JIT memory. */
	if (!re->dfa)
		(void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
out:
	free(o.buf);
	free(o.src);
	free(ps.nodes);
	free(ps.ranges.v);
	free(ps.raw);
	return re;
}

/* Length of the longest valid UTF-8 prefix (RFC 3629: no overlong, no surrogate). */
static size_t utf8_valid_prefix(const unsigned char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		size_t k = i;
		if (utf8_decode((const char *)s, len, &k) < 0)
			return i;
		i = k;
	}
	return len;
}

static int pcre2_run(const idmefv2__regex *re, pcre2_match_data *md, const unsigned char *s, size_t len,
                     uint32_t options)
{
	int rc = pcre2_match(re->code, len ? (PCRE2_SPTR)s : (PCRE2_SPTR) "", len, 0, options | PCRE2_NO_UTF_CHECK,
	                     md, NULL);
	if (rc >= 0)
		return 1;
	return rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

/*
 * A subject that is not valid UTF-8 gets the DFA's meaning: no pattern
 * character matches an invalid byte, and ^ and $ still mean the ends of the
 * whole subject. So a match lies within one valid run, searched on its own
 * with NOTBOL/NOTEOL unless the run touches an end. (PCRE2's own
 * MATCH_INVALID_UTF lets anchors match at every run, and JIT and
 * interpreter disagree there.)
 */
static int pcre2_search(const idmefv2__regex *re, const char *subject, size_t len)
{
	const unsigned char *s = (const unsigned char *)subject;
	pcre2_match_data *md = thread_match_data();
	if (!md)
		return -1;
	size_t end = s ? utf8_valid_prefix(s, len) : 0;
	if (end == len)
		return pcre2_run(re, md, s, len, 0);

	size_t start = 0;
	bool inner_empty_tried = false;
	for (;;) {
		bool inner = start > 0 && end < len;
		/* Empty runs between invalid bytes are all alike: one is enough. */
		if (end > start || !inner || !inner_empty_tried) {
			if (end == start && inner)
				inner_empty_tried = true;
			int r = pcre2_run(re, md, s + start, end - start,
			                  (start > 0 ? PCRE2_NOTBOL : 0) | (end < len ? PCRE2_NOTEOL : 0));
			if (r != 0)
				return r;
		}
		if (end == len)
			return 0;
		start = end + 1;
		end = start + utf8_valid_prefix(s + start, len - start);
	}
}

int idmefv2__regex_match(const idmefv2__regex *re, const char *subject, size_t len)
{
	if (!re || (!subject && len))
		return -1;
	if (re->dfa)
		return dfa_match(re->dfa, (const unsigned char *)subject, len);
	return pcre2_search(re, subject, len);
}

int idmefv2__regex_match_engine(const idmefv2__regex *re, const char *subject, size_t len, bool dfa)
{
	if (!re || (!subject && len))
		return -1;
	if (dfa)
		return re->dfa ? dfa_match(re->dfa, (const unsigned char *)subject, len) : -1;
	return pcre2_search(re, subject, len);
}

bool idmefv2__regex_has_dfa(const idmefv2__regex *re)
{
	return re && re->dfa;
}

void idmefv2__regex_free(idmefv2__regex *re)
{
	if (!re)
		return;
	dfa_free(re->dfa);
	pcre2_code_free(re->code);
	free(re);
}
