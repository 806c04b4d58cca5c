#!/bin/sh
# Entrypoint of the dbsuite/postgres image (scripts/build-postgres-image.sh).
# It honours what the official postgres image's entrypoint honours:
#   POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust),
#   POSTGRES_USER (default postgres), POSTGRES_DB (default: the user),
#   POSTGRES_INITDB_ARGS, POSTGRES_HOST_AUTH_METHOD, PGDATA,
#   /docker-entrypoint-initdb.d/*.sh, *.sql, *.sql.gz (in name order),
#   and arguments: `postgres -c name=value ...`, or bare `-c ...` flags.
# On a data directory that already holds a cluster (PG_VERSION), it starts
# the server directly. The server listens on all container addresses.
set -eu

PGBIN=/usr/lib/postgresql/15/bin
: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA

# Bare flags are server arguments, as with the official image.
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
	set -- postgres "$@"
fi
if [ "$1" != postgres ]; then
	exec "$@"
fi

if [ "$(id -u)" = 0 ]; then
	# Root: prepare the data directory (an empty tmpfs is owned by root),
	# then run this script again as postgres.
	mkdir -p "$PGDATA" /var/run/postgresql
	chmod 700 "$PGDATA"
	find "$PGDATA" /var/run/postgresql \! -user postgres -exec chown postgres:postgres {} +
	exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
shift # "postgres"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	: "${POSTGRES_USER:=postgres}"
	: "${POSTGRES_DB:=$POSTGRES_USER}"
	auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
	if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
		cat >&2 <<-'MSG'
		error: the database is not initialised and POSTGRES_PASSWORD is not set.
		       Set POSTGRES_PASSWORD to a password for the superuser, or
		       POSTGRES_HOST_AUTH_METHOD=trust to allow every connection without one.
		MSG
		exit 1
	fi
	pwfile=$(mktemp)
	printf '%s\n' "${POSTGRES_PASSWORD:-}" >"$pwfile"
	# shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of flags
	"$PGBIN/initdb" -D "$PGDATA" --username="$POSTGRES_USER" --pwfile="$pwfile" \
		--auth-local=trust --auth-host="$auth" ${POSTGRES_INITDB_ARGS:-} >/dev/null
	rm -f "$pwfile"
	printf 'host all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"

	# A temporary server on the unix socket only, for the database and the
	# init scripts: clients polling TCP do not see it.
	"$PGBIN/pg_ctl" -D "$PGDATA" -w -s -o "-c listen_addresses='' -c fsync=off" start
	psql() { command psql -X -v ON_ERROR_STOP=1 --no-password --username "$POSTGRES_USER" "$@"; }
	if [ "$POSTGRES_DB" != postgres ]; then
		psql --dbname postgres --set db="$POSTGRES_DB" <<-'SQL' >/dev/null
		CREATE DATABASE :"db";
		SQL
	fi
	for f in /docker-entrypoint-initdb.d/*; do
		[ -e "$f" ] || continue
		case "$f" in
		*.sh)
			echo "$0: running $f"
			if [ -x "$f" ]; then "$f"; else . "$f"; fi
			;;
		*.sql) echo "$0: running $f"; psql --dbname "$POSTGRES_DB" -f "$f" >/dev/null ;;
		*.sql.gz) echo "$0: running $f"; gunzip -c "$f" | psql --dbname "$POSTGRES_DB" >/dev/null ;;
		*) echo "$0: ignoring $f" ;;
		esac
	done
	"$PGBIN/pg_ctl" -D "$PGDATA" -w -s -m fast stop
	echo "$0: PostgreSQL init process complete; ready for start up."
fi

exec "$PGBIN/postgres" "$@"
