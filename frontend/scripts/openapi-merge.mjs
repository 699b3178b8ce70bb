// Merges a "pending" OpenAPI document (openapi/pending/*.json: shapes a service returns but does not
// declare yet) into the document the service exports. A pending entry may only fill a gap — a route
// answering an untyped object, or reading a body it does not declare — so the moment the service
// declares a shape itself, the merge fails and names the entry to delete. Used by gen-api.mjs and by
// the end-to-end tests (which validate real answers against the merged schemas).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const frontendRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** `{}` or an object schema without properties (Litestar's dict[str, Any], FastAPI's dict). */
export function isUntypedSchema(schema) {
  if (!schema || typeof schema !== 'object') return true;
  const keys = Object.keys(schema).filter((k) => k !== 'title' && k !== 'description');
  if (keys.length === 0) return true;
  return schema.type === 'object' && !schema.properties && !schema.$ref && !schema.allOf && !schema.oneOf &&
    (schema.additionalProperties === undefined || schema.additionalProperties === true ||
      (typeof schema.additionalProperties === 'object' && Object.keys(schema.additionalProperties).length === 0));
}

function jsonSchemaOf(response) {
  return response?.content?.['application/json']?.schema;
}

function isSuccess(status) {
  return /^2\d\d$/.test(status);
}

/** Returns a new document: `real` with the gaps filled from `pending`. Throws listing every conflict. */
export function mergePending(real, pending, label = 'pending') {
  const merged = structuredClone(real);
  const problems = [];
  merged.components ??= {};
  merged.components.schemas ??= {};
  for (const [name, schema] of Object.entries(pending.components?.schemas ?? {})) {
    if (name in merged.components.schemas) {
      problems.push(`${label}: components.schemas.${name} is now declared by the service: delete it from the pending document`);
      continue;
    }
    merged.components.schemas[name] = schema;
  }
  for (const [route, item] of Object.entries(pending.paths ?? {})) {
    for (const method of METHODS) {
      const extra = item[method];
      if (!extra) continue;
      const op = merged.paths?.[route]?.[method];
      const where = `${label}: ${method.toUpperCase()} ${route}`;
      if (!op) {
        problems.push(`${where} does not exist in the service's document`);
        continue;
      }
      if (extra.requestBody) {
        if (op.requestBody) problems.push(`${where}: the service declares its request body now: delete requestBody from the pending document`);
        else op.requestBody = extra.requestBody;
      }
      if (extra.responses) {
        const realSuccess = Object.entries(op.responses ?? {}).filter(([status]) => isSuccess(status));
        const pendingSuccess = Object.keys(extra.responses).filter(isSuccess);
        if (pendingSuccess.length > 0) {
          if (realSuccess.some(([, response]) => !isUntypedSchema(jsonSchemaOf(response)))) {
            problems.push(`${where}: the service declares its answer now: delete its responses from the pending document`);
            continue;
          }
          for (const [status] of realSuccess) delete op.responses[status];
        }
        for (const [status, response] of Object.entries(extra.responses)) {
          if (!isSuccess(status) && op.responses?.[status] && !isUntypedSchema(jsonSchemaOf(op.responses[status]))) {
            problems.push(`${where}: the service declares its ${status} answer now: delete it from the pending document`);
            continue;
          }
          op.responses[status] = response;
        }
      }
    }
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return merged;
}

/** The merged document of one service: 'api' or 'agent'. */
export function loadMerged(name) {
  const read = (file) => JSON.parse(fs.readFileSync(path.join(frontendRoot, file), 'utf8'));
  return mergePending(read(`openapi/${name}.json`), read(`openapi/pending/${name}.json`), `openapi/pending/${name}.json`);
}
