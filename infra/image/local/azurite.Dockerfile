# Azurite (the Azure Storage emulator) for the compose stack where no container registry is reachable
# (infra/compose.local.yaml): the npm package on the Node.js image build-local.sh makes from Debian packages.
ARG NODE_IMAGE=localhost/pipelines-build/node:20
FROM ${NODE_IMAGE}
RUN npm install -g --no-audit --no-fund azurite@3.35.0 && npm cache clean --force \
 && apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*
EXPOSE 10000
# tini as PID 1 passes the stop signal on to Node.js, which as PID 1 itself would ignore it.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["azurite-blob", "--blobHost", "0.0.0.0", "--blobPort", "10000", "--location", "/data"]
