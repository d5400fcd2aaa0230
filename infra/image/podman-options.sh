# Sourced by build-local.sh and the image tests: sets PODMAN_GLOBAL and PODMAN_RUN, the podman options under which
# containers start on this machine. Plain podman is tried first. Inside some sandboxes (hybrid cgroup v1/v2 hierarchy,
# no CAP_SYS_RESOURCE) crun refuses to start containers; there the cgroupfs manager, runc and rlimits no higher than
# the sandbox's own hard limits work.
PODMAN_GLOBAL=()
PODMAN_RUN=()
podman_options_probe_image=${1:-localhost/pipelines-build/debian:bookworm}
if ! podman run --rm "$podman_options_probe_image" true >/dev/null 2>&1; then
  PODMAN_GLOBAL=(--cgroup-manager=cgroupfs)
  PODMAN_RUN=(--runtime runc --ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=4096:4096)
  if ! podman "${PODMAN_GLOBAL[@]}" run --rm "${PODMAN_RUN[@]}" "$podman_options_probe_image" true >/dev/null 2>&1; then
    PODMAN_RUN=(--runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
  fi
fi
