/* SPDX-License-Identifier: Apache-2.0 */
/*
 * idmefv2_webhook_set_threads(): with a thread per connection, a callback that blocks (as the
 * Zabbix push does until its message is delivered) does not hold up the next
 * request. Two clients post at once over 127.0.0.1; each callback waits for
 * the other to be inside too, and answers 503 if it never comes.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <idmefv2/webhook.h>

static atomic_int inside;

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static idmefv2_error on_post(struct json_object *body, const char *method, const char *path, void *user_data)
{
	(void)body;
	(void)method;
	(void)path;
	(void)user_data;
	atomic_fetch_add(&inside, 1);
	for (int i = 0; i < 300 && atomic_load(&inside) < 2; i++)
		sleep_ms(10);
	return atomic_load(&inside) >= 2 ? IDMEFV2_OK : IDMEFV2_ERR_TIMEOUT;
}

static unsigned port;

/* POST {} to /hook: the HTTP status, 0 without an answer. */
static void *post(void *arg)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	static const char req[] = "POST /hook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
	                          "Content-Length: 2\r\nConnection: close\r\n\r\n{}";
	struct timeval tv = { 10, 0 };
	char resp[512] = "";
	size_t got = 0;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM, 0), *status = arg;

	*status = 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || write(fd, req, sizeof(req) - 1) != sizeof(req) - 1) {
		close(fd);
		return NULL;
	}
	while (got < sizeof(resp) - 1 && (n = read(fd, resp + got, sizeof(resp) - 1 - got)) > 0)
		got += (size_t)n;
	resp[got] = '\0';
	close(fd);
	if (sscanf(resp, "HTTP/1.%*d %d", status) != 1)
		*status = 0;
	return NULL;
}

START_TEST(test_pool_serves_while_a_callback_blocks)
{
	idmefv2_webhook *w = idmefv2_webhook_new();
	char errstr[256] = "";
	pthread_t t[2];
	int status[2];

	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(idmefv2_webhook_set_threads(w, 0), IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_webhook_set_threads(w, IDMEFV2_WEBHOOK_MAX_THREADS + 1), IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_webhook_set_threads(w, 4), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_webhook_set_address(w, "127.0.0.1", 0), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_webhook_add_route(w, "POST", "/hook", 200, on_post, NULL), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_webhook_start(w, errstr, sizeof(errstr)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_webhook_set_threads(w, 2), IDMEFV2_ERR_STATE);
	port = idmefv2_webhook_get_port(w);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, post, &status[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	/* One thread would have served them one after the other: the first alone, 503. */
	ck_assert_int_eq(status[0], 200);
	ck_assert_int_eq(status[1], 200);
	idmefv2_webhook_stop(w);
	idmefv2_webhook_free(w);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("webhook-threads");
	TCase *tc = tcase_create("threads");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_pool_serves_while_a_callback_blocks);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
