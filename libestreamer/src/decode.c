/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Message framing and table-driven record decoding. Every read goes through
 * a cursor that knows the end of the enclosing message, record or block.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "estreamer-private.h"
#include "layouts.h"

#define MAX_NESTING 8
#define CACHE_BUCKETS 1024

enum cache_kind { CACHE_RULE = 1, CACHE_CLASSIFICATION, CACHE_PRIORITY, CACHE_USER };

struct cache_entry {
	struct cache_entry *next;
	int kind;
	uint32_t k1, k2;
	char *a, *b;
};

struct estreamer_decoder {
	int enrich;
	struct cache_entry *buckets[CACHE_BUCKETS];
};

struct cursor {
	const uint8_t *p;
	size_t len;
	size_t off;
};

struct ctx {
	char *errstr;
	size_t errsize;
	uint32_t pending_len;
	int depth;
};

/* ---------------- header and simple messages ---------------- */

estreamer_error estreamer_header_parse(const uint8_t *buf, size_t len, estreamer_header *ret_header)
{
	estreamer_header h;

	if (!buf || !ret_header)
		return ESTREAMER_ERR_INVALID_ARG;
	if (len < ESTREAMER_HEADER_SIZE)
		return ESTREAMER_ERR_TRUNCATED;
	h.version = estreamer__be16(buf);
	h.type = estreamer__be16(buf + 2);
	h.length = estreamer__be32(buf + 4);
	if (h.version != 1)
		return ESTREAMER_ERR_MALFORMED;
	*ret_header = h;
	return ESTREAMER_OK;
}

estreamer_error estreamer_error_message_parse(const uint8_t *body, size_t len, int32_t *ret_code,
					      char *text, size_t text_size)
{
	size_t n, j = 0;

	if (!body || !ret_code)
		return ESTREAMER_ERR_INVALID_ARG;
	if (len < 6)
		return ESTREAMER_ERR_TRUNCATED;
	n = estreamer__be16(body + 4);
	if (n > len - 6)
		return ESTREAMER_ERR_TRUNCATED;
	if (text && text_size > 0) {
		for (size_t i = 0; i < n && j + 1 < text_size; i++)
			if (body[6 + i] != '\0')
				text[j++] = (char)body[6 + i];
		text[j] = '\0';
	}
	*ret_code = (int32_t)estreamer__be32(body);
	return ESTREAMER_OK;
}

static int scan_services(const uint8_t *body, size_t len, uint32_t service, int inclusive)
{
	size_t off = 0;

	while (len - off >= 8) {
		uint32_t id = estreamer__be32(body + off);
		uint32_t n = estreamer__be32(body + off + 4);
		size_t step;

		if (id == service)
			return 1;
		step = inclusive ? n : (size_t)n + 8;
		if (step < 8 || step > len - off)
			return 0;
		off += step;
	}
	return 0;
}

int estreamer_streaming_info_has_service(const uint8_t *body, size_t len, uint32_t service)
{
	if (!body)
		return 0;
	return scan_services(body, len, service, 0) || scan_services(body, len, service, 1);
}

/* ---------------- metadata cache ---------------- */

estreamer_decoder *estreamer_decoder_new(void)
{
	estreamer_decoder *d = calloc(1, sizeof(*d));

	if (d)
		d->enrich = 1;
	return d;
}

void estreamer_decoder_free(estreamer_decoder *dec)
{
	if (!dec)
		return;
	for (size_t i = 0; i < CACHE_BUCKETS; i++) {
		struct cache_entry *e = dec->buckets[i];

		while (e) {
			struct cache_entry *next = e->next;

			free(e->a);
			free(e->b);
			free(e);
			e = next;
		}
	}
	free(dec);
}

void estreamer_decoder_set_enrich(estreamer_decoder *dec, int enrich)
{
	if (dec)
		dec->enrich = enrich;
}

static size_t cache_hash(int kind, uint32_t k1, uint32_t k2)
{
	uint32_t h = (uint32_t)kind * 2654435761u ^ k1 * 40503u ^ k2 * 2246822519u;

	return (h ^ (h >> 15)) % CACHE_BUCKETS;
}

