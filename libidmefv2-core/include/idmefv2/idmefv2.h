/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file idmefv2.h
 * Everything of libidmefv2-core.
 */
#ifndef IDMEFV2_IDMEFV2_H
#define IDMEFV2_IDMEFV2_H

#include <idmefv2/common.h>
#include <idmefv2/schema.h>
#include <idmefv2/message.h>
#include <idmefv2/util.h>

#endif
