/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file output.h
 * Built-in outputs: JSON lines and a libpcap writer for packet records.
 */
#ifndef ESTREAMER_OUTPUT_H
#define ESTREAMER_OUTPUT_H

#include <stdio.h>

#include <estreamer/common.h>
#include <estreamer/decode.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Writes the record's JSON object on one line of @p out.
 * @return ESTREAMER_ERR_IO when the write fails
 */
ESTREAMER_EXPORT estreamer_error estreamer_json_write(FILE *out, const estreamer_record *rec);

/** A libpcap file being written. */
typedef struct estreamer_pcap estreamer_pcap;

/**
 * Opens a libpcap file (magic a1b2c3d4, version 2.4) for appending, creating
 * it if needed. A new file's link type is that of the first packet written
 * (Ethernet when none is); an existing file keeps its header, and a last
 * record cut short (by a crash) is removed first.
 * @param ret_pcap close with estreamer_pcap_close()
 * @return ESTREAMER_ERR_MALFORMED when the file exists and is not a libpcap
 *         file in this machine's byte order (it is left untouched),
 *         ESTREAMER_ERR_IO when it cannot be opened
 */
ESTREAMER_EXPORT estreamer_error estreamer_pcap_open(const char *path, estreamer_pcap **ret_pcap);

/**
 * Appends the packet of a Packet record (type 2); other records are ignored.
 * @return ESTREAMER_ERR_TRUNCATED when the record is shorter than its packet
 */
ESTREAMER_EXPORT estreamer_error estreamer_pcap_write(estreamer_pcap *pcap,
						      const estreamer_record *rec);

/**
 * Writes what is buffered and waits until it is on disk (fsync).
 * @return ESTREAMER_ERR_IO when either fails
 */
ESTREAMER_EXPORT estreamer_error estreamer_pcap_flush(estreamer_pcap *pcap);

/**
 * Flushes and closes; accepts NULL.
 * @return ESTREAMER_ERR_IO when the final write fails
 */
ESTREAMER_EXPORT estreamer_error estreamer_pcap_close(estreamer_pcap *pcap);

#ifdef __cplusplus
}
#endif

#endif
