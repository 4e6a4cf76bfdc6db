package hashmatch

import (
	"bytes"
	"encoding/json"
	"errors"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const known = "a688d466ebb51b9d7cc0c227d92bc3dd3e142cd29da6e538524d5a435b5295a5"

func demoMatcher(t *testing.T) *Matcher {
	t.Helper()
	m, err := NewMatcher()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.AddList("demo", 31, true); err != nil {
		t.Fatal(err)
	}
	h, err := ParseHash(known)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Insert("demo", h, 1001, "demo case A"); err != nil {
		t.Fatal(err)
	}
	return m
}

func upload(t *testing.T, h *Hasher, name string) Result {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "uploads", name))
	if err != nil {
		t.Fatal(err)
	}
	r, err := h.HashBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestHashText(t *testing.T) {
	a, err := ParseHash(known)
	if err != nil || a.String() != known {
		t.Fatalf("round trip: %v %v", a, err)
	}
	b := a
	b[0] ^= 0x0f
	if Distance(a, b) != 4 {
		t.Fatalf("distance %d", Distance(a, b))
	}
	var herr *Error
	if _, err := ParseHash("f8f8"); !errors.As(err, &herr) || herr.Message == "" {
		t.Fatalf("bad hex accepted: %v", err)
	}
	if Version() == "" {
		t.Fatal("no version")
	}
}

func TestQueriesAndChanges(t *testing.T) {
	hasher, err := NewHasher()
	if err != nil {
		t.Fatal(err)
	}
	defer hasher.Close()
	m := demoMatcher(t)
	defer m.Close()
	match, other := upload(t, hasher, "landscape-2.jpg"), upload(t, hasher, "landscape-1.jpg")

	found, err := m.Query(match)
	if err != nil || len(found) != 1 || found[0].EntryID != 1001 || found[0].Label != "demo case A" ||
		found[0].List != "demo" || found[0].Distance != 2 || found[0].Orientation != "orig" {
		t.Fatalf("query: %+v %v", found, err)
	}
	many, err := m.QueryMany([]Result{other, match, other})
	if err != nil || len(many) != 1 || many[0].Query != 1 {
		t.Fatalf("query many: %+v %v", many, err)
	}
	if empty, err := m.QueryMany(nil); err != nil || len(empty) != 0 {
		t.Fatalf("empty batch: %+v %v", empty, err)
	}
	low := match
	low.Quality = 10
	var herr *Error
	if _, err := m.Query(low); !errors.As(err, &herr) || herr.Code != StatusLowQuality {
		t.Fatalf("low quality: %v", err)
	}
	if err := m.Insert("demo", match.Hash, 1001, ""); !errors.As(err, &herr) || herr.Code != StatusEntryExists {
		t.Fatalf("duplicate id: %v", err)
	}
	if err := m.Disable("demo", 1001, "false positive"); err != nil {
		t.Fatal(err)
	}
	if found, _ := m.Query(match); len(found) != 0 {
		t.Fatalf("disabled entry matched: %+v", found)
	}

	path := filepath.Join(t.TempDir(), "demo.hmsnap")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	reopened, err := OpenMatcher(path)
	if err != nil {
		t.Fatal(err)
	}
	reopened.Close()
	if _, err := OpenMatcher(filepath.Join("..", "..", "demo-list.csv")); !errors.As(err, &herr) || herr.Code != StatusNotASnapshot {
		t.Fatalf("not a snapshot: %v", err)
	}
	if _, err := hasher.HashBytes([]byte("not an image")); !errors.As(err, &herr) || herr.Code != StatusUnknownFormat {
		t.Fatalf("garbage: %v", err)
	}
	if _, err := hasher.HashBytes(nil); !errors.As(err, &herr) || herr.Code != StatusUnknownFormat {
		t.Fatalf("empty: %v", err)
	}
}

func TestCloseTwiceAndUseAfterClose(t *testing.T) {
	m := demoMatcher(t)
	m.Close()
	m.Close()
	var herr *Error
	if _, err := m.Query(Result{Quality: 100}); !errors.As(err, &herr) || herr.Code != StatusNullArgument {
		t.Fatalf("use after close: %v", err)
	}
	h, err := NewHasher()
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	h.Close()
	if _, err := h.HashBytes([]byte{1}); !errors.As(err, &herr) || herr.Code != StatusNullArgument {
		t.Fatalf("use after close: %v", err)
	}
}

