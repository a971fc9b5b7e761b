/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: a MozDef event given as JSON (mozdef-send --details-json,
 * --details-file and --document, or an event document as MozDef stores it)
 * built into a libmozdef event, validated and serialized. The first byte picks
 * the event type; the rest is the JSON text. Its top-level members fill the
 * event's fields (summary, category, source, hostname, processname,
 * timestamp, severity by name, processid, tags); "details" is set whole, and
 * each of its members is set again by its key read as a dotted path, as
 * --details-json does; a vulnerability event takes the whole object as its
 * document.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <mozdef/mozdef.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static void fields_set(mozdef_event *ev, struct json_object *o)
{
	struct json_object *v;
	mozdef_severity sev;
	const char *s;

	if ((s = str(o, "summary")))
		(void)mozdef_event_set_summary(ev, s);
	if ((s = str(o, "category")))
		(void)mozdef_event_set_category(ev, s);
	if ((s = str(o, "source")))
		(void)mozdef_event_set_source(ev, s);
	if ((s = str(o, "hostname")))
		(void)mozdef_event_set_hostname(ev, s);
	if ((s = str(o, "processname")))
		(void)mozdef_event_set_processname(ev, s);
	if ((s = str(o, "timestamp")))
		(void)mozdef_event_set_timestamp(ev, s);
	if ((s = str(o, "severity")) && mozdef_severity_from_string(s, &sev) == MOZDEF_OK)
		(void)mozdef_event_set_severity(ev, sev);
	if (json_object_object_get_ex(o, "processid", &v))
		mozdef_event_set_processid(ev, json_object_get_int64(v));
	if (json_object_object_get_ex(o, "tags", &v) && json_object_is_type(v, json_type_array))
		for (size_t i = 0; i < json_object_array_length(v); i++)
			if (json_object_is_type(json_object_array_get_idx(v, i), json_type_string))
				(void)mozdef_event_add_tag(ev, json_object_get_string(json_object_array_get_idx(v, i)));
}

static void details_set(mozdef_event *ev, struct json_object *details)
{
	char err[256];
	struct json_object *copy = NULL;

	if (json_object_deep_copy(details, &copy, NULL) != 0)
		abort();
	if (mozdef_event_set_details(ev, copy) != MOZDEF_OK)
		json_object_put(copy);
	json_object_object_foreach(details, key, value)
	{
		struct json_object *v = json_object_get(value);

		if (mozdef_event_set_detail(ev, key, v, err, sizeof(err)) != MOZDEF_OK)
			json_object_put(v);
		(void)mozdef_event_get_detail(ev, key);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const mozdef_event_type types[] = { MOZDEF_EVENT_GENERIC, MOZDEF_EVENT_COMPLIANCE,
		                                   MOZDEF_EVENT_VULNERABILITY, MOZDEF_EVENT_ASSET_HINT,
		                                   MOZDEF_EVENT_RRA };
	struct json_tokener *tok;
	struct json_object *o, *details;
	mozdef_event *ev;
	char err[256], *text = NULL;
	size_t len = 0;

	if (size == 0 || size > INT32_MAX)
		return 0;
	tok = json_tokener_new();
	o = json_tokener_parse_ex(tok, (const char *)data + 1, (int)(size - 1));
	json_tokener_free(tok);
	if (!o)
		return 0;
	ev = mozdef_event_new(types[data[0] % 5]);
	if (!ev)
		abort();
	if (mozdef_event_get_type(ev) == MOZDEF_EVENT_VULNERABILITY) {
		if (mozdef_event_set_document(ev, json_object_get(o)) != MOZDEF_OK)
			json_object_put(o);
	} else if (json_object_is_type(o, json_type_object)) {
		fields_set(ev, o);
		if (json_object_object_get_ex(o, "details", &details) && json_object_is_type(details, json_type_object))
			details_set(ev, details);
	}
	(void)mozdef_event_validate(ev, err, sizeof(err));
	if (mozdef_event_serialize(ev, &text, &len, err, sizeof(err)) == MOZDEF_OK)
		free(text);
	mozdef_event_free(ev);
	json_object_put(o);
	return 0;
}
