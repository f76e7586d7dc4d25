/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzzutil.h - what the fuzz targets (tests/fuzz-*.c) share: reading
 * their input a few bytes at a time, and pointers that fault.
 */
#ifndef MSGPORT_FUZZUTIL_H
#define MSGPORT_FUZZUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

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

/*
 * fz_ptr
 *	Where an area of len bytes the library reads or writes itself is
 *	put, by kind: 0 good itself, 1 NULL, 2 an unmapped page, 3 running
 *	from a writable page into it, 4 a read-only page, 5 an address no
 *	process maps.  The pages are mapped once, the unmapped one between
 *	the others; what is read from the read-only one is zeros.
 */
#define FZ_NPTR	6

static inline void *
fz_ptr(unsigned kind, void *good, size_t len)
{
	static char *pages;
	long pg = sysconf(_SC_PAGESIZE);

	if (pages == NULL) {
		pages = mmap(NULL, (size_t)pg * 3, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (pages == MAP_FAILED || mprotect(pages + pg, (size_t)pg, PROT_NONE) != 0 ||
		    mprotect(pages + 2 * pg, (size_t)pg, PROT_READ) != 0)
			abort();
	}
	switch (kind % FZ_NPTR) {
	case 0:
		return good;
	case 1:
		return NULL;
	case 2:
		return pages + pg;
	case 3:
		return pages + pg - ((len / 2 < (size_t)pg ? len / 2 : (size_t)pg) & ~(size_t)7);
	case 4:
		return pages + 2 * pg;
	default:
		return (void *)(-(uintptr_t)pg * 16);
	}
}

/* The libFuzzer entry point each target defines. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* MSGPORT_FUZZUTIL_H */
