# syntax=docker/dockerfile:1
# The one image every fnmesh component runs from: `fnmesh <component>` (controller,
# autoscaler, activator, gateway; deploy/ passes the component as the first argument).
#
#   docker build -t ghcr.io/fnmesh/fnmesh:0.1.0 .

# Build: the release binary, with the workspace's locked dependencies. The cache mounts
# (BuildKit) keep the registry and the target dir between builds; the binary is copied
# out of the cached target dir so the next stage can take it.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p fnmesh \
    && install -D target/release/fnmesh /out/fnmesh

# Run: distroless with glibc and libgcc (the binary links them dynamically), no shell,
# no package manager, as the unprivileged user 65532 that deploy/'s pods require.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/fnmesh /usr/local/bin/fnmesh
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/fnmesh"]
