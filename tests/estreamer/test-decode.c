/* SPDX-License-Identifier: Apache-2.0 */
/* Framing, requests and record decoding against the vectors and built records. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <estreamer/decode.h>
#include <estreamer/request.h>

#include "builder.h"

static const char *str_field(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	return json_object_get_string(v);
}

static int64_t int_field(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return -12345;
	return json_object_get_int64(v);
}

static int has_field(json_object *o, const char *key)
{
	return json_object_object_get_ex(o, key, NULL);
}

static json_object *decode_record(estreamer_decoder *d, uint32_t type, int archival, uint32_t ts,
				  const struct buf *body)
{
	struct buf rec = { 0 };
	json_object *o = NULL;
	char err[256] = "";
	estreamer_error rc;

	b_record(&rec, type, archival, ts, body);
	rc = estreamer_decoder_record(d, rec.p, rec.len, &o, err, sizeof(err));
	ck_assert_msg(rc == ESTREAMER_OK, "record %u: %s (%s)", type, estreamer_strerror(rc), err);
	b_free(&rec);
	return o;
}

/* ---------------- vectors ---------------- */

START_TEST(test_vector_null)
{
	struct buf v = { 0 };
	estreamer_header h;
	estreamer_decoder *d = estreamer_decoder_new();
	uint8_t null[8];

	ck_assert_int_eq(load_vector("guide_examples.hex", "null_message", &v), 0);
	ck_assert_int_eq(estreamer_header_parse(v.p, v.len, &h), ESTREAMER_OK);
	ck_assert_uint_eq(h.version, 1);
	ck_assert_uint_eq(h.type, ESTREAMER_MSG_NULL);
	ck_assert_uint_eq(h.length, 0);
	ck_assert_int_eq(estreamer_decoder_message(d, v.p, v.len, NULL, NULL, NULL, 0), ESTREAMER_OK);
	estreamer_request_null(null);
	ck_assert_mem_eq(null, v.p, 8);
	b_free(&v);
	v = (struct buf){ 0 };
	ck_assert_int_eq(load_vector("constructed_from_reference_clients.hex", "null_ack", &v), 0);
	ck_assert_mem_eq(null, v.p, 8);
	b_free(&v);
	estreamer_decoder_free(d);
}
END_TEST

START_TEST(test_vector_error)
{
	struct buf v = { 0 };
	estreamer_decoder *d = estreamer_decoder_new();
	char err[256] = "", text[64];
	int32_t code = 0;

	ck_assert_int_eq(load_vector("guide_examples.hex", "error_no_space", &v), 0);
	ck_assert_int_eq(estreamer_decoder_message(d, v.p, v.len, NULL, NULL, err, sizeof(err)),
			 ESTREAMER_ERR_SERVER);
	ck_assert_str_eq(err, "server error 19: No space");
	ck_assert_int_eq(estreamer_error_message_parse(v.p + 8, v.len - 8, &code, text, sizeof(text)),
			 ESTREAMER_OK);
	ck_assert_int_eq(code, 19);
	ck_assert_str_eq(text, "No space");
	/* The text length says 9: one byte less is a truncated message. */
	ck_assert_int_eq(estreamer_error_message_parse(v.p + 8, v.len - 9, &code, text, sizeof(text)),
			 ESTREAMER_ERR_TRUNCATED);
	b_free(&v);
	estreamer_decoder_free(d);
}
END_TEST

START_TEST(test_vector_event_stream_requests)
{
	static const struct {
		const char *file, *name, *flags;
		uint32_t ts;
	} cases[] = {
		{ "guide_examples.hex", "event_stream_request_flags_0x23", "packets,metadata,impact",
		  0x3effaed1 },
		{ "guide_examples.hex", "event_stream_request_flags_0x7f",
		  "packets metadata ids discovery correlation impact ids_1", 0x3effaed1 },
		{ "constructed_from_reference_clients.hex", "encore_event_stream_request",
		  "packets|impact|ids_1|metadata_v4|timestamp|extra_data|extended_request", 0 },
		{ "constructed_from_reference_clients.hex", "spohara_default_event_request",
		  "PACKETS,timestamp,Extended_Request", 0xffffffffu },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf v = { 0 };
		uint8_t out[ESTREAMER_EVENT_STREAM_REQUEST_SIZE];
		uint32_t flags = 0, numeric = 0;
		char num[16];

		ck_assert_int_eq(load_vector(cases[i].file, cases[i].name, &v), 0);
		ck_assert_uint_eq(v.len, sizeof(out));
		ck_assert_int_eq(estreamer_flags_parse(cases[i].flags, &flags), ESTREAMER_OK);
		estreamer_request_event_stream(cases[i].ts, flags, out);
		ck_assert_msg(memcmp(out, v.p, sizeof(out)) == 0, "%s differs", cases[i].name);
		snprintf(num, sizeof(num), "0x%x", flags);
		ck_assert_int_eq(estreamer_flags_parse(num, &numeric), ESTREAMER_OK);
		ck_assert_uint_eq(numeric, flags);
		b_free(&v);
	}
}
END_TEST

