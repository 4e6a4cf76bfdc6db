// Package hashmatch wraps the hashmatch C library (include/hashmatch.h) for Go upload services:
// PDQ hashing of uploads and exact matching against hash lists of known harmful images.
//
// Handles (Hasher, Matcher) are closed explicitly with Close; a finalizer frees a handle that
// was forgotten, as a safety net only. Both are safe for concurrent use by many goroutines
// (the C library documents this and keeps no per-thread state, so goroutines moving between
// OS threads are fine). Close must not race with other calls on the same handle.
//
// This file links the static library built by `cargo build --release` in the repository; a
// service with hashmatch installed system-wide would use `#cgo pkg-config: --static hashmatch`
// instead.
package hashmatch

/*
#cgo CFLAGS: -I${SRCDIR}/../../../include
#cgo LDFLAGS: ${SRCDIR}/../../../target/release/libhashmatch.a -lpthread -ldl -lm
#include <stdlib.h>
#include "hashmatch.h"
*/
import "C"

import (
	"encoding/hex"
	"fmt"
	"runtime"
	"unsafe"
)

// Version is the C library's version.
func Version() string { return C.GoString(C.hm_version()) }

// Error is a failed call: the library's status code and message.
type Error struct {
	Code    int
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("hashmatch: %s (status %d)", e.Message, e.Code)
}

// Status codes callers may want to tell apart (see include/hashmatch.h for all of them).
const (
	StatusLowQuality      = int(C.HM_LOW_QUALITY)
	StatusTooSmall        = int(C.HM_TOO_SMALL)
	StatusUnknownFormat   = int(C.HM_UNKNOWN_FORMAT)
	StatusDecodeFailed    = int(C.HM_DECODE_FAILED)
	StatusNullArgument    = int(C.HM_NULL_ARGUMENT)
	StatusNotASnapshot    = int(C.HM_NOT_A_SNAPSHOT)
	StatusMatcherRefused  = int(C.HM_MATCHER)
	StatusUnknownList     = int(C.HM_UNKNOWN_LIST)
	StatusListExists      = int(C.HM_LIST_EXISTS)
	StatusUnknownEntry    = int(C.HM_UNKNOWN_ENTRY)
	StatusEntryExists     = int(C.HM_ENTRY_EXISTS)
	StatusReportMalformed = int(C.HM_REPORT_MALFORMED)
)

// check turns a status and its hm_error into a Go error.
func check(status C.hm_status, err *C.hm_error) error {
	if status == C.HM_OK {
		return nil
	}
	return &Error{Code: int(status), Message: C.GoString(&err.message[0])}
}

// Hash is a 256-bit PDQ hash, big-endian (the byte order of its hex text).
type Hash [32]byte

// ParseHash reads a hash from its 64 hex digits.
func ParseHash(text string) (Hash, error) {
	var out C.hm_pdq_hash
	var cerr C.hm_error
	ctext := C.CString(text)
	defer C.free(unsafe.Pointer(ctext))
	if err := check(C.hm_pdq_hash_from_hex(ctext, &out, &cerr), &cerr); err != nil {
		return Hash{}, err
	}
	return hashFromC(out), nil
}

func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// Distance is the number of bits in which two hashes differ.
func Distance(a, b Hash) int {
	return int(C.hm_pdq_hash_distance(a.toC(), b.toC()))
}

func (h Hash) toC() C.hm_pdq_hash {
	var out C.hm_pdq_hash
	for i, b := range h {
		out.bytes[i] = C.uint8_t(b)
	}
	return out
}

func hashFromC(c C.hm_pdq_hash) Hash {
	var h Hash
	for i := range h {
		h[i] = byte(c.bytes[i])
	}
	return h
}

// Result is the hash of an upload and its quality (0-100; below 50 the hasher refuses it).
type Result struct {
	Hash    Hash
	Quality int
}

// Dihedral holds the hashes of an upload's eight orientations (original first) and its quality.
type Dihedral struct {
	Hashes  [8]Hash
	Quality int
}

// Hasher hashes uploads with the default, reference-compatible configuration.
type Hasher struct{ ptr *C.hm_hasher }

