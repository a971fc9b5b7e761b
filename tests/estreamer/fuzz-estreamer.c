/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the message and record decoder: the input is read as
 * a stream of messages, and also as one record, with metadata carried over so
 * enrichment paths run too.
 */
#include <stddef.h>
#include <stdint.h>

#include <estreamer/decode.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int touch(void *user, const estreamer_record *rec)
{
	size_t *n = user;

	/* Serialising walks every decoded value. */
	*n += json_object_to_json_string(rec->json) != NULL;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	estreamer_decoder *dec = estreamer_decoder_new();
	json_object *obj = NULL;
	char err[256];
	size_t off = 0, n = 0;
	int32_t code;
	char text[64];

	if (!dec)
		return 0;
	while (size - off >= ESTREAMER_HEADER_SIZE) {
		estreamer_header h;
		size_t len;

		if (estreamer_header_parse(data + off, size - off, &h) != ESTREAMER_OK)
			break;
		len = ESTREAMER_HEADER_SIZE + (size_t)h.length;
		if (len > size - off)
			len = size - off;
		estreamer_decoder_message(dec, data + off, len, touch, &n, err, sizeof(err));
		if (h.type == ESTREAMER_MSG_ERROR)
			estreamer_error_message_parse(data + off + 8, len - 8, &code, text, sizeof(text));
		if (h.type == ESTREAMER_MSG_STREAMING_INFO)
			estreamer_streaming_info_has_service(data + off + 8, len - 8, 6667);
		off += len;
	}
	if (estreamer_decoder_record(dec, data, size, &obj, err, sizeof(err)) == ESTREAMER_OK) {
		json_object_to_json_string(obj);
		json_object_put(obj);
	}
	estreamer_decoder_free(dec);
	return 0;
}
