// Where restore gets the backup's (encrypted) bytes: a file on the runner, or an artifact by id downloaded
// through deps.artifacts — from this workflow run, or with the job's token from any run of the repository
// (the nightly backup's). Nothing here decrypts or trusts the bytes: the manifest checks come after.
import { readFile, rm } from 'node:fs/promises'
import { basename, isAbsolute, join } from 'node:path'
import type { PhaseContext } from '../../phases/types.js'
import { artifactNameOf, BUNDLE_FILE, PASSPHRASE_BUNDLE_FILE } from '../backup/bundle.js'

/** A reason restore stops before any change; run-restore collects these as RestoreRefused. */
export class SourceProblem extends Error {}

export async function backupBytes(ctx: PhaseContext): Promise<Buffer> {
  const { settings } = ctx
  const id = settings.backupArtifactId
  if (id !== undefined && settings.backupFile)
    throw new SourceProblem(
      `both backup (${settings.backupFile}) and backup-artifact-id (${id}) are set; set one of them`
    )
  if (id !== undefined) return fromArtifact(ctx, id)
  if (!settings.backupFile)
    throw new SourceProblem(
      `no backup given: set backup-artifact-id to the id of a ${artifactNameOf(ctx.cluster.name)} artifact (the backup run's output backup-artifact-id), or backup to the path of its ${BUNDLE_FILE}`
    )
  const path = isAbsolute(settings.backupFile)
    ? settings.backupFile
    : join(settings.workingDirectory, settings.backupFile)
  return readFile(path).catch((e: NodeJS.ErrnoException) => {
    throw new SourceProblem(`backup file ${settings.backupFile} cannot be read (${e.code ?? e.message})`)
  })
}

async function fromArtifact(ctx: PhaseContext, id: number): Promise<Buffer> {
  const { settings } = ctx
  const artifacts = ctx.deps.artifacts
  if (!artifacts?.download)
    throw new SourceProblem(
      `backup-artifact-id needs the Actions artifact service, which this run has not; download the artifact (gh run download -n ${artifactNameOf(ctx.cluster.name)}) and set backup to its ${BUNDLE_FILE}`
    )
  const token = settings.secrets.githubToken
  const from = token && settings.repository ? { repository: settings.repository, token } : undefined
  const dir = join(settings.tempDir, 'backup-download', String(id))
  try {
    const files = await artifacts.download(id, dir, from).catch((e: Error) => {
      const seen = e.message.split('\n')[0]
      throw new SourceProblem(
        `backup artifact ${id} cannot be downloaded${from ? ` from ${from.repository}` : ''} (${seen})${
          from
            ? '; is it the id of a backup artifact of this repository, and not expired?'
            : '; an artifact of another workflow run needs github-token (actions: read)'
        }`
      )
    })
    // The file the given key opens: the recipients' bundle for an identity, the passphrase one otherwise.
    const wanted = settings.secrets.backupIdentity ? BUNDLE_FILE : PASSPHRASE_BUNDLE_FILE
    const file = files.find((f) => basename(f) === wanted) ?? files.find((f) => basename(f) === BUNDLE_FILE)
    if (!file)
      throw new SourceProblem(
        `backup artifact ${id} holds ${files.map((f) => basename(f)).join(', ') || 'no file'}, not ${wanted}: expected a ${artifactNameOf(ctx.cluster.name)} artifact`
      )
    ctx.reporter.info(`backup artifact ${id}: downloaded ${basename(file)}`)
    return await readFile(file)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
