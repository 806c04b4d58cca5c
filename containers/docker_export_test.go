package containers

// DockerAvailable reports whether a Docker engine answers, for the Docker
// tests: they skip only where none does.
var DockerAvailable = dockerAvailable

// CacheRoot is the cache directory, where the reapers keep their lists.
var CacheRoot = cacheRoot
