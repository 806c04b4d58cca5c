#!/usr/bin/env bash
# Builds a PostgreSQL image from Debian's packages, for machines that have a
# Docker engine but no registry to pull the official image from:
#
#   scripts/build-postgres-image.sh [tag]        (default tag: dbsuite/postgres:15)
#
# debootstrap --variant=minbase --include=postgresql-15 bookworm into a
# directory, the entrypoint in scripts/postgres-image (it honours
# POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, POSTGRES_INITDB_ARGS,
# `postgres -c ...` arguments and /docker-entrypoint-initdb.d, as the
# official image does), then docker import with the official image's
# ENTRYPOINT, CMD, ENV, EXPOSE and VOLUME. About a minute; an image already
# present is reused (set REBUILD=1 to build it again). docker import takes
# no STOPSIGNAL: `docker kill -s INT` shuts the server down fast.
#
# The Debian mirror is the one apt uses on a Debian machine
# (/etc/apt/sources.list*), else deb.debian.org (on Ubuntu, with Debian's
# archive keyring); set DEBIAN_MIRROR to choose. Needs root (debootstrap)
# and the docker command.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tag="${1:-${DBSUITE_POSTGRES_IMAGE:-dbsuite/postgres:15}}"

command -v docker >/dev/null || { echo "build-postgres-image: no docker command" >&2; exit 1; }
if [ "${REBUILD:-}" != 1 ] && docker image inspect "$tag" >/dev/null 2>&1; then
	echo "build-postgres-image: $tag is present; reusing it (REBUILD=1 to build it again)"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi

# On Debian, apt's own mirror; elsewhere (an Ubuntu CI runner) Debian's,
# with Debian's archive keyring.
debian=
grep -qsx 'ID=debian' /etc/os-release && debian=1
need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
[ -n "$debian" ] || [ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
if [ ${#need[@]} -gt 0 ]; then
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

mirror="${DEBIAN_MIRROR:-}"
if [ -z "$mirror" ] && [ -n "$debian" ]; then
	# The first Debian archive apt is configured with (deb822 URIs: or a
	# one-line "deb URL suite" source), leaving out the security archive.
	mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
		grep -v '^[[:space:]]*#' |
		grep -Eo '(URIs:[[:space:]]*|^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?)https?://[^[:space:]]+' |
		grep -Eo 'https?://[^[:space:]]+' | grep -v -- '-security' | head -n 1 || true)
fi
mirror="${mirror:-http://deb.debian.org/debian}"

work=$(mktemp -d /tmp/dbsuite-image.XXXXXX)
trap '$SUDO rm -rf "$work"' EXIT
root="$work/root"
echo "build-postgres-image: debootstrap bookworm from $mirror"
t0=$(date +%s)
# Keep the package scripts from starting a server inside the chroot.
$SUDO mkdir -p "$root/usr/sbin"
printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$root/usr/sbin/policy-rc.d" >/dev/null
$SUDO chmod +x "$root/usr/sbin/policy-rc.d"
keyring=()
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] && keyring=(--keyring=/usr/share/keyrings/debian-archive-keyring.gpg)
if ! $SUDO debootstrap "${keyring[@]}" --variant=minbase --include=postgresql-15 bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1; then
	tail -n 30 "$work/debootstrap.log" >&2
	echo "build-postgres-image: debootstrap failed (log above)" >&2
	exit 1
fi
echo "build-postgres-image: debootstrap took $(($(date +%s) - t0))s"

# The cluster the package created, caches and docs are not needed: the
# entrypoint makes a data directory on first start.
$SUDO rm -rf "$root/var/lib/postgresql/15" "$root/etc/postgresql/15" "$root/usr/sbin/policy-rc.d" \
	"$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"* "$root/usr/share/doc" "$root/usr/share/man"
# Listen on every container address, as the official image does.
sample="$root/usr/share/postgresql/15/postgresql.conf.sample"
$SUDO sed -i "s/^#listen_addresses = 'localhost'/listen_addresses = '*'/" "$sample"
grep -q "^listen_addresses = '\*'" "$sample" || { echo "build-postgres-image: could not set listen_addresses in $sample" >&2; exit 1; }
$SUDO install -m 0755 "$here/postgres-image/docker-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
$SUDO mkdir -p "$root/docker-entrypoint-initdb.d" "$root/var/lib/postgresql/data" "$root/var/run/postgresql"
$SUDO chroot "$root" chown postgres:postgres /var/lib/postgresql /var/lib/postgresql/data /var/run/postgresql

echo "build-postgres-image: docker import as $tag"
$SUDO tar -C "$root" -c . | docker import \
	--change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
	--change 'ENV LANG=C.UTF-8' \
	--change 'ENV PGDATA=/var/lib/postgresql/data' \
	--change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
	--change 'CMD ["postgres"]' \
	--change 'EXPOSE 5432' \
	--change 'VOLUME /var/lib/postgresql/data' \
	--change 'LABEL org.opencontainers.image.description="PostgreSQL 15 from Debian bookworm packages, built by dbsuite scripts/build-postgres-image.sh"' \
	- "$tag" >/dev/null
docker run --rm --entrypoint postgres "$tag" --version
echo "build-postgres-image: built $tag in $(($(date +%s) - t0))s"
