// The REST verbs of the emulated API on the shared state: list/get/create/replace/patch/delete for every
// served resource, with the apiserver's status codes and messages. Pure over (state, request) so the
// server stays a thin HTTP layer.
import { randomBytes, randomUUID } from 'node:crypto'
import { parse as parseYaml } from 'yaml'
import {
  READY_AT,
  SelectorError,
  alreadyExists,
  materialize,
  mergePatch,
  notFound,
  parseSelector,
  status
} from './objects.mjs'
import { apiVersionOf, byPlural, objectKey, qualified } from './resources.mjs'

const NS = { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false }

function stamp(state, obj, resource, namespace, previous) {
  state.resourceVersion += 1
  obj.apiVersion = apiVersionOf(resource)
  obj.kind = resource.kind
  obj.metadata = {
    ...obj.metadata,
    ...(resource.namespaced ? { namespace } : {}),
    uid: previous?.metadata?.uid ?? randomUUID(),
    creationTimestamp: previous?.metadata?.creationTimestamp ?? new Date().toISOString(),
    resourceVersion: String(state.resourceVersion),
    generation: (previous?.metadata?.generation ?? 0) + 1
  }
  if (!resource.namespaced) delete obj.metadata.namespace
  if (resource.kind === 'Namespace') obj.status = { phase: 'Active' }
  return obj
}

/** A create or update of a group guarded by a ValidatingWebhookConfiguration fails while its service has no ready endpoint. */
function webhookRefusal(state, resource, name) {
  for (const [key, cfg] of Object.entries(state.objects)) {
    if (!key.startsWith('admissionregistration.k8s.io/validatingwebhookconfigurations/')) continue
    for (const hook of cfg.webhooks ?? []) {
      const rules = hook.rules ?? []
      if (
        !rules.some(
          (r) =>
            (r.apiGroups ?? []).includes(resource.group) &&
            ((r.resources ?? []).includes(resource.plural) || (r.resources ?? []).includes('*'))
        )
      )
        continue
      const svc = hook.clientConfig?.service
      if (!svc) continue
      const ep = state.objects[`/endpoints/${svc.namespace}/${svc.name}`]
      const ready = ep && (materialize(ep).subsets ?? []).some((s) => (s.addresses ?? []).length > 0)
      if (!ready)
        return status(
          500,
          'InternalError',
          `Internal error occurred: failed calling webhook "${hook.name}": failed to call webhook: Post "https://${svc.name}.${svc.namespace}.svc:${svc.port ?? 443}${svc.path ?? '/'}?timeout=10s": dial tcp 10.43.0.${(name.length % 200) + 20}:443: connect: connection refused`
        )
    }
  }
  return undefined
}

function nsMissing(state, resource, namespace) {
  if (!resource.namespaced) return undefined
  if (state.objects[objectKey(NS, '', namespace)]) return undefined
  return notFound('namespaces', namespace, { name: namespace, kind: 'namespaces' })
}

function details(resource, name) {
  return { name, ...(resource.group ? { group: resource.group } : {}), kind: resource.plural }
}

function parseBody(text, contentType) {
  if (!text) return undefined
  try {
    return contentType?.includes('yaml') ? parseYaml(text) : JSON.parse(text)
  } catch (e) {
    return { __invalid: e.message }
  }
}

/**
 * Handles one resource request. route: { group, version, plural, namespace?, name? }.
 * Returns { code, body } and mutates state only for successful writes (the caller persists).
 */
