// Every outside system the core talks to, handed in by a front (action, CLI) or by the lab and tests.
// The core never constructs one of these itself.
import type { ArtifactSink } from '../adapters/artifacts/types.js'
import type { BmcClient } from '../adapters/bmc/types.js'
import type { Downloads } from '../adapters/downloads/types.js'
import type { Readable } from 'node:stream'
import type { HttpFetch } from '../adapters/net/http.js'
import type { TcpProbe } from '../adapters/net/tcp-probe.js'
import type { AddressMap } from '../adapters/net/types.js'
import type { ExecResult, SshConnector, SshKeys } from '../adapters/ssh/types.js'
import type { Talosctl } from '../adapters/talosctl/types.js'
import type { BoardSpec } from './config/model.js'

/** Runs a program on the runner (talosctl, helm, kubectl from the tool cache). */
export type LocalExec = (
  file: string,
  args: string[],
  options?: { stdin?: string | Buffer; env?: Record<string, string>; timeoutMs?: number; cwd?: string }
) => Promise<ExecResult>

export interface Deps {
  /** A logged-in client for a board's BMC (the password comes from the settings' secrets). */
  bmc(board: BoardSpec, options?: { signal?: AbortSignal }): Promise<BmcClient>
  ssh: SshConnector
  /** Parsing the deploy key, generating node host keys. */
  keys: SshKeys
  net: AddressMap
  /** A plain TCP connect to an address already mapped through `net` (Talos API, BMC reachability). */
  tcp: TcpProbe
  downloads: Downloads
  exec: LocalExec
  /** talosctl at `binary` (the tool cache's copy), run through `exec`. */
  talosctl(options: { binary: string; cwd?: string; timeoutMs?: number }): Talosctl
  /** HTTP requests the core makes itself (the Image Factory's schematic POST). */
  http: HttpFetch
  /** A local file as an upload body, read into reused buffers so a multi-GB image keeps memory flat. */
  openFile(path: string, chunkBytes: number): Readable
  artifacts?: ArtifactSink
  sleep(ms: number): Promise<void>
}
