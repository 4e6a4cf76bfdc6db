// checkupload: what a Go upload service does with hashmatch.
//
//	go run ./cmd/checkupload SNAPSHOT FILE...
//
// Opens a hash-list snapshot once, then checks every file on its own goroutine with one shared
// hasher and matcher (all eight orientations, so rotated and mirrored copies are found). Prints
// one line per file, in argument order, and exits 0 if nothing matched, 1 if something matched,
// 2 if a file could not be checked.
package main

import (
	"fmt"
	"os"
	"sync"

	"hashmatch-example/hashmatch"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: checkupload SNAPSHOT FILE...")
		os.Exit(2)
	}
	matcher, err := hashmatch.OpenMatcher(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer matcher.Close()
	hasher, err := hashmatch.NewHasher()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer hasher.Close()

	files := os.Args[2:]
	lines := make([][]string, len(files))
	failed := make([]bool, len(files))
	matched := make([]bool, len(files))
	var wg sync.WaitGroup
	for i, file := range files {
		wg.Add(1)
		go func(i int, file string) {
			defer wg.Done()
			upload, err := hasher.DihedralFile(file)
			if err != nil {
				// Too small, too flat or not an image: cannot be checked, never "no match".
				lines[i] = []string{fmt.Sprintf("%s: cannot be checked: %v", file, err)}
				failed[i] = true
				return
			}
			found, err := matcher.QueryDihedral(upload)
			if err != nil {
				lines[i] = []string{fmt.Sprintf("%s: query failed: %v", file, err)}
				failed[i] = true
				return
			}
			if len(found) == 0 {
				lines[i] = []string{file + ": no match"}
			}
			for _, m := range found {
				lines[i] = append(lines[i], fmt.Sprintf(
					"%s: MATCH list %s entry %d label %q distance %d orientation %s",
					file, m.List, m.EntryID, m.Label, m.Distance, m.Orientation))
			}
			matched[i] = len(found) > 0
		}(i, file)
	}
	wg.Wait()

	status := 0
	for i := range files {
		for _, line := range lines[i] {
			fmt.Println(line)
		}
		if failed[i] {
			status = 2
		} else if matched[i] && status == 0 {
			status = 1
		}
	}
	os.Exit(status)
}
