# Kiln's serving image: `kiln serve` on Debian 12, as a non-root user, with a health check.
#
#   docker build -t kiln .
#   docker run -p 8000:8000 -p 8001:8001 -v $PWD/models:/models kiln --model-repository /models
#
# Stage 1 builds kiln from this source tree with Debian's packages; stage 2 has only the binary and the
# shared libraries it needs. Nothing is downloaded at run time; models come from a mounted volume
# (Triton's layout, <name>/<version>/model.kiln) or are baked into a derived image.

FROM debian:12 AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      cmake make g++ pkg-config zlib1g-dev libssl-dev libdnnl-dev libonnx-dev libprotobuf-dev protobuf-compiler \
      nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev libutf8proc-dev \
      libcpp-httplib-dev libgrpc++-dev protobuf-compiler-grpc \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY include include
COPY src src
COPY tests tests
COPY examples examples
COPY bench bench
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DKILN_ASAN_TEST=OFF -DKILN_TSAN_TEST=OFF -DKILN_FUZZ_TEST=OFF \
    && cmake --build build -j "$(nproc)" --target kiln

FROM debian:12
RUN apt-get update && apt-get install -y --no-install-recommends \
      libdnnl2.6 libonnx1 libprotobuf32 libgomp1 libutf8proc2 libcpp-httplib0.11 libgrpc++1.51 libssl3 zlib1g curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin kiln
COPY --from=build /src/build/kiln /usr/local/bin/kiln
USER 10001
EXPOSE 8000 8001
# Listen on every interface inside the container; the platform decides what reaches it.
ENTRYPOINT ["kiln", "serve", "--host", "0.0.0.0", "--http-port", "8000", "--grpc-port", "8001"]
CMD ["--model-repository", "/models"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
  CMD curl -fsS http://127.0.0.1:8000/v2/health/ready || exit 1
