/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Layout tables: one entry per record type and per block type and version.
 * Field names follow the Integration Guide and eNcore's JSON output. A block
 * layout lists the fields after the 8-byte block header.
 */
#include "layouts.h"

#define END { NULL, F_END, 0 }

/* ---- records whose body is a list of fields ---- */

static const struct field packet[] = {
	{ "deviceId", F_U32, 0 },
	{ "eventId", F_U32, 0 },
	{ "eventSecond", F_U32, 0 },
	{ "packetSecond", F_U32, 0 },
	{ "packetMicrosecond", F_U32, 0 },
	{ "linkType", F_U32, 0 },
	{ "packetLength", F_LEN32, 0 },
	{ "packetData", F_BYTES, 0 },
	END,
};

static const struct field priority[] = {
	{ "id", F_U32, 0 },
	{ NULL, F_LEN16, 0 },
	{ "name", F_CHARS, 0 },
	END,
};

static const struct field rule_message[] = {
	{ "generatorId", F_U32, 0 },
	{ "ruleId", F_U32, 0 },
	{ "ruleRevision", F_U32, 0 },
	{ "signatureId", F_U32, 0 },
	{ NULL, F_LEN16, 0 },
	{ "ruleUuid", F_UUID, 0 },
	{ "ruleRevisionUuid", F_UUID, 0 },
	{ "message", F_CHARS, 0 },
	END,
};

static const struct field classification[] = {
	{ "id", F_U32, 0 },
	{ NULL, F_LEN16, 0 },
	{ "name", F_CHARS, 0 },
	{ NULL, F_LEN16, 0 },
	{ "description", F_CHARS, 0 },
	{ "uuid", F_UUID, 0 },
	{ "revisionUuid", F_UUID, 0 },
	END,
};

static const struct field correlation_rule[] = {
	{ "id", F_U32, 0 },
	{ NULL, F_LEN16, 0 },
	{ "name", F_CHARS, 0 },
	{ NULL, F_LEN16, 0 },
	{ "description", F_CHARS, 0 },
	{ NULL, F_LEN16, 0 },
	{ "eventType", F_CHARS, 0 },
	{ "uuid", F_UUID, 0 },
	{ "revisionUuid", F_UUID, 0 },
	{ "whitelistUuid", F_UUID, 0 },
	END,
};

static const struct field id_length_name[] = {
	{ "id", F_U32, 0 },
	{ NULL, F_LEN32, 0 },
	{ "name", F_CHARS, 0 },
	END,
};

/* Records 530 and 700 carry a block header whose type is not documented. */
static const struct field typed_uuid_string[] = {
	{ "blockType", F_U32, 0 },
	{ "blockLength", F_U32, 0 },
	{ "uuid", F_UUID, 0 },
	{ "name", F_STRING, 0 },
	END,
};

static const struct field uuid_string[] = {
	{ "uuid", F_UUID, 0 },
	{ "name", F_STRING, 0 },
	END,
};

static const struct field uuid_id_string[] = {
	{ "revision", F_UUID, 0 },
	{ "id", F_U32, 0 },
	{ "name", F_STRING, 0 },
	END,
};

static const struct field inline_s1[] = { { NULL, F_INLINE, SERIES_1 }, END };
static const struct field inline_s2[] = { { NULL, F_INLINE, SERIES_2 }, END };

/* Discovery (RNA/RUA/connection) event header, then the event's block. */
static const struct field discovery[] = {
	{ "deviceId", F_U32, 0 },
	{ "legacyIpAddress", F_IPV4, 0 },
	{ "macAddress", F_MAC, 0 },
	{ "hasIpv6", F_U8, 0 },
	{ "reserved", F_U8, 0 },
	{ "eventSecond", F_U32, 0 },
	{ "eventMicrosecond", F_U32, 0 },
	{ "eventType", F_U32, 0 },
	{ "eventSubtype", F_U32, 0 },
	{ "fileNumber", F_U32, 0 },
	{ "filePosition", F_U32, 0 },
	{ "ipAddress", F_HOST_IP, 0 },
	{ NULL, F_INLINE, SERIES_1 },
	END,
};

