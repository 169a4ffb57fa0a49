#!/usr/bin/env node
// The k3s stand-in binary: `k3s --version`, `k3s server|agent` (register, then stay in the foreground
// like the real one unless K3S_STANDIN_ONESHOT=1) and `k3s kubectl ...`. The version it claims comes from
// K3S_STANDIN_VERSION, which the per-version wrapper (lab/k3s/binary.ts) sets.
// Each command loads only its own module: a `k3s kubectl get` (every drift's one cluster read) does not
// pay for the server's TLS and etcd modules (about 60 ms of CPU per call).
const kubectl = async (args) => (await import('./lib/kubectl.mjs')).kubectl(args)
const start = async (...a) => (await import('./lib/server.mjs')).start(...a)
const clusterReset = async (args) => (await import('./lib/etcd-commands.mjs')).clusterReset(args)
const etcdSnapshot = async (args) => (await import('./lib/etcd-commands.mjs')).etcdSnapshot(args)

const version = process.env.K3S_STANDIN_VERSION || 'v1.31.3+k3s1'
const [command, ...args] = process.argv.slice(2)

async function main() {
  if (command === '--version' || command === '-v' || command === 'version') {
    // Two writes, as real k3s prints its two lines: a reader that closes the pipe after the first line
    // (`| head -1`) makes the second write fail with EPIPE, and a script under pipefail sees that.
    process.stdout.write(`k3s version ${version} (6e6af988)\n`)
    await new Promise((r) => setTimeout(r, 5))
    process.stdout.write('go version go1.22.8\n')
    return 0
  }
  if (command === 'kubectl') return kubectl(args)
  if (command === 'etcd-snapshot') return etcdSnapshot(args)
  if (command === 'server' && args.some((a) => a === '--cluster-reset' || a.startsWith('--cluster-reset=')))
    return clusterReset(args)
  if (command === 'server' || command === 'agent') {
    const outcome = await start(command, version)
    if (outcome === 'fatal') return 1
    if (process.env.K3S_STANDIN_ONESHOT === '1') return 0
    // Like k3s under systemd: stay up; a rejected agent keeps "waiting" without ever registering.
    await new Promise(() => setInterval(() => {}, 1 << 30))
    return 0
  }
  process.stderr.write(`k3s stand-in: unsupported command ${command ?? '(none)'}\n`)
  return 2
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`k3s stand-in: ${error.stack ?? error}\n`)
    process.exit(1)
  }
)
