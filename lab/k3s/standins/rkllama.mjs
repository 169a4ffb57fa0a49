#!/usr/bin/env node
// rkllama stand-in: `rkllama serve [--port N]` answers GET /api/tags (Ollama shape, compact JSON with
// sorted keys, empty digest, format rkllm, as real rkllama does) and GET /models (directory names) from
// the models folder. It refuses to start without librkllmrt.so, like the real server's import fails.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { createServer } from 'node:http'
import { join } from 'node:path'

const args = process.argv.slice(2)
if (args[0] !== 'serve') {
  process.stderr.write(`rkllama stand-in: only "serve" is emulated (got ${args.join(' ') || 'nothing'})\n`)
  process.exit(2)
}
const portAt = args.indexOf('--port')
const port = portAt >= 0 ? Number(args[portAt + 1]) : 8080
const host = process.env.TPI_NODE_ADDR || '0.0.0.0'
const modelsDir = process.env.RKLLAMA_MODELS || '/opt/rkllama/models'
if (!existsSync('/usr/local/lib/librkllmrt.so')) {
  process.stderr.write('OSError: librkllmrt.so: cannot open shared object file: No such file or directory\n')
  process.exit(1)
}

function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys(value[k])])
    )
  return value
}

function models() {
  if (!existsSync(modelsDir)) return []
  return readdirSync(modelsDir)
    .filter((name) => existsSync(join(modelsDir, name, 'Modelfile')))
    .sort()
    .map((name) => {
      const from = /^FROM="([^"]+)"/m.exec(readFileSync(join(modelsDir, name, 'Modelfile'), 'utf8'))?.[1] ?? ''
      const file = join(modelsDir, name, from)
      const stat = existsSync(file) ? statSync(file) : undefined
      return {
        details: {
          family: 'llama',
          format: 'rkllm',
          parameter_size: '3B',
          quantization_level: /w4a16/i.test(from) ? 'Q4_0' : 'Q8_0'
        },
        digest: '',
        model: name,
        modified_at: (stat?.mtime ?? new Date(0)).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z'),
        name,
        size: stat?.size ?? 0
      }
    })
}

const server = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0]
  if (req.method === 'GET' && path === '/api/tags') {
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify(sortKeys({ models: models() })) + '\n')
  } else if (req.method === 'GET' && path === '/models') {
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ models: models().map((m) => m.name) }) + '\n')
  } else {
    res.writeHead(404, { 'content-type': 'text/html' }).end('<!doctype html>\n<title>404 Not Found</title>\n')
  }
})
server.listen(port, host, () => process.stderr.write(`rkllama stand-in listening on ${host}:${port}\n`))