static struct cache_entry *cache_find(estreamer_decoder *d, int kind, uint32_t k1, uint32_t k2)
{
	for (struct cache_entry *e = d->buckets[cache_hash(kind, k1, k2)]; e; e = e->next)
		if (e->kind == kind && e->k1 == k1 && e->k2 == k2)
			return e;
	return NULL;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void cache_put(estreamer_decoder *d, int kind, uint32_t k1, uint32_t k2, const char *a,
		      const char *b)
{
	struct cache_entry *e = cache_find(d, kind, k1, k2);
	char *na = dup_or_null(a), *nb = dup_or_null(b);

	if ((a && !na) || (b && !nb))
		goto fail;
	if (!e) {
		size_t h = cache_hash(kind, k1, k2);

		e = calloc(1, sizeof(*e));
		if (!e)
			goto fail;
		e->kind = kind;
		e->k1 = k1;
		e->k2 = k2;
		e->next = d->buckets[h];
		d->buckets[h] = e;
	}
	free(e->a);
	free(e->b);
	e->a = na;
	e->b = nb;
	return;
fail:
	/* A cache miss only costs enrichment; decoding goes on. */
	free(na);
	free(nb);
}

static int get_u32(json_object *obj, const char *key, uint32_t *ret)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_int))
		return 0;
	*ret = (uint32_t)json_object_get_int64(v);
	return 1;
}

static const char *get_str(json_object *obj, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static void add_str(json_object *obj, const char *key, const char *value)
{
	if (value)
		json_object_object_add(obj, key, json_object_new_string(value));
}

static void cache_learn(estreamer_decoder *d, uint32_t type, json_object *obj)
{
	uint32_t a, b;

	switch (type) {
	case 66:
		if (get_u32(obj, "generatorId", &a) && get_u32(obj, "ruleId", &b))
			cache_put(d, CACHE_RULE, a, b, get_str(obj, "message"), NULL);
		break;
	case 67:
		if (get_u32(obj, "id", &a))
			cache_put(d, CACHE_CLASSIFICATION, a, 0, get_str(obj, "name"),
				  get_str(obj, "description"));
		break;
	case 4:
		if (get_u32(obj, "id", &a))
			cache_put(d, CACHE_PRIORITY, a, 0, get_str(obj, "name"), NULL);
		break;
	case 62:
	case 98:
		if (get_u32(obj, "id", &a))
			cache_put(d, CACHE_USER, a, 0, get_str(obj, "name"), NULL);
		break;
	default:
		break;
	}
}

static void cache_enrich(estreamer_decoder *d, json_object *obj)
{
	struct cache_entry *e;
	uint32_t a, b;

	if (get_u32(obj, "generatorId", &a) && get_u32(obj, "ruleId", &b) &&
	    (e = cache_find(d, CACHE_RULE, a, b)))
		add_str(obj, "ruleMessage", e->a);
	if (get_u32(obj, "classificationId", &a) && (e = cache_find(d, CACHE_CLASSIFICATION, a, 0))) {
		add_str(obj, "classificationName", e->a);
		add_str(obj, "classificationDescription", e->b);
	}
	if (get_u32(obj, "priorityId", &a) && (e = cache_find(d, CACHE_PRIORITY, a, 0)))
		add_str(obj, "priorityName", e->a);
	if (get_u32(obj, "userId", &a) && (e = cache_find(d, CACHE_USER, a, 0)))
		add_str(obj, "userName", e->a);
}

/* ---------------- field decoding ---------------- */

static estreamer_error need(struct ctx *c, const struct cursor *cur, size_t n, const char *what)
{
	if (cur->len - cur->off < n)
		return estreamer__fail(c->errstr, c->errsize, ESTREAMER_ERR_TRUNCATED,
				       "%s: needs %zu bytes at offset %zu, %zu left", what, n,
				       cur->off, cur->len - cur->off);
	return ESTREAMER_OK;
}

/* Text as JSON: NULs dropped (padding in names), bytes that are not UTF-8 become '?'. */
static json_object *text_value(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);
	size_t j = 0, i = 0;
	json_object *v;

	if (!s)
		return NULL;
	while (i < n) {
		uint8_t b = p[i];
		size_t k, extra = b < 0x80 ? 0 : (b & 0xe0) == 0xc0 ? 1 : (b & 0xf0) == 0xe0 ? 2 :
						 (b & 0xf8) == 0xf0 ? 3 : 99;

		if (b == 0) {
			i++;
			continue;
		}
		if (extra == 99 || extra > n - i - 1 || (extra == 1 && b < 0xc2)) {
			s[j++] = '?';
			i++;
			continue;
		}
		for (k = 1; k <= extra; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				break;
		if (k <= extra) {
			s[j++] = '?';
			i++;
			continue;
		}
		memcpy(s + j, p + i, extra + 1);
		j += extra + 1;
		i += extra + 1;
	}
	v = json_object_new_string_len(s, (int)j);
	free(s);
	return v;
}

static json_object *hex_value(const uint8_t *p, size_t n)
{
	char *s = estreamer__hex(p, n);
	json_object *v;

	if (!s)
		return NULL;
	v = json_object_new_string(s);
	free(s);
	return v;
}

static json_object *ipv6_value(const uint8_t *p)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	char buf[INET6_ADDRSTRLEN];

	if (memcmp(p, mapped, 12) == 0)
		inet_ntop(AF_INET, p + 12, buf, sizeof(buf));
	else
		inet_ntop(AF_INET6, p, buf, sizeof(buf));
	return json_object_new_string(buf);
}

