//go:build unix

package containers

// CacheRoot is the cache directory, where the reapers keep their lists.
var CacheRoot = cacheRoot