/* ---- series 2 blocks ---- */

static const struct field b2_extra_data[] = {
	{ "deviceId", F_U32, 0 },
	{ "eventId", F_U32, 0 },
	{ "eventSecond", F_U32, 0 },
	{ "type", F_U32, 0 },
	{ "data", F_BLOB, 0 },
	END,
};

static const struct field b2_extra_data_meta[] = {
	{ "type", F_U32, 0 },
	{ "name", F_STRING, 0 },
	{ "encoding", F_STRING, 0 },
	END,
};

static const struct field b2_id_string[] = {
	{ "id", F_U32, 0 },
	{ "name", F_STRING, 0 },
	END,
};

static const struct field b2_uuid_sensor_string[] = {
	{ "uuid", F_UUID, 0 },
	{ "sensorId", F_U32, 0 },
	{ "name", F_STRING, 0 },
	END,
};

static const struct field b2_geolocation[] = {
	{ "countryCode", F_U16, 0 },
	{ "country", F_STRING, 0 },
	END,
};

static const struct field b2_file_sha[] = {
	{ "shaHash", F_HEX, 32 },
	{ "fileName", F_STRING, 0 },
	{ "disposition", F_U8, 0 },
	{ "userDefined", F_U8, 0 },
	END,
};

static const struct field b2_user[] = {
	{ "id", F_U32, 0 },
	{ "protocol", F_U32, 0 },
	{ "name", F_STRING, 0 },
	END,
};

/* Intrusion event block 60 up to "blocked", then the rest. */
static const struct field intrusion_a[] = {
	{ "deviceId", F_U32, 0 },
	{ "eventId", F_U32, 0 },
	{ "eventSecond", F_U32, 0 },
	{ "eventMicrosecond", F_U32, 0 },
	{ "ruleId", F_U32, 0 },
	{ "generatorId", F_U32, 0 },
	{ "ruleRevision", F_U32, 0 },
	{ "classificationId", F_U32, 0 },
	{ "priorityId", F_U32, 0 },
	{ "sourceIpAddress", F_IPV6, 0 },
	{ "destinationIpAddress", F_IPV6, 0 },
	{ "sourcePortOrIcmpType", F_U16, 0 },
	{ "destinationPortOrIcmpCode", F_U16, 0 },
	{ "ipProtocolId", F_U8, 0 },
	{ "impactFlags", F_U8, 0 },
	{ "impact", F_U8, 0 },
	{ "blocked", F_U8, 0 },
	END,
};

static const struct field intrusion_b[] = {
	{ "mplsLabel", F_U32, 0 },
	{ "vlanId", F_U16, 0 },
	{ "pad", F_U16, 0 },
	{ "policyUuid", F_UUID, 0 },
	{ "userId", F_U32, 0 },
	{ "webApplicationId", F_U32, 0 },
	{ "clientApplicationId", F_U32, 0 },
	{ "applicationId", F_U32, 0 },
	{ "accessControlRuleId", F_U32, 0 },
	{ "accessControlPolicyUuid", F_UUID, 0 },
	{ "interfaceIngressUuid", F_UUID, 0 },
	{ "interfaceEgressUuid", F_UUID, 0 },
	{ "securityZoneIngressUuid", F_UUID, 0 },
	{ "securityZoneEgressUuid", F_UUID, 0 },
	{ "connectionTimestamp", F_U32, 0 },
	{ "connectionInstanceId", F_U16, 0 },
	{ "connectionCounter", F_U16, 0 },
	{ "sourceCountry", F_U16, 0 },
	{ "destinationCountry", F_U16, 0 },
	{ "iocNumber", F_U16, 0 },
	{ "securityContext", F_HEX, 16 },
	{ "sslCertificateFingerprint", F_HEX, 20 },
	{ "sslActualAction", F_U16, 0 },
	{ "sslFlowStatus", F_U16, 0 },
	{ "networkAnalysisPolicyUuid", F_UUID, 0 },
	{ "httpResponse", F_U32, 0 },
	END,
};

