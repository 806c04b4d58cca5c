//go:build unix

package containers

import (
	"fmt"
	"os"
	"regexp"
)

// MappedSegments is mappedSegments, for the fault suite.
var MappedSegments = mappedSegments

var segmentRE = regexp.MustCompile(`\S*(?:/dev/shm/PostgreSQL|/pg_dynshmem/mmap)\.\d+`)

// mappedSegments returns the dynamic shared memory segments of PostgreSQL
// that the process pid maps, from /proc (none where there is none): files
// in /dev/shm (dynamic_shared_memory_type posix, the default) or in the
// data directory (mmap, on the servers dbsuite starts).
func mappedSegments(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var segs []string
	for _, s := range segmentRE.FindAllString(string(b), -1) {
		if !seen[s] {
			seen[s] = true
			segs = append(segs, s)
		}
	}
	return segs
}