// Goroutines move between OS threads; the library keeps no per-thread state.
func TestConcurrentGoroutines(t *testing.T) {
	hasher, err := NewHasher()
	if err != nil {
		t.Fatal(err)
	}
	defer hasher.Close()
	m := demoMatcher(t)
	defer m.Close()
	match := upload(t, hasher, "landscape-2.jpg")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				found, err := m.Query(match)
				if err == nil && len(found) != 1 {
					err = errors.New("wrong match count")
				}
				if err != nil {
					errs <- err
					return
				}
				var h Hash
				h[0], h[1] = byte(g), byte(i)
				if err := m.Insert("demo", h, uint64(10_000+g*1000+i), ""); err != nil {
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestReportAndVerdicts(t *testing.T) {
	m := demoMatcher(t)
	defer m.Close()
	h, _ := ParseHash(known)
	if found, err := m.Query(Result{Hash: h, Quality: 100}); err != nil || len(found) != 1 {
		t.Fatalf("query: %v %v", found, err)
	}
	disabled, err := m.RecordVerdict("demo", 1001, true, "appeal 9")
	if err != nil || !disabled {
		t.Fatalf("false positive: %v %v", disabled, err)
	}
	if found, _ := m.Query(Result{Hash: h, Quality: 100}); len(found) != 0 {
		t.Fatalf("a disabled entry matched: %v", found)
	}
	var herr *Error
	if _, err := m.RecordVerdict("demo", 5, false, ""); !errors.As(err, &herr) || herr.Code != StatusUnknownEntry {
		t.Fatalf("unknown entry: %v", err)
	}
	report, err := m.ReportJSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Report struct {
			Uploads struct{ Checked, Matched int }
			Lists   []struct {
				List           string
				MatchedUploads int `json:"matched_uploads"`
				FalsePositives int `json:"false_positives"`
				Disabled       int
			}
		}
	}
	if err := json.Unmarshal([]byte(report), &doc); err != nil {
		t.Fatal(err)
	}
	l := doc.Report.Lists[0]
	if doc.Report.Uploads.Checked != 2 || doc.Report.Uploads.Matched != 1 || l.MatchedUploads != 1 || l.FalsePositives != 1 || l.Disabled != 1 {
		t.Fatalf("report: %+v", doc)
	}
	// A restart: the saved report restores the counts.
	back, _ := NewMatcher()
	defer back.Close()
	if err := back.RestoreCounts(report); err != nil {
		t.Fatal(err)
	}
	again, _ := back.ReportJSON()
	if !strings.Contains(again, `"uploads":{"checked":2,"matched":1}`) {
		t.Fatalf("restored: %s", again)
	}
	if err := back.RestoreCounts(strings.Replace(report, `"checked":2`, `"checked":3`, 1)); !errors.As(err, &herr) || herr.Code != StatusReportMalformed {
		t.Fatalf("a changed report was accepted: %v", err)
	}
	if err := m.SetVerdictPolicy(0); err != nil {
		t.Fatal(err)
	}
}

func TestRobustAndEnrolment(t *testing.T) {
	h, err := NewHasher()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	known, err := os.ReadFile(filepath.Join("..", "..", "uploads", "landscape-5.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	turned, err := os.ReadFile(filepath.Join("..", "..", "uploads", "reupload-rotated.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := h.HashBytes(known)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := NewMatcher()
	defer m.Close()
	if err := m.AddList("known", 31, true); err != nil {
		t.Fatal(err)
	}
	if err := m.Insert("known", plain.Hash, 5, ""); err != nil {
		t.Fatal(err)
	}
	if err := m.SetListRobust("known", true); err != nil {
		t.Fatal(err)
	}
	r, err := h.RobustBytes(turned)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Len() < 8 {
		t.Fatalf("%d robust hashes", r.Len())
	}
	found, err := m.QueryRobust(r)
	if err != nil || len(found) != 1 || found[0].EntryID != 5 || found[0].Orientation != "rot90" || found[0].Region != RegionWhole {
		t.Fatalf("robust query: %+v %v", found, err)
	}

	// Enrolment: a centre crop of the taken-down image matches its entry through a plain query.
	e, err := h.EnrolmentBytes(known)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.Extras() < 6 {
		t.Fatalf("%d extras", e.Extras())
	}
	own, _ := NewMatcher()
	defer own.Close()
	if err := own.AddList("taken-down", 31, true); err != nil {
		t.Fatal(err)
	}
	if err := own.Enrol("taken-down", 7, "case 7", e); err != nil {
		t.Fatal(err)
	}
	var herr *Error
	if err := own.Enrol("taken-down", 7, "", e); !errors.As(err, &herr) || herr.Code != StatusEntryExists {
		t.Fatalf("enrolled twice: %v", err)
	}
	found, err = own.Query(plain)
	if err != nil || len(found) != 1 || found[0].Variant != VariantListed || found[0].Label != "case 7" {
		t.Fatalf("listed hash: %+v %v", found, err)
	}
	// A copy cropped to 90 % of each side, re-encoded: found by an enrolled crop.
	img, err := jpeg.Decode(bytes.NewReader(known))
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	dx, dy := b.Dx()/20, b.Dy()/20
	crop := img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(image.Rect(b.Min.X+dx, b.Min.Y+dy, b.Max.X-dx, b.Max.Y-dy))
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, crop, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	cropped, err := h.HashBytes(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if Distance(cropped.Hash, plain.Hash) <= 31 {
		t.Skip("the crop is still near the listed hash; nothing to show")
	}
	found, err = own.Query(cropped)
	if err != nil || len(found) != 1 || found[0].EntryID != 7 || found[0].Variant <= VariantCropBase {
		t.Fatalf("cropped copy: %+v %v", found, err)
	}
}
