/*
 * edgecam shared-memory ring, layout version 1: the C side of the contract in docs/shm.md.
 *
 * A stream's ring is the POSIX shared-memory object /dev/shm/<prefix>-<stream>: one header, then
 * slot_count slots of (64-byte slot header + slot_size payload bytes). All integers little-endian.
 * One writer (edgecam); any number of readers, which never lock and never write.
 *
 * Single header: the functions below are static inline. Linux only (futex). Needs C11.
 */
#ifndef EDGECAM_SHM_H
#define EDGECAM_SHM_H

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define EDGECAM_SHM_MAGIC 0x4d534345u /* "ECSM" */
#define EDGECAM_SHM_VERSION 1u
#define EDGECAM_SHM_HEADER_SIZE 256u
#define EDGECAM_SHM_SLOT_HEADER_SIZE 64u

#define EDGECAM_SHM_FLAG_KEYFRAME 1u /* a decoder can start here */
#define EDGECAM_SHM_FLAG_SKIPPED 2u  /* larger than a slot: length is its size, no payload */

#define EDGECAM_SHM_STATE_LIVE 1u   /* the writer is attached */
#define EDGECAM_SHM_STATE_CLOSED 2u /* the writer left: re-open the name for a new generation */

#define EDGECAM_SHM_CODEC_H264 1u /* Annex-B, 4-byte start codes, SPS+PPS before every keyframe */
#define EDGECAM_SHM_CODEC_VP8 2u  /* one frame */

typedef struct {
  uint32_t magic;            /*   0 */
  uint32_t version;          /*   4 */
  uint32_t header_size;      /*   8: offset of slot 0 */
  uint32_t slot_header_size; /*  12 */
  uint32_t slot_count;       /*  16 */
  uint32_t slot_size;        /*  20: payload bytes per slot */
  uint64_t generation;       /*  24: differs from every earlier ring of this name */
  uint32_t codec;            /*  32 */
  uint32_t width;            /*  36: 0 until the first keyframe */
  uint32_t height;           /*  40 */
  uint32_t state;            /*  44 */
  uint32_t writer_pid;       /*  48 */
  uint32_t reserved0;        /*  52 */
  uint64_t created_us;       /*  56: µs since the epoch */
  uint64_t write_seq;        /*  64: last committed sequence; its low 32 bits are the futex word */
  uint64_t keyframe_seq;     /*  72: latest keyframe's sequence, 0 = none */
  uint64_t skipped;          /*  80: access units too large for a slot */
  uint8_t reserved[168];     /*  88 .. 256 */
} edgecam_shm_header;

typedef struct {
  uint64_t seq;        /*  0: sequence held; 0 while the writer fills the slot */
  uint32_t length;     /*  8: payload bytes (the real size when SKIPPED) */
  uint32_t flags;      /* 12 */
  int64_t pts90k;      /* 16: media timestamp, 90 kHz */
  uint64_t capture_us; /* 24: capture time, µs since the epoch */
  uint64_t publish_us; /* 32: when the writer committed the slot, µs since the epoch */
  uint8_t reserved[24];
} edgecam_shm_slot;

_Static_assert(sizeof(edgecam_shm_header) == EDGECAM_SHM_HEADER_SIZE, "header is 256 bytes");
_Static_assert(sizeof(edgecam_shm_slot) == EDGECAM_SHM_SLOT_HEADER_SIZE, "slot header is 64 bytes");
_Static_assert(offsetof(edgecam_shm_header, write_seq) == 64, "write_seq at 64");
_Static_assert(offsetof(edgecam_shm_slot, publish_us) == 32, "publish_us at 32");

/* One reader's attachment and position. */
typedef struct {
  const uint8_t *base;
  size_t size;
  const edgecam_shm_header *header;
  uint64_t generation;
  uint64_t next;       /* sequence to read next */
  int await_keyframe;  /* after a lap or a skip: pass over frames until a keyframe */
  uint64_t dropped;    /* access units passed over */
} edgecam_shm_reader;

/* One access unit copied out of the ring. */
typedef struct {
  uint64_t seq;
  uint32_t length;
  uint32_t flags;
  int64_t pts90k;
  uint64_t capture_us;
  uint64_t publish_us;
} edgecam_shm_frame;

enum edgecam_shm_result {
  EDGECAM_SHM_FRAME = 0,    /* a frame was copied into the buffer */
  EDGECAM_SHM_NONE = 1,     /* nothing new */
  EDGECAM_SHM_LAPPED = 2,   /* the writer overwrote unread slots; resumed at a keyframe */
  EDGECAM_SHM_SKIPPED = 3,  /* this access unit did not fit a slot (frame->length says how big) */
  EDGECAM_SHM_TOO_SMALL = 4,/* the caller's buffer is smaller than frame->length */
  EDGECAM_SHM_CLOSED = 5,   /* the writer left: detach and attach again */
};

static inline uint64_t edgecam_shm_load(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }

static inline uint64_t edgecam_shm_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static inline const edgecam_shm_slot *edgecam_shm_slot_at(const edgecam_shm_reader *r, uint64_t seq) {
  const edgecam_shm_header *h = r->header;
  size_t stride = (size_t)h->slot_header_size + h->slot_size;
  return (const edgecam_shm_slot *)(r->base + h->header_size + ((seq - 1) % h->slot_count) * stride);
}