static json_object *uuid_value(const uint8_t *p)
{
	char buf[37];

	snprintf(buf, sizeof(buf),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", p[0], p[1],
		 p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13], p[14],
		 p[15]);
	return json_object_new_string(buf);
}

static estreamer_error decode_block(estreamer_decoder *d, struct ctx *c, struct cursor *cur,
				    int series, json_object *into);

/* A string or BLOB block: u32 type, u32 length including the 8 header bytes. */
static estreamer_error decode_tlv_bytes(struct ctx *c, struct cursor *cur, const char *name,
					int as_text, json_object **ret)
{
	estreamer_error err = need(c, cur, 8, name);
	uint32_t n;

	if (err)
		return err;
	n = estreamer__be32(cur->p + cur->off + 4);
	if (n < 8)
		return estreamer__fail(c->errstr, c->errsize, ESTREAMER_ERR_MALFORMED,
				       "%s: block length %u is less than its header", name, n);
	err = need(c, cur, n, name);
	if (err)
		return err;
	*ret = as_text ? text_value(cur->p + cur->off + 8, n - 8) :
			 hex_value(cur->p + cur->off + 8, n - 8);
	cur->off += n;
	return ESTREAMER_OK;
}

/* Whether a well-formed block of exactly the remaining size starts at off. */
static int block_fits(const struct cursor *cur, size_t off)
{
	uint32_t n;

	if (cur->len < off || cur->len - off < 8)
		return 0;
	n = estreamer__be32(cur->p + off + 4);
	return n >= 8 && n == cur->len - off;
}

static estreamer_error decode_field(estreamer_decoder *d, struct ctx *c, const struct field *f,
				    struct cursor *cur, json_object *obj)
{
	static const size_t sizes[] = {
		[F_U8] = 1, [F_U16] = 2, [F_U32] = 4, [F_I32] = 4, [F_U64] = 8, [F_IPV4] = 4,
		[F_IPV6] = 16, [F_MAC] = 6, [F_UUID] = 16, [F_LEN16] = 2, [F_LEN32] = 4,
	};
	const char *name = f->name ? f->name : "length";
	const uint8_t *p;
	json_object *v = NULL;
	estreamer_error err;
	size_t n;
	char buf[32];

