// bmcd's reply shapes: the legacy envelope {"response":[{"result":X}]} (UART reads use "uart"), and the
// bare text/plain bodies of the flash family. No trailing newline anywhere (real-samples A1).
import type { ServerResponse } from 'node:http'

/** An error the legacy handler turns into an enveloped 400/500/501. */
export class LegacyError extends Error {
  constructor(
    readonly status: 400 | 500 | 501,
    message: string
  ) {
    super(message)
  }
}

/** A flash-family error: actix's default ResponseError, 500 text/plain with the bare message. */
export class PlainError extends Error {
  constructor(
    message: string,
    readonly status = 500
  ) {
    super(message)
  }
}

export function envelope(result: unknown, key: 'result' | 'uart' = 'result'): string {
  return JSON.stringify({ response: [{ [key]: result }] })
}

export function sendJson(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) })
  res.end(body)
}

export function sendPlain(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {}
): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    ...headers
  })
  res.end(body)
}

/** 200 with an empty body (upload, cancel, POST node_info). */
export function sendEmpty(res: ServerResponse): void {
  res.writeHead(200, { 'Content-Length': 0 })
  res.end()
}