// NewHasher creates a hasher; Close it when done.
func NewHasher() (*Hasher, error) {
	var cerr C.hm_error
	h := &Hasher{}
	if err := check(C.hm_hasher_new(nil, &h.ptr, &cerr), &cerr); err != nil {
		return nil, err
	}
	runtime.SetFinalizer(h, (*Hasher).Close)
	return h, nil
}

// Close frees the hasher. Further calls fail with StatusNullArgument; Close twice is harmless.
func (h *Hasher) Close() {
	C.hm_hasher_free(h.ptr)
	h.ptr = nil
	runtime.SetFinalizer(h, nil)
}

// HashBytes hashes an encoded image (JPEG, PNG, GIF, WebP, BMP, TIFF). The library reads
// data only during the call.
func (h *Hasher) HashBytes(data []byte) (Result, error) {
	var out C.hm_pdq_result
	var cerr C.hm_error
	var ptr *C.uint8_t
	if len(data) > 0 {
		ptr = (*C.uint8_t)(unsafe.Pointer(&data[0]))
	}
	status := C.hm_hasher_hash_bytes(h.ptr, ptr, C.size_t(len(data)), &out, &cerr)
	runtime.KeepAlive(h)
	if err := check(status, &cerr); err != nil {
		return Result{}, err
	}
	return Result{Hash: hashFromC(out.hash), Quality: int(out.quality)}, nil
}

// DihedralFile hashes the eight orientations of an image file.
func (h *Hasher) DihedralFile(path string) (Dihedral, error) {
	var out C.hm_pdq_dihedral
	var cerr C.hm_error
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	status := C.hm_hasher_dihedral_file(h.ptr, cpath, &out, &cerr)
	runtime.KeepAlive(h)
	if err := check(status, &cerr); err != nil {
		return Dihedral{}, err
	}
	d := Dihedral{Quality: int(out.quality)}
	for i := range d.Hashes {
		d.Hashes[i] = hashFromC(out.hashes[i])
	}
	return d, nil
}

// Match is one list entry an upload matched.
type Match struct {
	List        string
	EntryID     uint64
	Label       string // empty when the entry has none
	Distance    int
	Orientation string // "orig", "rot90", ..., which orientation of the upload matched
	Region      int    // which part of the upload matched (robust queries): RegionWhole, ...
	Variant     int    // which of the entry's hashes matched: VariantListed unless enrolled
	Query       int    // the upload's position for QueryMany
}

// Regions of an upload a robust query hashes (Match.Region).
const (
	RegionWhole    = int(C.HM_REGION_WHOLE)
	RegionBars     = int(C.HM_REGION_BARS)
	RegionEmbedded = int(C.HM_REGION_EMBEDDED)
	RegionTilted   = int(C.HM_REGION_TILTED)
)

// Variants of an entry's hashes (Match.Variant): the listed hash, 1-7 an orientation,
// VariantTrimmed, or VariantCropBase + p for a centre crop keeping p % of the area.
const (
	VariantListed   = int(C.HM_VARIANT_LISTED)
	VariantTrimmed  = int(C.HM_VARIANT_TRIMMED)
	VariantCropBase = int(C.HM_VARIANT_CROP_BASE)
)

// Matcher holds hash lists; it is safe for concurrent queries and changes.
type Matcher struct{ ptr *C.hm_matcher }

// NewMatcher creates an empty matcher; Close it when done.
func NewMatcher() (*Matcher, error) {
	var cerr C.hm_error
	m := &Matcher{}
	if err := check(C.hm_matcher_new(C.HM_INDEX_AUTO, &m.ptr, &cerr), &cerr); err != nil {
		return nil, err
	}
	runtime.SetFinalizer(m, (*Matcher).Close)
	return m, nil
}

// OpenMatcher opens a snapshot written by Save or `hashmatch index build`; Close it when done.
func OpenMatcher(path string) (*Matcher, error) {
	var cerr C.hm_error
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	m := &Matcher{}
	if err := check(C.hm_matcher_open(cpath, &m.ptr, &cerr), &cerr); err != nil {
		return nil, err
	}
	runtime.SetFinalizer(m, (*Matcher).Close)
	return m, nil
}

