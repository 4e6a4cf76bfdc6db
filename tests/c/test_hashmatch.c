/*
 * The C API exercised from C: every function, its NULL and error paths, ownership, and many
 * threads querying one matcher while another thread changes it.
 *
 * Run by tests/ffi.rs (cargo test), and under valgrind by .ci/run:
 *   cc -std=c11 -Wall -Wextra -Werror -Iinclude tests/c/test_hashmatch.c \
 *      target/release/libhashmatch.a -lpthread -ldl -lm -o test_hashmatch
 *   ./test_hashmatch <repository root> <scratch directory>
 * Prints one line per failed check and ends with "N passed, N failed"; exits non-zero on any
 * failure.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashmatch.h"

static int passed, failed;

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (cond) {                                                              \
      passed++;                                                              \
    } else {                                                                 \
      failed++;                                                              \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                        \
  } while (0)

/* A call that must succeed; on failure prints the message from the hm_error. */
#define OK(call)                                                                      \
  do {                                                                                \
    hm_status ok_st_ = (call);                                                        \
    if (ok_st_ == HM_OK) {                                                            \
      passed++;                                                                       \
    } else {                                                                          \
      failed++;                                                                       \
      fprintf(stderr, "%s:%d: %s returned %d (%s)\n", __FILE__, __LINE__, #call,      \
              (int)ok_st_, hm_status_str(ok_st_));                                    \
    }                                                                                 \
  } while (0)

/* A call that must fail with `status`, with the hm_error filled in to match. */
#define FAILS(status, call)                                                             \
  do {                                                                                  \
    hm_status fails_st_ = (call);                                                       \
    if (fails_st_ == (status) && err.code == (status) && err.message[0] != '\0') {      \
      passed++;                                                                         \
    } else {                                                                            \
      failed++;                                                                         \
      fprintf(stderr, "%s:%d: %s returned %d, err.code %d (%s), expected %d\n", __FILE__, \
              __LINE__, #call, (int)fails_st_, (int)err.code, err.message, (int)(status)); \
    }                                                                                   \
  } while (0)

static char root[4096], scratch[4096];

static const char *path_in(const char *base, const char *name) {
  static char buf[8192];
  snprintf(buf, sizeof buf, "%s/%s", base, name);
  return buf;
}

static unsigned char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *data = malloc((size_t)n);
  if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
    free(data);
    data = NULL;
  }
  fclose(f);
  *len = (size_t)n;
  return data;
}

/* A textured RGB image (enough structure for a quality of 100). */
static unsigned char *test_image(uint32_t w, uint32_t h, size_t stride) {
  unsigned char *px = calloc(stride * h, 1);
  for (uint32_t y = 0; y < h; y++)
    for (uint32_t x = 0; x < w; x++) {
      unsigned char *p = px + y * stride + 3 * x;
      p[0] = (unsigned char)(x * 7 % 256);
      p[1] = (unsigned char)(y * 5 % 256);
      p[2] = (unsigned char)(x * y % 251);
    }
  return px;
}

static hm_pdq_hash hash_of(const char *hex) {
  hm_pdq_hash h;
  memset(&h, 0, sizeof h);
  if (hm_pdq_hash_from_hex(hex, &h, NULL) != HM_OK) {
    fprintf(stderr, "bad hex in test: %s\n", hex);
    failed++;
  }
  return h;
}

static void test_status_and_version(void) {
  const char *v = hm_version();
  char expected[32];
  snprintf(expected, sizeof expected, "%d.%d.%d", HM_VERSION_MAJOR, HM_VERSION_MINOR,
           HM_VERSION_PATCH);
  CHECK(v != NULL && strcmp(v, expected) == 0);
  static const hm_status all[] = {
      HM_OK, HM_NULL_ARGUMENT, HM_INVALID_ARGUMENT, HM_BUFFER_TOO_SMALL, HM_PANIC,
      HM_INVALID_HASH, HM_INVALID_PIXELS, HM_UNKNOWN_FORMAT, HM_DECODE_FAILED,
      HM_DECODER_CRASHED, HM_TOO_LARGE, HM_DECODER_LIMIT, HM_TOO_SMALL, HM_LOW_QUALITY,
      HM_LIST_LINE, HM_MATCHER, HM_UNKNOWN_LIST, HM_LIST_EXISTS, HM_UNKNOWN_ENTRY, HM_ENTRY_EXISTS,
      HM_NOT_A_SNAPSHOT, HM_SNAPSHOT_VERSION, HM_SNAPSHOT_TRUNCATED,
      HM_SNAPSHOT_CHECKSUM, HM_SNAPSHOT_MALFORMED, HM_IO, HM_UNSUPPORTED_VIDEO,
      HM_VIDEO_DECODE_FAILED, HM_VPDQ_LINE, HM_VIDEO_LOW_QUALITY, HM_INVALID_VIDEO_INPUT};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    const char *s = hm_status_str(all[i]);
    CHECK(s != NULL && strlen(s) > 0 && strcmp(s, "unknown status") != 0);
  }
  CHECK(strcmp(hm_status_str(9999), "unknown status") == 0);
  CHECK(strcmp(hm_status_str(-1), "unknown status") == 0);
  CHECK(HM_OK == 0);
}

static void test_hash_values(void) {
  hm_error err;
  const char *a_hex = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
  const char *b_hex = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";
  hm_pdq_hash a, b;
  OK(hm_pdq_hash_from_hex(a_hex, &a, &err));
  CHECK(err.code == HM_OK && err.message[0] == '\0');
  CHECK(a.bytes[0] == 0xf8 && a.bytes[31] == 0x22);
  OK(hm_pdq_hash_from_hex("D8F8F0CEE0F4A84F0637022A078F67F0B36E2ED596621E1D33E6339C4E9C9B22", &b,
                          NULL));
  CHECK(hm_pdq_hash_distance(a, b) == 6);
  CHECK(hm_pdq_hash_distance(a, a) == 0);

  char buf[HM_PDQ_HEX_SIZE];
  OK(hm_pdq_hash_to_hex(&b, buf, sizeof buf, &err));
  CHECK(strcmp(buf, b_hex) == 0);
  char small[64];
  memset(small, 'x', sizeof small);
  FAILS(HM_BUFFER_TOO_SMALL, hm_pdq_hash_to_hex(&a, small, sizeof small, &err));
  CHECK(small[0] == 'x'); /* outputs are written only on success */
  FAILS(HM_NULL_ARGUMENT, hm_pdq_hash_to_hex(NULL, buf, sizeof buf, &err));
  FAILS(HM_NULL_ARGUMENT, hm_pdq_hash_to_hex(&a, NULL, 65, &err));

  hm_pdq_hash untouched;
  memset(&untouched, 0xab, sizeof untouched);
  FAILS(HM_INVALID_HASH, hm_pdq_hash_from_hex("f8f8", &untouched, &err));
  FAILS(HM_INVALID_HASH, hm_pdq_hash_from_hex("", &untouched, &err));
  FAILS(HM_INVALID_HASH,
        hm_pdq_hash_from_hex("g8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22",
                             &untouched, &err));
  FAILS(HM_INVALID_ARGUMENT, hm_pdq_hash_from_hex("\xff\xfe", &untouched, &err));
  CHECK(untouched.bytes[0] == 0xab && untouched.bytes[31] == 0xab);
  FAILS(HM_NULL_ARGUMENT, hm_pdq_hash_from_hex(NULL, &untouched, &err));
  FAILS(HM_NULL_ARGUMENT, hm_pdq_hash_from_hex(a_hex, NULL, &err));
  /* err is optional */
  CHECK(hm_pdq_hash_from_hex(NULL, NULL, NULL) == HM_NULL_ARGUMENT);

  CHECK(strcmp(hm_orientation_str(HM_ORIENTATION_ORIGINAL), "orig") == 0);
  CHECK(strcmp(hm_orientation_str(HM_ORIENTATION_ROTATE90), "rot90") == 0);
  CHECK(strcmp(hm_orientation_str(HM_ORIENTATION_FLIP_MINUS1), "flipm") == 0);
  CHECK(strcmp(hm_orientation_str(8), "unknown") == 0);
  CHECK(strcmp(hm_orientation_str(-1), "unknown") == 0);
}