/* Moves to the latest keyframe still in the ring, else past the end to wait for the next one. */
static inline void edgecam_shm_resume(edgecam_shm_reader *r) {
  uint64_t kf = edgecam_shm_load(&r->header->keyframe_seq);
  uint64_t w = edgecam_shm_load(&r->header->write_seq);
  if (kf > 0 && kf >= r->next && edgecam_shm_load(&edgecam_shm_slot_at(r, kf)->seq) == kf) {
    r->next = kf;
    r->await_keyframe = 0;
  } else {
    if (w + 1 > r->next) r->next = w + 1;
    r->await_keyframe = 1;
  }
}

/*
 * 1 when the ring still says live but its writer's process no longer exists (killed or crashed: it never
 * marked the ring closed), so nothing more will come on it. A reader in another PID namespace than
 * edgecam (a container) sees no such process whatever happens: it must not rely on this.
 */
static inline int edgecam_shm_writer_gone(const edgecam_shm_reader *r) {
  pid_t pid = (pid_t)__atomic_load_n(&r->header->writer_pid, __ATOMIC_RELAXED);
  return pid > 0 && kill(pid, 0) != 0 && errno == ESRCH;
}

/*
 * Maps /dev/shm/<name> read-only and starts at its latest keyframe. Returns 0, or -1 with errno set
 * (ENOENT: no ring yet; EAGAIN: a ring being set up or already closed; ESRCH: a ring whose writer is
 * gone; EPROTO: another layout).
 */
static inline int edgecam_shm_attach(edgecam_shm_reader *r, const char *name) {
  char path[300];
  memset(r, 0, sizeof *r);
  snprintf(path, sizeof path, "/%s", name);
  int fd = shm_open(path, O_RDONLY, 0);
  if (fd < 0) return -1;
  struct stat st;
  if (fstat(fd, &st) != 0 || (size_t)st.st_size < EDGECAM_SHM_HEADER_SIZE) {
    close(fd);
    errno = EAGAIN;
    return -1;
  }
  void *base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (base == MAP_FAILED) return -1;
  r->base = base;
  r->size = (size_t)st.st_size;
  r->header = base;
  const edgecam_shm_header *h = r->header;
  int bad = __atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != EDGECAM_SHM_MAGIC ? EAGAIN
            : h->version != EDGECAM_SHM_VERSION ? EPROTO
            : h->slot_count == 0 || h->header_size + (size_t)h->slot_count * (h->slot_header_size + h->slot_size) > r->size
              ? EPROTO
            : __atomic_load_n(&h->state, __ATOMIC_ACQUIRE) != EDGECAM_SHM_STATE_LIVE ? EAGAIN
            : 0;
  if (bad) {
    munmap(base, r->size);
    errno = bad;
    return -1;
  }
  if (edgecam_shm_writer_gone(r)) {
    munmap(base, r->size);
    errno = ESRCH;
    return -1;
  }
  r->generation = h->generation;
  edgecam_shm_resume(r);
  return 0;
}

static inline void edgecam_shm_detach(edgecam_shm_reader *r) {
  if (r->base) munmap((void *)r->base, r->size);
  r->base = NULL;
}

/*
 * Copies the next access unit into buf (capacity cap) without ever blocking the writer. The copy is
 * checked against the slot's sequence afterwards: a slot reused meanwhile is reported as LAPPED, never
 * returned torn.
 */
static inline int edgecam_shm_read(edgecam_shm_reader *r, uint8_t *buf, size_t cap, edgecam_shm_frame *f) {
  for (;;) {
    if (__atomic_load_n(&r->header->state, __ATOMIC_ACQUIRE) != EDGECAM_SHM_STATE_LIVE) return EDGECAM_SHM_CLOSED;
    if (r->next > edgecam_shm_load(&r->header->write_seq)) return EDGECAM_SHM_NONE;
    const edgecam_shm_slot *s = edgecam_shm_slot_at(r, r->next);
    uint64_t seq = r->next;
    if (edgecam_shm_load(&s->seq) != seq) goto lapped;
    f->seq = seq;
    f->length = s->length;
    f->flags = s->flags;
    f->pts90k = s->pts90k;
    f->capture_us = s->capture_us;
    f->publish_us = s->publish_us;
    int skipped = (f->flags & EDGECAM_SHM_FLAG_SKIPPED) || f->length > r->header->slot_size;
    if (!skipped && f->length <= cap) memcpy(buf, (const uint8_t *)s + EDGECAM_SHM_SLOT_HEADER_SIZE, f->length);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) != seq) goto lapped;
    r->next = seq + 1;
    if (skipped) {
      r->await_keyframe = 1;
      return EDGECAM_SHM_SKIPPED;
    }
    if (r->await_keyframe && !(f->flags & EDGECAM_SHM_FLAG_KEYFRAME)) {
      r->dropped++;
      continue;
    }
    r->await_keyframe = 0;
    return f->length <= cap ? EDGECAM_SHM_FRAME : EDGECAM_SHM_TOO_SMALL;
  lapped: {
    uint64_t from = r->next;
    edgecam_shm_resume(r);
    r->dropped += r->next - from;
    f->seq = r->next - from; /* how many were missed */
    return EDGECAM_SHM_LAPPED;
  }
  }
}

/*
 * Sleeps until the writer commits past what this reader has seen, or timeout_ms passes. When nothing came,
 * edgecam_shm_writer_gone tells a killed writer from a quiet one.
 */
static inline void edgecam_shm_wait(const edgecam_shm_reader *r, int timeout_ms) {
  uint64_t w = edgecam_shm_load(&r->header->write_seq);
  if (r->next <= w) return;
  struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
  /* Not FUTEX_PRIVATE: the word is shared between processes. */
  syscall(SYS_futex, (const uint32_t *)&r->header->write_seq, FUTEX_WAIT, (uint32_t)w, &ts, NULL, 0);
}

#endif
