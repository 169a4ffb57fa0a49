// After a deploy: mask, encrypt and upload the credentials a deploy produced. Plaintext stays on the
// runner (read here, never copied); only armored age files under tempDir are handed to the sink.
import { mkdir, readFile, writeFile, chmod } from 'node:fs/promises'
import { join, relative, isAbsolute } from 'node:path'
import type { ArtifactSink, UploadedArtifact } from '../../adapters/artifacts/types.js'
import type { Cluster } from '../config/model.js'
import { ConfigError, TpiError } from '../errors.js'
import type { RunOutputs } from '../phases/types.js'
import type { Reporter } from '../reporter.js'
import type { RunSettings } from '../settings.js'
import { encryptArmored } from './age.js'
import { checkArtifactSettings } from './check-settings.js'
import { maskCredential, type CredentialKind } from './mask.js'

export interface PublishContext {
  cluster: Pick<Cluster, 'name'>
  settings: Pick<RunSettings, 'secrets' | 'tempDir' | 'stateDir' | 'retentionDays'>
  outputs: Pick<RunOutputs, 'kubeconfigPath' | 'talosconfigPath' | 'talosSecretsPath'>
  reporter: Reporter
  sink: ArtifactSink
  /** scrypt work factor for passphrase files; tests lower it, production keeps the library's 18. */
  scryptWorkFactor?: number
}

export interface PublishedArtifact {
  kind: CredentialKind
  /** `<cluster>-kubeconfig`, `<cluster>-talosconfig`, `<cluster>-talos-secrets`. */
  name: string
  id?: number
  /** Encrypted files in the artifact (basenames): `<file>.age` and/or `<file>.passphrase.age`. */
  files: string[]
}

export interface PublishResult {
  artifacts: PublishedArtifact[]
  /** Plaintext credential files outside state-dir; the post step deletes them even when main failed. */
  plaintextFiles: string[]
  /** Folder of the ciphertext files (safe to keep, also deleted by the post step). */
  encryptedDir: string
}

const FILE_NAMES: Record<CredentialKind, string> = {
  kubeconfig: 'kubeconfig',
  talosconfig: 'talosconfig',
  'talos-secrets': 'secrets.yaml'
}

export function artifactName(cluster: string, kind: CredentialKind): string {
  return `${cluster}-${kind}`
}

function sources(outputs: PublishContext['outputs']): { kind: CredentialKind; path: string }[] {
  const list: { kind: CredentialKind; path: string | undefined }[] = [
    { kind: 'kubeconfig', path: outputs.kubeconfigPath },
    { kind: 'talosconfig', path: outputs.talosconfigPath },
    { kind: 'talos-secrets', path: outputs.talosSecretsPath }
  ]
  return list.filter((s): s is { kind: CredentialKind; path: string } => Boolean(s.path))
}

function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path)
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)
}

/** Masks, encrypts (one file per mode) and uploads each credential the deploy produced. */
export async function publishCredentials(ctx: PublishContext): Promise<PublishResult> {
  const { cluster, settings, reporter } = ctx
  const encryptedDir = join(settings.tempDir, 'encrypted-artifacts')
  const passphrase = settings.secrets.artifactPassphrase
  if (passphrase) reporter.secret(passphrase)

  // Read and mask everything first: nothing below may run before every mask is registered.
  const credentials: { kind: CredentialKind; path: string; text: string }[] = []
  for (const source of sources(ctx.outputs)) {
    const text = await readFile(source.path, 'utf8')
    maskCredential(reporter, source.kind, text)
    credentials.push({ ...source, text })
  }
  const plaintextFiles = credentials.map((c) => c.path).filter((p) => !inside(settings.stateDir, p))
  if (!credentials.length) return { artifacts: [], plaintextFiles, encryptedDir }

  const errors = checkArtifactSettings(settings, true).filter((i) => i.severity === 'error')
  if (errors.length) throw new ConfigError(errors)

  await mkdir(encryptedDir, { recursive: true, mode: 0o700 })
  const recipients = settings.secrets.artifactRecipients
  const artifacts: PublishedArtifact[] = []
  for (const credential of credentials) {
    const name = artifactName(cluster.name, credential.kind)
    const folder = join(encryptedDir, name)
    await mkdir(folder, { recursive: true, mode: 0o700 })
    const base = FILE_NAMES[credential.kind]
    const files: string[] = []
    if (recipients.length) files.push(await writeEncrypted(folder, `${base}.age`, credential.text, { recipients }))
    if (passphrase)
      files.push(
        await writeEncrypted(folder, `${base}.passphrase.age`, credential.text, {
          passphrase,
          scryptWorkFactor: ctx.scryptWorkFactor
        })
      )
    let uploaded: UploadedArtifact
    try {
      uploaded = await ctx.sink.upload(
        name,
        files.map((f) => join(folder, f)),
        folder,
        settings.retentionDays ? { retentionDays: settings.retentionDays } : {}
      )
    } catch (error) {
      throw new TpiError(
        'ArtifactUpload',
        `uploading artifact "${name}" (${files.join(', ')}) failed: ${(error as Error).message}`,
        {
          cause: error
        }
      )
    }
    artifacts.push({
      kind: credential.kind,
      name: uploaded.name,
      ...(uploaded.id !== undefined ? { id: uploaded.id } : {}),
      files
    })
    reporter.info(
      `artifact ${uploaded.name}: ${files.join(', ')} (age-encrypted${uploaded.id !== undefined ? `, id ${uploaded.id}` : ''}${uploaded.replaced ? '; replaced the one an earlier attempt of this run uploaded' : ''})`
    )
  }
  return { artifacts, plaintextFiles, encryptedDir }
}

async function writeEncrypted(
  folder: string,
  file: string,
  plaintext: string,
  options: { recipients?: string[]; passphrase?: string; scryptWorkFactor?: number }
): Promise<string> {
  const path = join(folder, file)
  await writeFile(path, await encryptArmored(plaintext, options), { mode: 0o600 })
  await chmod(path, 0o600)
  return file
}

/** Key in RunOutputs.values under which publishForRun leaves its PublishResult for the front. */
export const PUBLISHED_KEY = 'publishedCredentials'

/**
 * The Engine.publish hook: publishes with the run's artifact sink and leaves the result (artifact
 * names for outputs, plaintext files for the post step) in ctx.outputs.values[PUBLISHED_KEY].
 * Without a sink (a front that uploads nothing) credentials stay where the phases wrote them.
 */
export async function publishForRun(ctx: {
  cluster: Pick<Cluster, 'name'>
  settings: PublishContext['settings']
  outputs: RunOutputs
  reporter: Reporter
  deps: { artifacts?: ArtifactSink }
}): Promise<PublishResult | undefined> {
  if (!ctx.deps.artifacts) {
    if (ctx.outputs.kubeconfigPath || ctx.outputs.talosconfigPath || ctx.outputs.talosSecretsPath)
      ctx.reporter.info('no artifact destination configured: credentials were not uploaded')
    return undefined
  }
  const result = await publishCredentials({ ...ctx, sink: ctx.deps.artifacts })
  ctx.outputs.values[PUBLISHED_KEY] = result
  return result
}
