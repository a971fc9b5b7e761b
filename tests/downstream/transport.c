/* A downstream program of libidmefv2-transport: built with nothing but
 * `pkg-config --cflags --libs libidmefv2-transport`; sends one message to a
 * directory and receives it back through the file transport. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <idmefv2/idmefv2.h>
#include <idmefv2/transport.h>

int main(int argc, char **argv)
{
	idmefv2_transport *tx = NULL, *rx = NULL;
	idmefv2_queue *q = idmefv2_queue_new(4);
	idmefv2_message *msg = NULL, *got = NULL;
	char err[512], url[600];
	const char *name = NULL;
	int status = 1;

	if (argc != 2 || !q)
		return 2;
	snprintf(url, sizeof(url), "file://%s", argv[1]);
	if (idmefv2_message_new(NULL, &msg, err, sizeof(err)) ||
	    idmefv2_message_set_string(msg, "Analyzer.Name", "downstream", err, sizeof(err)) ||
	    idmefv2_transport_new(url, IDMEFV2_TRANSPORT_SENDER, &tx, err, sizeof(err)) ||
	    idmefv2_transport_start(tx, err, sizeof(err)) ||
	    idmefv2_transport_send(tx, msg, NULL, err, sizeof(err)) ||
	    idmefv2_transport_flush(tx, 10000) ||
	    idmefv2_transport_new(url, IDMEFV2_TRANSPORT_LISTENER, &rx, err, sizeof(err)))
		goto out;
	idmefv2_transport_set_queue(rx, q);
	if (idmefv2_transport_start(rx, err, sizeof(err)) || idmefv2_queue_get(q, 10000, &got) ||
	    idmefv2_message_get_string(got, "Analyzer.Name", &name, NULL, err, sizeof(err)))
		goto out;
	printf("received %s\n", name);
	idmefv2_queue_task_done(q, got);
	status = strcmp(name, "downstream") != 0;
out:
	if (status)
		fprintf(stderr, "downstream-transport: %s\n", err);
	idmefv2_message_unref(got);
	idmefv2_message_unref(msg);
	idmefv2_transport_free(rx);
	idmefv2_transport_free(tx);
	idmefv2_queue_unref(q);
	return status;
}