static const struct field intrusion_81_reason[] = { { "blockedReasonId", F_U8, 0 }, END };

static const struct field intrusion_81_tail[] = {
	{ "ingressVrf", F_STRING, 0 },
	{ "egressVrf", F_STRING, 0 },
	{ "snortVersion", F_U8, 0 },
	END,
};

static const struct field intrusion_85_tail[] = {
	{ "originalClientSrcIp", F_IPV6, 0 },
	{ "httpHostname", F_STRING, 0 },
	{ "httpUri", F_STRING, 0 },
	{ "smtpAttachments", F_STRING, 0 },
	{ "smtpFrom", F_STRING, 0 },
	{ "smtpHeaders", F_STRING, 0 },
	{ "smtpTo", F_STRING, 0 },
	END,
};

static const struct field file_event[] = {
	{ "deviceId", F_U32, 0 },
	{ "connectionInstance", F_U16, 0 },
	{ "connectionCounter", F_U16, 0 },
	{ "connectionTimestamp", F_U32, 0 },
	{ "fileEventTimestamp", F_U32, 0 },
	{ "sourceIpAddress", F_IPV6, 0 },
	{ "destinationIpAddress", F_IPV6, 0 },
	{ "disposition", F_U8, 0 },
	{ "speroDisposition", F_U8, 0 },
	{ "fileStorageStatus", F_U8, 0 },
	{ "fileAnalysisStatus", F_U8, 0 },
	{ "localMalwareAnalysisStatus", F_U8, 0 },
	{ "archiveFileStatus", F_U8, 0 },
	{ "threatScore", F_U8, 0 },
	{ "action", F_U8, 0 },
	{ "shaHash", F_HEX, 32 },
	{ "fileTypeId", F_U32, 0 },
	{ "fileName", F_STRING, 0 },
	{ "fileSize", F_U64, 0 },
	{ "direction", F_U8, 0 },
	{ "applicationId", F_U32, 0 },
	{ "userId", F_U32, 0 },
	{ "uri", F_STRING, 0 },
	{ "signature", F_STRING, 0 },
	{ "sourcePort", F_U16, 0 },
	{ "destinationPort", F_U16, 0 },
	{ "protocol", F_U8, 0 },
	{ "accessControlPolicyUuid", F_UUID, 0 },
	{ "sourceCountry", F_U16, 0 },
	{ "destinationCountry", F_U16, 0 },
	{ "webApplicationId", F_U32, 0 },
	{ "clientApplicationId", F_U32, 0 },
	{ "securityContext", F_HEX, 16 },
	{ "sslCertificateFingerprint", F_HEX, 20 },
	{ "sslActualAction", F_U16, 0 },
	{ "sslFlowStatus", F_U16, 0 },
	{ "archiveSha", F_STRING, 0 },
	{ "archiveName", F_STRING, 0 },
	{ "archiveDepth", F_U8, 0 },
	{ "httpResponse", F_U32, 0 },
	END,
};

static const struct field file_event_79_tail[] = {
	{ "ingressVrf", F_STRING, 0 },
	{ "egressVrf", F_STRING, 0 },
	{ "remainder", F_REST, 0 },
	END,
};

static const struct field malware_event[] = {
	{ "agentUuid", F_UUID, 0 },
	{ "cloudUuid", F_UUID, 0 },
	{ "malwareEventTimestamp", F_U32, 0 },
	{ "eventTypeId", F_U32, 0 },
	{ "eventSubtypeId", F_U32, 0 },
	{ "detectorId", F_U8, 0 },
	{ "detectionName", F_STRING, 0 },
	{ "user", F_STRING, 0 },
	{ "fileName", F_STRING, 0 },
	{ "filePath", F_STRING, 0 },
	{ "fileShaHash", F_STRING, 0 },
	{ "fileSize", F_U32, 0 },
	{ "fileType", F_U32, 0 },
	{ "fileTimestamp", F_U32, 0 },
	{ "parentFileName", F_STRING, 0 },
	{ "parentShaHash", F_STRING, 0 },
	{ "eventDescription", F_STRING, 0 },
	{ "deviceId", F_U32, 0 },
	{ "remainder", F_REST, 0 },
	END,
};

