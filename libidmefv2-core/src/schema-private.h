/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The compiled form of a draft-04 schema, shared by the compiler
 * (schema-compile.c), the validator (schema-validate.c), the reports
 * (schema-report.c) and the number helpers (schema-number.c).
 *
 * A compiled schema is a graph of nodes allocated in one arena and never
 * written after idmefv2_schema_compile() returns, so that any number of
 * threads may walk it at once. Every "$ref" is replaced by a direct pointer
 * to its target during compilation; cycles are allowed.
 */
#ifndef IDMEFV2_SCHEMA_PRIVATE_H
#define IDMEFV2_SCHEMA_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <json-c/json_object.h>

#include <idmefv2/schema.h>

#include "format-private.h"
#include "regex-private.h"

/* JSON types as draft-04 sees them: an integer is a number without a
 * fraction part in its text (json-c gives json_type_int), "number" is both. */
enum {
	SV_T_NULL = 1u << 0,
	SV_T_BOOLEAN = 1u << 1,
	SV_T_OBJECT = 1u << 2,
	SV_T_ARRAY = 1u << 3,
	SV_T_STRING = 1u << 4,
	SV_T_INTEGER = 1u << 5,
	SV_T_DOUBLE = 1u << 6,
	SV_T_NUMBER = SV_T_INTEGER | SV_T_DOUBLE,
	SV_T_ALL = (1u << 7) - 1,
};

typedef struct sv_node sv_node;

/*
 * Most schema nodes of real schemas are leaves with a single check. The
 * validator answers "valid" for them without a call; anything else, and
 * every failure, goes through the general path that reports.
 */
enum {
	SV_FAST_NONE = 0,            /* the general path */
	SV_FAST_ANY,                 /* no check at all */
	SV_FAST_TYPE,                /* "type" alone */
	SV_FAST_PATTERN,             /* "type": "string" (or none) and "pattern" alone */
	SV_FAST_ENUM_STRING,         /* an "enum" with strings, with no other check */
};

struct sv_string_rules {
	int64_t min_length;          /* code points; -1 when absent */
	int64_t max_length;
	idmefv2__regex *pattern;     /* NULL when absent */
	const char *pattern_text;
	idmefv2__format_fn format;   /* NULL when absent or unknown */
	const char *format_name;
	bool format_regex;           /* "format": "regex", checked with the regex compiler */
};

struct sv_number_rules {
	struct json_object *minimum; /* borrowed from the schema document; NULL when absent */
	struct json_object *maximum;
	struct json_object *multiple_of;
	bool exclusive_minimum;
	bool exclusive_maximum;
};

/* One slot of an object node's open-addressing table: every name that
 * "properties", "required" or "dependencies" mentions. */
struct sv_prop {
	const char *key;             /* NULL for an empty slot */
	uint32_t len;
	uint32_t hash;
	sv_node *node;               /* the "properties" schema, or NULL */
	struct sv_dependency *dep;
	bool required;
};

struct sv_pattern_prop {
	idmefv2__regex *re;
	const char *text;
	sv_node *node;
};

struct sv_dependency {
	const char *key;
	sv_node *node;               /* schema form, or NULL */
	const char **names;          /* array form */
	size_t n_names;
};

struct sv_object_rules {
	struct sv_prop *table;
	uint32_t mask;               /* table size - 1 */
	size_t n_required;
	const char **required;       /* in schema order, for reports */
	struct sv_pattern_prop *pattern_props;
	size_t n_pattern_props;
	sv_node *additional;         /* schema form of additionalProperties, or NULL */
	bool additional_false;
	int64_t min_properties;      /* -1 when absent */
	int64_t max_properties;
	size_t n_dependencies;
};

struct sv_array_rules {
	sv_node *items;              /* single-schema form, or NULL */
	sv_node **tuple;             /* array form of "items", or NULL */
	size_t n_tuple;
	bool is_tuple;
	sv_node *additional;         /* schema form of additionalItems, or NULL */
	bool additional_false;
	int64_t min_items;           /* -1 when absent */
	int64_t max_items;
	bool unique;
};

struct sv_enum_string {
	const char *s;               /* NULL for an empty slot */
	uint32_t len;
	uint32_t hash;
};

struct sv_enum_rules {
	struct json_object *array;   /* the "enum" value itself, for messages */
	struct json_object **values; /* borrowed from the schema document */
	size_t n_values;
	unsigned types;              /* SV_T_* of the values */
	struct sv_enum_string *strings; /* hash set of the string values */
	uint32_t strings_mask;
};

struct sv_composite_rules {
	sv_node **all_of;
	size_t n_all_of;
	sv_node **any_of;
	size_t n_any_of;
	sv_node **one_of;
	size_t n_one_of;
	sv_node *not_;
};

struct sv_node {
	unsigned types;              /* SV_T_* accepted; SV_T_ALL without "type" */
	bool has_type;
	unsigned char fast;          /* SV_FAST_*: a leaf the validator checks inline */
	struct sv_string_rules *str;
	struct sv_number_rules *num;
	struct sv_object_rules *obj;
	struct sv_array_rules *arr;
	struct sv_enum_rules *enm;
	struct sv_composite_rules *comp;
	const char *path;            /* "#/definitions/ipType", or "URI#/…" in another document */
	const char *name;            /* "ipType" for a node at #/definitions/ipType, else NULL */
	sv_node *ref;                /* only during compilation: the "$ref" target */
	unsigned mark;               /* only during compilation */
};

