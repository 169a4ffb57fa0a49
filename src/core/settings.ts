// What a front hands to the core: read once from action inputs or CLI flags, never from the environment
// inside the core.

export const PHASES = ['flash', 'boot', 'os-bootstrap', 'upgrade', 'install', 'join', 'addons', 'npu'] as const
export type PhaseName = (typeof PHASES)[number]

export const COMMANDS = ['validate', 'plan', 'deploy', 'drift', 'backup', 'restore', 'destroy'] as const
export type Command = (typeof COMMANDS)[number]

export interface Secrets {
  bmcPassword?: string
  sshPrivateKey?: string
  artifactRecipients: string[]
  artifactPassphrase?: string
  /** Talos secrets bundle (YAML) from the repository secret. */
  talosSecrets?: string
  /** age identity (AGE-SECRET-KEY-1…) that opens a backup for restore. */
  backupIdentity?: string
  /** A token with actions: read on `repository` (the job's github.token): downloads another run's artifact. */
  githubToken?: string
}

export interface RunSettings {
  command: Command
  /** Path of the cluster file as given (relative to workingDirectory), used in annotations. */
  configPath: string
  workingDirectory: string
  /** Restrict a deploy to these phases; undefined = all. */
  phases?: PhaseName[]
  /** Restrict a deploy to these node ids (hostnames); undefined = all. */
  nodes?: string[]
  reflash: boolean
  /** Must equal the cluster name when reflash touches a live cluster member. */
  confirm?: string
  failOnDrift: boolean
  /** Checkpoints, recorded host keys, kubeconfig/talosconfig (0600). */
  stateDir: string
  /** One URL base for every download; undefined = upstream. */
  mirror?: string
  /**
   * Replaces the committed digest catalog (src/core/tools/digests.ts). Test-only: the lab serves its own
   * bytes and hands their digests here (TPI_LAB_CATALOG); never read from a mirror.
   */
  digestCatalog?: Record<string, { sha256?: string; source: string }>
  /** Runner temp dir for plaintext files that the post step removes. */
  tempDir: string
  retentionDays?: number
  /** Overrides the BMC username of the cluster file. */
  bmcUsername?: string
  /** restore: path of the backup file (backup.tar.age of a `<cluster>-backup` artifact). */
  backupFile?: string
  /** restore: the id of a `<cluster>-backup` artifact, downloaded through deps.artifacts (instead of backupFile). */
  backupArtifactId?: number
  /** The repository (`owner/name`, GITHUB_REPOSITORY) whose artifacts of other runs restore may download. */
  repository?: string
  /** destroy: also wipe each node before powering it off. */
  wipe?: boolean
  /** Nodes working at once in a node-scoped phase after the first cluster-scoped one (default 4). */
  nodeConcurrency?: number
  /** The workflow run id (GITHUB_RUN_ID): names backups `<cluster>-<run>`. */
  runId?: string
  secrets: Secrets
}
