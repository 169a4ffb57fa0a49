// ssh2 reads the CommonJS free variables __dirname/__filename while it loads (its WASM poly1305 and the
// agent module). An ESM bundle has neither, so every entry point imports this module first: ESM evaluates
// imports in order, so these globals exist before ssh2's code runs.
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const g = globalThis as { __filename?: string; __dirname?: string }
g.__filename ??= fileURLToPath(import.meta.url)
g.__dirname ??= dirname(g.__filename)