/* ---- series 1 blocks ---- */

static const struct field b1_string[] = { { "data", F_REST, 0 }, END };

static const struct field b1_impact[] = {
	{ "eventId", F_U32, 0 },
	{ "deviceId", F_U32, 0 },
	{ "eventSecond", F_U32, 0 },
	{ "impact", F_U32, 0 },
	{ "sourceIpAddress", F_IPV6, 0 },
	{ "destinationIpAddress", F_IPV6, 0 },
	{ "description", F_STRING, 0 },
	END,
};

static const struct field b1_connection_163[] = {
	{ "deviceId", F_U32, 0 },
	{ "ingressZone", F_UUID, 0 },
	{ "egressZone", F_UUID, 0 },
	{ "ingressInterface", F_UUID, 0 },
	{ "egressInterface", F_UUID, 0 },
	{ "initiatorIpAddress", F_IPV6, 0 },
	{ "responderIpAddress", F_IPV6, 0 },
	{ "originalClientIpAddress", F_IPV6, 0 },
	{ "policyRevision", F_UUID, 0 },
	{ "ruleId", F_U32, 0 },
	{ "tunnelRuleId", F_U32, 0 },
	{ "ruleAction", F_U16, 0 },
	{ "ruleReason", F_U32, 0 },
	{ "initiatorPort", F_U16, 0 },
	{ "responderPort", F_U16, 0 },
	{ "tcpFlag", F_U16, 0 },
	{ "protocol", F_U8, 0 },
	{ "netflowSource", F_IPV6, 0 },
	{ "instanceId", F_U16, 0 },
	{ "connectionCounter", F_U16, 0 },
	{ "firstPacketTimestamp", F_U32, 0 },
	{ "lastPacketTimestamp", F_U32, 0 },
	{ "initiatorTransmittedPackets", F_U64, 0 },
	{ "responderTransmittedPackets", F_U64, 0 },
	{ "initiatorTransmittedBytes", F_U64, 0 },
	{ "responderTransmittedBytes", F_U64, 0 },
	{ "initiatorPacketsDropped", F_U64, 0 },
	{ "responderPacketsDropped", F_U64, 0 },
	{ "initiatorBytesDropped", F_U64, 0 },
	{ "responderBytesDropped", F_U64, 0 },
	{ "qosAppliedInterface", F_UUID, 0 },
	{ "qosRuleId", F_U32, 0 },
	{ "userId", F_U32, 0 },
	{ "applicationId", F_U32, 0 },
	{ "urlCategory", F_U32, 0 },
	{ "urlReputation", F_U32, 0 },
	{ "clientApplicationId", F_U32, 0 },
	{ "webApplicationId", F_U32, 0 },
	{ "clientUrl", F_STRING, 0 },
	{ "netbiosDomain", F_STRING, 0 },
	{ "clientApplicationVersion", F_STRING, 0 },
	{ "monitorRule1", F_U32, 0 },
	{ "monitorRule2", F_U32, 0 },
	{ "monitorRule3", F_U32, 0 },
	{ "monitorRule4", F_U32, 0 },
	{ "monitorRule5", F_U32, 0 },
	{ "monitorRule6", F_U32, 0 },
	{ "monitorRule7", F_U32, 0 },
	{ "monitorRule8", F_U32, 0 },
	{ "remainder", F_REST, 0 },
	END,
};

#define P1(a) { (a), NULL, NULL, NULL, NULL }

