/* SPDX-License-Identifier: Apache-2.0 */
/*
 * idmefv2-kafka-mock: librdkafka's mock cluster as a process of its own, so
 * that kafka:// can be tried end to end without a broker and so that tests
 * can run several producers and consumers (separate processes) against one
 * cluster. The brokers listen on 127.0.0.1, on ports the system picks; the
 * bootstrap address is the first line of standard output.
 *
 * The tests' in-process fixture (tests/transport/kafka-fixture.c) builds the
 * same cluster in a few lines; sharing them would cost a library for that.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define PROG "idmefv2-kafka-mock"
#define EXIT_USAGE 2
#define BROKERS_MAX 32
#define PARTITIONS_MAX 1000
/* A replication factor above the broker count would not create the topic. */
#define REPLICATION_MAX 3

static const char usage_text[] =
	"Usage: " PROG " [--brokers N] [--partitions P] [--topic T]... [--debug LIST]\n"
	"\n"
	"Start librdkafka's mock Kafka cluster (a development broker kept in memory)\n"
	"with N brokers on 127.0.0.1, create each topic T with P partitions, and print\n"
	"the bootstrap address (host:port,host:port,...) as one line on standard output.\n"
	"Runs until SIGTERM or SIGINT, then exits 0; everything stored is lost then.\n"
	"Other topics are created on first use with one partition. Consumer groups work,\n"
	"but not TLS, SASL or transactions. For tests and trials only.\n"
	"\n"
	"Options:\n"
	"  -b, --brokers N      number of brokers, 1 to 32 (default 3)\n"
	"  -p, --partitions P   partitions of each --topic, 1 to 1000 (default 3)\n"
	"  -t, --topic T        create topic T (repeatable)\n"
	"  -d, --debug LIST     log librdkafka's debug contexts LIST on standard error\n"
	"                       (\"mock\" shows the consumer groups' joins, syncs and\n"
	"                       session timeouts)\n"
	"  -h, --help           show this help and exit\n"
	"\n"
	"Example (bash; a consumer group of one, one message sent and received):\n"
	"  exec 3< <(" PROG " --topic alerts); mock=$!\n"
	"  read -r bootstrap <&3\n"
	"  idmefv2 listen --count 1 -o group_id=demo \"kafka://$bootstrap/alerts\" &\n"
	"  idmefv2 new --set Analyzer.Name=demo --set Analyzer.IP=192.0.2.1 |\n"
	"    idmefv2 send \"kafka://$bootstrap/alerts\"\n"
	"  wait $!; kill $mock\n"
	"\n"
	"Exit status: 0 stopped by a signal, 2 usage error or the cluster could not start.\n";

