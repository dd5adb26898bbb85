/**
 * Checks on the deployment files that ship beside the code: the Kubernetes manifests, the systemd unit and the
 * Dockerfile. They read the files from the repository and compare them with the config they carry, so a probe port,
 * a grace period or a mount path that drifts from the config fails the build instead of a rollout.
 */
package dev.strait.server.deploy;
