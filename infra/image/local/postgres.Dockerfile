# PostgreSQL for the compose stack where no container registry is reachable (infra/compose.local.yaml): Debian
# bookworm's postgresql-15 on the base image build-local.sh makes, with the few settings of the official image the
# compose file uses (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, data in /var/lib/postgresql/data).
ARG BASE_IMAGE=localhost/pipelines-build/debian:bookworm
FROM ${BASE_IMAGE}
RUN set -eu; export DEBIAN_FRONTEND=noninteractive; apt-get update; \
    apt-get install -y --no-install-recommends postgresql-15; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/*
COPY infra/image/local/postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
STOPSIGNAL SIGINT
EXPOSE 5432
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