// Close frees the matcher. Further calls fail with StatusNullArgument; Close twice is harmless.
func (m *Matcher) Close() {
	C.hm_matcher_free(m.ptr)
	m.ptr = nil
	runtime.SetFinalizer(m, nil)
}

// Save writes every list and entry to a snapshot file, atomically.
func (m *Matcher) Save(path string) error {
	var cerr C.hm_error
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	status := C.hm_matcher_save(m.ptr, cpath, &cerr)
	runtime.KeepAlive(m)
	return check(status, &cerr)
}

// AddList adds an empty list with a match threshold (PDQ: 31).
func (m *Matcher) AddList(name string, threshold int, enabled bool) error {
	var cerr C.hm_error
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	status := C.hm_matcher_add_list(m.ptr, cname, C.uint32_t(threshold), C.bool(enabled), &cerr)
	runtime.KeepAlive(m)
	return check(status, &cerr)
}

// Insert adds an entry to a list; label may be empty.
func (m *Matcher) Insert(list string, hash Hash, id uint64, label string) error {
	var cerr C.hm_error
	clist := C.CString(list)
	defer C.free(unsafe.Pointer(clist))
	var clabel *C.char
	if label != "" {
		clabel = C.CString(label)
		defer C.free(unsafe.Pointer(clabel))
	}
	chash := hash.toC()
	status := C.hm_matcher_insert(m.ptr, clist, &chash, C.uint64_t(id), clabel, &cerr)
	runtime.KeepAlive(m)
	return check(status, &cerr)
}

// Disable stops an entry from matching, keeping it with the reason.
func (m *Matcher) Disable(list string, id uint64, reason string) error {
	var cerr C.hm_error
	clist, creason := C.CString(list), C.CString(reason)
	defer C.free(unsafe.Pointer(clist))
	defer C.free(unsafe.Pointer(creason))
	status := C.hm_matcher_disable(m.ptr, clist, C.uint64_t(id), creason, &cerr)
	runtime.KeepAlive(m)
	return check(status, &cerr)
}

// Query returns every entry within its list's threshold of the upload's hash.
func (m *Matcher) Query(upload Result) ([]Match, error) {
	var cerr C.hm_error
	var found *C.hm_matches
	cup := C.hm_pdq_result{hash: upload.Hash.toC(), quality: C.uint8_t(upload.Quality)}
	status := C.hm_matcher_query(m.ptr, &cup, nil, &found, &cerr)
	runtime.KeepAlive(m)
	if err := check(status, &cerr); err != nil {
		return nil, err
	}
	return collect(found), nil
}

// QueryDihedral matches all eight orientations of an upload: rotated and mirrored copies too.
func (m *Matcher) QueryDihedral(upload Dihedral) ([]Match, error) {
	var cerr C.hm_error
	var found *C.hm_matches
	var cup C.hm_pdq_dihedral
	for i, h := range upload.Hashes {
		cup.hashes[i] = h.toC()
	}
	cup.quality = C.uint8_t(upload.Quality)
	status := C.hm_matcher_query_dihedral(m.ptr, &cup, nil, &found, &cerr)
	runtime.KeepAlive(m)
	if err := check(status, &cerr); err != nil {
		return nil, err
	}
	return collect(found), nil
}

// QueryMany runs Query for many uploads in one call (searched in parallel by the library);
// each Match carries the position of its upload in Query.
func (m *Matcher) QueryMany(uploads []Result) ([]Match, error) {
	var cerr C.hm_error
	var found *C.hm_matches
	// C memory for the array, so that no Go pointer is handed to C inside it.
	n := len(uploads)
	var arr *C.hm_pdq_result
	if n > 0 {
		arr = (*C.hm_pdq_result)(C.malloc(C.size_t(n) * C.size_t(unsafe.Sizeof(C.hm_pdq_result{}))))
		defer C.free(unsafe.Pointer(arr))
		view := unsafe.Slice(arr, n)
		for i, u := range uploads {
			view[i] = C.hm_pdq_result{hash: u.Hash.toC(), quality: C.uint8_t(u.Quality)}
		}
	}
	status := C.hm_matcher_query_many(m.ptr, arr, C.size_t(n), nil, &found, &cerr)
	runtime.KeepAlive(m)
	if err := check(status, &cerr); err != nil {
		return nil, err
	}
	return collect(found), nil
}

