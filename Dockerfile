# One image for the three services; the command picks the service (see docker-compose.yml).
# Apache ECharts for the dashboard, pinned by web/package-lock.json: served by reporting itself.
FROM node:20-bookworm-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 UV_PROJECT_ENVIRONMENT=/opt/venv PATH=/opt/venv/bin:$PATH
RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY shared ./shared
COPY services ./services
COPY simulator ./simulator
COPY ops ./ops
COPY --from=web /web/node_modules/echarts/dist/echarts.min.js ./web/node_modules/echarts/dist/echarts.min.js
RUN uv sync --frozen --no-dev
RUN useradd --system --uid 10001 app
USER app
ENV HTTP_HOST=0.0.0.0
CMD ["python", "-m", "services.reporting"]
