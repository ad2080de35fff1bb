/* format_double: a double as the shortest text that parses back to it, with
 * no printf on the common path. No I/O. */
#pragma once

#include <stddef.h>

/* Writes the shortest text that parses back to the same double (as %.15g,
 * %.16g or %.17g would, the first that round-trips), with ".0" added to
 * integral values so that they read as floating point. Returns the length
 * (< 32). */
size_t format_double(double v, char buf[32]);