static const struct layout records[] = {
	{ 2, "Packet", P1(packet) },
	{ 4, "Priority", P1(priority) },
	{ 9, "Intrusion Impact Alert", P1(inline_s1) },
	{ 55, "Fingerprint", P1(id_length_name) },
	{ 58, "Client Application", P1(id_length_name) },
	{ 59, "Vulnerability", P1(id_length_name) },
	{ 60, "Criticality", P1(id_length_name) },
	{ 61, "Network Protocol", P1(id_length_name) },
	{ 62, "User", P1(inline_s2) },
	{ 63, "Service", P1(id_length_name) },
	{ 66, "Rule Message", P1(rule_message) },
	{ 67, "Classification", P1(classification) },
	{ 69, "Correlation Policy", P1(classification) },
	{ 70, "Correlation Rule", P1(correlation_rule) },
	{ 71, "Connection Statistics", P1(discovery) },
	{ 90, "Source Type", P1(id_length_name) },
	{ 91, "Source Application", P1(id_length_name) },
	{ 92, "User Removed", P1(discovery) },
	{ 93, "User Modified", P1(discovery) },
	{ 94, "User Login", P1(discovery) },
	{ 95, "User Logoff", P1(discovery) },
	{ 96, "Source Detector", P1(id_length_name) },
	{ 98, "User Information", P1(inline_s2) },
	{ 109, "Web Application", P1(id_length_name) },
	{ 110, "Intrusion Event Extra Data", P1(inline_s2) },
	{ 111, "Extra Data Metadata", P1(inline_s2) },
	{ 112, "Correlation Event", P1(inline_s1) },
	{ 115, "Security Zone Name", P1(inline_s2) },
	{ 116, "Interface Name", P1(inline_s2) },
	{ 117, "Access Control Policy Name", P1(inline_s2) },
	{ 118, "Intrusion Policy Name", P1(inline_s2) },
	{ 119, "Access Control Rule ID", P1(inline_s2) },
	{ 120, "Access Control Rule Action", P1(id_length_name) },
	{ 121, "URL Category", P1(id_length_name) },
	{ 122, "URL Reputation", P1(id_length_name) },
	{ 123, "Sensor", P1(id_length_name) },
	{ 124, "Access Control Rule Reason", P1(inline_s2) },
	{ 125, "Malware Event", P1(inline_s2) },
	{ 127, "Cloud Name", P1(inline_s2) },
	{ 128, "Malware Event Type", P1(id_length_name) },
	{ 129, "Malware Event Subtype", P1(id_length_name) },
	{ 130, "AMP Detector Type", P1(id_length_name) },
	{ 131, "AMP File Type", P1(id_length_name) },
	{ 140, "Rule Documentation", P1(inline_s2) },
	{ 145, "Access Control Policy Metadata", P1(inline_s2) },
	{ 146, "Prefilter Policy Metadata", P1(inline_s2) },
	{ 147, "Tunnel or Prefilter Rule", P1(inline_s2) },
	{ 160, "Host IOC Set", P1(discovery) },
	{ 161, "IOC Name", P1(inline_s2) },
	{ 170, "VPN Login", P1(discovery) },
	{ 171, "VPN Logoff", P1(discovery) },
	{ 260, "ICMP Type", P1(inline_s2) },
	{ 270, "ICMP Code", P1(inline_s2) },
	{ 281, "Security Intelligence Category", P1(id_length_name) },
	{ 300, "Realm", P1(id_length_name) },
	{ 302, "Security Group", P1(id_length_name) },
	{ 322, "Sinkhole Name", P1(inline_s2) },
	{ 350, "Netmap Domain", P1(id_length_name) },
	{ 400, "Intrusion Event", P1(inline_s2) },
	{ 500, "File Event", P1(inline_s2) },
	{ 502, "File Malware Event", P1(inline_s2) },
	{ 510, "File Type", P1(id_length_name) },
	{ 511, "File SHA", P1(inline_s2) },
	{ 515, "File Event SHA Type", P1(id_length_name) },
	{ 516, "File Storage Status", P1(id_length_name) },
	{ 517, "File Sandbox Status", P1(id_length_name) },
	{ 518, "File Archive Status", P1(id_length_name) },
	{ 519, "Malware Analysis Status", P1(id_length_name) },
	{ 520, "Geolocation", P1(inline_s2) },
	{ 530, "File Policy Name", P1(typed_uuid_string) },
	{ 600, "SSL Policy Name", P1(uuid_string) },
	{ 601, "SSL Rule ID", P1(uuid_id_string) },
	{ 602, "SSL Cipher Suite", P1(id_length_name) },
	{ 603, "SSL Version", P1(id_length_name) },
	{ 604, "SSL Server Certificate Status", P1(id_length_name) },
	{ 605, "SSL Actual Action", P1(id_length_name) },
	{ 606, "SSL Expected Action", P1(id_length_name) },
	{ 607, "SSL Flow Status", P1(id_length_name) },
	{ 608, "SSL Flow Error", P1(id_length_name) },
	{ 613, "SSL URL Category", P1(id_length_name) },
	{ 614, "SSL Certificate Details", P1(inline_s2) },
	{ 700, "Network Analysis Policy Name", P1(typed_uuid_string) },
};