static void test_hasher(void) {
  hm_error err;
  hm_hasher *h = NULL;
  FAILS(HM_NULL_ARGUMENT, hm_hasher_new(NULL, NULL, &err));
  OK(hm_hasher_new(NULL, &h, &err));
  CHECK(h != NULL);

  hm_hasher_config def = hm_hasher_config_default(), got;
  CHECK(def.resize_policy == HM_RESIZE_NATIVE && def.exif_policy == HM_EXIF_IGNORE);
  CHECK(def.luma_mode == HM_LUMA_REFERENCE && def.quality_floor == 50);
  CHECK(def.max_width == 32768 && def.max_input_bytes == 256u << 20);
  OK(hm_hasher_config_get(h, &got, &err));
  CHECK(got.resize_policy == def.resize_policy && got.exif_policy == def.exif_policy &&
        got.luma_mode == def.luma_mode && got.quality_floor == def.quality_floor &&
        got.max_input_bytes == def.max_input_bytes && got.max_width == def.max_width &&
        got.max_height == def.max_height && got.max_pixels == def.max_pixels &&
        got.max_alloc_bytes == def.max_alloc_bytes);
  FAILS(HM_NULL_ARGUMENT, hm_hasher_config_get(NULL, &got, &err));
  FAILS(HM_NULL_ARGUMENT, hm_hasher_config_get(h, NULL, &err));

  hm_hasher_config bad = def;
  bad.resize_policy = 7;
  hm_hasher *none = (hm_hasher *)&bad; /* must stay as it is on failure */
  FAILS(HM_INVALID_ARGUMENT, hm_hasher_new(&bad, &none, &err));
  CHECK(none == (hm_hasher *)&bad);
  bad = def;
  bad.exif_policy = -1;
  FAILS(HM_INVALID_ARGUMENT, hm_hasher_new(&bad, &none, &err));
  bad = def;
  bad.luma_mode = 2;
  FAILS(HM_INVALID_ARGUMENT, hm_hasher_new(&bad, &none, &err));

  /* bytes and file of one upload hash alike */
  size_t len = 0;
  unsigned char *jpeg = read_file(path_in(root, "examples/uploads/landscape-2.jpg"), &len);
  CHECK(jpeg != NULL && len > 1000);
  hm_pdq_result from_bytes, from_file;
  OK(hm_hasher_hash_bytes(h, jpeg, len, &from_bytes, &err));
  OK(hm_hasher_hash_file(h, path_in(root, "examples/uploads/landscape-2.jpg"), &from_file, &err));
  CHECK(memcmp(&from_bytes.hash, &from_file.hash, sizeof(hm_pdq_hash)) == 0);
  CHECK(from_bytes.quality == from_file.quality && from_bytes.quality >= 50);
  /* the demo list's entry 1001 is this image, 2 bits away */
  hm_pdq_hash listed =
      hash_of("a688d466ebb51b9d7cc0c227d92bc3dd3e142cd29da6e538524d5a435b5295a5");
  CHECK(hm_pdq_hash_distance(from_bytes.hash, listed) == 2);

  hm_pdq_dihedral dih, dih_file;
  OK(hm_hasher_dihedral_bytes(h, jpeg, len, &dih, &err));
  OK(hm_hasher_dihedral_file(h, path_in(root, "examples/uploads/landscape-2.jpg"), &dih_file,
                             &err));
  CHECK(memcmp(&dih.hashes[HM_ORIENTATION_ORIGINAL], &from_bytes.hash, sizeof(hm_pdq_hash)) == 0);
  CHECK(memcmp(&dih, &dih_file, sizeof dih) == 0);
  CHECK(dih.quality == from_bytes.quality);
  CHECK(hm_pdq_hash_distance(dih.hashes[0], dih.hashes[2]) > 64);

  /* garbage, truncated, empty, missing */
  hm_pdq_result untouched;
  memset(&untouched, 0x5a, sizeof untouched);
  static const unsigned char garbage[] = "this is not an image, only text pretending";
  FAILS(HM_UNKNOWN_FORMAT, hm_hasher_hash_bytes(h, garbage, sizeof garbage, &untouched, &err));
  FAILS(HM_DECODE_FAILED, hm_hasher_hash_bytes(h, jpeg, len / 3, &untouched, &err));
  FAILS(HM_UNKNOWN_FORMAT, hm_hasher_hash_bytes(h, NULL, 0, &untouched, &err));
  FAILS(HM_UNKNOWN_FORMAT, hm_hasher_hash_bytes(h, jpeg, 0, &untouched, &err));
  FAILS(HM_NULL_ARGUMENT, hm_hasher_hash_bytes(h, NULL, 10, &untouched, &err));
  FAILS(HM_NULL_ARGUMENT, hm_hasher_hash_bytes(NULL, jpeg, len, &untouched, &err));
  FAILS(HM_NULL_ARGUMENT, hm_hasher_hash_bytes(h, jpeg, len, NULL, &err));
  FAILS(HM_IO, hm_hasher_hash_file(h, path_in(scratch, "no-such-file.jpg"), &untouched, &err));
  CHECK(strstr(err.message, "no-such-file.jpg") != NULL);
  FAILS(HM_NULL_ARGUMENT, hm_hasher_hash_file(h, NULL, &untouched, &err));
  FAILS(HM_NULL_ARGUMENT, hm_hasher_hash_file(NULL, "x", &untouched, &err));
  FAILS(HM_NULL_ARGUMENT, hm_hasher_hash_file(h, "x", NULL, &err));
  FAILS(HM_DECODE_FAILED, hm_hasher_dihedral_bytes(h, jpeg, len / 2, &dih, &err));
  FAILS(HM_IO, hm_hasher_dihedral_file(h, path_in(scratch, "missing.png"), &dih, &err));
  CHECK(untouched.quality == 0x5a && untouched.hash.bytes[0] == 0x5a);

  /* limits */
  hm_hasher_config tight = def;
  tight.max_input_bytes = 100;
  hm_hasher *small = NULL;
  OK(hm_hasher_new(&tight, &small, &err));
  FAILS(HM_TOO_LARGE, hm_hasher_hash_bytes(small, jpeg, len, &untouched, &err));
  hm_hasher_free(small);
  free(jpeg);

  /* raw pixels: packed, padded stride, grey, and the failures */
  uint32_t w = 200, hgt = 120;
  unsigned char *packed = test_image(w, hgt, 3 * w);
  unsigned char *padded = test_image(w, hgt, 3 * w + 13);
  hm_pdq_result p1, p2, p3;
  OK(hm_hasher_hash_pixels(h, packed, 3 * w * hgt, w, hgt, 0, HM_PIXEL_RGB8, &p1, &err));
  OK(hm_hasher_hash_pixels(h, packed, 3 * w * hgt, w, hgt, 3 * w, HM_PIXEL_RGB8, &p2, &err));
  OK(hm_hasher_hash_pixels(h, padded, (3 * w + 13) * hgt, w, hgt, 3 * w + 13, HM_PIXEL_RGB8, &p3,
                           &err));
  CHECK(memcmp(&p1, &p2, sizeof p1) == 0 && memcmp(&p1, &p3, sizeof p1) == 0);
  CHECK(p1.quality >= 50);
  OK(hm_hasher_dihedral_pixels(h, packed, 3 * w * hgt, w, hgt, 0, HM_PIXEL_RGB8, &dih, &err));
  CHECK(memcmp(&dih.hashes[0], &p1.hash, sizeof p1.hash) == 0);
  OK(hm_hasher_hash_pixels(h, packed, 3 * w * hgt, 3 * w, hgt, 0, HM_PIXEL_GREY8, &p2, &err));
  OK(hm_hasher_hash_pixels(h, packed, 3 * w * hgt, 3 * w / 4, hgt, 0, HM_PIXEL_RGBA8, &p2, &err));
  FAILS(HM_INVALID_PIXELS,
        hm_hasher_hash_pixels(h, packed, 3 * w * hgt - 1, w, hgt, 0, HM_PIXEL_RGB8, &p2, &err));
  FAILS(HM_INVALID_PIXELS,
        hm_hasher_hash_pixels(h, packed, 3 * w * hgt, w, hgt, 3 * w - 1, HM_PIXEL_RGB8, &p2, &err));
  FAILS(HM_INVALID_PIXELS,
        hm_hasher_hash_pixels(h, packed, 3 * w * hgt, 0, hgt, 0, HM_PIXEL_RGB8, &p2, &err));
  FAILS(HM_INVALID_PIXELS, hm_hasher_hash_pixels(h, NULL, 0, w, hgt, 0, HM_PIXEL_RGB8, &p2, &err));
  FAILS(HM_INVALID_ARGUMENT,
        hm_hasher_hash_pixels(h, packed, 3 * w * hgt, w, hgt, 0, 0, &p2, &err));
  FAILS(HM_INVALID_ARGUMENT,
        hm_hasher_dihedral_pixels(h, packed, 3 * w * hgt, w, hgt, 0, 99, &dih, &err));
  FAILS(HM_NULL_ARGUMENT,
        hm_hasher_hash_pixels(h, NULL, 10, w, hgt, 0, HM_PIXEL_RGB8, &p2, &err));
  FAILS(HM_NULL_ARGUMENT,
        hm_hasher_hash_pixels(NULL, packed, 3 * w * hgt, w, hgt, 0, HM_PIXEL_RGB8, &p2, &err));
  FAILS(HM_NULL_ARGUMENT,
        hm_hasher_dihedral_pixels(h, packed, 3 * w * hgt, w, hgt, 0, HM_PIXEL_RGB8, NULL, &err));
  FAILS(HM_TOO_SMALL, hm_hasher_hash_pixels(h, packed, 12, 2, 2, 0, HM_PIXEL_RGB8, &p2, &err));
  unsigned char flat[64 * 64];
  memset(flat, 128, sizeof flat);
  FAILS(HM_LOW_QUALITY,
        hm_hasher_hash_pixels(h, flat, sizeof flat, 64, 64, 0, HM_PIXEL_GREY8, &p2, &err));
  free(packed);
  free(padded);

  hm_hasher_free(h);
  hm_hasher_free(NULL);
  hm_hasher_free(NULL);
}

