// Package fnv1a is the 64-bit FNV-1a hash, without hash.Hash's interface and allocation: for the hot paths
// of dbsuite that hash a string or a few words (a call stack's program counters, a table and a label).
// It uses only the standard library.
package fnv1a

// Offset is the hash of nothing: start from it.
const Offset uint64 = 14695981039346656037

const prime uint64 = 1099511628211

// String adds the bytes of s to h.
func String(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= prime
	}
	return h
}

// Uint64 adds the eight bytes of v, least significant first, to h.
func Uint64(h, v uint64) uint64 {
	for range 8 {
		h ^= v & 0xff
		h *= prime
		v >>= 8
	}
	return h
}

// Word adds v to h as one unit (one xor and one multiply): cheaper than [Uint64], for hashes that are only
// compared within one process.
func Word(h, v uint64) uint64 { return (h ^ v) * prime }
