# syntax=docker/dockerfile:1
#
# LlamaWrapper Gateway with its own llama-server, built from the llama.cpp source that the pinned
# node-llama-cpp npm package ships (`llamawrapper setup`). See docs/deploy.md, "Docker".
#
#   docker build -t llamawrapper .                          # CPU (the default)
#   docker build -t llamawrapper:cuda --build-arg BACKEND=cuda .
#
#   docker run --rm -p 8080:8080 --stop-timeout 40 \
#     -v "$PWD/models:/models:ro" \
#     -v "$PWD/deploy/docker/config.yaml:/etc/llamawrapper/config.yaml:ro" \
#     -e LLAMAWRAPPER_API_KEY=sk-... -e LLAMAWRAPPER_ADMIN_KEY=sk-... llamawrapper
#
# Stages: build (TypeScript → dist/), prod-deps (node_modules without dev dependencies),
# toolchain-cpu | toolchain-cuda → llama-build (llama-server), runtime-cpu | runtime-cuda →
# runtime (the image). BuildKit builds only the stages the chosen BACKEND needs.

# cpu or cuda: which llama-server is built, and on which base images.
ARG BACKEND=cpu
# Node.js 20 (package.json: engines >= 20.19), Debian 12 "bookworm".
ARG NODE_VERSION=20.20
# The CUDA variant: a -devel image to build llama-server, the matching -runtime image to run it.
ARG CUDA_VERSION=12.6.3
ARG CUDA_UBUNTU=ubuntu24.04

