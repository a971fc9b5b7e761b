/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file mozdef.h
 * Everything of libmozdef: events (event.h) and their delivery (client.h).
 */
#ifndef MOZDEF_MOZDEF_H
#define MOZDEF_MOZDEF_H

#include <mozdef/common.h>
#include <mozdef/event.h>
#include <mozdef/client.h>

#endif
