/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: mapping templates, loaded and applied. The bytes before
 * the first NUL are a template file, loaded with idmefv2_mapping_load_file()
 * (as `[idmefv2] template = FILE` does) from a memory file; the bytes after it
 * are a native alert, parsed strictly and converted. A conversion that
 * succeeds is made a message and validated against its Version, as the
 * pipeline does. Without a NUL, a fixed alert is converted.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <json-c/json.h>

#include <idmefv2/idmefv2.h>
#include <idmefv2/mapping.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char default_input[] =
	"{\"timestamp\": \"2024-01-02T03:04:05.678+0000\", \"src_ip\": \"192.0.2.1\", \"src_port\": 1234,"
	" \"dest_ip\": \"198.51.100.2\", \"proto\": \"TCP\", \"alert\": {\"severity\": 2,"
	" \"signature\": \"ET TEST\", \"category\": \"Misc\"}, \"list\": [1, \"two\", {\"three\": 3}]}";

static int template_fd = -1;
static char template_path[64];

static void quiet(idmefv2_log_level level, const char *message, void *user_data)
{
	(void)level;
	(void)message;
	(void)user_data;
}

static void convert(const idmefv2_mapping *mapping, const char *text, size_t len)
{
	struct json_object *in = NULL, *out = NULL;
	idmefv2_report *report = NULL;
	idmefv2_message *msg;
	char err[256];

	if (idmefv2_json_parse(text, len, &in, err, sizeof(err)) != IDMEFV2_OK)
		return;
	if (idmefv2_mapping_apply(mapping, in, &out, err, sizeof(err)) == IDMEFV2_OK && out) {
		(void)json_object_to_json_string(out);
		msg = idmefv2_message_new_from_object(out);
		if (msg) {
			(void)idmefv2_message_validate(msg, 0, &report, err, sizeof(err));
			idmefv2_report_free(report);
			idmefv2_message_unref(msg);
		}
	}
	json_object_put(out);
	json_object_put(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t tlen = nul ? (size_t)(nul - data) : size;
	idmefv2_mapping *mapping = NULL;
	char err[512];

	if (template_fd < 0) {
		template_fd = memfd_create("fuzz-template", MFD_CLOEXEC);
		if (template_fd < 0)
			abort();
		snprintf(template_path, sizeof(template_path), "/proc/self/fd/%d", template_fd);
	}
	if (ftruncate(template_fd, 0) != 0 || pwrite(template_fd, data, tlen, 0) != (ssize_t)tlen)
		abort();
	if (idmefv2_mapping_load_file(template_path, &mapping, err, sizeof(err)) != IDMEFV2_OK)
		return 0;
	idmefv2_mapping_set_log_cb(mapping, quiet, NULL);
	(void)idmefv2_mapping_get_name(mapping);
	if (nul)
		convert(mapping, (const char *)nul + 1, size - tlen - 1);
	else
		convert(mapping, default_input, sizeof(default_input) - 1);
	idmefv2_mapping_free(mapping);
	return 0;
}
