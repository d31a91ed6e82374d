# syntax=docker/dockerfile:1
# The fraiseql-wire command-line tool on a slim base, as a non-root user.
#   docker buildx build --platform linux/amd64,linux/arm64 -t fraiseql-wire .
#   docker run --rm fraiseql-wire stream app.v_project --url postgres://user@db/app

ARG RUST_VERSION=1.85

FROM rust:${RUST_VERSION}-slim-bookworm AS build
WORKDIR /src
COPY . .
# Only the client crate with its `cli` feature: the workspace's tests and benches are not needed.
RUN cargo build --locked --release -p fraiseql-wire --features cli --bin fraiseql-wire \
    && cp target/release/fraiseql-wire /usr/local/bin/fraiseql-wire

FROM debian:bookworm-slim
# ca-certificates: sslrootcert=system reads the platform's roots.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates=20230311+deb12u1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --create-home fraiseql
COPY --from=build /usr/local/bin/fraiseql-wire /usr/local/bin/fraiseql-wire
USER 10001
ENTRYPOINT ["/usr/local/bin/fraiseql-wire"]
CMD ["--help"]