static const struct option long_options[] = {
	{ "brokers", required_argument, NULL, 'b' },
	{ "partitions", required_argument, NULL, 'p' },
	{ "topic", required_argument, NULL, 't' },
	{ "debug", required_argument, NULL, 'd' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct mock_args {
	int brokers;
	int partitions;
	const char **topics;
	size_t n_topics;
	const char *debug;
};

/* "PROG: @what \"@arg\"@why" and the pointer to --help. */
static void usage_error(const char *what, const char *arg, const char *why)
{
	fprintf(stderr, PROG ": %s\"%s\"%s\nTry '" PROG " --help'.\n", what, arg, why);
}

/* @return true and the value of @arg in [min, max] into @ret. */
static bool parse_int(const char *arg, int min, int max, int *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < min || v > max)
		return false;
	*ret = (int)v;
	return true;
}

/* Kafka's rule for topic names: 1 to 249 of [a-zA-Z0-9._-], not "." or "..". */
static bool topic_valid(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 249 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == len;
}

/* @return -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct mock_args *a)
{
	int c;

	while ((c = getopt_long(argc, argv, "b:p:t:d:h", long_options, NULL)) != -1) {
		switch (c) {
		case 'b':
			if (!parse_int(optarg, 1, BROKERS_MAX, &a->brokers)) {
				usage_error("--brokers: ", optarg, " is not a number from 1 to 32");
				return EXIT_USAGE;
			}
			break;
		case 'p':
			if (!parse_int(optarg, 1, PARTITIONS_MAX, &a->partitions)) {
				usage_error("--partitions: ", optarg, " is not a number from 1 to 1000");
				return EXIT_USAGE;
			}
			break;
		case 't':
			if (!topic_valid(optarg)) {
				usage_error("--topic: ", optarg, " is not a valid topic name (1 to 249 of a-z A-Z 0-9 . _ -)");
				return EXIT_USAGE;
			}
			a->topics[a->n_topics++] = optarg;
			break;
		case 'd':
			a->debug = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_USAGE;
		default:
			fprintf(stderr, "Try '" PROG " --help'.\n");
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		usage_error("unexpected argument ", argv[optind], "");
		return EXIT_USAGE;
	}
	return -1;
}

static bool debug_on;

/* The mock logs through the handle it lives on: errors, and with --debug everything. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	if (level <= 3 || debug_on)
		fprintf(stderr, PROG ": %s: %s\n", fac, buf);
}

static rd_kafka_t *handle_new(const char *debug)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char err[512];
	rd_kafka_t *rk;

	rd_kafka_conf_set_log_cb(conf, on_log);
	if (debug && rd_kafka_conf_set(conf, "debug", debug, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
		rd_kafka_conf_destroy(conf);
		fprintf(stderr, PROG ": --debug: %s\n", err);
		return NULL;
	}
	debug_on = debug != NULL;
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (!rk) {
		rd_kafka_conf_destroy(conf);
		fprintf(stderr, PROG ": %s\n", err);
	}
	return rk;
}

static bool topics_create(rd_kafka_mock_cluster_t *mc, const struct mock_args *a)
{
	int replication = a->brokers < REPLICATION_MAX ? a->brokers : REPLICATION_MAX;

	for (size_t i = 0; i < a->n_topics; i++) {
		rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, a->topics[i], a->partitions, replication);

		if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
			fprintf(stderr, PROG ": topic %s: %s\n", a->topics[i], rd_kafka_err2str(e));
			return false;
		}
	}
	return true;
}

/* Block until SIGTERM or SIGINT (blocked in every thread since before they started). */
static void wait_for_stop(const sigset_t *set)
{
	int sig;

	while (sigwait(set, &sig) != 0)
		;
}

int main(int argc, char **argv)
{
	struct mock_args a = { .brokers = 3, .partitions = 3 };
	rd_kafka_mock_cluster_t *mc = NULL;
	rd_kafka_t *rk = NULL;
	sigset_t set;
	int status;

	a.topics = calloc((size_t)argc, sizeof(*a.topics));
	if (!a.topics) {
		fprintf(stderr, PROG ": out of memory\n");
		return EXIT_USAGE;
	}
	status = parse_args(argc, argv, &a);
	if (status >= 0)
		goto out;
	status = EXIT_USAGE;

	/* Before librdkafka starts its threads, so that they inherit the mask and
	 * the signals wait for sigwait() below. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	rk = handle_new(a.debug);
	if (!rk)
		goto out;
	mc = rd_kafka_mock_cluster_new(rk, a.brokers);
	if (!mc) {
		fprintf(stderr, PROG ": the mock cluster could not start\n");
		goto out;
	}
	if (!topics_create(mc, &a))
		goto out;
	if (printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc)) < 0 || fflush(stdout) != 0) {
		fprintf(stderr, PROG ": standard output: %s\n", strerror(errno));
		goto out;
	}
	wait_for_stop(&set);
	status = EXIT_SUCCESS;
out:
	if (mc)
		rd_kafka_mock_cluster_destroy(mc);
	if (rk)
		rd_kafka_destroy(rk);
	free(a.topics);
	return status;
}
