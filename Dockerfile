# syntax=docker/dockerfile:1
# The catwalk binary in a small image: built static (CGO_ENABLED=0) in a Go
# image, copied into Alpine (for busybox wget, the HEALTHCHECK's client, and
# sh, the one-shot setup job's), run as a non-root user.
#
#   docker build -t catwalk-reviews .
#   docker run -e DATABASE_URL=postgres://… -p 3000:3000 catwalk-reviews

FROM golang:1.26.8-alpine3.22 AS build
WORKDIR /src
# Dependencies first: this layer is reused until go.mod or go.sum changes.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/catwalk .

FROM alpine:3.22.2
RUN addgroup -S -g 10001 catwalk \
 && adduser -S -D -H -u 10001 -G catwalk catwalk \
 && mkdir /data && chown catwalk:catwalk /data
COPY --from=build /out/catwalk /usr/local/bin/catwalk
USER catwalk:catwalk
WORKDIR /data
ENV PORT=3000
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD wget -q -O /dev/null "http://127.0.0.1:${PORT}/healthz" || exit 1
ENTRYPOINT ["catwalk"]
CMD ["serve"]
