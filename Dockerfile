# Loket: a release build on Debian, run as an unprivileged user. The database is external
# (DATABASE_URL, see docker-compose.yml); the embedded Postgres is for single-machine installs.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY migrations migrations
# The demo catalogue is compiled in (src/demo: include_str!).
COPY demo demo
COPY benches benches
COPY tests tests
RUN cargo build --release --locked --bin loket

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/loket --create-home loket
COPY --from=build /src/target/release/loket /usr/local/bin/loket
COPY web /opt/loket/web
ENV LOKET_WEB_DIR=/opt/loket/web \
    LOKET_DATA_DIR=/var/lib/loket \
    LOKET_BIND=0.0.0.0:8080
USER loket
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD ["/bin/sh", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080"]
ENTRYPOINT ["/usr/local/bin/loket"]
CMD ["serve"]