	switch (f->type) {
	case F_STRING:
	case F_BLOB:
		err = decode_tlv_bytes(c, cur, name, f->type == F_STRING, &v);
		if (err)
			return err;
		goto add;
	case F_INLINE:
		return decode_block(d, c, cur, f->arg, obj);
	case F_BLOCK:
		v = json_object_new_object();
		if (!v)
			return ESTREAMER_ERR_NOMEM;
		err = decode_block(d, c, cur, f->arg, v);
		if (err) {
			json_object_put(v);
			return err;
		}
		goto add;
	case F_REST:
		if (cur->off == cur->len)
			return ESTREAMER_OK;
		v = hex_value(cur->p + cur->off, cur->len - cur->off);
		cur->off = cur->len;
		goto add;
	case F_HOST_IP:
		/* Present unless the rest is exactly a block without it. */
		if (block_fits(cur, cur->off) && !block_fits(cur, cur->off + 16))
			return ESTREAMER_OK;
		n = 16;
		break;
	case F_HEX:
		n = f->arg;
		break;
	case F_CHARS:
	case F_BYTES:
		n = c->pending_len;
		break;
	default:
		n = sizes[f->type];
		break;
	}
	err = need(c, cur, n, name);
	if (err)
		return err;
	p = cur->p + cur->off;
	cur->off += n;
	switch (f->type) {
	case F_U8:
		v = json_object_new_int(p[0]);
		break;
	case F_U16:
		v = json_object_new_int(estreamer__be16(p));
		break;
	case F_U32:
		v = json_object_new_int64(estreamer__be32(p));
		break;
	case F_I32:
		v = json_object_new_int((int32_t)estreamer__be32(p));
		break;
	case F_U64:
		v = json_object_new_uint64(estreamer__be64(p));
		break;
	case F_IPV4:
		inet_ntop(AF_INET, p, buf, sizeof(buf));
		v = json_object_new_string(buf);
		break;
	case F_IPV6:
	case F_HOST_IP:
		v = ipv6_value(p);
		break;
	case F_MAC:
		snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", p[0], p[1], p[2], p[3],
			 p[4], p[5]);
		v = json_object_new_string(buf);
		break;
	case F_UUID:
		v = uuid_value(p);
		break;
	case F_HEX:
	case F_BYTES:
		v = hex_value(p, n);
		break;
	case F_CHARS:
		v = text_value(p, n);
		break;
	case F_LEN16:
		c->pending_len = estreamer__be16(p);
		if (!f->name)
			return ESTREAMER_OK;
		v = json_object_new_int64(c->pending_len);
		break;
	case F_LEN32:
		c->pending_len = estreamer__be32(p);
		if (!f->name)
			return ESTREAMER_OK;
		v = json_object_new_int64(c->pending_len);
		break;
	default:
		return ESTREAMER_ERR_INVALID_ARG;
	}
add:
	if (!v)
		return ESTREAMER_ERR_NOMEM;
	json_object_object_add(obj, name, v);
	return ESTREAMER_OK;
}

static estreamer_error decode_fields(estreamer_decoder *d, struct ctx *c,
				     const struct layout *layout, struct cursor *cur,
				     json_object *obj)
{
	for (size_t part = 0; part < LAYOUT_PARTS && layout->parts[part]; part++) {
		for (const struct field *f = layout->parts[part]; f->type != F_END; f++) {
			estreamer_error err = decode_field(d, c, f, cur, obj);

			if (err)
				return err;
		}
	}
	return ESTREAMER_OK;
}

static estreamer_error add_hex(json_object *obj, const char *key, const uint8_t *p, size_t n)
{
	json_object *v = hex_value(p, n);

	if (!v)
		return ESTREAMER_ERR_NOMEM;
	json_object_object_add(obj, key, v);
	return ESTREAMER_OK;
}

static estreamer_error decode_block(estreamer_decoder *d, struct ctx *c, struct cursor *cur,
				    int series, json_object *into)
{
	const struct layout *layout;
	struct cursor sub;
	uint32_t type, n;
	estreamer_error err = need(c, cur, 8, "block header");

	if (err)
		return err;
	if (c->depth >= MAX_NESTING)
		return estreamer__fail(c->errstr, c->errsize, ESTREAMER_ERR_MALFORMED,
				       "blocks nested deeper than %d", MAX_NESTING);
	type = estreamer__be32(cur->p + cur->off);
	n = estreamer__be32(cur->p + cur->off + 4);
	if (n < 8)
		return estreamer__fail(c->errstr, c->errsize, ESTREAMER_ERR_MALFORMED,
				       "block type %u: length %u is less than its header", type, n);
	if (cur->len - cur->off < n)
		return estreamer__fail(c->errstr, c->errsize, ESTREAMER_ERR_TRUNCATED,
				       "block type %u: length %u exceeds the %zu bytes left", type,
				       n, cur->len - cur->off);
	sub.p = cur->p + cur->off;
	sub.len = n;
	sub.off = 8;
	json_object_object_add(into, "blockType", json_object_new_int64(type));
	json_object_object_add(into, "blockLength", json_object_new_int64(n));
	layout = estreamer__block_layout(series, type);
	if (!layout) {
		err = add_hex(into, "blockData", sub.p + 8, n - 8);
	} else {
		c->depth++;
		err = decode_fields(d, c, layout, &sub, into);
		c->depth--;
		if (err == ESTREAMER_ERR_TRUNCATED)
			/* The block's own length is what is short: the data is malformed. */
			err = ESTREAMER_ERR_MALFORMED;
	}
	if (err)
		return err;
	cur->off += n;
	return ESTREAMER_OK;
}

/* ---------------- records ---------------- */