export function handle(state, method, route, query, rawBody, contentType) {
  const resource = byPlural(state, route.group, route.version, route.plural)
  if (!resource) return { code: 404, body: status(404, 'NotFound', 'the server could not find the requested resource') }
  const ns = resource.namespaced ? route.namespace : undefined
  const what = qualified(resource)
  if (method === 'GET' && !route.name) {
    let select
    try {
      select = parseSelector(query.get('labelSelector'))
    } catch (e) {
      if (!(e instanceof SelectorError)) throw e
      return { code: 400, body: status(400, 'BadRequest', e.message) }
    }
    const field = query.get('fieldSelector')
    const nameIs = field && /metadata\.name=([^,]+)/.exec(field)?.[1]
    const prefix = `${resource.group}/${resource.plural}/${resource.namespaced && ns ? `${ns}/` : ''}`
    const items = Object.entries(state.objects)
      .filter(
        ([k, o]) => k.startsWith(prefix) && select(o.metadata?.labels) && (!nameIs || o.metadata?.name === nameIs)
      )
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([, o]) => materialize(o))
    return {
      code: 200,
      body: {
        apiVersion: apiVersionOf(resource),
        kind: `${resource.kind}List`,
        metadata: { resourceVersion: String(state.resourceVersion) },
        items
      }
    }
  }
  if (resource.namespaced && !ns && method !== 'GET')
    return {
      code: 405,
      body: status(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`)
    }
  const body = parseBody(rawBody, contentType)
  if (body?.__invalid)
    return { code: 400, body: status(400, 'BadRequest', `the request body is not valid: ${body.__invalid}`) }
  if (method === 'POST' && !route.name) {
    if (!body?.metadata) return { code: 400, body: status(400, 'BadRequest', 'the object has no metadata') }
    const name =
      body.metadata.name ??
      (body.metadata.generateName
        ? `${body.metadata.generateName}${randomBytes(3).toString('hex').slice(0, 5)}`
        : undefined)
    if (!name)
      return {
        code: 422,
        body: status(
          422,
          'Invalid',
          `${resource.kind} "" is invalid: metadata.name: Required value: name or generateName is required`
        )
      }
    const missing = nsMissing(state, resource, ns)
    if (missing) return { code: 404, body: missing }
    const key = objectKey(resource, ns, name)
    if (state.objects[key]) return { code: 409, body: alreadyExists(what, name, details(resource, name)) }
    const refused = webhookRefusal(state, resource, name)
    if (refused) return { code: 500, body: refused }
    const obj = stamp(state, { ...body, metadata: { ...body.metadata, name } }, resource, ns)
    state.objects[key] = obj
    return { code: 201, body: materialize(obj) }
  }
  if (!route.name)
    return {
      code: 405,
      body: status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource')
    }
  const key = objectKey(resource, ns, route.name)
  const existing = state.objects[key]
  if (method === 'GET')
    return existing
      ? { code: 200, body: materialize(existing) }
      : { code: 404, body: notFound(what, route.name, details(resource, route.name)) }
  if (method === 'DELETE') {
    if (!existing) return { code: 404, body: notFound(what, route.name, details(resource, route.name)) }
    delete state.objects[key]
    if (resource.kind === 'Namespace')
      for (const k of Object.keys(state.objects))
        if (
          k.split('/')[2] === route.name &&
          k.split('/').length === 4 &&
          state.objects[k].metadata?.namespace === route.name
        )
          delete state.objects[k]
    state.resourceVersion += 1
    return {
      code: 200,
      body: { ...existing, metadata: { ...existing.metadata, deletionTimestamp: new Date().toISOString() } }
    }
  }
  if (method === 'PUT') {
    if (!existing) return { code: 404, body: notFound(what, route.name, details(resource, route.name)) }
    const rv = body?.metadata?.resourceVersion
    if (rv && rv !== existing.metadata.resourceVersion)
      return {
        code: 409,
        body: status(
          409,
          'Conflict',
          `Operation cannot be fulfilled on ${what} "${route.name}": the object has been modified; please apply your changes to the latest version and try again`,
          details(resource, route.name)
        )
      }
    const refused = webhookRefusal(state, resource, route.name)
    if (refused) return { code: 500, body: refused }
    state.objects[key] = stamp(
      state,
      { ...body, metadata: { ...body.metadata, name: route.name } },
      resource,
      ns,
      existing
    )
    return { code: 200, body: materialize(state.objects[key]) }
  }
  if (method === 'PATCH') {
    const apply = contentType?.startsWith('application/apply-patch')
    if (!apply && !/merge-patch\+json/.test(contentType ?? ''))
      return {
        code: 415,
        body: status(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml`
        )
      }
    if (apply && !query.get('fieldManager'))
      return {
        code: 422,
        body: status(
          422,
          'Invalid',
          'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch'
        )
      }
    if (!existing && !apply) return { code: 404, body: notFound(what, route.name, details(resource, route.name)) }
    if (!existing) {
      const missing = nsMissing(state, resource, ns)
      if (missing) return { code: 404, body: missing }
    }
    const refused = webhookRefusal(state, resource, route.name)
    if (refused) return { code: 500, body: refused }
    const merged = mergePatch(existing ?? {}, body ?? {})
    const unchanged = existing && JSON.stringify(merged) === JSON.stringify(existing)
    if (unchanged) return { code: 200, body: materialize(existing) }
    state.objects[key] = stamp(
      state,
      { ...merged, metadata: { ...merged.metadata, name: route.name } },
      resource,
      ns,
      existing
    )
    return { code: existing ? 200 : 201, body: materialize(state.objects[key]) }
  }
  return { code: 405, body: status(405, 'MethodNotAllowed', `method ${method} is not supported`) }
}

export { READY_AT }