/* Loads examples/demo-list.csv (hash,entry_id,label with a header row) into list `name`. */
static void load_demo_list(hm_matcher *m, const char *name) {
  hm_error err;
  FILE *f = fopen(path_in(root, "examples/demo-list.csv"), "r");
  CHECK(f != NULL);
  if (!f) return;
  char line[512];
  hm_entry entries[16];
  char labels[16][128];
  size_t n = 0;
  while (fgets(line, sizeof line, f) && n < 16) {
    line[strcspn(line, "\r\n")] = '\0';
    char *hex = strtok(line, ",");
    char *id = strtok(NULL, ",");
    char *label = strtok(NULL, "");
    if (!hex || !id || strcmp(hex, "hash") == 0) continue;
    OK(hm_pdq_hash_from_hex(hex, &entries[n].hash, &err));
    entries[n].id = strtoull(id, NULL, 10);
    snprintf(labels[n], sizeof labels[n], "%s", label ? label : "");
    entries[n].label = label ? labels[n] : NULL;
    n++;
  }
  fclose(f);
  size_t added = 0;
  OK(hm_matcher_insert_many(m, name, entries, n, &added, &err));
  CHECK(added == 2);
  /* the library copied the labels: scribbling on ours changes nothing */
  memset(labels, 'Z', sizeof labels);
}

static hm_pdq_result hash_upload(const hm_hasher *h, const char *name) {
  hm_pdq_result r;
  memset(&r, 0, sizeof r);
  char rel[256];
  snprintf(rel, sizeof rel, "examples/uploads/%s", name);
  OK(hm_hasher_hash_file(h, path_in(root, rel), &r, NULL));
  return r;
}

