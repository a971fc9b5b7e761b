/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: arbitrary bytes as a whole HTTP request (request line,
 * headers, body) sent to the connectors' webhook receiver on 127.0.0.1, as
 * the Zabbix connector's push mode runs it: Bearer authentication, routing by
 * method and path, Content-Type and body-size checks, JSON body parsing. The
 * route POST /alert checks the body as the Zabbix push does ({"eventid": ID})
 * and converts it with the zabbix template through a pipeline (the problem as
 * the API would return it); POST /json converts any body with the suricata
 * template. One receiver serves every input, each on its own connection.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>

#include <idmefv2/idmefv2.h>
#include <idmefv2/mapping.h>
#include <idmefv2/pipeline.h>
#include <idmefv2/webhook.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct route {
	const char *tool;
	bool zabbix; /* checks "eventid" first */
	idmefv2_mapping *mapping;
	idmefv2_pipeline *pipeline;
};

static struct route routes[2] = { { "zabbix", true, NULL, NULL }, { "suricata", false, NULL, NULL } };
static idmefv2_webhook *hook;
static unsigned port;

static void quiet(idmefv2_log_level level, const char *message, void *user_data)
{
	(void)level;
	(void)message;
	(void)user_data;
}

static idmefv2_error output(idmefv2_pipeline *p, struct json_object *out, void *user_data)
{
	(void)p;
	(void)user_data;
	return json_object_to_json_string(out) ? IDMEFV2_OK : IDMEFV2_ERR_NOMEM;
}

static idmefv2_error on_body(struct json_object *body, const char *method, const char *path, void *user_data)
{
	struct route *r = user_data;
	struct json_object *id = NULL;
	idmefv2_pipeline_result result;

	(void)method;
	(void)path;
	if (r->zabbix && (!json_object_object_get_ex(body, "eventid", &id) ||
	                  !(json_object_is_type(id, json_type_string) || json_object_is_type(id, json_type_int))))
		return IDMEFV2_ERR_INVALID_ARG;
	if (idmefv2_pipeline_push_object(r->pipeline, body, "push", 0, &result) != IDMEFV2_OK)
		return IDMEFV2_ERR_NOMEM;
	return result == IDMEFV2_PIPELINE_CONVERTED || result == IDMEFV2_PIPELINE_FILTERED ? IDMEFV2_OK
	                                                                                    : IDMEFV2_ERR_INVALID;
}

static void hook_stop(void)
{
	idmefv2_webhook_free(hook);
	for (size_t i = 0; i < 2; i++) {
		idmefv2_pipeline_free(routes[i].pipeline);
		idmefv2_mapping_free(routes[i].mapping);
	}
}

static void hook_start(void)
{
	char err[512] = "";

	hook = idmefv2_webhook_new();
	if (!hook)
		abort();
	idmefv2_webhook_set_log_cb(hook, quiet, NULL);
	for (size_t i = 0; i < 2; i++) {
		struct route *r = &routes[i];

		if (idmefv2_mapping_load_tool(r->tool, &r->mapping, NULL, err, sizeof(err)) != IDMEFV2_OK ||
		    idmefv2_pipeline_new(r->mapping, NULL, &r->pipeline, err, sizeof(err)) != IDMEFV2_OK) {
			fprintf(stderr, "fuzz-webhook: %s\n", err);
			abort();
		}
		idmefv2_mapping_set_log_cb(r->mapping, quiet, NULL);
		idmefv2_pipeline_set_log_cb(r->pipeline, quiet, NULL);
		idmefv2_pipeline_set_output_cb(r->pipeline, output, NULL);
	}
	if (idmefv2_webhook_set_address(hook, "127.0.0.1", 0) != IDMEFV2_OK ||
	    idmefv2_webhook_set_max_body(hook, 65536) != IDMEFV2_OK ||
	    idmefv2_webhook_set_bearer(hook, "fuzz-token") != IDMEFV2_OK ||
	    idmefv2_webhook_add_route(hook, "POST", "/alert", 200, on_body, &routes[0]) != IDMEFV2_OK ||
	    idmefv2_webhook_add_route(hook, "POST", "/json", 204, on_body, &routes[1]) != IDMEFV2_OK ||
	    idmefv2_webhook_start(hook, err, sizeof(err)) != IDMEFV2_OK) {
		fprintf(stderr, "fuzz-webhook: %s\n", err);
		abort();
	}
	port = idmefv2_webhook_get_port(hook);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char buf[4096];
	int fd;

	if (!hook) {
		hook_start();
		atexit(hook_stop);
	}
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		abort();
	for (size_t off = 0; off < size;) {
		ssize_t n = send(fd, data + off, size - off, MSG_NOSIGNAL);

		if (n <= 0)
			break; /* the receiver may answer and close early */
		off += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	/* The answer, until the receiver closes or falls silent after answering;
	 * an incomplete request gets none (200 ms for a first byte). */
	for (bool answered = false;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, answered ? 20 : 200) <= 0)
			break;
		if (recv(fd, buf, sizeof(buf), 0) <= 0)
			break;
		answered = true;
	}
	close(fd);
	return 0;
}
