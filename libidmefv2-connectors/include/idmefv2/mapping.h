/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file mapping.h
 * Declarative templates turning a native JSON alert into an IDMEFv2 message.
 *
 * A template is a JSON object. Its top-level keys beginning with "$" are
 * directives (only "$filter" is defined); every other key is copied into the
 * output after evaluation. Values are evaluated as follows:
 *
 * - a string beginning with "$" is a JSONPath into the input ("$.alert.severity",
 *   "$.a[0]", "$.a[-1]", "$.a[*].b", "$[\"x.y\"]", "$.\"kismet.alert.text\"");
 *   a path holding a wildcard yields a list of every match;
 * - a string beginning with "$$" is the literal string with one "$" removed;
 * - {"$fn": NAME, "args": [V, ...]} calls a registered function on the
 *   evaluated arguments;
 * - {"$path": PATH} is the same as the string PATH;
 * - {"$literal": V} is V, never evaluated;
 * - other objects and arrays are evaluated member by member (an array all of
 *   whose elements are missing is itself missing, so ["$.src_port"] gives no
 *   Port rather than an empty list); anything else is a literal.
 *
 * A path that matches nothing (or matches JSON null), and a literal null, are
 * "missing". Output values are copies: they share nothing with the input or
 * the template. "$path" and
 * "$fn" objects may carry "missing": "omit" (the default: the member or array
 * element is left out), "default" (with "default": V, a literal) or "reject"
 * (the whole input is refused with IDMEFV2_ERR_NOT_FOUND).
 *
 * "$filter" is a condition; the input converts only if it holds:
 * {"$eq": [A, B]}, {"$ne": [A, B]} (A and B evaluated, compared as JSON; a
 * missing side equals only another missing side), {"$exists": A},
 * {"$and": [C, ...]}, {"$or": [C, ...]}, {"$not": C}.
 *
 * Built-in functions (arguments may be missing, shown as NULL to the function):
 * uuid(), now(), timestamp(V [, STRFTIME_FORMAT]), lookup(V, MAP [, FALLBACK]),
 * range(V, [[BOUND, RESULT], ...] [, FALLBACK]) (first BOUND with V < BOUND),
 * lower(V), concat(V, ...), format(FMT, V, ...) ("{}" placeholders, "{{" and "}}"
 * braces), int(V), strip_port(V), find_key(V, KEY), join(LIST, SEP),
 * coalesce(V, ...) (first non-missing argument), classify(V, [[KEYWORDS, RESULT],
 * ...] [, FALLBACK]) (the first rule with a keyword contained in lower-cased V;
 * a keyword given as a list needs all its words), hostname(), local_ip() (the first
 * IPv4 address of an interface up and not loopback, else a global IPv6 one, else
 * 127.0.0.1),
 * base64_file(PATH [, MAX_BYTES]) (the file's bytes in base64; missing, with a
 * warning through idmefv2_mapping_set_log_cb(), when the file is absent,
 * unreadable, a symbolic link (its last component is opened with O_NOFOLLOW),
 * not a regular file (FIFO, device, directory, socket), or larger than
 * MAX_BYTES, default IDMEFV2_MAPPING_FILE_MAX).
 */
#ifndef IDMEFV2_MAPPING_H
#define IDMEFV2_MAPPING_H

#include <stddef.h>

#include <idmefv2/common.h>
#include <idmefv2/transport.h>

