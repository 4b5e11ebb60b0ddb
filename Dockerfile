# One image for every wattline process; docker-compose.yml picks the command.
# Pinned to a patch release (no floating tag: a rebuild gets the same interpreter and Debian).
FROM python:3.11.11-slim-bookworm
WORKDIR /app
COPY pyproject.toml README.md ./
COPY sql sql
COPY ingest ingest
COPY analytics analytics
COPY dashboard dashboard
COPY wattline wattline
RUN pip install --no-cache-dir .
RUN useradd --create-home wattline && mkdir -p /app/spool && chown wattline /app/spool
USER wattline
ENTRYPOINT ["wattline"]