struct idmefv2_schema {
	int refcount;
	sv_node *root;
	struct json_object *document;
	struct json_object **documents; /* every document the nodes point into, referenced */
	size_t n_documents;
	idmefv2__regex **regexes;
	size_t n_regexes;
	struct sv_arena_chunk *arena;
};

/* ---- numbers and JSON equality (schema-number.c) ---- */

/* @return the SV_T_* bit of @o (NULL is JSON null). */
unsigned idmefv2__sv_type(struct json_object *o);

/* Compare two JSON numbers exactly (decimal text when the doubles tie).
 * @return <0, 0 or >0 */
int idmefv2__sv_number_cmp(struct json_object *a, struct json_object *b);

/* @return true if the number @a is an integer multiple of @b (> 0), computed
 * exactly on the decimal text so that 0.0075 is a multiple of 0.0001. */
bool idmefv2__sv_number_is_multiple(struct json_object *a, struct json_object *b);

/* JSON equality: 1 == 1.0, objects compared regardless of key order. */
bool idmefv2__sv_json_equal(struct json_object *a, struct json_object *b);

/* A hash consistent with idmefv2__sv_json_equal(). */
uint64_t idmefv2__sv_json_hash(struct json_object *o);

/* Write the exact decimal text of the number @o into @buf (NUL-terminated).
 * @return the length written */
size_t idmefv2__sv_number_text(struct json_object *o, char *buf, size_t size);

static inline uint64_t idmefv2__sv_load64(const char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint32_t idmefv2__sv_load32(const char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * Hash of @len bytes, the same for instance keys and schema names. Words,
 * not bytes: property names and enum strings are short, and a byte-wise
 * hash would cost more than the table lookup it serves.
 */
static inline uint32_t idmefv2__sv_hash(const char *s, size_t len)
{
	uint64_t a, b;
	unsigned __int128 m;

	if (len > 16) {
		a = 0;
		for (size_t i = 0; i + 8 < len; i += 8) {
			m = (unsigned __int128)(a ^ idmefv2__sv_load64(s + i) ^ 0xA0761D6478BD642Full) *
			    0xE7037ED1A0B428DBull;
			a = (uint64_t)m ^ (uint64_t)(m >> 64);
		}
		b = idmefv2__sv_load64(s + len - 8);
	} else if (len >= 8) {
		a = idmefv2__sv_load64(s);
		b = idmefv2__sv_load64(s + len - 8);
	} else if (len >= 4) {
		a = idmefv2__sv_load32(s);
		b = idmefv2__sv_load32(s + len - 4);
	} else if (len) {
		a = (uint64_t)(unsigned char)s[0] | (uint64_t)(unsigned char)s[len >> 1] << 8 |
		    (uint64_t)(unsigned char)s[len - 1] << 16;
		b = 0;
	} else {
		a = b = 0;
	}
	m = (unsigned __int128)(a ^ 0x9E3779B97F4A7C15ull) * (b ^ len ^ 0xC2B2AE3D27D4EB4Full);
	return (uint32_t)((uint64_t)m ^ (uint64_t)(m >> 64));
}

/* memcmp() == 0 for the short strings of names and enums, without a call. */
static inline bool idmefv2__sv_equal(const char *a, const char *b, size_t len)
{
	if (len >= 8) {
		for (size_t i = 0; i + 8 < len; i += 8)
			if (idmefv2__sv_load64(a + i) != idmefv2__sv_load64(b + i))
				return false;
		return idmefv2__sv_load64(a + len - 8) == idmefv2__sv_load64(b + len - 8);
	}
	if (len >= 4)
		return idmefv2__sv_load32(a) == idmefv2__sv_load32(b) &&
		       idmefv2__sv_load32(a + len - 4) == idmefv2__sv_load32(b + len - 4);
	for (size_t i = 0; i < len; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* ---- reports (schema-report.c) ---- */

/* A step of the instance path, kept on the C stack while validating. */
typedef struct sv_seg {
	const struct sv_seg *up;
	const char *key;             /* NULL for an array index */
	size_t len;                  /* key length, or the index */
} sv_seg;

idmefv2_report *idmefv2__report_new(void);

/*
 * Append a failure. @path is the instance path, @node_path + "/" + @keyword
 * the schema path, @message is copied.
 * @return IDMEFV2_OK or IDMEFV2_ERR_NOMEM
 */
idmefv2_error idmefv2__report_add(idmefv2_report *report, const sv_seg *path,
                                  const char *node_path, const char *keyword,
                                  const char *message);

/* Write a JSON rendering of @o into @buf, truncated to about @limit
 * characters with "…" appended (on a UTF-8 boundary). Never modifies @o. */
void idmefv2__sv_quote(struct json_object *o, char *buf, size_t size, size_t limit);

/* The same for a property name. */
void idmefv2__sv_quote_string(const char *s, char *buf, size_t size, size_t limit);

#endif
