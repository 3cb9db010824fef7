/*
 * Reads a stream from edgecam's shared-memory ring and prints one line per access unit: its sequence
 * number, size, keyframe flag and the delay from edgecam's publish to this read. Optionally writes the
 * access units to a file (H.264 Annex-B that ffprobe and players accept: it starts at a keyframe and
 * resumes at one after a lap).
 *
 * Build:  gcc -O2 -Wall -o edgecam-shm-reader examples/shm/reader.c
 * Run:    ./edgecam-shm-reader [-n frames] [-o out.h264] [-s sleep_ms] [-t idle_s] [-r rejoin_s]
 *            edgecam-front
 *
 *   -n frames    exit 0 after this many frames (default: run until interrupted)
 *   -o file      write every frame read to this file
 *   -s sleep_ms  sleep this long after each frame (a slow consumer, to see laps)
 *   -t idle_s    exit 3 when no frame arrives for this many seconds (default: wait forever)
 *   -r rejoin_s  after the writer left (closed the ring, or was killed), exit 4 when no new ring comes
 *                within this many seconds (default 30; 0: wait forever)
 *
 * Lines: "attached name=.. generation=.. codec=.. width=.. height=.. slots=.. slot_size=..",
 *        "frame seq=.. size=.. key=0|1 capture_us=.. delay_us=..", "lapped missed=..",
 *        "skipped seq=.. size=..", "writer_gone pid=.. generation=.." (its process no longer exists),
 *        "closed generation=.." (then it attaches to the next generation).
 */
#include <stdlib.h>

#include "edgecam_shm.h"

static void usage(void) {
  fprintf(stderr,
          "usage: edgecam-shm-reader [-n frames] [-o out.h264] [-s sleep_ms] [-t idle_s] [-r rejoin_s] "
          "<ring name>\n");
  exit(2);
}

/*
 * Attaches, retrying while the ring does not exist yet, is being replaced or its writer is gone, for up to
 * limit_s seconds (0: no limit). Returns 0, 1 when the time ran out, -1 on another error.
 */
static int attach(edgecam_shm_reader *r, const char *name, uint64_t not_generation, int limit_s) {
  uint64_t started = edgecam_shm_now_us();
  for (;;) {
    if (edgecam_shm_attach(r, name) == 0) {
      if (r->generation != not_generation) return 0;
      edgecam_shm_detach(r);
    } else if (errno != ENOENT && errno != EAGAIN && errno != ESRCH) {
      fprintf(stderr, "cannot attach to /dev/shm/%s: %s\n", name, strerror(errno));
      return -1;
    }
    if (limit_s > 0 && edgecam_shm_now_us() - started > (uint64_t)limit_s * 1000000u) return 1;
    usleep(50000);
  }
}

static void print_attached(const edgecam_shm_reader *r, const char *name) {
  static const char *codecs[] = {"?", "h264", "vp8"};
  const edgecam_shm_header *h = r->header;
  printf("attached name=%s generation=%llu codec=%s width=%u height=%u slots=%u slot_size=%u\n", name,
         (unsigned long long)r->generation, codecs[h->codec <= 2 ? h->codec : 0], h->width, h->height,
         h->slot_count, h->slot_size);
}

int main(int argc, char **argv) {
  long limit = -1;
  const char *out_path = NULL;
  int sleep_ms = 0, idle_s = 0, rejoin_s = 30, opt;
  while ((opt = getopt(argc, argv, "n:o:s:t:r:")) != -1) {
    switch (opt) {
      case 'n': limit = atol(optarg); break;
      case 'o': out_path = optarg; break;
      case 's': sleep_ms = atoi(optarg); break;
      case 't': idle_s = atoi(optarg); break;
      case 'r': rejoin_s = atoi(optarg); break;
      default: usage();
    }
  }
  if (optind != argc - 1) usage();
  const char *name = argv[optind];
  setvbuf(stdout, NULL, _IOLBF, 0);

  FILE *out = NULL;
  if (out_path && !(out = fopen(out_path, "wb"))) {
    fprintf(stderr, "cannot write %s: %s\n", out_path, strerror(errno));
    return 1;
  }
  edgecam_shm_reader r;
  int attached = attach(&r, name, 0, idle_s);
  if (attached == 1) fprintf(stderr, "no edgecam ring at /dev/shm/%s after %d s\n", name, idle_s);
  if (attached != 0) return 1;
  size_t cap = r.header->slot_size;
  uint8_t *buf = malloc(cap);
  long frames = 0;
  uint64_t last_frame_us = edgecam_shm_now_us();
  print_attached(&r, name);
  for (;;) {
    edgecam_shm_frame f;
    int res = edgecam_shm_read(&r, buf, cap, &f);
    uint64_t now = edgecam_shm_now_us();
    if (res == EDGECAM_SHM_NONE) {
      uint64_t seen = edgecam_shm_load(&r.header->write_seq);
      if (idle_s > 0 && now - last_frame_us > (uint64_t)idle_s * 1000000u) {
        fprintf(stderr, "no frame for %d s\n", idle_s);
        return 3;
      }
      edgecam_shm_wait(&r, 200);
      if (edgecam_shm_load(&r.header->write_seq) != seen || !edgecam_shm_writer_gone(&r)) continue;
      printf("writer_gone pid=%u generation=%llu\n", r.header->writer_pid, (unsigned long long)r.generation);
      res = EDGECAM_SHM_CLOSED;
    }
    switch (res) {
      case EDGECAM_SHM_FRAME:
        printf("frame seq=%llu size=%u key=%d capture_us=%llu delay_us=%lld\n", (unsigned long long)f.seq,
               f.length, (f.flags & EDGECAM_SHM_FLAG_KEYFRAME) ? 1 : 0, (unsigned long long)f.capture_us,
               (long long)(now - f.publish_us));
        if (out && fwrite(buf, 1, f.length, out) != f.length) {
          fprintf(stderr, "cannot write %s: %s\n", out_path, strerror(errno));
          return 1;
        }
        last_frame_us = now;
        if (++frames == limit) {
          if (out) fclose(out);
          return 0;
        }
        if (sleep_ms > 0) usleep((useconds_t)sleep_ms * 1000);
        break;
      case EDGECAM_SHM_LAPPED:
        printf("lapped missed=%llu\n", (unsigned long long)f.seq);
        break;
      case EDGECAM_SHM_SKIPPED:
        printf("skipped seq=%llu size=%u\n", (unsigned long long)f.seq, f.length);
        break;
      case EDGECAM_SHM_TOO_SMALL:
        cap = f.length;
        buf = realloc(buf, cap);
        break;
      case EDGECAM_SHM_CLOSED: {
        uint64_t old = r.generation;
        printf("closed generation=%llu\n", (unsigned long long)old);
        edgecam_shm_detach(&r);
        int rejoined = attach(&r, name, old, rejoin_s);
        if (rejoined == 1) {
          fprintf(stderr, "the writer left: no new ring at /dev/shm/%s within %d s\n", name, rejoin_s);
          return 4;
        }
        if (rejoined != 0) return 1;
        print_attached(&r, name);
        last_frame_us = edgecam_shm_now_us();
        if (cap < r.header->slot_size) {
          cap = r.header->slot_size;
          buf = realloc(buf, cap);
        }
        break;
      }
    }
  }
}
