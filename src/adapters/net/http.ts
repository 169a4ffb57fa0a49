// The HTTP requests the core makes itself (today: the Image Factory's schematic POST); downloads have
// their own adapter (src/adapters/downloads). Real one: Node's fetch.

export interface HttpRequest {
  method: string
  headers: Record<string, string>
  body: string
  signal?: AbortSignal
}

export interface HttpAnswer {
  ok: boolean
  status: number
  text(): Promise<string>
}

export type HttpFetch = (url: string, init: HttpRequest) => Promise<HttpAnswer>

export const httpFetch: HttpFetch = (url, init) => fetch(url, init)
