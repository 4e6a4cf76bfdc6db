/*
 * check_upload: what an upload service does with hashmatch, in C.
 *
 * Opens a hash-list snapshot once, then for each uploaded file: hashes it (all eight
 * orientations, so rotated and mirrored copies are found too) and checks it against every list.
 *
 *   check_upload SNAPSHOT FILE...
 *
 * Prints one line per file ("no match", or the list, entry id, label, distance and orientation of
 * each match) and exits 0 if nothing matched, 1 if something matched, 2 if a file could not be
 * checked (unreadable, not an image, too small or too flat to hash). An upload that cannot be
 * hashed is reported as such, never as "no match".
 *
 * Build (see README.md): cargo build --release && cc -std=c11 -Iinclude \
 *   examples/c/check_upload.c target/release/libhashmatch.a -lpthread -ldl -lm -o check_upload
 */
#include <stdio.h>

#include "hashmatch.h"

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s SNAPSHOT FILE...\n", argv[0]);
    return 2;
  }
  hm_error err;
  hm_matcher *matcher = NULL;
  if (hm_matcher_open(argv[1], &matcher, &err) != HM_OK) {
    fprintf(stderr, "cannot open %s: %s\n", argv[1], err.message);
    return 2;
  }
  /* The default configuration hashes as Meta's reference and HMA do; one hasher serves every
     thread of a service. */
  hm_hasher *hasher = NULL;
  if (hm_hasher_new(NULL, &hasher, &err) != HM_OK) {
    fprintf(stderr, "cannot create a hasher: %s\n", err.message);
    hm_matcher_free(matcher);
    return 2;
  }

  int status = 0;
  for (int i = 2; i < argc; i++) {
    const char *file = argv[i];
    hm_pdq_dihedral upload;
    if (hm_hasher_dihedral_file(hasher, file, &upload, &err) != HM_OK) {
      /* HM_LOW_QUALITY and HM_TOO_SMALL too: such an upload cannot be checked. */
      printf("%s: cannot be checked (%s): %s\n", file, hm_status_str(err.code), err.message);
      status = 2;
      continue;
    }
    hm_matches *found = NULL;
    if (hm_matcher_query_dihedral(matcher, &upload, NULL, &found, &err) != HM_OK) {
      printf("%s: query failed: %s\n", file, err.message);
      status = 2;
      continue;
    }
    size_t n = hm_matches_len(found);
    if (n == 0) printf("%s: no match\n", file);
    for (size_t k = 0; k < n; k++) {
      const hm_match *m = hm_matches_get(found, k);
      printf("%s: MATCH list %s entry %llu label \"%s\" distance %u orientation %s\n", file,
             m->list, (unsigned long long)m->entry_id, m->label ? m->label : "", m->distance,
             hm_orientation_str(m->orientation));
    }
    if (n > 0 && status == 0) status = 1;
    hm_matches_free(found);
  }
  hm_hasher_free(hasher);
  hm_matcher_free(matcher);
  return status;
}