START_TEST(test_vector_streaming_requests)
{
	struct buf v = { 0 };
	estreamer_event_type types[16];
	uint8_t out[128];
	size_t n = 0, len = 0;
	uint32_t flags;

	/* eNcore's default: every type at its newest version, service length 16 + 4N. */
	ck_assert_int_eq(load_vector("constructed_from_reference_clients.hex",
				     "encore_streaming_request", &v), 0);
	ck_assert_int_eq(estreamer_event_types_parse("INTRUSION_EVENTS, METADATA, CORRELATION, "
						     "DISCOVERY, CONNECTION, USER, MALWARE, FILE, "
						     "IMPACT, TERMINATE",
						     types, 16, &n),
			 ESTREAMER_OK);
	ck_assert_uint_eq(n, 9);
	ck_assert_int_eq(estreamer_flags_parse("0x48900061", &flags), ESTREAMER_OK);
	ck_assert_int_eq(estreamer_request_streaming(0, flags, types, n,
						     ESTREAMER_SERVICE_LENGTH_INCLUSIVE, out,
						     sizeof(out), &len),
			 ESTREAMER_OK);
	ck_assert_uint_eq(len, v.len);
	ck_assert_mem_eq(out, v.p, len);
	b_free(&v);

	/* The 5.3 guide's table: the other reading of the service length. */
	v = (struct buf){ 0 };
	ck_assert_int_eq(load_vector("guide_examples.hex", "streaming_request_guide_table", &v), 0);
	ck_assert_int_eq(estreamer_event_types_parse("CONNECTION:6,METADATA:4", types, 16, &n),
			 ESTREAMER_OK);
	ck_assert_uint_eq(types[0].version, 6);
	ck_assert_uint_eq(types[0].code, 71);
	ck_assert_int_eq(estreamer_request_streaming(0, 30, types, n,
						     ESTREAMER_SERVICE_LENGTH_EXCLUSIVE, out,
						     sizeof(out), &len),
			 ESTREAMER_OK);
	ck_assert_uint_eq(len, v.len);
	ck_assert_mem_eq(out, v.p, len);
	/* Too small an output buffer is refused, not overrun. */
	ck_assert_int_eq(estreamer_request_streaming(0, 30, types, n,
						     ESTREAMER_SERVICE_LENGTH_EXCLUSIVE, out, len - 1,
						     &len),
			 ESTREAMER_ERR_INVALID_ARG);
	b_free(&v);
}
END_TEST

