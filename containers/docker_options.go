package containers

import (
	"os"
	"strings"
)

// ProviderDocker starts PostgreSQL in a Docker container through
// testcontainers-go's postgres module. See [WithImage].
const ProviderDocker = "docker"

// EnvImage names the image the Docker provider runs (see [WithImage]).
const EnvImage = "DBSUITE_POSTGRES_IMAGE"

// DefaultImage is the image the Docker provider runs when neither
// [WithImage] nor DBSUITE_POSTGRES_IMAGE names one: the official image of
// a current major version.
const DefaultImage = "postgres:18"

// WithImage names the image the Docker provider runs, and picks that
// provider unless [WithProvider] names another. The image must start like
// the official postgres image (POSTGRES_PASSWORD, postgres -c arguments,
// port 5432). Applies to [Postgres]. Default: the DBSUITE_POSTGRES_IMAGE
// environment variable, else [DefaultImage].
func WithImage(image string) Option {
	return option("WithImage", forServer, func(o *options) {
		o.server.image = image
		if o.server.provider == "" {
			o.server.provider = ProviderDocker
		}
	})
}

// dockerImage is the image the Docker provider runs.
func (c *serverOptions) dockerImage() string {
	if c.image != "" {
		return c.image
	}
	if img := strings.TrimSpace(os.Getenv(EnvImage)); img != "" {
		return img
	}
	return DefaultImage
}
