package containers

// DockerAvailable reports whether a Docker engine answers, for the Docker
// tests: they skip only where none does.
var DockerAvailable = dockerAvailable
