# Build: docker build -t metastudio_exporter .
# Run:   docker run -p 10036:10036 -v $PWD/metastudio.yml:/etc/metastudio_exporter/metastudio.yml:ro metastudio_exporter
#        docker run -p 10036:10036 metastudio_exporter --demo

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first, so that a code change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG REVISION=unknown
# CGO_ENABLED=0 gives a static binary that runs on distroless/static.
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w \
        -X github.com/prometheus/common/version.Version=${VERSION} \
        -X github.com/prometheus/common/version.Revision=${REVISION} \
        -X github.com/prometheus/common/version.Branch=main" \
      -o /out/metastudio_exporter .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/metastudio_exporter /bin/metastudio_exporter
# 65532 is distroless' "nonroot"; the exporter needs no privileges.
USER 65532:65532
# 10036: /metrics and the other HTTP endpoints; 10037: the live-event receiver
# (--callback.listen-address=:10037), when it is on.
EXPOSE 10036 10037
ENTRYPOINT ["/bin/metastudio_exporter"]
CMD ["--config.file=/etc/metastudio_exporter/metastudio.yml"]
