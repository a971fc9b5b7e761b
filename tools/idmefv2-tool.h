/* SPDX-License-Identifier: Apache-2.0 */
/* The idmefv2 command: what the subcommands share. */
#ifndef IDMEFV2_TOOL_H
#define IDMEFV2_TOOL_H

#include <stdio.h>

/* Exit statuses of every subcommand, documented in idmefv2(1). */
enum {
	TOOL_EXIT_OK = 0,      /* everything valid / done */
	TOOL_EXIT_INVALID = 1, /* some message is not valid */
	TOOL_EXIT_USAGE = 2,   /* bad usage, unreadable input, unloadable schema */
};

struct tool_command {
	const char *name;
	const char *summary; /* one line for `idmefv2 --help` */
	const char *help;    /* the whole text of `idmefv2 help NAME` */
	/* argv[0] is the command name; getopt state is reset by the caller */
	int (*run)(int argc, char **argv);
};

extern const char tool__validate_help[];
int tool__validate_main(int argc, char **argv);

extern const char tool__new_help[];
int tool__new_main(int argc, char **argv);

extern const char tool__send_help[];
int tool__send_main(int argc, char **argv);

extern const char tool__convert_help[];
int tool__convert_main(int argc, char **argv);

extern const char tool__listen_help[];
int tool__listen_main(int argc, char **argv);

struct idmefv2_transport;
/* Print the transport option table (--list-options). */
void tool__list_transport_options(FILE *out);
/* Apply one "-o NAME=VALUE" to @t; errors name the argument. Returns a TOOL_EXIT_*. */
int tool__transport_option(const char *cmd, struct idmefv2_transport *t, const char *spec);

/* "idmefv2 CMD: " then the formatted text and a newline, on stderr. */
void tool__error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Report the option getopt_long() rejected (it ran with opterr = 0 and an
 * optstring starting with ':'), with a hint to the help. Returns
 * TOOL_EXIT_USAGE.
 */
int tool__bad_option(const char *cmd, int c, char **argv);

/* How a JSON Pointer is shown in text output: the root ("") as "/". */
const char *tool__pointer_text(const char *pointer);

#endif