static void test_matcher(void) {
  hm_error err;
  hm_hasher *h = NULL;
  OK(hm_hasher_new(NULL, &h, &err));
  hm_matcher *m = NULL;
  FAILS(HM_INVALID_ARGUMENT, hm_matcher_new(4, &m, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_new(HM_INDEX_AUTO, NULL, &err));
  CHECK(m == NULL);
  for (hm_index_kind kind = HM_INDEX_LINEAR; kind <= HM_INDEX_MIH; kind++) {
    hm_matcher *k = NULL;
    hm_index_kind got = -1;
    OK(hm_matcher_new(kind, &k, &err));
    OK(hm_matcher_index_kind(k, &got, &err));
    CHECK(got == kind);
    hm_matcher_free(k);
  }
  OK(hm_matcher_new(HM_INDEX_AUTO, &m, &err));

  char name[] = "demo";
  OK(hm_matcher_add_list(m, name, 31, true, &err));
  name[0] = 'X'; /* copied: the list is still "demo" */
  FAILS(HM_LIST_EXISTS, hm_matcher_add_list(m, "demo", 31, true, &err));
  FAILS(HM_MATCHER, hm_matcher_add_list(m, "", 31, true, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_add_list(m, NULL, 31, true, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_add_list(NULL, "x", 31, true, &err));
  FAILS(HM_INVALID_ARGUMENT, hm_matcher_add_list(m, "\xc3\x28", 31, true, &err));
  load_demo_list(m, "demo");
  OK(hm_matcher_add_list(m, "own", 31, true, &err));
  bool rebuilt = false;
  OK(hm_matcher_compact(m, &rebuilt, &err)); /* index the demo entries now */
  CHECK(rebuilt);
  OK(hm_matcher_compact(m, &rebuilt, &err));
  CHECK(!rebuilt);
  OK(hm_matcher_compact(m, NULL, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_compact(NULL, NULL, &err));

  hm_list_info info;
  OK(hm_matcher_list_info(m, "demo", &info, &err));
  CHECK(info.entries == 2 && info.disabled == 0 && info.threshold == 31 && info.enabled);
  FAILS(HM_UNKNOWN_LIST, hm_matcher_list_info(m, "nope", &info, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_list_info(m, "demo", NULL, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_list_info(NULL, "demo", &info, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_index_kind(m, NULL, &err));

  hm_pdq_result up2 = hash_upload(h, "landscape-2.jpg");
  hm_pdq_result up1 = hash_upload(h, "landscape-1.jpg");

  /* query */
  hm_matches *found = NULL;
  OK(hm_matcher_query(m, &up2, NULL, &found, &err));
  CHECK(hm_matches_len(found) == 1);
  const hm_match *hit = hm_matches_get(found, 0);
  CHECK(hit != NULL && strcmp(hit->list, "demo") == 0 && hit->entry_id == 1001);
  CHECK(hit != NULL && hit->label != NULL && strcmp(hit->label, "demo case A") == 0);
  CHECK(hit != NULL && hit->distance == 2 && hit->orientation == HM_ORIENTATION_ORIGINAL);
  CHECK(hit != NULL && hit->query == 0);
  CHECK(hm_matches_get(found, 1) == NULL);
  CHECK(hm_matches_get(NULL, 0) == NULL && hm_matches_len(NULL) == 0);
  hm_matches_free(found);
  found = NULL;

  OK(hm_matcher_query(m, &up1, NULL, &found, &err));
  CHECK(found != NULL && hm_matches_len(found) == 0);
  hm_matches_free(found);

  hm_pdq_result low = up2;
  low.quality = 10;
  hm_matches *untouched = (hm_matches *)&low;
  FAILS(HM_LOW_QUALITY, hm_matcher_query(m, &low, NULL, &untouched, &err));
  CHECK(untouched == (hm_matches *)&low);
  hm_query_options opts = hm_query_options_default();
  CHECK(opts.quality_floor == 50);
  opts.quality_floor = 0;
  OK(hm_matcher_query(m, &low, &opts, &found, &err));
  CHECK(hm_matches_len(found) == 1);
  hm_matches_free(found);
  FAILS(HM_NULL_ARGUMENT, hm_matcher_query(NULL, &up2, NULL, &found, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_query(m, NULL, NULL, &found, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_query(m, &up2, NULL, NULL, &err));

  /* radius and k nearest */
  OK(hm_matcher_query_radius(m, &up2.hash, 1, &found, &err));
  CHECK(hm_matches_len(found) == 0);
  hm_matches_free(found);
  OK(hm_matcher_query_radius(m, &up2.hash, 256, &found, &err));
  CHECK(hm_matches_len(found) == 2);
  hm_matches_free(found);
  FAILS(HM_NULL_ARGUMENT, hm_matcher_query_radius(m, NULL, 31, &found, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_query_radius(NULL, &up2.hash, 31, &found, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_query_radius(m, &up2.hash, 31, NULL, &err));
  OK(hm_matcher_knn(m, &up1.hash, 1, &found, &err));
  CHECK(hm_matches_len(found) == 1);
  hm_matches_free(found);
  OK(hm_matcher_knn(m, &up1.hash, 0, &found, &err));
  CHECK(hm_matches_len(found) == 0);
  hm_matches_free(found);
  OK(hm_matcher_knn(m, &up1.hash, 10, &found, &err));
  CHECK(hm_matches_len(found) == 2);
  CHECK(hm_matches_get(found, 0)->distance <= hm_matches_get(found, 1)->distance);
  hm_matches_free(found);
  FAILS(HM_NULL_ARGUMENT, hm_matcher_knn(m, NULL, 1, &found, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_knn(NULL, &up1.hash, 1, &found, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_knn(m, &up1.hash, 1, NULL, &err));

  /* dihedral: the rotated re-upload of demo case B */
  hm_pdq_dihedral rotated;
  OK(hm_hasher_dihedral_file(h, path_in(root, "examples/uploads/reupload-rotated.jpg"), &rotated,
                             &err));
  OK(hm_matcher_query(m, (hm_pdq_result[]){{rotated.hashes[0], rotated.quality}}, NULL, &found,
                      &err));
  CHECK(hm_matches_len(found) == 0);
  hm_matches_free(found);
  OK(hm_matcher_query_dihedral(m, &rotated, NULL, &found, &err));
  CHECK(hm_matches_len(found) == 1);
  hit = hm_matches_get(found, 0);
  CHECK(hit && hit->entry_id == 1002 && hit->orientation == HM_ORIENTATION_ROTATE90);
  CHECK(hit && strcmp(hm_orientation_str(hit->orientation), "rot90") == 0);
  hm_matches_free(found);
  rotated.quality = 0;
  FAILS(HM_LOW_QUALITY, hm_matcher_query_dihedral(m, &rotated, NULL, &found, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_query_dihedral(m, NULL, NULL, &found, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_query_dihedral(NULL, &rotated, NULL, &found, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_query_dihedral(m, &rotated, NULL, NULL, &err));

  /* many at once */
  hm_pdq_result batch[3] = {up1, up2, hash_upload(h, "landscape-5.jpg")};
  OK(hm_matcher_query_many(m, batch, 3, NULL, &found, &err));
  CHECK(hm_matches_len(found) == 2);
  CHECK(hm_matches_get(found, 0)->query == 1 && hm_matches_get(found, 0)->entry_id == 1001);
  CHECK(hm_matches_get(found, 1)->query == 2 && hm_matches_get(found, 1)->entry_id == 1002);
  hm_matches_free(found);
  OK(hm_matcher_query_many(m, NULL, 0, NULL, &found, &err));
  CHECK(hm_matches_len(found) == 0);
  hm_matches_free(found);
  batch[2].quality = 3;
  FAILS(HM_LOW_QUALITY, hm_matcher_query_many(m, batch, 3, NULL, &found, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_query_many(m, NULL, 3, NULL, &found, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_query_many(NULL, batch, 3, NULL, &found, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_query_many(m, batch, 3, NULL, NULL, &err));

  /* insert, disable, enable, remove on the platform's own list */
  OK(hm_matcher_insert(m, "own", &up1.hash, 7, NULL, &err));
  FAILS(HM_ENTRY_EXISTS, hm_matcher_insert(m, "own", &up1.hash, 7, "again", &err));
  FAILS(HM_UNKNOWN_LIST, hm_matcher_insert(m, "nope", &up1.hash, 8, NULL, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_insert(m, "own", NULL, 8, NULL, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_insert(m, NULL, &up1.hash, 8, NULL, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_insert(NULL, "own", &up1.hash, 8, NULL, &err));
  FAILS(HM_INVALID_ARGUMENT, hm_matcher_insert(m, "own", &up1.hash, 8, "\xff", &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_insert_many(m, "own", NULL, 2, NULL, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_insert_many(NULL, "own", NULL, 0, NULL, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_insert_many(m, NULL, NULL, 0, NULL, &err));
  size_t added = 99;
  OK(hm_matcher_insert_many(m, "own", NULL, 0, &added, &err));
  CHECK(added == 0);
  hm_entry dup[2] = {{up2.hash, 9, NULL}, {up2.hash, 9, "twice"}};
  FAILS(HM_ENTRY_EXISTS, hm_matcher_insert_many(m, "own", dup, 2, &added, &err));
  CHECK(added == 0);
  OK(hm_matcher_query(m, &up1, NULL, &found, &err));
  CHECK(hm_matches_len(found) == 1 && strcmp(hm_matches_get(found, 0)->list, "own") == 0);
  CHECK(hm_matches_get(found, 0)->label == NULL);
  hm_matches_free(found);

  OK(hm_matcher_disable(m, "own", 7, "false positive, review 12", &err));
  OK(hm_matcher_list_info(m, "own", &info, &err));
  CHECK(info.entries == 1 && info.disabled == 1);
  OK(hm_matcher_query(m, &up1, NULL, &found, &err));
  CHECK(hm_matches_len(found) == 0);
  hm_matches_free(found);
  {
    bool disabled = false;
    size_t needed = 0;
    char reason[64];
    FAILS(HM_BUFFER_TOO_SMALL,
          hm_matcher_disabled_reason(m, "own", 7, &disabled, NULL, 0, &needed, &err));
    CHECK(needed == strlen("false positive, review 12") + 1 && !disabled);
    char *exact = malloc(needed);
    OK(hm_matcher_disabled_reason(m, "own", 7, &disabled, exact, needed, NULL, &err));
    CHECK(disabled && strcmp(exact, "false positive, review 12") == 0);
    free(exact);
    OK(hm_matcher_disabled_reason(m, "demo", 1001, &disabled, reason, sizeof reason, &needed,
                                  &err));
    CHECK(!disabled && reason[0] == '\0' && needed == 1);
    FAILS(HM_UNKNOWN_ENTRY, hm_matcher_disabled_reason(m, "own", 8, &disabled, reason, sizeof reason,
                                                 &needed, &err));
    FAILS(HM_NULL_ARGUMENT, hm_matcher_disabled_reason(m, "own", 7, NULL, reason, sizeof reason,
                                                       &needed, &err));
    FAILS(HM_NULL_ARGUMENT, hm_matcher_disabled_reason(m, "own", 7, &disabled, NULL, 10,
                                                       &needed, &err));
  }
  FAILS(HM_UNKNOWN_ENTRY, hm_matcher_disable(m, "own", 8, "no such entry", &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_disable(m, "own", 7, NULL, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_disable(m, NULL, 7, "r", &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_disable(NULL, "own", 7, "r", &err));
  OK(hm_matcher_enable(m, "own", 7, &err));
  OK(hm_matcher_enable(m, "own", 7, &err));
  FAILS(HM_UNKNOWN_ENTRY, hm_matcher_enable(m, "own", 8, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_enable(m, NULL, 7, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_enable(NULL, "own", 7, &err));
  OK(hm_matcher_query(m, &up1, NULL, &found, &err));
  CHECK(hm_matches_len(found) == 1);
  hm_matches_free(found);

  /* a list's threshold and enabled flag */
  OK(hm_matcher_set_list(m, "own", 31, false, &err));
  OK(hm_matcher_query(m, &up1, NULL, &found, &err));
  CHECK(hm_matches_len(found) == 0);
  hm_matches_free(found);
  OK(hm_matcher_set_list(m, "own", 31, true, &err));
  FAILS(HM_UNKNOWN_LIST, hm_matcher_set_list(m, "nope", 31, true, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_set_list(m, NULL, 31, true, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_set_list(NULL, "own", 31, true, &err));
  OK(hm_matcher_set_list(m, "demo", 1, true, &err));
  OK(hm_matcher_query(m, &up2, NULL, &found, &err));
  CHECK(hm_matches_len(found) == 0);
  hm_matches_free(found);
  OK(hm_matcher_set_list(m, "demo", 31, true, &err));

  bool removed = false;
  OK(hm_matcher_remove(m, "own", 7, &removed, &err));
  CHECK(removed);
  OK(hm_matcher_remove(m, "own", 7, &removed, &err));
  CHECK(!removed);
  OK(hm_matcher_remove(m, "own", 7, NULL, &err));
  FAILS(HM_UNKNOWN_LIST, hm_matcher_remove(m, "nope", 7, &removed, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_remove(m, NULL, 7, &removed, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_remove(NULL, "own", 7, &removed, &err));

  /* results outlive the matcher: keep one, then save, free and reopen */
  hm_matches *kept = NULL;
  OK(hm_matcher_query(m, &up2, NULL, &kept, &err));
  OK(hm_matcher_disable(m, "demo", 1002, "disabled before the save", &err));
  char snap[4096];
  snprintf(snap, sizeof snap, "%s", path_in(scratch, "c-test.hmsnap"));
  OK(hm_matcher_save(m, snap, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_save(m, NULL, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_save(NULL, snap, &err));
  FAILS(HM_IO, hm_matcher_save(m, path_in(scratch, "no-such-dir/x.hmsnap"), &err));
  hm_matcher_free(m);
  hm_matcher_free(NULL);
  CHECK(hm_matches_len(kept) == 1 && strcmp(hm_matches_get(kept, 0)->list, "demo") == 0);
  CHECK(strcmp(hm_matches_get(kept, 0)->label, "demo case A") == 0);
  hm_matches_free(kept);

  hm_matcher *reopened = NULL;
  OK(hm_matcher_open(snap, &reopened, &err));
  OK(hm_matcher_list_info(reopened, "demo", &info, &err));
  CHECK(info.entries == 2 && info.disabled == 1);
  OK(hm_matcher_list_info(reopened, "own", &info, &err));
  CHECK(info.entries == 0);
  OK(hm_matcher_query(reopened, &up2, NULL, &found, &err));
  CHECK(hm_matches_len(found) == 1 && hm_matches_get(found, 0)->entry_id == 1001);
  hm_matches_free(found);
  hm_matcher_free(reopened);

  hm_matcher *none = NULL;
  FAILS(HM_IO, hm_matcher_open(path_in(scratch, "missing.hmsnap"), &none, &err));
  FAILS(HM_NOT_A_SNAPSHOT,
        hm_matcher_open(path_in(root, "examples/demo-list.csv"), &none, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_open(NULL, &none, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_open(snap, NULL, &err));
  CHECK(none == NULL);
  /* a truncated copy */
  size_t len = 0;
  unsigned char *bytes = read_file(snap, &len);
  char cut[4096];
  snprintf(cut, sizeof cut, "%s", path_in(scratch, "c-test-cut.hmsnap"));
  FILE *f = fopen(cut, "wb");
  CHECK(f && bytes && fwrite(bytes, 1, len - 10, f) == len - 10);
  if (f) fclose(f);
  FAILS(HM_SNAPSHOT_TRUNCATED, hm_matcher_open(cut, &none, &err));
  /* a damaged copy */
  bytes[len - 3] ^= 0x40;
  f = fopen(cut, "wb");
  CHECK(f && fwrite(bytes, 1, len, f) == len);
  if (f) fclose(f);
  FAILS(HM_SNAPSHOT_CHECKSUM, hm_matcher_open(cut, &none, &err));
  free(bytes);
  CHECK(none == NULL);

  hm_matches_free(NULL);
  hm_matches_free(NULL);
  hm_hasher_free(h);
}

/* Many threads query one matcher while another thread inserts and removes entries. */
enum { READERS = 8, QUERIES = 300, CHURN = 2000 };

struct shared {
  hm_matcher *m;
  hm_pdq_result known, unknown;
  int errors;
  pthread_mutex_t lock;
};

static void *reader(void *arg) {
  struct shared *s = arg;
  hm_error err; /* one per thread */
  int bad = 0;
  for (int i = 0; i < QUERIES; i++) {
    hm_matches *found = NULL;
    if (hm_matcher_query(s->m, &s->known, NULL, &found, &err) != HM_OK) {
      bad++;
      continue;
    }
    const hm_match *hit = hm_matches_get(found, 0);
    if (hm_matches_len(found) != 1 || hit->entry_id != 1001 || strcmp(hit->list, "demo") != 0 ||
        hit->distance != 2)
      bad++;
    hm_matches_free(found);
    hm_pdq_result both[2] = {s->unknown, s->known};
    if (hm_matcher_query_many(s->m, both, 2, NULL, &found, &err) != HM_OK ||
        hm_matches_len(found) != 1 || hm_matches_get(found, 0)->query != 1)
      bad++;
    hm_matches_free(found);
  }
  pthread_mutex_lock(&s->lock);
  s->errors += bad;
  pthread_mutex_unlock(&s->lock);
  return NULL;
}

static void *writer(void *arg) {
  struct shared *s = arg;
  hm_error err;
  int bad = 0;
  for (int i = 0; i < CHURN; i++) {
    /* hashes far from the uploads: the complement of the unrelated upload, shifted */
    hm_pdq_hash hash = s->unknown.hash;
    for (int b = 0; b < 32; b++) hash.bytes[b] = (uint8_t)~hash.bytes[b];
    hash.bytes[i % 32] ^= (uint8_t)(1u << (i % 8));
    if (hm_matcher_insert(s->m, "churn", &hash, (uint64_t)i, "churn", &err) != HM_OK) bad++;
    if (i % 2 == 0 && hm_matcher_remove(s->m, "churn", (uint64_t)i, NULL, &err) != HM_OK) bad++;
  }
  pthread_mutex_lock(&s->lock);
  s->errors += bad;
  pthread_mutex_unlock(&s->lock);
  return NULL;
}

static void test_threads(void) {
  hm_error err;
  hm_hasher *h = NULL;
  OK(hm_hasher_new(NULL, &h, &err));
  struct shared s;
  memset(&s, 0, sizeof s);
  pthread_mutex_init(&s.lock, NULL);
  OK(hm_matcher_new(HM_INDEX_AUTO, &s.m, &err));
  OK(hm_matcher_add_list(s.m, "demo", 31, true, &err));
  OK(hm_matcher_add_list(s.m, "churn", 31, true, &err));
  load_demo_list(s.m, "demo");
  s.known = hash_upload(h, "landscape-2.jpg");
  s.unknown = hash_upload(h, "landscape-1.jpg");

  pthread_t threads[READERS + 1];
  for (int i = 0; i < READERS; i++) CHECK(pthread_create(&threads[i], NULL, reader, &s) == 0);
  CHECK(pthread_create(&threads[READERS], NULL, writer, &s) == 0);
  for (int i = 0; i <= READERS; i++) pthread_join(threads[i], NULL);
  CHECK(s.errors == 0);
  hm_list_info info;
  OK(hm_matcher_list_info(s.m, "churn", &info, &err));
  CHECK(info.entries == CHURN / 2);
  pthread_mutex_destroy(&s.lock);
  hm_matcher_free(s.m);
  hm_hasher_free(h);
}

/* A textured frame that changes with `scene` (a new scene each second of the test video). */
static unsigned char *video_frame(uint32_t w, uint32_t h, unsigned scene) {
  unsigned char *px = malloc((size_t)w * h * 3);
  for (uint32_t y = 0; y < h; y++)
    for (uint32_t x = 0; x < w; x++) {
      unsigned char *p = px + ((size_t)y * w + x) * 3;
      p[0] = (unsigned char)((x * (7 + scene) + y * scene * 3) % 256);
      p[1] = (unsigned char)((y * (5 + 2 * scene)) % 256);
      p[2] = (unsigned char)((x * y + scene * 41) % 251);
    }
  return px;
}

static void test_video(void) {
  hm_error err;
  /* A 4-second, 10 fps video from "our own decoder": frames 0, 10, 20, 30 are hashed. */
  hm_video_hasher *vh = NULL;
  FAILS(HM_INVALID_VIDEO_INPUT, hm_video_hasher_new(0.0, 1.0, &vh, &err));
  CHECK(vh == NULL);
  OK(hm_video_hasher_new(10.0, 1.0, &vh, &err));
  const uint32_t w = 96, h = 64;
  int converted = 0;
  for (unsigned n = 0; n < 40; n++) {
    if (!hm_video_hasher_wants_frame(vh)) {
      FAILS(HM_INVALID_ARGUMENT, hm_video_hasher_push_frame(vh, (const uint8_t *)"x", 1, 1, 1, 0,
                                                            99, NULL, NULL, &err));
      OK(hm_video_hasher_skip_frame(vh, &err));
      continue;
    }
    FAILS(HM_INVALID_VIDEO_INPUT, hm_video_hasher_skip_frame(vh, &err));
    unsigned char *px = video_frame(w, h, n / 10);
    hm_vpdq_feature rec;
    bool hashed = false;
    OK(hm_video_hasher_push_frame(vh, px, (size_t)w * h * 3, w, h, 0, HM_PIXEL_RGB8, &rec,
                                  &hashed, &err));
    CHECK(hashed && rec.frame_number == n && rec.quality >= 50);
    CHECK(rec.timestamp == (double)((float)n / 10.0f));
    converted++;
    free(px);
  }
  CHECK(converted == 4);
  hm_video_hash *known = NULL;
  OK(hm_video_hasher_result(vh, &known, &err));
  CHECK(hm_video_hash_len(known) == 4 && hm_video_hash_frame_count(known) == 40);
  CHECK(hm_video_hash_frames_per_second(known) == 10.0);
  const hm_vpdq_feature *f = hm_video_hash_features(known);
  CHECK(f != NULL && f[3].frame_number == 30);
  hm_video_hasher_free(vh);

  /* An index of known videos; the upload is a clip: the last two seconds. */
  hm_video_match_options opts = hm_video_match_options_default();
  CHECK(opts.distance == 31 && opts.quality_floor == 50 && opts.min_query_percent == 80.0);
  hm_video_index *idx = NULL;
  opts.min_query_percent = 101.0;
  FAILS(HM_INVALID_ARGUMENT, hm_video_index_new(&opts, &idx, &err));
  OK(hm_video_index_new(NULL, &idx, &err));
  OK(hm_video_index_add_list(idx, "known-videos", &err));
  FAILS(HM_LIST_EXISTS, hm_video_index_add_list(idx, "known-videos", &err));
  OK(hm_video_index_insert(idx, "known-videos", 77, "case 9", f, 4, &err));
  FAILS(HM_ENTRY_EXISTS, hm_video_index_insert(idx, "known-videos", 77, NULL, f, 4, &err));
  FAILS(HM_UNKNOWN_LIST, hm_video_index_insert(idx, "nope", 1, NULL, f, 4, &err));
  FAILS(HM_NULL_ARGUMENT, hm_video_index_insert(idx, "known-videos", 2, NULL, NULL, 4, &err));
  hm_video_matches *found = NULL;
  OK(hm_video_index_query(idx, f + 2, 2, &found, &err));
  CHECK(hm_video_matches_len(found) == 1);
  const hm_video_match *m = hm_video_matches_get(found, 0);
  CHECK(m != NULL && strcmp(m->list, "known-videos") == 0 && m->entry_id == 77);
  CHECK(m != NULL && strcmp(m->label, "case 9") == 0);
  CHECK(m != NULL && m->query_percent == 100.0 && m->candidate_percent == 50.0);
  CHECK(m != NULL && m->query_frames == 2 && m->candidate_frames == 4);
  CHECK(hm_video_matches_get(found, 1) == NULL);
  hm_video_matches_free(found);

  /* A query with no usable frame is an error, never "no match". */
  hm_vpdq_feature dull = f[0];
  dull.quality = 10;
  found = NULL;
  FAILS(HM_VIDEO_LOW_QUALITY, hm_video_index_query(idx, &dull, 1, &found, &err));
  CHECK(found == NULL);
  dull.quality = 101;
  FAILS(HM_INVALID_ARGUMENT, hm_video_index_query(idx, &dull, 1, &found, &err));

  /* Disable after a wrong match, then enable again. */
  OK(hm_video_index_disable(idx, "known-videos", 77, "false positive, review 5", &err));
  OK(hm_video_index_query(idx, f, 4, &found, &err));
  CHECK(hm_video_matches_len(found) == 0);
  hm_video_matches_free(found);
  FAILS(HM_UNKNOWN_ENTRY, hm_video_index_enable(idx, "known-videos", 78, &err));
  OK(hm_video_index_enable(idx, "known-videos", 77, &err));
  OK(hm_video_index_query(idx, f, 4, &found, &err));
  CHECK(hm_video_matches_len(found) == 1);
  hm_video_matches_free(found);

  /* Exact copies by the MD5 of the file's bytes, before any decoding. */
  char md5_path[8192];
  snprintf(md5_path, sizeof md5_path, "%s", path_in(scratch, "abc.bin"));
  FILE *md5_file = fopen(md5_path, "wb");
  CHECK(md5_file && fwrite("abc", 1, 3, md5_file) == 3);
  fclose(md5_file);
  uint8_t md5[16];
  OK(hm_video_md5_file(md5_path, md5, &err));
  const uint8_t abc_md5[16] = {0x90, 0x01, 0x50, 0x98, 0x3c, 0xd2, 0x4f, 0xb0,
                               0xd6, 0x96, 0x3f, 0x7d, 0x28, 0xe1, 0x7f, 0x72}; /* RFC 1321 */
  CHECK(memcmp(md5, abc_md5, 16) == 0);
  FAILS(HM_IO, hm_video_md5_file(path_in(scratch, "missing.bin"), md5, &err));
  FAILS(HM_NULL_ARGUMENT, hm_video_md5_file(md5_path, NULL, &err));
  OK(hm_video_index_insert_md5(idx, "known-videos", 90, "known file", md5, &err));
  FAILS(HM_UNKNOWN_LIST, hm_video_index_insert_md5(idx, "nope", 91, NULL, md5, &err));
  FAILS(HM_NULL_ARGUMENT, hm_video_index_insert_md5(idx, "known-videos", 91, NULL, NULL, &err));
  OK(hm_video_index_query_md5(idx, md5, &found, &err));
  CHECK(hm_video_matches_len(found) == 1);
  const hm_video_match *exact = hm_video_matches_get(found, 0);
  CHECK(exact && exact->entry_id == 90 && exact->exact_bytes && strcmp(exact->label, "known file") == 0);
  hm_video_matches_free(found);
  uint8_t other_md5[16] = {0};
  OK(hm_video_index_query_md5(idx, other_md5, &found, &err));
  CHECK(hm_video_matches_len(found) == 0);
  hm_video_matches_free(found);

  /* vPDQ text: parsed, and malformed lines named. */
  const char *text = "0,100,e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c,0.000\n";
  hm_video_hash *parsed = NULL;
  OK(hm_vpdq_parse((const uint8_t *)text, strlen(text), NULL, &parsed, &err));
  CHECK(hm_video_hash_len(parsed) == 1 && hm_video_hash_features(parsed)[0].quality == 100);
  hm_video_hash_free(parsed);
  parsed = NULL;
  const char *bad = "0,100,e27101,0.000\n";
  FAILS(HM_VPDQ_LINE, hm_vpdq_parse((const uint8_t *)bad, strlen(bad), "clip.txt", &parsed, &err));
  CHECK(parsed == NULL && strstr(err.message, "clip.txt, line 1") != NULL);

  /* The built-in decoder: a JPEG is not a video; a sample video when ../shared is there. */
  hm_video_hash *decoded = NULL;
  FAILS(HM_UNSUPPORTED_VIDEO,
        hm_video_hash_file(path_in(root, "examples/uploads/landscape-1.jpg"), 1.0, &decoded, &err));
  CHECK(decoded == NULL);
  FAILS(HM_IO, hm_video_hash_file(path_in(scratch, "missing.mp4"), 1.0, &decoded, &err));
  char sample[8192];
  snprintf(sample, sizeof sample, "%s/../shared/vectors/vpdq/sample-videos/pattern-sd-grey-bar.mp4",
           root);
  FILE *probe = fopen(sample, "rb");
  if (probe) {
    fclose(probe);
    OK(hm_video_hash_file(sample, 1.0, &decoded, &err));
    /* 206 frames at 30 fps: frames 0, 30, ..., 180 are hashed. */
    CHECK(hm_video_hash_frame_count(decoded) == 206 && hm_video_hash_len(decoded) == 7);
    CHECK(hm_video_hash_frames_per_second(decoded) == 30.0);
    hm_video_hash_free(decoded);
  } else {
    printf("test_video: ../shared not found, the sample video check is skipped\n");
  }

  hm_video_hash_free(known);
  hm_video_index_free(idx);
  hm_video_index_free(NULL);
  hm_video_hash_free(NULL);
  hm_video_hasher_free(NULL);
  hm_video_matches_free(NULL);
}

/* The robust query: a copy of landscape 5 turned 90 degrees matches through the upload's
   pixel-space orientations, not through its plain hash. */
static void test_robust(void) {
  hm_error err;
  hm_hasher *h = NULL;
  OK(hm_hasher_new(NULL, &h, &err));
  hm_pdq_result known;
  OK(hm_hasher_hash_file(h, path_in(root, "examples/uploads/landscape-5.jpg"), &known, &err));
  hm_matcher *m = NULL;
  OK(hm_matcher_new(HM_INDEX_AUTO, &m, &err));
  OK(hm_matcher_add_list(m, "known", 31, true, &err));
  OK(hm_matcher_insert(m, "known", &known.hash, 5, "landscape 5", &err));
  hm_list_info info;
  OK(hm_matcher_list_info(m, "known", &info, &err));
  CHECK(!info.robust); /* lists opt in */

  const char *turned = path_in(root, "examples/uploads/reupload-rotated.jpg");
  hm_pdq_result plain;
  OK(hm_hasher_hash_file(h, turned, &plain, &err));
  hm_robust_hashes *hashes = NULL;
  OK(hm_hasher_robust_file(h, turned, NULL, &hashes, &err));
  CHECK(hm_robust_hashes_len(hashes) >= 8);
  hm_robust_hash first;
  CHECK(hm_robust_hashes_get(hashes, 0, &first));
  CHECK(memcmp(&first.hash, &plain.hash, sizeof(hm_pdq_hash)) == 0);
  CHECK(first.quality == plain.quality);
  CHECK(first.orientation == HM_ORIENTATION_ORIGINAL && first.region == HM_REGION_WHOLE);
  CHECK(!hm_robust_hashes_get(hashes, hm_robust_hashes_len(hashes), &first));
  CHECK(!hm_robust_hashes_get(hashes, 0, NULL));
  CHECK(!hm_robust_hashes_get(NULL, 0, &first));
  CHECK(hm_robust_hashes_len(NULL) == 0);

  hm_matches *found = NULL;
  OK(hm_matcher_query(m, &plain, NULL, &found, &err));
  CHECK(hm_matches_len(found) == 0);
  hm_matches_free(found);
  found = NULL;
  OK(hm_matcher_query_robust(m, hashes, NULL, &found, &err));
  CHECK(hm_matches_len(found) == 0); /* the list has not opted in */
  hm_matches_free(found);
  OK(hm_matcher_set_list_robust(m, "known", true, &err));
  OK(hm_matcher_set_list(m, "known", 31, true, &err)); /* keeps the robust flag */
  OK(hm_matcher_list_info(m, "known", &info, &err));
  CHECK(info.robust && info.threshold == 31);
  FAILS(HM_UNKNOWN_LIST, hm_matcher_set_list_robust(m, "nope", true, &err));
  found = NULL;
  OK(hm_matcher_query_robust(m, hashes, NULL, &found, &err));
  CHECK(hm_matches_len(found) == 1);
  const hm_match *hit = hm_matches_get(found, 0);
  CHECK(hit != NULL && hit->entry_id == 5 && hit->distance <= 31);
  CHECK(hit != NULL && hit->orientation == HM_ORIENTATION_ROTATE90 &&
        hit->region == HM_REGION_WHOLE);
  hm_matches_free(found);

  /* Without the orientations, nothing to find. */
  hm_robust_options options = hm_robust_options_default();
  CHECK(options.orientations && options.bars && options.embedded && options.extra_threshold > 0);
  options.orientations = false;
  hm_robust_hashes *few = NULL;
  OK(hm_hasher_robust_file(h, turned, &options, &few, &err));
  found = NULL;
  OK(hm_matcher_query_robust(m, few, NULL, &found, &err));
  CHECK(hm_matches_len(found) == 0);
  hm_matches_free(found);
  hm_robust_hashes_free(few);

  /* Bad arguments and inputs: typed errors, outputs untouched. */
  hm_matches *untouched = (hm_matches *)&err;
  FAILS(HM_NULL_ARGUMENT, hm_matcher_query_robust(m, NULL, NULL, &untouched, &err));
  CHECK(untouched == (hm_matches *)&err);
  FAILS(HM_NULL_ARGUMENT, hm_matcher_query_robust(NULL, hashes, NULL, &untouched, &err));
  FAILS(HM_NULL_ARGUMENT, hm_hasher_robust_file(h, NULL, NULL, &few, &err));
  FAILS(HM_IO, hm_hasher_robust_file(h, path_in(root, "no-such-file.jpg"), NULL, &few, &err));
  const unsigned char garbage[] = "not an image at all";
  FAILS(HM_UNKNOWN_FORMAT, hm_hasher_robust_bytes(h, garbage, sizeof garbage, NULL, &few, &err));
  hm_robust_hashes_free(hashes);
  hm_robust_hashes_free(NULL);
  hm_matcher_free(m);
  hm_hasher_free(h);
}

static void test_enrol(void) {
  hm_error err;
  hm_hasher *h = NULL;
  OK(hm_hasher_new(NULL, &h, &err));
  const char *taken_down = path_in(root, "examples/uploads/landscape-5.jpg");
  hm_enrol_options options = hm_enrol_options_default();
  CHECK(!options.orientations && options.trimmed && options.crops_len == 6);
  hm_enrolment *e = NULL;
  OK(hm_hasher_enrolment_file(h, taken_down, NULL, &e, &err));
  size_t by_default = hm_enrolment_len(e);
  CHECK(by_default >= 6 && by_default <= 7);
  hm_enrolment_free(e);
  e = NULL;
  options.orientations = true; /* for the plain query of a turned copy below */
  OK(hm_hasher_enrolment_file(h, taken_down, &options, &e, &err));
  hm_pdq_result plain;
  OK(hm_hasher_hash_file(h, taken_down, &plain, &err));
  hm_pdq_hash listed;
  uint8_t quality = 0;
  CHECK(hm_enrolment_hash(e, &listed, &quality));
  CHECK(memcmp(&listed, &plain.hash, sizeof listed) == 0 && quality == plain.quality);
  CHECK(hm_enrolment_hash(e, NULL, NULL));
  CHECK(!hm_enrolment_hash(NULL, &listed, &quality));
  /* 7 orientations, 6 crops, the picture inside a frame if one is seen. */
  size_t extras = hm_enrolment_len(e);
  size_t crops = 0, oriented = 0, trimmed = 0;
  for (size_t i = 0; i < extras; i++) {
    hm_enrolled_hash x;
    CHECK(hm_enrolment_get(e, i, &x));
    crops += x.variant > HM_VARIANT_CROP_BASE && x.variant < HM_VARIANT_CROP_BASE + 100;
    oriented += x.variant >= 1 && x.variant <= 7;
    trimmed += x.variant == HM_VARIANT_TRIMMED;
  }
  CHECK(crops == 6 && oriented == 7 && trimmed <= 1 && crops + oriented + trimmed == extras);
  CHECK(by_default == crops + trimmed);
  hm_enrolled_hash x;
  CHECK(!hm_enrolment_get(e, extras, &x));
  CHECK(!hm_enrolment_get(e, 0, NULL));
  CHECK(hm_enrolment_len(NULL) == 0);

  hm_matcher *m = NULL;
  OK(hm_matcher_new(HM_INDEX_AUTO, &m, &err));
  OK(hm_matcher_add_list(m, "taken-down", 31, true, &err));
  OK(hm_matcher_enrol(m, "taken-down", 5, "case 5", e, &err));
  FAILS(HM_ENTRY_EXISTS, hm_matcher_enrol(m, "taken-down", 5, NULL, e, &err));
  FAILS(HM_UNKNOWN_LIST, hm_matcher_enrol(m, "nope", 6, NULL, e, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_enrol(m, "taken-down", 6, NULL, NULL, &err));
  hm_list_info info;
  OK(hm_matcher_list_info(m, "taken-down", &info, &err));
  CHECK(info.entries == 1 && info.extra_hashes == extras);

  /* A turned re-upload matches through a plain query, by an oriented extra hash. */
  hm_pdq_result turned;
  OK(hm_hasher_hash_file(h, path_in(root, "examples/uploads/reupload-rotated.jpg"), &turned, &err));
  hm_matches *found = NULL;
  OK(hm_matcher_query(m, &turned, NULL, &found, &err));
  CHECK(hm_matches_len(found) == 1);
  const hm_match *hit = hm_matches_get(found, 0);
  CHECK(hit != NULL && hit->entry_id == 5 && strcmp(hit->label, "case 5") == 0);
  CHECK(hit != NULL && hit->variant >= 1 && hit->variant <= 7 &&
        hit->orientation == HM_ORIENTATION_ORIGINAL);
  hm_matches_free(found);
  /* The original itself matches its listed hash. */
  found = NULL;
  OK(hm_matcher_query(m, &plain, NULL, &found, &err));
  CHECK(hm_matches_len(found) == 1 && hm_matches_get(found, 0)->variant == HM_VARIANT_LISTED);
  hm_matches_free(found);
  /* Removing the entry removes every hash of it. */
  bool existed = false;
  OK(hm_matcher_remove(m, "taken-down", 5, &existed, &err));
  CHECK(existed);
  found = NULL;
  OK(hm_matcher_query(m, &turned, NULL, &found, &err));
  CHECK(hm_matches_len(found) == 0);
  hm_matches_free(found);

  /* Options: no extras; a crop out of range is refused. */
  options = hm_enrol_options_default();
  options.trimmed = false;
  options.crops_len = 0;
  hm_enrolment *few = NULL;
  OK(hm_hasher_enrolment_file(h, taken_down, &options, &few, &err));
  CHECK(hm_enrolment_len(few) == 0);
  hm_enrolment_free(few);
  const uint8_t bad[] = {90, 100};
  options.crops = bad;
  options.crops_len = 2;
  few = NULL;
  FAILS(HM_INVALID_ARGUMENT, hm_hasher_enrolment_file(h, taken_down, &options, &few, &err));
  CHECK(few == NULL && strstr(err.message, "100 %") != NULL);
  options.crops = NULL;
  FAILS(HM_NULL_ARGUMENT, hm_hasher_enrolment_file(h, taken_down, &options, &few, &err));
  const unsigned char garbage[] = "not an image at all";
  FAILS(HM_UNKNOWN_FORMAT, hm_hasher_enrolment_bytes(h, garbage, sizeof garbage, NULL, &few, &err));
  FAILS(HM_NULL_ARGUMENT, hm_hasher_enrolment_bytes(h, garbage, sizeof garbage, NULL, NULL, &err));
  hm_enrolment_free(e);
  hm_enrolment_free(NULL);
  hm_matcher_free(m);
  hm_hasher_free(h);
}

static void test_report(void) {
  hm_error err;
  hm_matcher *m = NULL;
  OK(hm_matcher_new(HM_INDEX_AUTO, &m, &err));
  OK(hm_matcher_add_list(m, "own", 31, true, &err));
  hm_pdq_result known;
  memset(&known, 0, sizeof known);
  for (int i = 0; i < 32; i++) known.hash.bytes[i] = (uint8_t)(i * 37 + 11);
  known.quality = 100;
  OK(hm_matcher_insert(m, "own", &known.hash, 9, NULL, &err));
  hm_matches *found = NULL;
  OK(hm_matcher_query(m, &known, NULL, &found, &err));
  CHECK(hm_matches_len(found) == 1);
  hm_matches_free(found);

  /* The size first, then the report. */
  size_t needed = 0;
  FAILS(HM_BUFFER_TOO_SMALL, hm_matcher_report_json(m, NULL, 0, &needed, &err));
  CHECK(needed > 100);
  char *json = malloc(needed + 256);
  OK(hm_matcher_report_json(m, json, needed + 256, &needed, &err));
  CHECK(strlen(json) + 1 == needed);
  CHECK(strstr(json, "\"uploads\":{\"checked\":1,\"matched\":1}") != NULL);
  CHECK(strstr(json, "\"matched_uploads\":1") != NULL);
  FAILS(HM_NULL_ARGUMENT, hm_matcher_report_json(m, NULL, 5, &needed, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_report_json(NULL, json, needed, &needed, &err));

  /* A false positive disables the entry at once. */
  bool disabled = false;
  FAILS(HM_NULL_ARGUMENT,
        hm_matcher_record_verdict(m, "own", 9, HM_VERDICT_FALSE_POSITIVE, NULL, &disabled, &err));
  FAILS(HM_INVALID_ARGUMENT, hm_matcher_record_verdict(m, "own", 9, 7, "x", &disabled, &err));
  FAILS(HM_UNKNOWN_ENTRY,
        hm_matcher_record_verdict(m, "own", 10, HM_VERDICT_CONFIRMED, NULL, &disabled, &err));
  OK(hm_matcher_record_verdict(m, "own", 9, HM_VERDICT_CONFIRMED, NULL, &disabled, &err));
  CHECK(!disabled);
  OK(hm_matcher_record_verdict(m, "own", 9, HM_VERDICT_FALSE_POSITIVE, "appeal 3", &disabled,
                               &err));
  CHECK(disabled);
  found = NULL;
  OK(hm_matcher_query(m, &known, NULL, &found, &err));
  CHECK(hm_matches_len(found) == 0);
  hm_matches_free(found);
  OK(hm_matcher_set_verdict_policy(m, 0, &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_set_verdict_policy(NULL, 0, &err));

  /* A restart: the saved report restores the counts into a new matcher. */
  OK(hm_matcher_report_json(m, json, needed + 256, &needed, &err));
  hm_matcher *back = NULL;
  OK(hm_matcher_new(HM_INDEX_AUTO, &back, &err));
  OK(hm_matcher_restore_counts(back, json, &err));
  char *again = malloc(needed + 256);
  OK(hm_matcher_report_json(back, again, needed + 256, NULL, &err));
  CHECK(strstr(again, "\"false_positives\":1") != NULL);
  CHECK(strstr(again, "\"confirmed\":1") != NULL);
  /* A changed count fails the checksum; nothing is added. */
  char *digit = strstr(json, "\"checked\":2");
  CHECK(digit != NULL);
  if (digit != NULL) digit[10] = '7';
  FAILS(HM_REPORT_MALFORMED, hm_matcher_restore_counts(back, json, &err));
  CHECK(strstr(err.message, "checksum") != NULL);
  FAILS(HM_REPORT_MALFORMED, hm_matcher_restore_counts(back, "{}", &err));
  FAILS(HM_NULL_ARGUMENT, hm_matcher_restore_counts(back, NULL, &err));
  free(again);
  free(json);
  hm_matcher_free(back);
  hm_matcher_free(m);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s <repository root> <scratch directory>\n", argv[0]);
    return 2;
  }
  snprintf(root, sizeof root, "%s", argv[1]);
  snprintf(scratch, sizeof scratch, "%s", argv[2]);
  test_status_and_version();
  test_hash_values();
  test_hasher();
  test_matcher();
  test_threads();
  test_video();
  test_robust();
  test_enrol();
  test_report();
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
