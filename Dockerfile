# One image for every leadsync process; the command picks the process (see docker-compose.yml).

# The console's JavaScript (htmx, and Swagger UI for /docs) from the npm registry, pinned by
# package-lock.json; only the runtime dependencies (axe-core is for the browser tests), and no
# install scripts (one of Swagger UI's dependencies would send usage analytics).
FROM node:20-slim AS console-assets
WORKDIR /assets
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
# Dependencies first, in their own layer: source edits do not reinstall them.
RUN uv sync --frozen --no-dev --no-install-project
COPY leadsync leadsync
COPY schemas schemas
COPY mapping mapping
COPY linkedin linkedin
COPY sinks sinks
COPY ingest ingest
COPY streams streams
COPY sandbox sandbox
COPY admin admin
COPY cli cli
COPY examples examples
# admin/console/assets.py serves htmx from /app/node_modules.
COPY --from=console-assets /assets/node_modules node_modules
RUN uv sync --frozen --no-dev
ENV PATH="/app/.venv/bin:$PATH"
# The processes run as an unprivileged user in a directory it may write; the code in /app
# stays root's.
RUN useradd --system --uid 10001 leadsync && install -d -o leadsync /app/run
USER leadsync
WORKDIR /app/run
ENTRYPOINT ["leadsync"]
CMD ["--help"]
