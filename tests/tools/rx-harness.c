/* SPDX-License-Identifier: Apache-2.0 */
#include "rx-harness.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool rx_upload_gather(void **con_cls, const char *upload_data, size_t *upload_data_size, enum MHD_Result *ret)
{
	struct rx_upload *up = *con_cls;

	if (!up) {
		*con_cls = up = calloc(1, sizeof(*up));
		*ret = up ? MHD_YES : MHD_NO;
		return true;
	}
	if (*upload_data_size) {
		char *more = realloc(up->data, up->len + *upload_data_size + 1);

		*ret = MHD_NO;
		if (!more)
			return true;
		memcpy(more + up->len, upload_data, *upload_data_size);
		up->len += *upload_data_size;
		more[up->len] = '\0';
		up->data = more;
		*upload_data_size = 0;
		*ret = MHD_YES;
		return true;
	}
	return false;
}

void rx_upload_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct rx_upload *up = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (up) {
		free(up->data);
		free(up);
	}
	*con_cls = NULL;
}

struct MHD_Daemon *rx_daemon_start(MHD_AccessHandlerCallback handler, unsigned *ret_port)
{
	struct sockaddr_in loopback = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct MHD_Daemon *mhd;

	mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, handler, NULL,
	                       MHD_OPTION_NOTIFY_COMPLETED, rx_upload_completed, NULL,
	                       MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&loopback, MHD_OPTION_END);
	ck_assert_ptr_nonnull(mhd);
	*ret_port = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_BIND_PORT)->port;
	return mhd;
}

static void rx_ids_store(struct rx_ids *rx, struct json_object *msg)
{
	struct json_object *id = NULL;
	long n = rx->number(msg);

	if (n < 0 || n >= rx->limit || !json_object_object_get_ex(msg, "ID", &id)) {
		rx->foreign++;
		return;
	}
	if (rx->count[n]++ == 0)
		snprintf(rx->ids[n], sizeof(rx->ids[n]), "%s", json_object_get_string(id));
	else if (strcmp(rx->ids[n], json_object_get_string(id)) != 0)
		rx->id_mismatches++;
}

void rx_ids_body(struct rx_ids *rx, const char *body, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	size_t off = 0;

	pthread_mutex_lock(&rx->lock);
	while (off < len) {
		struct json_object *o;

		while (off < len && (body[off] == '\n' || body[off] == ' ' || body[off] == '\r'))
			off++;
		if (off >= len)
			break;
		json_tokener_reset(tok);
		o = json_tokener_parse_ex(tok, body + off, (int)(len - off));
		if (!o) {
			rx->foreign++;
			break;
		}
		off += json_tokener_get_parse_end(tok);
		rx_ids_store(rx, o);
		json_object_put(o);
	}
	pthread_mutex_unlock(&rx->lock);
	json_tokener_free(tok);
}

void rx_ids_reset(struct rx_ids *rx)
{
	pthread_mutex_lock(&rx->lock);
	memset(rx->count, 0, sizeof(rx->count));
	memset(rx->ids, 0, sizeof(rx->ids));
	rx->id_mismatches = rx->foreign = 0;
	pthread_mutex_unlock(&rx->lock);
}

unsigned rx_ids_delivered(struct rx_ids *rx, unsigned total)
{
	unsigned n = 0;

	pthread_mutex_lock(&rx->lock);
	for (unsigned i = 0; i < total; i++)
		n += rx->count[i] > 0;
	pthread_mutex_unlock(&rx->lock);
	return n;
}

void rx_ids_tally(struct rx_ids *rx, unsigned total, unsigned *ret_lost, unsigned *ret_dups)
{
	unsigned lost = 0, dups = 0;

	pthread_mutex_lock(&rx->lock);
	for (unsigned i = 0; i < total; i++) {
		if (rx->count[i] == 0)
			lost++;
		else
			dups += rx->count[i] - 1;
	}
	pthread_mutex_unlock(&rx->lock);
	*ret_lost = lost;
	*ret_dups = dups;
}
