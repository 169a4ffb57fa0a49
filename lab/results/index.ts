// A fake GitHub Actions results service for @actions/artifact 6.x: the Twirp ArtifactService (snake_case
// JSON) plus Azure block-blob PUTs on the signed URL. Artifacts are kept in memory (lab data is small).
// It also answers the one REST route a download from another workflow run takes (GitHub's API, where
// GITHUB_API_URL points): GET /repos/{owner}/{repo}/actions/artifacts/{id}/zip with the job's token,
// 302 to the signed blob URL; no token or another one is 401, an unknown id or repository 404, as GitHub.
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export interface StoredArtifact {
  name: string
  id: number
  run: number
  size: number
  hash?: string
  bytes: Buffer
  mimeType?: string
  finalized: boolean
}

export type ResultsFault =
  'CreateArtifact' | 'FinalizeArtifact' | 'ListArtifacts' | 'GetSignedArtifactURL' | 'DeleteArtifact' | 'blob'

export interface ResultsService {
  url: string
  /** ACTIONS_RUNTIME_TOKEN (unsigned JWT, scp Actions.Results:run-1:job-1), ACTIONS_RESULTS_URL, GITHUB_API_URL. */
  env(): Record<string, string>
  /** The job's `github.token` (actions: read on `repository`), as a workflow passes it to an input. */
  readonly githubToken: string
  /** The repository every lab run belongs to (GITHUB_REPOSITORY). */
  readonly repository: string
  /** Finalized artifacts of every run, in upload order. */
  artifacts(): { name: string; id: number; run: number; size: number; hash?: string; bytes: Buffer }[]
  /** A new workflow run: new backend ids in env()'s token; artifact names are free again. */
  newRun(): void
  failNext(method: ResultsFault, status: number, count?: number): void
  /** Every request: method, path (no query), status. */
  requests: { method: string; path: string; status: number }[]
  stop(): Promise<void>
  close(): Promise<void>
}

const TWIRP = '/twirp/github.actions.results.api.v1.ArtifactService/'

const b64url = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url')

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

function twirpError(res: ServerResponse, status: number, code: string, msg: string): void {
  const body = JSON.stringify({ code, msg })
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) })
  res.end(body)
}

function json(res: ServerResponse, value: unknown): void {
  const body = JSON.stringify(value)
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) })
  res.end(body)
}

// What the Azure SDK expects on a successful block or block-list PUT.
function blobCreated(res: ServerResponse): void {
  res.writeHead(201, {
    ETag: `"0x${randomBytes(8).toString('hex').toUpperCase()}"`,
    'Last-Modified': new Date().toUTCString(),
    'x-ms-request-id': randomBytes(16).toString('hex'),
    'x-ms-version': '2024-11-04',
    'x-ms-request-server-encrypted': 'true',
    'Content-Length': 0
  })
  res.end()
}

/** Block ids in commit order from a <BlockList> body (Latest/Committed/Uncommitted all name staged blocks here). */
function blockIds(xml: string): string[] {
  return [...xml.matchAll(/<(?:Latest|Committed|Uncommitted)>([^<]*)<\/(?:Latest|Committed|Uncommitted)>/g)].map(
    (m) => m[1]!
  )
}

