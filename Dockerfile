FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY routing ./routing
COPY sessions ./sessions
COPY consent ./consent
COPY common ./common
RUN pip install --no-cache-dir .
ENV WAG_HOST=0.0.0.0 WAG_PORT=8080 WAG_DATA_DIR=/data WAG_LOG_FORMAT=json
EXPOSE 8080
CMD ["wa-gateway", "serve"]
