import { describe, expect, it } from 'vitest';
import { isUntypedSchema, mergePending } from '../../../scripts/openapi-merge.mjs';

const ok = (schema: unknown) => ({ description: 'OK', content: { 'application/json': { schema } } });
const real = {
  paths: {
    '/a': { get: { responses: { '200': ok({ type: 'object', additionalProperties: {} }) } } },
    '/b': { post: { responses: { '201': ok({}) } } },
    '/typed': { get: { responses: { '200': ok({ $ref: '#/components/schemas/T' }) } } },
  },
  components: { schemas: { T: { type: 'object', properties: { x: { type: 'string' } } } } },
};

describe('pending OpenAPI entries fill only what the service leaves undeclared', () => {
  it('recognises untyped answers', () => {
    expect(isUntypedSchema({})).toBe(true);
    expect(isUntypedSchema({ type: 'object', additionalProperties: true, title: 'Response' })).toBe(true);
    expect(isUntypedSchema({ type: 'object', properties: { a: {} } })).toBe(false);
    expect(isUntypedSchema({ $ref: '#/components/schemas/T' })).toBe(false);
  });

  it('fills untyped answers and missing bodies, replacing the untyped success statuses', () => {
    const merged = mergePending(real, {
      paths: {
        '/a': { get: { responses: { '200': ok({ $ref: '#/components/schemas/A' }) } } },
        '/b': { post: { requestBody: { content: {} }, responses: { '200': ok({ type: 'object', properties: { y: {} } }), '422': ok({}) } } },
      },
      components: { schemas: { A: { type: 'object', properties: { a: { type: 'integer' } } } } },
    });
    const paths = merged.paths as Record<string, Record<string, { responses: Record<string, unknown>; requestBody?: unknown }>>;
    expect(paths['/a']!.get!.responses['200']).toEqual(ok({ $ref: '#/components/schemas/A' }));
    expect(Object.keys(paths['/b']!.post!.responses).sort()).toEqual(['200', '422']);
    expect(paths['/b']!.post!.requestBody).toEqual({ content: {} });
    expect(Object.keys(merged.components!.schemas!).sort()).toEqual(['A', 'T']);
    expect(real.paths['/a'].get.responses['200']).toEqual(ok({ type: 'object', additionalProperties: {} })); // input untouched
  });

  it('fails, naming the entry, once the service declares the shape itself', () => {
    expect(() => mergePending(real, { paths: { '/typed': { get: { responses: { '200': ok({}) } } } } })).toThrow(/GET \/typed: the service declares its answer now/);
    expect(() => mergePending(real, { components: { schemas: { T: {} } } })).toThrow(/components.schemas.T is now declared/);
    expect(() => mergePending(real, { paths: { '/missing': { get: { responses: {} } } } })).toThrow(/does not exist/);
  });
});
