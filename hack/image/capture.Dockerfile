# The image of the inzone-capture init container (sidecar.capture.image,
# default ghcr.io/inzone-io/inzone-capture:<version>): the static inzone
# binary beside Debian's iptables, which brings both the nft and the legacy
# backends. `make image` builds the main image FROM scratch, with no package
# manager to add iptables, hence this one. Build it after `make build`:
#   docker build -f hack/image/capture.Dockerfile -t ghcr.io/inzone-io/inzone-capture:0.1.0 .
FROM debian:trixie-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends iptables \
 && rm -rf /var/lib/apt/lists/*
COPY bin/inzone /usr/local/bin/inzone
ENTRYPOINT ["inzone"]
