// Input, output and state keys in one place (kebab-case as GitHub users write them).
export enum Input {
  Command = 'command',
  Config = 'config',
  WorkingDirectory = 'working-directory',
  BmcUsername = 'bmc-username',
  BmcPassword = 'bmc-password',
  SshPrivateKey = 'ssh-private-key',
  ArtifactRecipients = 'artifact-recipients',
  ArtifactPassphrase = 'artifact-passphrase',
  TalosSecrets = 'talos-secrets',
  Phases = 'phases',
  Nodes = 'nodes',
  Reflash = 'reflash',
  Confirm = 'confirm',
  FailOnDrift = 'fail-on-drift',
  StateDir = 'state-dir',
  Mirror = 'mirror',
  RetentionDays = 'retention-days',
  NodeConcurrency = 'node-concurrency',
  Backup = 'backup',
  BackupIdentity = 'backup-identity',
  BackupArtifactId = 'backup-artifact-id',
  GithubToken = 'github-token',
  Wipe = 'wipe'
}

export enum Output {
  Plan = 'plan',
  ApiEndpoint = 'api-endpoint',
  Drift = 'drift',
  NodeStatus = 'node-status',
  SchematicId = 'schematic-id',
  KubeconfigArtifact = 'kubeconfig-artifact',
  TalosconfigArtifact = 'talosconfig-artifact',
  TalosSecretsArtifact = 'talos-secrets-artifact',
  KubeconfigArtifactId = 'kubeconfig-artifact-id',
  TalosconfigArtifactId = 'talosconfig-artifact-id',
  TalosSecretsArtifactId = 'talos-secrets-artifact-id',
  BackupArtifact = 'backup-artifact',
  BackupArtifactId = 'backup-artifact-id',
  BackupSha256 = 'backup-sha256'
}

export enum State {
  /** JSON list of plaintext files the post step deletes. */
  PlaintextFiles = 'plaintext-files',
  IsPost = 'is-post'
}