#ifdef __cplusplus
extern "C" {
#endif

struct json_object;

typedef struct idmefv2_mapping idmefv2_mapping;

/** Largest file base64_file() reads unless its MAX_BYTES argument says otherwise, and largest template file: 16 MiB. */
#define IDMEFV2_MAPPING_FILE_MAX (16u * 1024 * 1024)

/**
 * A template function.
 * @param args the evaluated arguments, borrowed; an element is NULL when its
 *        source is missing
 * @param ret_value set to a new reference, or to NULL when the result is
 *        missing (the field's missing policy then applies)
 * @return IDMEFV2_OK, or an error (with a reason in @p errstr) failing the apply
 */
typedef idmefv2_error (*idmefv2_mapping_fn)(struct json_object *const *args, size_t nargs,
                                            void *userdata, struct json_object **ret_value,
                                            char *errstr, size_t errstr_size);

/** For idmefv2_mapping_register_function(): no upper bound on the argument count. */
#define IDMEFV2_MAPPING_VARIADIC ((size_t)-1)

/**
 * Add a function usable by templates compiled afterwards. Process-wide and
 * thread-safe; a function cannot be removed or replaced.
 * @param name copied; must not be the name of a built-in or registered function
 * @param min_args, max_args the argument counts accepted, checked at compile time
 * @param userdata passed to every call; not owned
 * @return IDMEFV2_OK, IDMEFV2_ERR_INVALID_ARG (bad name or bounds, or name taken),
 *         IDMEFV2_ERR_NOMEM
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_mapping_register_function(const char *name, size_t min_args,
                                                               size_t max_args,
                                                               idmefv2_mapping_fn fn,
                                                               void *userdata);

/**
 * Compile a template.
 * @param name used in error messages (e.g. the file or tool name); copied
 * @param tmpl the template object; borrowed, not modified, not kept
 * @param ret_mapping release with idmefv2_mapping_free()
 * @return IDMEFV2_OK, IDMEFV2_ERR_NOT_OBJECT, IDMEFV2_ERR_PATH (malformed path),
 *         IDMEFV2_ERR_INVALID_ARG (unknown function, wrong argument count, bad
 *         directive); errstr reads "template NAME: /json/pointer: reason"
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_mapping_compile_json(const char *name,
                                                          struct json_object *tmpl,
                                                          idmefv2_mapping **ret_mapping,
                                                          char *errstr, size_t errstr_size);

/**
 * Read and compile a template file; the path names the template in errors.
 * The file must be a regular file (links are followed) of at most
 * IDMEFV2_MAPPING_FILE_MAX bytes: a FIFO, a device or a directory is refused
 * without blocking.
 * @return as idmefv2_mapping_compile_json(), plus IDMEFV2_ERR_IO (unreadable,
 *         not a regular file, too large) and IDMEFV2_ERR_PARSE
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_mapping_load_file(const char *path,
                                                       idmefv2_mapping **ret_mapping,
                                                       char *errstr, size_t errstr_size);

/**
 * Load the template of a tool by name ("suricata", "wazuh", ...): the first
 * file TOOL.json found in the directories of the environment variable
 * IDMEFV2_TEMPLATE_PATH (colon-separated), then SYSCONFDIR/idmefv2/templates
 * (where an administrator overrides a built-in template or adds a tool), then
 * DATADIR/idmefv2/templates (the installed built-in templates); else the copy
 * of the built-in template compiled into the library.
 * @param ret_origin if not NULL, set to the file loaded, or to "built-in"
 *        (a new string: free() it)
 * @return as idmefv2_mapping_load_file(); IDMEFV2_ERR_INVALID_ARG for a name
 *         that is not [a-z0-9_-]+; IDMEFV2_ERR_NOT_FOUND when no template
 *         exists (errstr lists the built-in ones)
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_mapping_load_tool(const char *tool, idmefv2_mapping **ret_mapping,
                                                       char **ret_origin,
                                                       char *errstr, size_t errstr_size);

/**
 * @return the names of the built-in templates, sorted, ended by NULL (static)
 */
IDMEFV2_EXPORT const char *const *idmefv2_mapping_builtin_tools(void);

/** @return the template name; borrowed, valid while @p mapping lives */
IDMEFV2_EXPORT const char *idmefv2_mapping_get_name(const idmefv2_mapping *mapping);

/**
 * Build the output for one input. A compiled mapping is read-only here, so
 * several threads may apply the same one at once.
 * @param input borrowed, not modified
 * @param ret_output a new object (release with json_object_put()), or NULL
 *        when "$filter" excludes the input
 * @return IDMEFV2_OK; IDMEFV2_ERR_NOT_FOUND when a "reject" field is missing;
 *         a function's error; errstr names the template and the pointer
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_mapping_apply(const idmefv2_mapping *mapping,
                                                   struct json_object *input,
                                                   struct json_object **ret_output,
                                                   char *errstr, size_t errstr_size);

/**
 * Set where template functions report why a value is missing when that
 * deserves a warning (e.g. base64_file() refusing a symbolic link). Called
 * from the thread applying the mapping; set it before applying.
 */
IDMEFV2_EXPORT void idmefv2_mapping_set_log_cb(idmefv2_mapping *mapping, idmefv2_log_cb cb, void *user_data);

/** Release @p mapping; NULL is accepted. */
IDMEFV2_EXPORT void idmefv2_mapping_free(idmefv2_mapping *mapping);

#ifdef __cplusplus
}
#endif

#endif
