/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * walk-pool - a baseline for the du benchmark: the tree walk done by a
 * plain pthread pool.  N threads share a queue of directories; each reads
 * one, lstat()s its entries, and queues the subdirectories it finds.
 *
 * walk-pool [-j N] DIR  prints "bytes<TAB>entries<TAB>DIR" like du-sync.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct dirq {
	pthread_mutex_t	lock;
	pthread_cond_t	cond;
	char		**dirs;
	size_t		n, cap;
	int		busy;		/* threads inside a directory */
	long long	bytes, entries;
};

static void
push(struct dirq *q, char *path)
{
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 1024;
		q->dirs = realloc(q->dirs, q->cap * sizeof(*q->dirs));
	}
	q->dirs[q->n++] = path;
	pthread_cond_signal(&q->cond);
}

static void *
worker(void *arg)
{
	struct dirq *q = arg;
	long long bytes = 0, entries = 0;
	char child[4096], *path;
	struct dirent *de;
	struct stat st;
	DIR *dir;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (q->n == 0 && q->busy > 0)
			pthread_cond_wait(&q->cond, &q->lock);
		if (q->n == 0)
			break;
		path = q->dirs[--q->n];
		q->busy++;
		pthread_mutex_unlock(&q->lock);
		if ((dir = opendir(path)) != NULL) {
			while ((de = readdir(dir)) != NULL) {
				if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
					continue;
				snprintf(child, sizeof(child), "%s/%s", path, de->d_name);
				if (lstat(child, &st) != 0)
					continue;
				bytes += st.st_size;
				entries++;
				if (S_ISDIR(st.st_mode)) {
					pthread_mutex_lock(&q->lock);
					push(q, strdup(child));
					pthread_mutex_unlock(&q->lock);
				}
			}
			closedir(dir);
		}
		free(path);
		pthread_mutex_lock(&q->lock);
		if (--q->busy == 0 && q->n == 0)
			pthread_cond_broadcast(&q->cond);
	}
	q->bytes += bytes;
	q->entries += entries;
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

int
main(int argc, char **argv)
{
	struct dirq q = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
	pthread_t t[256];
	int nthreads = 16, opt, i;

	while ((opt = getopt(argc, argv, "j:")) != -1)
		if (opt == 'j')
			nthreads = atoi(optarg);
	if (optind != argc - 1 || nthreads < 1 || nthreads > 256) {
		fprintf(stderr, "usage: %s [-j N] DIR\n", argv[0]);
		return 2;
	}
	push(&q, strdup(argv[optind]));
	for (i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, worker, &q);
	for (i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	printf("%lld\t%lld\t%s\n", q.bytes, q.entries, argv[optind]);
	free(q.dirs);
	return 0;
}
