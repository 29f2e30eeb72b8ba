# canaryd's container image: canaryd and the kubectl-canary plugin, built on Debian
# bookworm from the same Debian packages as hack/install-deps.sh, run as a non-root
# user on a slim runtime that holds only the shared libraries they link.
#
#   docker build -t canaryd:0.1.0 .
#
# Stage 1: build (Release, tests off).
FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ cmake ninja-build pkg-config \
      libboost1.81-dev libboost-url1.81-dev libyaml-cpp-dev rapidjson-dev libssl-dev \
      zlib1g-dev prometheus-cpp-dev libspdlog-dev libcli11-dev \
      libgtest-dev libgmock-dev libbenchmark-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCANARYD_BUILD_TESTS=OFF -DCANARYD_BUILD_BENCHMARKS=OFF \
 && cmake --build /build --target canaryd kubectl-canary \
 && strip /build/src/canaryd /build/src/kubectl-canary

# Stage 2: run. The runtime halves of the -dev packages above, and CA certificates for
# HTTPS to the API server and to Prometheus.
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates libboost-system1.81.0 libboost-url1.81.0 libyaml-cpp0.7 libssl3 \
      zlib1g libspdlog1.10 libfmt9 libprometheus-cpp-core1.0 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/src/canaryd /build/src/kubectl-canary /usr/local/bin/
# 65532: the "nonroot" user of distroless images; a numeric USER lets the kubelet
# check runAsNonRoot.
USER 65532:65532
EXPOSE 8080 8090
ENTRYPOINT ["/usr/local/bin/canaryd"]
CMD ["run"]