START_TEST(test_flag_names)
{
	unsigned bit = 99;
	uint32_t flags;
	estreamer_event_type t;
	estreamer_event_type types[4];
	size_t n;

	for (unsigned i = 0; i < 31; i++) {
		ck_assert_ptr_nonnull(estreamer_flag_name(i));
		ck_assert_int_eq(estreamer_flag_lookup(estreamer_flag_name(i), &bit), ESTREAMER_OK);
		ck_assert_uint_eq(bit, i);
	}
	ck_assert_ptr_null(estreamer_flag_name(31));
	ck_assert_int_eq(estreamer_flag_lookup("timestamp", &bit), ESTREAMER_OK);
	ck_assert_uint_eq(bit, 23);
	ck_assert_int_eq(estreamer_flag_lookup("extra_data", &bit), ESTREAMER_OK);
	ck_assert_uint_eq(bit, 27);
	ck_assert_int_eq(estreamer_flag_lookup("bogus", &bit), ESTREAMER_ERR_INVALID_ARG);
	ck_assert_int_eq(estreamer_flags_parse("packets,bogus", &flags), ESTREAMER_ERR_INVALID_ARG);
	ck_assert_int_eq(estreamer_flags_parse("0x1ffffffff", &flags), ESTREAMER_ERR_INVALID_ARG);
	ck_assert_int_eq(estreamer_event_type_lookup("malware", &t), ESTREAMER_OK);
	ck_assert_uint_eq(t.code, 101);
	ck_assert_uint_eq(t.version, 8);
	ck_assert_int_eq(estreamer_event_type_lookup("NOPE", &t), ESTREAMER_ERR_INVALID_ARG);
	ck_assert_int_eq(estreamer_event_types_parse("FILE:x", types, 4, &n),
			 ESTREAMER_ERR_INVALID_ARG);
	ck_assert_int_eq(estreamer_event_types_parse("FILE,FILE:3,USER", types, 4, &n), ESTREAMER_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(types[0].version, 7);
}
END_TEST

/* ---------------- records ---------------- */

START_TEST(test_packet_record)
{
	estreamer_decoder *d = estreamer_decoder_new();
	struct buf body = { 0 };
	json_object *o;
	const char *hex;

	body_packet(&body, 42, 1700000001, 250, 4);
	o = decode_record(d, 2, 1, 1700000005, &body);
	ck_assert_int_eq(int_field(o, "recordType"), 2);
	ck_assert_str_eq(str_field(o, "recordTypeName"), "Packet");
	ck_assert_int_eq(int_field(o, "archiveTimestamp"), 1700000005);
	ck_assert_int_eq(int_field(o, "deviceId"), 7);
	ck_assert_int_eq(int_field(o, "eventId"), 42);
	ck_assert_int_eq(int_field(o, "packetMicrosecond"), 250);
	ck_assert_int_eq(int_field(o, "linkType"), 1);
	ck_assert_int_eq(int_field(o, "packetLength"), 14 + 20 + 8 + 4);
	hex = str_field(o, "packetData");
	ck_assert_uint_eq(strlen(hex), 2 * (14 + 20 + 8 + 4));
	ck_assert(strncmp(hex, "000102030405", 12) == 0);
	ck_assert(strcmp(hex + strlen(hex) - 8, "61616161") == 0);
	json_object_put(o);

	/* Without the archival extension (flag bit 23 not requested). */
	o = decode_record(d, 2, 0, 0, &body);
	ck_assert(!has_field(o, "archiveTimestamp"));
	ck_assert_int_eq(int_field(o, "eventId"), 42);
	json_object_put(o);
	b_free(&body);
	estreamer_decoder_free(d);
}
END_TEST

static void check_intrusion_common(json_object *o)
{
	ck_assert_int_eq(int_field(o, "recordType"), 400);
	ck_assert_int_eq(int_field(o, "deviceId"), 3);
	ck_assert_int_eq(int_field(o, "eventSecond"), 1700000000);
	ck_assert_int_eq(int_field(o, "eventMicrosecond"), 123456);
	ck_assert_int_eq(int_field(o, "ruleId"), 2001);
	ck_assert_int_eq(int_field(o, "generatorId"), 1);
	ck_assert_int_eq(int_field(o, "ruleRevision"), 4);
	ck_assert_str_eq(str_field(o, "sourceIpAddress"), "10.1.2.3");
	ck_assert_str_eq(str_field(o, "destinationIpAddress"), "2001:db8::1");
	ck_assert_int_eq(int_field(o, "sourcePortOrIcmpType"), 40000);
	ck_assert_int_eq(int_field(o, "destinationPortOrIcmpCode"), 80);
	ck_assert_int_eq(int_field(o, "ipProtocolId"), 6);
	ck_assert_int_eq(int_field(o, "impact"), 2);
	ck_assert_int_eq(int_field(o, "blocked"), 1);
	ck_assert_int_eq(int_field(o, "vlanId"), 100);
	ck_assert_str_eq(str_field(o, "policyUuid"), "10111213-1415-1617-1819-1a1b1c1d1e1f");
	ck_assert_int_eq(int_field(o, "userId"), 55);
	ck_assert_int_eq(int_field(o, "applicationId"), 676);
	ck_assert_int_eq(int_field(o, "accessControlRuleId"), 268435456);
	ck_assert_str_eq(str_field(o, "securityZoneEgressUuid"), "abababab-abab-abab-abab-abababababab");
	ck_assert_int_eq(int_field(o, "connectionTimestamp"), 1699999999);
	ck_assert_int_eq(int_field(o, "sourceCountry"), 840);
	ck_assert_int_eq(int_field(o, "destinationCountry"), 250);
	ck_assert_str_eq(str_field(o, "sslCertificateFingerprint"),
			 "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd");
	ck_assert_int_eq(int_field(o, "httpResponse"), 200);
}

START_TEST(test_intrusion_block_versions)
{
	estreamer_decoder *d = estreamer_decoder_new();
	static const uint32_t types[] = { 60, 81, 85 };

	for (size_t i = 0; i < 3; i++) {
		struct buf body = { 0 };
		json_object *o;

		body_intrusion(&body, types[i], 77, 1, 2001, 3, 1);
		o = decode_record(d, 400, 1, 1700000002, &body);
		ck_assert_int_eq(int_field(o, "blockType"), types[i]);
		check_intrusion_common(o);
		if (types[i] == 60) {
			ck_assert_int_eq(int_field(o, "blockLength"), 282);
			ck_assert(!has_field(o, "blockedReasonId"));
		} else {
			ck_assert_int_eq(int_field(o, "blockedReasonId"), 9);
			ck_assert_str_eq(str_field(o, "ingressVrf"), "vrf-in");
			ck_assert_str_eq(str_field(o, "egressVrf"), "vrf-out");
			ck_assert_int_eq(int_field(o, "snortVersion"), 3);
		}
		if (types[i] == 85) {
			ck_assert_str_eq(str_field(o, "originalClientSrcIp"), "192.0.2.7");
			ck_assert_str_eq(str_field(o, "httpHostname"), "www.example.com");
			ck_assert_str_eq(str_field(o, "httpUri"), "/index.html");
			ck_assert_str_eq(str_field(o, "smtpAttachments"), "");
			ck_assert_str_eq(str_field(o, "smtpTo"), "b@example.com");
		}
		json_object_put(o);
		b_free(&body);
	}
	estreamer_decoder_free(d);
}
END_TEST

START_TEST(test_metadata_enrichment)
{
	estreamer_decoder *d = estreamer_decoder_new();
	struct buf b = { 0 };
	json_object *o;

	body_rule_message(&b, 1, 2001, "ET POLICY test rule");
	o = decode_record(d, 66, 1, 0, &b); /* metadata: archival field present but zero */
	ck_assert_str_eq(str_field(o, "message"), "ET POLICY test rule");
	ck_assert_int_eq(int_field(o, "generatorId"), 1);
	ck_assert_int_eq(int_field(o, "ruleId"), 2001);
	ck_assert_str_eq(str_field(o, "ruleUuid"), "11111111-1111-1111-1111-111111111111");
	json_object_put(o);
	b_free(&b);

	body_classification(&b, 3, "attempted-recon", "Attempted Information Leak");
	o = decode_record(d, 67, 0, 0, &b); /* metadata: archival field absent */
	ck_assert_str_eq(str_field(o, "name"), "attempted-recon");
	ck_assert_str_eq(str_field(o, "description"), "Attempted Information Leak");
	ck_assert_str_eq(str_field(o, "revisionUuid"), "44444444-4444-4444-4444-444444444444");
	json_object_put(o);
	b_free(&b);

	body_priority(&b, 1, "high");
	o = decode_record(d, 4, 0, 0, &b);
	ck_assert_str_eq(str_field(o, "name"), "high");
	json_object_put(o);
	b_free(&b);

	body_intrusion(&b, 60, 78, 1, 2001, 3, 1);
	o = decode_record(d, 400, 1, 1700000003, &b);
	ck_assert_str_eq(str_field(o, "ruleMessage"), "ET POLICY test rule");
	ck_assert_str_eq(str_field(o, "classificationName"), "attempted-recon");
	ck_assert_str_eq(str_field(o, "classificationDescription"), "Attempted Information Leak");
	ck_assert_str_eq(str_field(o, "priorityName"), "high");
	json_object_put(o);

	/* A rule not seen in metadata: no invented message. */
	b_free(&b);
	body_intrusion(&b, 60, 79, 1, 9999, 8, 7);
	o = decode_record(d, 400, 1, 1700000003, &b);
	ck_assert(!has_field(o, "ruleMessage"));
	ck_assert(!has_field(o, "classificationName"));
	json_object_put(o);

	/* Enrichment can be turned off. */
	estreamer_decoder_set_enrich(d, 0);
	b_free(&b);
	body_intrusion(&b, 60, 80, 1, 2001, 3, 1);
	o = decode_record(d, 400, 1, 1700000003, &b);
	ck_assert(!has_field(o, "ruleMessage"));
	json_object_put(o);
	b_free(&b);
	estreamer_decoder_free(d);
}
END_TEST

START_TEST(test_extra_data_and_small_metadata)
{
	estreamer_decoder *d = estreamer_decoder_new();
	struct buf b = { 0 };
	json_object *o;
	size_t at;

	at = b_block_begin(&b, 4);
	b_u32(&b, 3);
	b_u32(&b, 77);
	b_u32(&b, 1700000000);
	b_u32(&b, 9); /* type: HTTP URI */
	b_blob(&b, "\x2f\x61\x00\xff", 4);
	b_block_end(&b, at);
	o = decode_record(d, 110, 1, 1700000004, &b);
	ck_assert_str_eq(str_field(o, "recordTypeName"), "Intrusion Event Extra Data");
	ck_assert_int_eq(int_field(o, "eventId"), 77);
	ck_assert_int_eq(int_field(o, "type"), 9);
	ck_assert_str_eq(str_field(o, "data"), "2f6100ff");
	json_object_put(o);
	b_free(&b);

	/* id-length-name metadata (URL category, 121). */
	b_u32(&b, 12);
	b_u32(&b, 7);
	b_bytes(&b, "Gambling", 7); /* length says 7: "Gamblin" */
	o = decode_record(d, 121, 0, 0, &b);
	ck_assert_int_eq(int_field(o, "id"), 12);
	ck_assert_str_eq(str_field(o, "name"), "Gamblin");
	json_object_put(o);
	b_free(&b);

	/* User (98), block 57, with the trailing NUL users report. */
	at = b_block_begin(&b, 57);
	b_u32(&b, 55);
	b_u32(&b, 710);
	{
		size_t s = b_block_begin(&b, 0);

		b_bytes(&b, "alice\0", 6);
		b_block_end(&b, s);
	}
	b_block_end(&b, at);
	o = decode_record(d, 98, 1, 0, &b);
	ck_assert_str_eq(str_field(o, "name"), "alice");
	ck_assert_int_eq(int_field(o, "protocol"), 710);
	json_object_put(o);
	b_free(&b);

	/* Security zone name (115): UUID string block 14. */
	at = b_block_begin(&b, 14);
	b_fill(&b, 0x01, 16);
	b_string(&b, "inside");
	b_block_end(&b, at);
	o = decode_record(d, 115, 0, 0, &b);
	ck_assert_str_eq(str_field(o, "uuid"), "01010101-0101-0101-0101-010101010101");
	ck_assert_str_eq(str_field(o, "name"), "inside");
	json_object_put(o);
	b_free(&b);
	estreamer_decoder_free(d);
}
END_TEST

static void discovery_header(struct buf *b, int with_ip)
{
	static const uint8_t mac[6] = { 0x00, 0x50, 0x56, 0xaa, 0xbb, 0xcc };

	b_u32(b, 3);
	b_u32(b, 0xc0a80001); /* legacy IPv4 192.168.0.1 */
	b_bytes(b, mac, 6);
	b_u8(b, (uint8_t)with_ip);
	b_u8(b, 0);
	b_u32(b, 1700000100);
	b_u32(b, 5);
	b_u32(b, 1003);
	b_u32(b, 1);
	b_u32(b, 0);
	b_u32(b, 0);
	if (with_ip)
		b_ip4in6(b, 192, 168, 0, 1);
}

static void block_163(struct buf *b)
{
	size_t at = b_block_begin(b, 163);

	b_u32(b, 3);
	b_fill(b, 0x0a, 16 * 4);
	b_ip4in6(b, 10, 0, 0, 1);
	b_ip4in6(b, 10, 0, 0, 2);
	b_fill(b, 0, 16);
	b_fill(b, 0x0b, 16);
	b_u32(b, 12);
	b_u32(b, 0);
	b_u16(b, 2);
	b_u32(b, 0);
	b_u16(b, 51000);
	b_u16(b, 443);
	b_u16(b, 0x12);
	b_u8(b, 6);
	b_fill(b, 0, 16);
	b_u16(b, 1);
	b_u16(b, 9);
	b_u32(b, 1700000090);
	b_u32(b, 1700000099);
	for (uint64_t i = 1; i <= 8; i++)
		b_u64(b, i * 1000000000000ull);
	b_fill(b, 0, 16);
	b_u32(b, 0);
	b_u32(b, 55);
	b_u32(b, 1122);
	b_u32(b, 0);
	b_u32(b, 0);
	b_u32(b, 0);
	b_u32(b, 0);
	b_string(b, "https://example.com/");
	b_string(b, "WORKGROUP");
	b_string(b, "1.0");
	for (uint32_t i = 0; i < 8; i++)
		b_u32(b, i);
	b_fill(b, 0xee, 5); /* newer fields this layout does not name */
	b_block_end(b, at);
}

START_TEST(test_connection_record)
{
	estreamer_decoder *d = estreamer_decoder_new();

	for (int with_ip = 0; with_ip < 2; with_ip++) {
		struct buf b = { 0 };
		json_object *o;

		discovery_header(&b, with_ip);
		block_163(&b);
		o = decode_record(d, 71, 1, 1700000101, &b);
		ck_assert_str_eq(str_field(o, "recordTypeName"), "Connection Statistics");
		ck_assert_str_eq(str_field(o, "legacyIpAddress"), "192.168.0.1");
		ck_assert_str_eq(str_field(o, "macAddress"), "00:50:56:aa:bb:cc");
		ck_assert_int_eq(int_field(o, "eventType"), 1003);
		ck_assert_int_eq(has_field(o, "ipAddress"), with_ip);
		ck_assert_int_eq(int_field(o, "blockType"), 163);
		ck_assert_str_eq(str_field(o, "initiatorIpAddress"), "10.0.0.1");
		ck_assert_str_eq(str_field(o, "responderIpAddress"), "10.0.0.2");
		ck_assert_int_eq(int_field(o, "responderPort"), 443);
		ck_assert_int_eq(int_field(o, "protocol"), 6);
		ck_assert_int_eq(int_field(o, "lastPacketTimestamp"), 1700000099);
		ck_assert_int_eq(int_field(o, "responderBytesDropped"), 8000000000000ll);
		ck_assert_int_eq(int_field(o, "applicationId"), 1122);
		ck_assert_str_eq(str_field(o, "clientUrl"), "https://example.com/");
		ck_assert_str_eq(str_field(o, "netbiosDomain"), "WORKGROUP");
		ck_assert_int_eq(int_field(o, "monitorRule8"), 7);
		ck_assert_str_eq(str_field(o, "remainder"), "eeeeeeeeee");
		json_object_put(o);
		b_free(&b);
	}
	estreamer_decoder_free(d);
}
END_TEST

START_TEST(test_file_and_malware_records)
{
	estreamer_decoder *d = estreamer_decoder_new();
	struct buf b = { 0 };
	json_object *o;
	size_t at;

	at = b_block_begin(&b, 56);
	b_u32(&b, 3);
	b_u16(&b, 1);
	b_u16(&b, 2);
	b_u32(&b, 1700000200);
	b_u32(&b, 1700000201);
	b_ip4in6(&b, 10, 9, 8, 7);
	b_ip4in6(&b, 10, 9, 8, 6);
	for (uint8_t i = 1; i <= 8; i++)
		b_u8(&b, i);
	b_fill(&b, 0x5a, 32);
	b_u32(&b, 21);
	b_string(&b, "invoice.pdf");
	b_u64(&b, 123456789012ull);
	b_u8(&b, 1);
	b_u32(&b, 676);
	b_u32(&b, 55);
	b_string(&b, "http://example.com/invoice.pdf");
	b_string(&b, "");
	b_u16(&b, 80);
	b_u16(&b, 50000);
	b_u8(&b, 6);
	b_fill(&b, 0x77, 16);
	b_u16(&b, 840);
	b_u16(&b, 0);
	b_u32(&b, 0);
	b_u32(&b, 0);
	b_fill(&b, 0, 16);
	b_fill(&b, 0, 20);
	b_u16(&b, 0);
	b_u16(&b, 0);
	b_string(&b, "");
	b_string(&b, "");
	b_u8(&b, 0);
	b_u32(&b, 200);
	b_block_end(&b, at);
	o = decode_record(d, 500, 1, 1700000202, &b);
	ck_assert_str_eq(str_field(o, "fileName"), "invoice.pdf");
	ck_assert_int_eq(int_field(o, "fileSize"), 123456789012ll);
	ck_assert_int_eq(int_field(o, "threatScore"), 7);
	ck_assert_int_eq(int_field(o, "action"), 8);
	ck_assert_str_eq(str_field(o, "uri"), "http://example.com/invoice.pdf");
	ck_assert_str_eq(str_field(o, "sourceIpAddress"), "10.9.8.7");
	ck_assert_int_eq(int_field(o, "httpResponse"), 200);
	json_object_put(o);
	b_free(&b);

	at = b_block_begin(&b, 62);
	b_fill(&b, 0x01, 16);
	b_fill(&b, 0x02, 16);
	b_u32(&b, 1700000300);
	b_u32(&b, 1);
	b_u32(&b, 2);
	b_u8(&b, 4);
	b_string(&b, "W32.Test");
	b_string(&b, "bob");
	b_string(&b, "x.exe");
	b_string(&b, "C:\\x.exe");
	b_string(&b, "abc");
	b_u32(&b, 1024);
	b_u32(&b, 9);
	b_u32(&b, 1700000299);
	b_string(&b, "explorer.exe");
	b_string(&b, "def");
	b_string(&b, "quarantined");
	b_u32(&b, 3);
	b_u32(&b, 0xdeadbeef);
	b_block_end(&b, at);
	o = decode_record(d, 125, 1, 1700000301, &b);
	ck_assert_str_eq(str_field(o, "detectionName"), "W32.Test");
	ck_assert_str_eq(str_field(o, "filePath"), "C:\\x.exe");
	ck_assert_int_eq(int_field(o, "fileSize"), 1024);
	ck_assert_int_eq(int_field(o, "deviceId"), 3);
	ck_assert_str_eq(str_field(o, "remainder"), "deadbeef");
	json_object_put(o);
	b_free(&b);
	estreamer_decoder_free(d);
}
END_TEST

START_TEST(test_unknown_types_pass_through)
{
	estreamer_decoder *d = estreamer_decoder_new();
	struct buf b = { 0 };
	json_object *o;
	size_t at;

	b_u32(&b, 0xcafebabe);
	o = decode_record(d, 9999, 1, 1700000400, &b);
	ck_assert_int_eq(int_field(o, "recordType"), 9999);
	ck_assert_int_eq(int_field(o, "recordLength"), 4);
	ck_assert_str_eq(str_field(o, "data"), "cafebabe");
	ck_assert(!has_field(o, "recordTypeName"));
	json_object_put(o);
	b_free(&b);

	/* An intrusion event in a block version not known yet. */
	at = b_block_begin(&b, 99);
	b_u32(&b, 1);
	b_block_end(&b, at);
	o = decode_record(d, 400, 1, 1700000400, &b);
	ck_assert_int_eq(int_field(o, "blockType"), 99);
	ck_assert_str_eq(str_field(o, "blockData"), "00000001");
	json_object_put(o);
	b_free(&b);

	/* Correlation event (112): its block is passed through whole. */
	at = b_block_begin(&b, 156);
	b_fill(&b, 0x42, 3);
	b_block_end(&b, at);
	o = decode_record(d, 112, 1, 1700000400, &b);
	ck_assert_int_eq(int_field(o, "blockType"), 156);
	ck_assert_str_eq(str_field(o, "blockData"), "424242");
	json_object_put(o);
	b_free(&b);

	/* The extended-header flag bit is masked off the record type. */
	{
		struct buf rec = { 0 };

		b_u32(&b, 1);
		b_u16(&b, 1);
		b_bytes(&b, "x", 1);
		b_record(&rec, 0x80000004u, 0, 0, &b);
		ck_assert_int_eq(estreamer_decoder_record(d, rec.p, rec.len, &o, NULL, 0), ESTREAMER_OK);
		ck_assert_int_eq(int_field(o, "recordType"), 4);
		ck_assert_str_eq(str_field(o, "name"), "x");
		json_object_put(o);
		b_free(&rec);
		b_free(&b);
	}

	/* Text that is not UTF-8 still gives valid JSON text. */
	b_u32(&b, 5);
	b_u32(&b, 4);
	b_bytes(&b, "a\xff\xc3\xa9", 4);
	o = decode_record(d, 121, 0, 0, &b);
	ck_assert_str_eq(str_field(o, "name"), "a?\xc3\xa9");
	json_object_put(o);
	b_free(&b);
	estreamer_decoder_free(d);
}
END_TEST

/* ---------------- messages, bundles, malformed input ---------------- */

struct collect {
	int n;
	uint32_t types[16];
	uint32_t ts[16];
	int stop_at;
};

static int collect_cb(void *user, const estreamer_record *rec)
{
	struct collect *c = user;

	ck_assert_ptr_nonnull(rec->json);
	ck_assert_uint_eq(rec->raw_len, rec->length + (rec->has_archival ? 16u : 8u));
	if (c->n < 16) {
		c->types[c->n] = rec->type;
		c->ts[c->n] = rec->archival_timestamp;
	}
	c->n++;
	return c->stop_at && c->n >= c->stop_at;
}

static void build_bundle(struct buf *msg, uint16_t inner_version)
{
	struct buf recs[3] = { { 0 }, { 0 }, { 0 } }, body = { 0 };

	body_rule_message(&body, 1, 2001, "test");
	b_record(&recs[0], 66, 1, 0, &body);
	b_free(&body);
	body_intrusion(&body, 85, 1, 1, 2001, 3, 1);
	b_record(&recs[1], 400, 1, 1700000500, &body);
	b_free(&body);
	body_packet(&body, 1, 1700000500, 7, 10);
	b_record(&recs[2], 2, 1, 1700000501, &body);
	b_free(&body);
	b_bundle(msg, 77, 1, inner_version, recs, 3);
	for (int i = 0; i < 3; i++)
		b_free(&recs[i]);
}

START_TEST(test_bundle)
{
	estreamer_decoder *d = estreamer_decoder_new();

	for (uint16_t ver = 0; ver <= 1; ver++) {
		struct buf msg = { 0 };
		struct collect c = { 0 };
		char err[256] = "";

		build_bundle(&msg, ver);
		ck_assert_int_eq(estreamer_decoder_message(d, msg.p, msg.len, collect_cb, &c, err,
							   sizeof(err)),
				 ESTREAMER_OK);
		ck_assert_int_eq(c.n, 3);
		ck_assert_uint_eq(c.types[0], 66);
		ck_assert_uint_eq(c.types[1], 400);
		ck_assert_uint_eq(c.types[2], 2);
		ck_assert_uint_eq(c.ts[2], 1700000501);

		/* A callback that asks to stop. */
		c = (struct collect){ .stop_at = 2 };
		ck_assert_int_eq(estreamer_decoder_message(d, msg.p, msg.len, collect_cb, &c, err,
							   sizeof(err)),
				 ESTREAMER_ERR_ABORTED);
		ck_assert_int_eq(c.n, 2);
		b_free(&msg);
	}
	estreamer_decoder_free(d);
}
END_TEST

START_TEST(test_truncated_everywhere)
{
	estreamer_decoder *d = estreamer_decoder_new();
	struct buf msg = { 0 };

	build_bundle(&msg, 0);
	/* Every prefix, and every prefix with the header length patched to match it. */
	for (size_t n = 0; n < msg.len; n++) {
		uint8_t *copy = malloc(n ? n : 1);
		char err[256] = "";
		estreamer_error rc;

		memcpy(copy, msg.p, n);
		rc = estreamer_decoder_message(d, copy, n, NULL, NULL, err, sizeof(err));
		ck_assert_msg(rc == ESTREAMER_ERR_TRUNCATED, "prefix %zu: %d %s", n, rc, err);
		ck_assert_msg(err[0] != '\0', "prefix %zu: no description", n);
		if (n >= 8) {
			copy[4] = (uint8_t)((n - 8) >> 24);
			copy[5] = (uint8_t)((n - 8) >> 16);
			copy[6] = (uint8_t)((n - 8) >> 8);
			copy[7] = (uint8_t)(n - 8);
			rc = estreamer_decoder_message(d, copy, n, NULL, NULL, err, sizeof(err));
			/* Exactly at a record boundary the shorter bundle is complete. */
			ck_assert_msg(rc == ESTREAMER_OK || rc == ESTREAMER_ERR_TRUNCATED ||
					      rc == ESTREAMER_ERR_MALFORMED,
				      "patched prefix %zu: %d", n, rc);
		}
		free(copy);
	}
	b_free(&msg);
	estreamer_decoder_free(d);
}
END_TEST

START_TEST(test_malformed)
{
	estreamer_decoder *d = estreamer_decoder_new();
	struct buf msg = { 0 }, body = { 0 }, rec = { 0 };
	json_object *o = NULL;
	char err[256];
	size_t at;

	/* Version 2 header. */
	b_u16(&msg, 2);
	b_u16(&msg, 0);
	b_u32(&msg, 0);
	ck_assert_int_eq(estreamer_decoder_message(d, msg.p, msg.len, NULL, NULL, err, sizeof(err)),
			 ESTREAMER_ERR_MALFORMED);
	b_free(&msg);

	/* Message longer than its header says. */
	b_header(&msg, 0, 0);
	b_u8(&msg, 0);
	ck_assert_int_eq(estreamer_decoder_message(d, msg.p, msg.len, NULL, NULL, err, sizeof(err)),
			 ESTREAMER_ERR_MALFORMED);
	b_free(&msg);

	/* Record length fitting neither header size. */
	b_u32(&rec, 2);
	b_u32(&rec, 3);
	b_fill(&rec, 0, 7);
	ck_assert_int_eq(estreamer_decoder_record(d, rec.p, rec.len, &o, err, sizeof(err)),
			 ESTREAMER_ERR_MALFORMED);
	b_free(&rec);

	/* Block length smaller than its header, and larger than the record. */
	for (int variant = 0; variant < 2; variant++) {
		at = b_block_begin(&body, 60);
		b_fill(&body, 0, 12);
		b_block_end(&body, at);
		b_put32_at(&body, 4, variant ? 4 : 4000);
		b_record(&rec, 400, 1, 1, &body);
		ck_assert_int_eq(estreamer_decoder_record(d, rec.p, rec.len, &o, err, sizeof(err)),
				 ESTREAMER_ERR_MALFORMED);
		ck_assert_ptr_nonnull(strstr(err, "block type 60"));
		b_free(&rec);
		b_free(&body);
	}

	/* A block whose declared length is shorter than its layout's fixed fields. */
	at = b_block_begin(&body, 60);
	b_fill(&body, 0, 40);
	b_block_end(&body, at);
	b_record(&rec, 400, 1, 1, &body);
	ck_assert_int_eq(estreamer_decoder_record(d, rec.p, rec.len, &o, err, sizeof(err)),
			 ESTREAMER_ERR_MALFORMED);
	ck_assert_ptr_nonnull(strstr(err, "record type 400"));
	b_free(&rec);
	b_free(&body);

	/* A string block running past its enclosing block. */
	at = b_block_begin(&body, 14);
	b_fill(&body, 0, 16);
	b_u32(&body, 0);
	b_u32(&body, 100);
	b_bytes(&body, "abc", 3);
	b_block_end(&body, at);
	b_record(&rec, 115, 0, 0, &body);
	ck_assert_int_eq(estreamer_decoder_record(d, rec.p, rec.len, &o, err, sizeof(err)),
			 ESTREAMER_ERR_MALFORMED);
	b_free(&rec);
	b_free(&body);

	/* Text length beyond the record (rule message). */
	body_rule_message(&body, 1, 1, "abc");
	body.p[16] = 0x10; /* msgLen high byte */
	b_record(&rec, 66, 0, 0, &body);
	ck_assert_int_eq(estreamer_decoder_record(d, rec.p, rec.len, &o, err, sizeof(err)),
			 ESTREAMER_ERR_MALFORMED);
	b_free(&rec);
	b_free(&body);

	/* Bundle with an inner version 5, and with an inner type 2. */
	build_bundle(&msg, 0);
	msg.p[17] = 5;
	ck_assert_int_eq(estreamer_decoder_message(d, msg.p, msg.len, NULL, NULL, err, sizeof(err)),
			 ESTREAMER_ERR_MALFORMED);
	msg.p[17] = 0;
	msg.p[19] = 2;
	ck_assert_int_eq(estreamer_decoder_message(d, msg.p, msg.len, NULL, NULL, err, sizeof(err)),
			 ESTREAMER_ERR_MALFORMED);
	b_free(&msg);

	/* Nothing is returned on failure. */
	ck_assert_ptr_null(o);
	estreamer_decoder_free(d);
}
END_TEST

START_TEST(test_streaming_info)
{
	struct buf b = { 0 };

	/* Entry length excluding its 8-byte id and length. */
	b_u32(&b, 1);
	b_u32(&b, 4);
	b_u32(&b, 0);
	b_u32(&b, 6667);
	b_u32(&b, 0);
	ck_assert(estreamer_streaming_info_has_service(b.p, b.len, 6667));
	b_free(&b);
	/* Entry length including them. */
	b_u32(&b, 1);
	b_u32(&b, 12);
	b_u32(&b, 0);
	b_u32(&b, 6667);
	b_u32(&b, 8);
	ck_assert(estreamer_streaming_info_has_service(b.p, b.len, 6667));
	ck_assert(!estreamer_streaming_info_has_service(b.p, b.len, 5555));
	ck_assert(!estreamer_streaming_info_has_service(b.p, 3, 6667));
	b_free(&b);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("estreamer-decode");
	TCase *tc = tcase_create("decode");

	tcase_add_test(tc, test_vector_null);
	tcase_add_test(tc, test_vector_error);
	tcase_add_test(tc, test_vector_event_stream_requests);
	tcase_add_test(tc, test_vector_streaming_requests);
	tcase_add_test(tc, test_flag_names);
	tcase_add_test(tc, test_packet_record);
	tcase_add_test(tc, test_intrusion_block_versions);
	tcase_add_test(tc, test_metadata_enrichment);
	tcase_add_test(tc, test_extra_data_and_small_metadata);
	tcase_add_test(tc, test_connection_record);
	tcase_add_test(tc, test_file_and_malware_records);
	tcase_add_test(tc, test_unknown_types_pass_through);
	tcase_add_test(tc, test_bundle);
	tcase_add_test(tc, test_truncated_everywhere);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_streaming_info);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
