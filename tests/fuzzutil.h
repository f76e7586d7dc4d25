/*
 * fuzzutil.h - what the fuzz targets (tests/fuzz-*.c) share: reading
 * their input a few bytes at a time.
 */
#ifndef MSGPORT_FUZZUTIL_H
#define MSGPORT_FUZZUTIL_H

#include <stddef.h>
#include <stdint.h>

struct fz_in {
	const uint8_t	*p;
	size_t		n;
};

/* The next bytes of input as a big-endian number; zeros once it runs out. */
static inline uint64_t
take(struct fz_in *in, int bytes)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < bytes; i++) {
		v <<= 8;
		if (in->n > 0) {
			v |= *in->p++;
			in->n--;
		}
	}
	return v;
}

/* The libFuzzer entry point each target defines. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* MSGPORT_FUZZUTIL_H */