const char *estreamer_record_type_name(uint32_t type)
{
	const struct layout *l = estreamer__record_layout(type);

	return l ? l->name : NULL;
}

struct record_view {
	uint32_t type;
	uint32_t length;
	int has_archival;
	uint32_t archival;
	const uint8_t *body;
};

static estreamer_error record_split(struct ctx *c, const uint8_t *buf, size_t len,
				    struct record_view *ret)
{
	uint32_t type, n;

	if (len < 8)
		return estreamer__fail(c->errstr, c->errsize, ESTREAMER_ERR_TRUNCATED,
				       "record header needs 8 bytes, %zu present", len);
	type = estreamer__be32(buf) & 0x7fffffffu;
	n = estreamer__be32(buf + 4);
	/* Whether the archival extension is there is told by the sizes alone. */
	if ((size_t)n == len - 8) {
		ret->has_archival = 0;
		ret->archival = 0;
		ret->body = buf + 8;
	} else if (len >= 16 && (size_t)n == len - 16) {
		ret->has_archival = 1;
		ret->archival = estreamer__be32(buf + 8);
		ret->body = buf + 16;
	} else if ((size_t)n > len - 8) {
		return estreamer__fail(c->errstr, c->errsize, ESTREAMER_ERR_TRUNCATED,
				       "record type %u: length %u exceeds the %zu bytes present", type,
				       n, len - 8);
	} else {
		return estreamer__fail(c->errstr, c->errsize, ESTREAMER_ERR_MALFORMED,
				       "record type %u: length %u fits neither an 8- nor a 16-byte "
				       "header in %zu bytes",
				       type, n, len);
	}
	ret->type = type;
	ret->length = n;
	return ESTREAMER_OK;
}

static estreamer_error record_decode(estreamer_decoder *d, struct ctx *c,
				     const struct record_view *rv, json_object **ret)
{
	const struct layout *layout = estreamer__record_layout(rv->type);
	json_object *obj = json_object_new_object();
	struct cursor cur = { rv->body, rv->length, 0 };
	estreamer_error err;

	if (!obj)
		return ESTREAMER_ERR_NOMEM;
	json_object_object_add(obj, "recordType", json_object_new_int64(rv->type));
	json_object_object_add(obj, "recordLength", json_object_new_int64(rv->length));
	if (rv->has_archival)
		json_object_object_add(obj, "archiveTimestamp", json_object_new_int64(rv->archival));
	if (!layout) {
		err = add_hex(obj, "data", rv->body, rv->length);
		goto out;
	}
	json_object_object_add(obj, "recordTypeName", json_object_new_string(layout->name));
	c->pending_len = 0;
	c->depth = 0;
	err = decode_fields(d, c, layout, &cur, obj);
	if (err) {
		char inner[256];

		if (c->errstr && c->errsize > 0) {
			snprintf(inner, sizeof(inner), "%s", c->errstr);
			snprintf(c->errstr, c->errsize, "record type %u: %s", rv->type, inner);
		}
		if (err == ESTREAMER_ERR_TRUNCATED)
			/* The record's own length is what is short: the data is malformed. */
			err = ESTREAMER_ERR_MALFORMED;
		goto out;
	}
	cache_learn(d, rv->type, obj);
	if (d->enrich && (rv->type == 400 || rv->type == 71 || rv->type == 500 || rv->type == 502))
		cache_enrich(d, obj);
out:
	if (err) {
		json_object_put(obj);
		return err;
	}
	*ret = obj;
	return ESTREAMER_OK;
}

estreamer_error estreamer_decoder_record(estreamer_decoder *dec, const uint8_t *buf, size_t len,
					 json_object **ret_json, char *errstr, size_t errstr_size)
{
	struct ctx c = { errstr, errstr_size, 0, 0 };
	struct record_view rv;
	estreamer_error err;

	if (!dec || (!buf && len) || !ret_json)
		return ESTREAMER_ERR_INVALID_ARG;
	err = record_split(&c, buf, len, &rv);
	if (err)
		return err;
	return record_decode(dec, &c, &rv, ret_json);
}