// collect copies a results object into Go values and frees it.
func collect(found *C.hm_matches) []Match {
	defer C.hm_matches_free(found)
	n := int(C.hm_matches_len(found))
	out := make([]Match, 0, n)
	for i := 0; i < n; i++ {
		c := C.hm_matches_get(found, C.size_t(i))
		m := Match{
			List:        C.GoString(c.list),
			EntryID:     uint64(c.entry_id),
			Distance:    int(c.distance),
			Orientation: C.GoString(C.hm_orientation_str(c.orientation)),
			Region:      int(c.region),
			Variant:     int(c.variant),
			Query:       int(c.query),
		}
		if c.label != nil {
			m.Label = C.GoString(c.label)
		}
		out = append(out, m)
	}
	return out
}

// ReportJSON returns the matcher's transparency report: uploads checked and matched, and per
// list and entry the matched uploads (by technique), confirmed matches, false positives and
// redress, as the checksummed JSON document `hashmatch report --format json` prints. Save it
// to restore the counts after a restart (RestoreCounts) or to merge instances'
// (`hashmatch report merge`).
func (m *Matcher) ReportJSON() (string, error) {
	var cerr C.hm_error
	var needed C.size_t
	size := C.size_t(4096)
	for {
		buf := (*C.char)(C.malloc(size))
		status := C.hm_matcher_report_json(m.ptr, buf, size, &needed, &cerr)
		runtime.KeepAlive(m)
		if status == C.HM_OK {
			text := C.GoString(buf)
			C.free(unsafe.Pointer(buf))
			return text, nil
		}
		C.free(unsafe.Pointer(buf))
		if status != C.HM_BUFFER_TOO_SMALL {
			return "", check(status, &cerr)
		}
		// The counts may grow between two calls: ask for some room beyond what was needed.
		size = needed + needed/4 + 256
	}
}

// RestoreCounts adds the counts of a report from ReportJSON to the matcher's (after a
// restart). A report that fails its checksum is refused with StatusReportMalformed.
func (m *Matcher) RestoreCounts(report string) error {
	var cerr C.hm_error
	creport := C.CString(report)
	defer C.free(unsafe.Pointer(creport))
	status := C.hm_matcher_restore_counts(m.ptr, creport, &cerr)
	runtime.KeepAlive(m)
	return check(status, &cerr)
}

// RecordVerdict records a reviewer's verdict on a match of an entry: confirmed, or a false
// positive with its reason, which disables the entry (by default at once; see
// SetVerdictPolicy). It returns whether this verdict disabled the entry.
func (m *Matcher) RecordVerdict(list string, id uint64, falsePositive bool, reason string) (bool, error) {
	var cerr C.hm_error
	clist := C.CString(list)
	defer C.free(unsafe.Pointer(clist))
	verdict := C.hm_verdict(C.HM_VERDICT_CONFIRMED)
	var creason *C.char
	if falsePositive {
		verdict = C.HM_VERDICT_FALSE_POSITIVE
		creason = C.CString(reason)
		defer C.free(unsafe.Pointer(creason))
	}
	var disabled C.bool
	status := C.hm_matcher_record_verdict(m.ptr, clist, C.uint64_t(id), verdict, creason, &disabled, &cerr)
	runtime.KeepAlive(m)
	return bool(disabled), check(status, &cerr)
}

// SetVerdictPolicy disables an entry once its false positives since it was last enabled reach
// disableAfter (0: never; default 1).
func (m *Matcher) SetVerdictPolicy(disableAfter uint32) error {
	var cerr C.hm_error
	status := C.hm_matcher_set_verdict_policy(m.ptr, C.uint32_t(disableAfter), &cerr)
	runtime.KeepAlive(m)
	return check(status, &cerr)
}

// RobustHashes are the hashes of an upload's robust query (its plain hash, other orientations,
// pictures inside bars or a frame); match them with Matcher.QueryRobust, then Close them.
type RobustHashes struct{ ptr *C.hm_robust_hashes }