# ---------------------------------------------------------------------------------------------
# The gateway's JavaScript: dev dependencies (TypeScript) and `npm run build`.
FROM node:${NODE_VERSION}-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are here; the build runs below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# The dependencies the gateway needs at run time, and nothing else.
FROM node:${NODE_VERSION}-bookworm AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` (tsc) is a dev tool and is not installed here.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# ---------------------------------------------------------------------------------------------
# Toolchains for llama-server: what `llamawrapper setup` needs (git, cmake, ninja, a C++
# compiler, tar, and npm to fetch the source), plus nvcc for CUDA.
FROM node:${NODE_VERSION}-bookworm AS toolchain-cpu
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake ninja-build g++ git \
 && rm -rf /var/lib/apt/lists/*

FROM nvidia/cuda:${CUDA_VERSION}-devel-${CUDA_UBUNTU} AS toolchain-cuda
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake ninja-build g++ git ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# Node.js and npm from the official image (its binaries need glibc >= 2.28; Ubuntu 24.04 has 2.39).
COPY --from=build /usr/local/bin/node /usr/local/bin/node
COPY --from=build /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && node --version && npm --version

FROM toolchain-${BACKEND} AS llama-build
ARG BACKEND
# CPU code generation. llama.cpp optimizes for the build machine (-march=native) unless
# SOURCE_DATE_EPOCH is set; an image runs elsewhere, so the default is portable: x86-64-v3
# (AVX2, FMA, F16C: Intel Haswell / AMD Excavator and later). "native" = the build machine's
# CPU (fastest, but the image may die with SIGILL on an older CPU); "" = the compiler's
# default (baseline x86-64 or armv8-a: runs anywhere, slow).
ARG LLAMA_CPU_ARCH=x86-64-v3
# CUDA: the GPU architectures to compile for (CMake's CUDAARCHS, e.g. "90" for H100/H200,
# "86;89" for RTX 30xx/40xx). Empty: llama.cpp's portable list (long build).
ARG CUDA_ARCHITECTURES=
ENV LLAMAWRAPPER_CACHE=/opt/llamawrapper-build
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# `setup` prints the path of the binary it built; it is copied with the shared libraries it
# links that are not in the runtime image (none for CPU: it needs only libc, libstdc++,
# libgcc_s, libm and libgomp; CUDA's libcudart/libcublas come with the -runtime image and
# libcuda.so.1 with the NVIDIA container toolkit at run time).
RUN set -eu; \
    if [ "$LLAMA_CPU_ARCH" != "native" ]; then \
      export SOURCE_DATE_EPOCH=0; \
      if [ -n "$LLAMA_CPU_ARCH" ]; then \
        export CFLAGS="-march=$LLAMA_CPU_ARCH" CXXFLAGS="-march=$LLAMA_CPU_ARCH"; \
      fi; \
    fi; \
    if [ -n "$CUDA_ARCHITECTURES" ]; then export CUDAARCHS="$CUDA_ARCHITECTURES"; fi; \
    if [ "$BACKEND" = "cuda" ]; then flag=--cuda; else flag=; fi; \
    binary="$(node dist/src/cli/bin.js setup $flag)"; \
    mkdir -p /opt/llama/bin; \
    cp "$binary" /opt/llama/bin/llama-server; \
    ldd /opt/llama/bin/llama-server; \
    rm -rf "$LLAMAWRAPPER_CACHE"

# ---------------------------------------------------------------------------------------------
# Runtime bases: Node.js 20 on Debian slim, or the CUDA runtime with Node.js copied in.
FROM node:${NODE_VERSION}-bookworm-slim AS runtime-cpu

FROM nvidia/cuda:${CUDA_VERSION}-runtime-${CUDA_UBUNTU} AS runtime-cuda
COPY --from=build /usr/local/bin/node /usr/local/bin/node

FROM runtime-${BACKEND} AS runtime
# util-linux: setpriv, which starts each llama-server with --pdeathsig KILL (children die with
# the gateway). tini: PID 1, so that processes orphaned inside the container (grandchildren of
# `cmd:` wrapper scripts) are reaped; it forwards SIGTERM to the gateway, which drains itself.
# libgomp1: llama-server's OpenMP runtime. ca-certificates: rediss:// and other TLS.
RUN apt-get update \
 && apt-get install -y --no-install-recommends util-linux tini libgomp1 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && setpriv --version

WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=llama-build /opt/llama/bin/llama-server /usr/local/bin/llama-server
# What package.json "files" lists besides dist/src (the dashboard page is served from dashboard/).
COPY package.json config.example.yaml config.schema.json ./
COPY dashboard ./dashboard
COPY docs ./docs
COPY deploy/docker/config.yaml /etc/llamawrapper/config.yaml

# Every shared library llama-server links must resolve (libcuda.so.1 comes at run time);
# the CPU build also proves it starts.
RUN set -eu; \
    ldd /usr/local/bin/llama-server; \
    if ldd /usr/local/bin/llama-server | grep 'not found' | grep -v 'libcuda\.so'; then exit 1; fi; \
    if ! ldd /usr/local/bin/llama-server | grep -q 'libcuda\.so'; then llama-server --version; fi; \
    chmod 0755 /app/dist/src/cli/bin.js; \
    ln -s /app/dist/src/cli/bin.js /usr/local/bin/llamawrapper; \
    llamawrapper --version

# A fixed non-root user (uid 10001): give it read access to the models, and to key files.
RUN groupadd --system --gid 10001 llamawrapper \
 && useradd --system --uid 10001 --gid llamawrapper --home-dir /var/cache/llamawrapper \
      --shell /usr/sbin/nologin llamawrapper \
 && mkdir -p /var/cache/llamawrapper /models \
 && chown llamawrapper:llamawrapper /var/cache/llamawrapper

# The build cache's place, and the gateway's: runtime records (orphan reaping) and saved slot
# caches (kvCache). Per container: never share it between replicas (docs/deploy.md).
ENV LLAMAWRAPPER_CACHE=/var/cache/llamawrapper
VOLUME /models
EXPOSE 8080
USER llamawrapper:llamawrapper
# /health is the gateway's own health: 200, or 503 (or a refused connection) while it drains.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/health').then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))"]
# SIGTERM starts the drain (server.shutdownTimeout, 30 s); give the container longer than that
# to stop: `docker stop -t 40`, `docker run --stop-timeout 40`, compose `stop_grace_period: 40s`.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/src/cli/bin.js"]
CMD ["serve", "--config", "/etc/llamawrapper/config.yaml"]