static estreamer_error deliver(estreamer_decoder *d, struct ctx *c, const uint8_t *buf, size_t len,
			       estreamer_record_cb cb, void *user)
{
	struct record_view rv;
	estreamer_record rec;
	json_object *obj = NULL;
	estreamer_error err = record_split(c, buf, len, &rv);
	int stop;

	if (err)
		return err;
	err = record_decode(d, c, &rv, &obj);
	if (err)
		return err;
	rec.type = rv.type;
	rec.length = rv.length;
	rec.has_archival = rv.has_archival;
	rec.archival_timestamp = rv.archival;
	rec.raw = buf;
	rec.raw_len = len;
	rec.body = rv.body;
	rec.json = obj;
	stop = cb ? cb(user, &rec) : 0;
	json_object_put(obj);
	if (stop)
		return estreamer__fail(c->errstr, c->errsize, ESTREAMER_ERR_ABORTED,
				       "stopped by the record callback");
	return ESTREAMER_OK;
}

static estreamer_error decode_bundle(estreamer_decoder *d, struct ctx *c, const uint8_t *body,
				     size_t len, estreamer_record_cb cb, void *user)
{
	size_t off = 8;

	if (len < 8)
		return estreamer__fail(c->errstr, c->errsize, ESTREAMER_ERR_TRUNCATED,
				       "message bundle: needs 8 bytes of connection id and sequence, "
				       "%zu present",
				       len);
	while (off < len) {
		uint16_t ver, type;
		uint32_t n;
		estreamer_error err;

		if (len - off < 8)
			return estreamer__fail(c->errstr, c->errsize, ESTREAMER_ERR_TRUNCATED,
					       "message bundle: inner header at offset %zu cut short",
					       off);
		ver = estreamer__be16(body + off);
		type = estreamer__be16(body + off + 2);
		n = estreamer__be32(body + off + 4);
		if (ver > 1)
			return estreamer__fail(c->errstr, c->errsize, ESTREAMER_ERR_MALFORMED,
					       "message bundle: inner message version %u", ver);
		if (n > len - off - 8)
			return estreamer__fail(c->errstr, c->errsize, ESTREAMER_ERR_TRUNCATED,
					       "message bundle: inner message of %u bytes at offset "
					       "%zu exceeds the bundle",
					       n, off);
		if (type == ESTREAMER_MSG_EVENT_DATA) {
			err = deliver(d, c, body + off + 8, n, cb, user);
			if (err)
				return err;
		} else if (type != ESTREAMER_MSG_SINGLE_HOST && type != ESTREAMER_MSG_MULTIPLE_HOST &&
			   type != ESTREAMER_MSG_NULL) {
			return estreamer__fail(c->errstr, c->errsize, ESTREAMER_ERR_MALFORMED,
					       "message bundle: inner message type %u", type);
		}
		off += 8 + (size_t)n;
	}
	return ESTREAMER_OK;
}

estreamer_error estreamer_decoder_message(estreamer_decoder *dec, const uint8_t *buf, size_t len,
					  estreamer_record_cb cb, void *user, char *errstr,
					  size_t errstr_size)
{
	struct ctx c = { errstr, errstr_size, 0, 0 };
	estreamer_header h;
	estreamer_error err;
	const uint8_t *body;
	int32_t code;
	char text[512];

	if (!dec || (!buf && len))
		return ESTREAMER_ERR_INVALID_ARG;
	err = estreamer_header_parse(buf, len, &h);
	if (err == ESTREAMER_ERR_TRUNCATED)
		return estreamer__fail(errstr, errstr_size, err,
				       "message header needs 8 bytes, %zu present", len);
	if (err)
		return estreamer__fail(errstr, errstr_size, err, "message header version %u, not 1",
				       estreamer__be16(buf));
	if ((size_t)h.length != len - 8)
		return estreamer__fail(errstr, errstr_size,
				       h.length > len - 8 ? ESTREAMER_ERR_TRUNCATED :
							    ESTREAMER_ERR_MALFORMED,
				       "message type %u: length %u, %zu bytes present", h.type,
				       h.length, len - 8);
	body = buf + 8;
	switch (h.type) {
	case ESTREAMER_MSG_EVENT_DATA:
		return deliver(dec, &c, body, h.length, cb, user);
	case ESTREAMER_MSG_BUNDLE:
		return decode_bundle(dec, &c, body, h.length, cb, user);
	case ESTREAMER_MSG_ERROR:
		err = estreamer_error_message_parse(body, h.length, &code, text, sizeof(text));
		if (err)
			return estreamer__fail(errstr, errstr_size, err,
					       "error message: text longer than the message");
		return estreamer__fail(errstr, errstr_size, ESTREAMER_ERR_SERVER,
				       "server error %d: %s", code, text);
	default:
		return ESTREAMER_OK;
	}
}