// Close frees the hashes; Close twice is harmless.
func (r *RobustHashes) Close() {
	C.hm_robust_hashes_free(r.ptr)
	r.ptr = nil
	runtime.SetFinalizer(r, nil)
}

// Len is the number of hashes.
func (r *RobustHashes) Len() int {
	n := int(C.hm_robust_hashes_len(r.ptr))
	runtime.KeepAlive(r)
	return n
}

// RobustBytes hashes an encoded image for a robust query, with the default options.
func (h *Hasher) RobustBytes(data []byte) (*RobustHashes, error) {
	var cerr C.hm_error
	var ptr *C.uint8_t
	if len(data) > 0 {
		ptr = (*C.uint8_t)(unsafe.Pointer(&data[0]))
	}
	r := &RobustHashes{}
	status := C.hm_hasher_robust_bytes(h.ptr, ptr, C.size_t(len(data)), nil, &r.ptr, &cerr)
	runtime.KeepAlive(h)
	if err := check(status, &cerr); err != nil {
		return nil, err
	}
	runtime.SetFinalizer(r, (*RobustHashes).Close)
	return r, nil
}

// SetListRobust lets a list accept the extra hashes of robust queries (off by default).
func (m *Matcher) SetListRobust(list string, robust bool) error {
	var cerr C.hm_error
	clist := C.CString(list)
	defer C.free(unsafe.Pointer(clist))
	status := C.hm_matcher_set_list_robust(m.ptr, clist, C.bool(robust), &cerr)
	runtime.KeepAlive(m)
	return check(status, &cerr)
}

// QueryRobust matches a robust query: the plain hash's matches if any, else the nearest match
// of the extra hashes in lists that accept them; each Match names its orientation and region.
func (m *Matcher) QueryRobust(upload *RobustHashes) ([]Match, error) {
	var cerr C.hm_error
	var found *C.hm_matches
	status := C.hm_matcher_query_robust(m.ptr, upload.ptr, nil, &found, &cerr)
	runtime.KeepAlive(m)
	runtime.KeepAlive(upload)
	if err := check(status, &cerr); err != nil {
		return nil, err
	}
	return collect(found), nil
}

// Enrolment holds the hashes to store for an image the service took down itself: its plain
// hash and extras (centre crops, the picture inside its frame); store it with Matcher.Enrol,
// then Close it.
type Enrolment struct{ ptr *C.hm_enrolment }

// Close frees the enrolment; Close twice is harmless.
func (e *Enrolment) Close() {
	C.hm_enrolment_free(e.ptr)
	e.ptr = nil
	runtime.SetFinalizer(e, nil)
}

// Extras is the number of extra hashes.
func (e *Enrolment) Extras() int {
	n := int(C.hm_enrolment_len(e.ptr))
	runtime.KeepAlive(e)
	return n
}

// EnrolmentBytes computes the enrolment hashes of an encoded image, with the default options.
func (h *Hasher) EnrolmentBytes(data []byte) (*Enrolment, error) {
	var cerr C.hm_error
	var ptr *C.uint8_t
	if len(data) > 0 {
		ptr = (*C.uint8_t)(unsafe.Pointer(&data[0]))
	}
	e := &Enrolment{}
	status := C.hm_hasher_enrolment_bytes(h.ptr, ptr, C.size_t(len(data)), nil, &e.ptr, &cerr)
	runtime.KeepAlive(h)
	if err := check(status, &cerr); err != nil {
		return nil, err
	}
	runtime.SetFinalizer(e, (*Enrolment).Close)
	return e, nil
}

// Enrol adds one entry with all the hashes of an enrolment: a match on any of them reports the
// entry once (Match.Variant says which); label may be empty.
func (m *Matcher) Enrol(list string, id uint64, label string, e *Enrolment) error {
	var cerr C.hm_error
	clist := C.CString(list)
	defer C.free(unsafe.Pointer(clist))
	var clabel *C.char
	if label != "" {
		clabel = C.CString(label)
		defer C.free(unsafe.Pointer(clabel))
	}
	status := C.hm_matcher_enrol(m.ptr, clist, C.uint64_t(id), clabel, e.ptr, &cerr)
	runtime.KeepAlive(m)
	runtime.KeepAlive(e)
	return check(status, &cerr)
}
