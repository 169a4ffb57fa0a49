// Verbatim strings from shared/notes/real-samples.md that the stand-ins must reproduce.

/** D3: k3s-io/k3s issue 6054, the agent's message when the server rejects its node password. */
export const PASSWORD_REJECTED_FOR_TESTS =
  "Waiting to retrieve agent configuration; server is not ready: Node password rejected, duplicate hostname or contents of '/etc/rancher/node/password' may not match server node-passwd entry, try enabling a unique node name with the --with-node-id flag"