export async function startResultsService(
  options: { host?: string; port?: number; dir?: string; repository?: string } = {}
): Promise<ResultsService> {
  const host = options.host ?? '127.0.0.1'
  const repository = options.repository ?? 'lab/cluster'
  const githubToken = `ghs_${randomBytes(18).toString('base64url')}`
  const store: StoredArtifact[] = []
  const blocks = new Map<number, Map<string, Buffer>>()
  const failures = new Map<ResultsFault, { status: number; left: number }>()
  const requests: ResultsService['requests'] = []
  let nextId = 1
  // Each workflow run has its own backend ids (in the runtime token) and its own artifact names.
  let run = 1
  const RUN = (): string => `run-${run}`
  const JOB = (): string => `job-${run}`
  let url = ''

  const takeFailure = (m: ResultsFault): number | undefined => {
    const f = failures.get(m)
    if (!f) return undefined
    if (--f.left <= 0) failures.delete(m)
    return f.status
  }
  const find = (name: string): StoredArtifact | undefined => store.find((a) => a.name === name && a.run === run)
  const listed = (a: StoredArtifact): Record<string, unknown> => ({
    workflow_run_backend_id: `run-${a.run}`,
    workflow_job_run_backend_id: `job-${a.run}`,
    database_id: String(a.id),
    name: a.name,
    size: String(a.size),
    created_at: new Date().toISOString(),
    ...(a.hash ? { digest: a.hash } : {})
  })

  const twirp = async (method: string, body: Record<string, unknown>, res: ServerResponse): Promise<void> => {
    const name = typeof body.name === 'string' ? body.name : ''
    switch (method) {
      case 'CreateArtifact': {
        if (body.workflow_run_backend_id !== RUN() || body.workflow_job_run_backend_id !== JOB()) {
          return twirpError(
            res,
            400,
            'invalid_argument',
            `backend ids ${String(body.workflow_run_backend_id)}/${String(body.workflow_job_run_backend_id)} do not match the token, expected ${RUN()}/${JOB()}`
          )
        }
        const prior = find(name)
        if (prior?.finalized)
          return twirpError(
            res,
            409,
            'already_exists',
            `an artifact with this name already exists on the workflow run: ${name}`
          )
        const a: StoredArtifact = {
          name,
          id: nextId++,
          run,
          size: 0,
          bytes: Buffer.alloc(0),
          mimeType: body.mime_type as string | undefined,
          finalized: false
        }
        if (prior) store.splice(store.indexOf(prior), 1)
        store.push(a)
        return json(res, {
          ok: true,
          signed_upload_url: `${url}/blob/${a.id}?sig=${randomBytes(12).toString('base64url')}`
        })
      }
      case 'FinalizeArtifact': {
        const a = find(name)
        if (!a || a.finalized) return twirpError(res, 404, 'not_found', `no artifact ${name} waiting to be finalized`)
        const size = Number(body.size)
        if (size !== a.bytes.length)
          return twirpError(
            res,
            400,
            'invalid_argument',
            `size ${size} does not match the ${a.bytes.length} uploaded bytes`
          )
        a.size = size
        a.hash = typeof body.hash === 'string' ? body.hash : undefined
        a.finalized = true
        return json(res, { ok: true, artifact_id: String(a.id) })
      }
      case 'ListArtifacts': {
        const nameFilter = (body.name_filter as string | undefined) ?? undefined
        const idFilter = body.id_filter === undefined ? undefined : String(body.id_filter)
        const hits = store.filter(
          (a) =>
            a.finalized &&
            a.run === run &&
            (!nameFilter || a.name === nameFilter) &&
            (!idFilter || String(a.id) === idFilter)
        )
        return json(res, { artifacts: hits.map(listed) })
      }
      case 'GetSignedArtifactURL': {
        const a = find(name)
        if (!a?.finalized) return twirpError(res, 404, 'not_found', `artifact ${name} not found`)
        return json(res, { signed_url: `${url}/download/${a.id}?sig=${randomBytes(12).toString('base64url')}` })
      }
      case 'DeleteArtifact': {
        const a = find(name)
        if (!a) return twirpError(res, 404, 'not_found', `artifact ${name} not found`)
        store.splice(store.indexOf(a), 1)
        return json(res, { ok: true, artifact_id: String(a.id) })
      }
      default:
        return twirpError(res, 404, 'bad_route', `no method ${method} on ArtifactService`)
    }
  }

  const blob = async (req: IncomingMessage, res: ServerResponse, id: number, q: URLSearchParams): Promise<void> => {
    const a = store.find((x) => x.id === id && !x.finalized)
    if (!a) {
      res.writeHead(404, { 'x-ms-error-code': 'BlobNotFound' })
      return void res.end()
    }
    const body = await readBody(req)
    const staged = blocks.get(id) ?? new Map<string, Buffer>()
    blocks.set(id, staged)
    const comp = q.get('comp')
    if (comp === 'block') {
      staged.set(q.get('blockid') ?? '', body)
    } else if (comp === 'blocklist') {
      const ids = blockIds(body.toString('utf8'))
      const missing = ids.find((b) => !staged.has(b))
      if (missing !== undefined) {
        res.writeHead(400, { 'x-ms-error-code': 'InvalidBlockList' })
        return void res.end()
      }
      a.bytes = Buffer.concat(ids.map((b) => staged.get(b)!))
      blocks.delete(id)
    } else {
      a.bytes = body // single-shot Put Blob
    }
    blobCreated(res)
  }

  // Any run's finalized artifact of the repository, for a caller holding the job token (REST API).
  const restDownload = (req: IncomingMessage, res: ServerResponse, repo: string, id: number): void => {
    const rest = (status: number, message: string): void => {
      const body = JSON.stringify({ message, documentation_url: 'https://docs.github.com/rest' })
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) })
      res.end(body)
    }
    const auth = req.headers.authorization ?? ''
    if (auth !== `token ${githubToken}` && auth !== `Bearer ${githubToken}`)
      return rest(401, auth ? 'Bad credentials' : 'Requires authentication')
    const a = repo === repository ? store.find((x) => x.id === id && x.finalized) : undefined
    if (!a) return rest(404, 'Not Found')
    res.writeHead(302, {
      Location: `${url}/download/${a.id}?sig=${randomBytes(12).toString('base64url')}`,
      'Content-Length': 0
    })
    res.end()
  }

  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://results')
    let logged = false
    const log = (): void => {
      if (!logged) {
        logged = true
        requests.push({ method: req.method ?? '', path: u.pathname, status: res.writableFinished ? res.statusCode : 0 })
      }
    }
    res.on('finish', log)
    res.on('close', log)
    const handle = async (): Promise<void> => {
      if (req.method === 'POST' && u.pathname.startsWith(TWIRP)) {
        const method = u.pathname.slice(TWIRP.length)
        const injected = takeFailure(method as ResultsFault)
        const raw = await readBody(req)
        if (injected) return twirpError(res, injected, 'internal', `injected failure of ${method}`)
        let body: Record<string, unknown>
        try {
          body = JSON.parse(raw.toString('utf8') || '{}') as Record<string, unknown>
        } catch {
          return twirpError(res, 400, 'malformed', 'request body is not JSON')
        }
        return twirp(method, body, res)
      }
      const blobPath = /^\/blob\/(\d+)$/.exec(u.pathname)
      if (req.method === 'PUT' && blobPath) {
        const injected = takeFailure('blob')
        if (injected) {
          await readBody(req)
          res.writeHead(injected, { 'x-ms-error-code': 'InternalError' })
          return void res.end()
        }
        return blob(req, res, Number(blobPath[1]), u.searchParams)
      }
      const rest = /^\/repos\/([^/]+\/[^/]+)\/actions\/artifacts\/(\d+)\/zip$/.exec(u.pathname)
      if (req.method === 'GET' && rest) {
        req.resume()
        return restDownload(req, res, rest[1]!, Number(rest[2]))
      }
      const download = /^\/download\/(\d+)$/.exec(u.pathname)
      const a = download ? store.find((x) => x.id === Number(download[1]) && x.finalized) : undefined
      req.resume()
      if (req.method === 'GET' && a) {
        res.writeHead(200, {
          'Content-Type': a.mimeType ?? 'application/octet-stream',
          'Content-Length': a.bytes.length
        })
        return void res.end(a.bytes)
      }
      res.writeHead(404, { 'Content-Type': 'text/plain' })
      res.end(`no route ${req.method} ${u.pathname}`)
    }
    handle().catch((e: unknown) => {
      if (!res.headersSent) twirpError(res, 500, 'internal', (e as Error).message)
      else res.destroy()
    })
  })
  const sockets = new Set<Socket>()
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((ok, fail) => {
    server.once('error', fail)
    server.listen(options.port ?? 0, host, () => ok())
  })
  url = `http://${host}:${(server.address() as AddressInfo).port}`
  let stopped: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopped ??= new Promise<void>((ok) => {
      for (const s of sockets) s.destroy()
      server.close(() => ok())
    })
    return stopped
  }
  return {
    url,
    requests,
    githubToken,
    repository,
    env: () => ({
      GITHUB_API_URL: url,
      // Only the scp claim is read (no signature check): "Actions.Results:<run>:<job>".
      ACTIONS_RUNTIME_TOKEN: `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ scp: `Actions.ExampleScope Actions.Results:${RUN()}:${JOB()}` })}.lab`,
      ACTIONS_RESULTS_URL: `${url}/`
    }),
    artifacts: () =>
      store
        .filter((a) => a.finalized)
        .map(({ name, id, run: r, size, hash, bytes }) => ({ name, id, run: r, size, hash, bytes })),
    newRun: () => {
      run++
    },
    failNext: (method, status, count = 1) => {
      failures.set(method, { status, left: count })
    },
    stop,
    close: stop
  }
}