struct block_entry {
	int series;
	struct layout layout;
};

static const struct block_entry blocks[] = {
	{ SERIES_1, { 0, "String", P1(b1_string) } },
	{ SERIES_1, { 10, "BLOB", P1(b1_string) } },
	{ SERIES_1, { 153, "Intrusion Impact Alert", P1(b1_impact) } },
	{ SERIES_1, { 163, "Connection Statistics 6.x", P1(b1_connection_163) } },
	{ SERIES_2, { 4, "Intrusion Event Extra Data", P1(b2_extra_data) } },
	{ SERIES_2, { 5, "Extra Data Metadata", P1(b2_extra_data_meta) } },
	{ SERIES_2, { 14, "UUID String", P1(uuid_string) } },
	{ SERIES_2, { 15, "Access Control Rule ID", P1(uuid_id_string) } },
	{ SERIES_2, { 28, "Geolocation", P1(b2_geolocation) } },
	{ SERIES_2, { 40, "File SHA", P1(b2_file_sha) } },
	{ SERIES_2, { 56, "File Event", P1(file_event) } },
	{ SERIES_2, { 57, "User", P1(b2_user) } },
	{ SERIES_2, { 59, "Access Control Rule Reason", P1(b2_id_string) } },
	{ SERIES_2, { 60, "Intrusion Event 6.x", { intrusion_a, intrusion_b, NULL, NULL, NULL } } },
	{ SERIES_2, { 62, "Malware Event", P1(malware_event) } },
	{ SERIES_2, { 64, "Policy Metadata", P1(b2_uuid_sensor_string) } },
	{ SERIES_2, { 79, "File Event 7.x", { file_event, file_event_79_tail, NULL, NULL, NULL } } },
	{ SERIES_2, { 80, "Malware Event 7.x", P1(malware_event) } },
	{ SERIES_2, { 81, "Intrusion Event 7.0",
		      { intrusion_a, intrusion_81_reason, intrusion_b, intrusion_81_tail, NULL } } },
	{ SERIES_2, { 85, "Intrusion Event 7.x",
		      { intrusion_a, intrusion_81_reason, intrusion_b, intrusion_81_tail,
			intrusion_85_tail } } },
};

const struct layout *estreamer__record_layout(uint32_t type)
{
	size_t lo = 0, hi = sizeof(records) / sizeof(records[0]);

	/* The table is sorted by type. */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (records[mid].type == type)
			return &records[mid];
		if (records[mid].type < type)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct layout *estreamer__block_layout(int series, uint32_t type)
{
	for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++)
		if (blocks[i].series == series && blocks[i].layout.type == type)
			return &blocks[i].layout;
	return NULL;
}
