// Checks real answers against the OpenAPI schemas the app's types are generated from (the service's
// exported document merged with openapi/pending/*), so a shape the app relies on cannot drift from
// what the services send. Covers the JSON Schema subset those documents use.
import { type OpenApiDocument, loadMerged } from '../scripts/openapi-merge.mjs';

type Schema = Record<string, unknown>;

export class SchemaChecker {
  readonly document: OpenApiDocument;
  constructor(readonly name: 'api' | 'agent') {
    this.document = loadMerged(name);
  }

  private resolve(schema: Schema): Schema {
    const ref = schema.$ref;
    if (typeof ref !== 'string') return schema;
    const name = ref.replace('#/components/schemas/', '');
    const target = this.document.components?.schemas?.[name];
    if (!target) throw new Error(`${this.name}: unresolved $ref ${ref}`);
    return this.resolve(target as Schema);
  }

  /** Problems found (empty when `value` fits `schema`), each with its JSON path. */
  check(value: unknown, schema: Schema, at = '$'): string[] {
    const s = this.resolve(schema);
    const problems: string[] = [];
    if (Array.isArray(s.allOf)) for (const part of s.allOf as Schema[]) problems.push(...this.check(value, part, at));
    for (const key of ['oneOf', 'anyOf'] as const) {
      if (Array.isArray(s[key])) {
        const fits = (s[key] as Schema[]).filter((option) => this.check(value, option, at).length === 0).length;
        if (fits === 0) problems.push(`${at}: ${JSON.stringify(value)?.slice(0, 80)} fits none of ${key}`);
      }
    }
    if (s.type !== undefined) {
      const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
      const actual = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
      const ok = types.some((type) => type === actual || (type === 'integer' && typeof value === 'number' && Number.isInteger(value)));
      if (!ok) return [...problems, `${at}: expected ${types.join('|')}, got ${actual} ${JSON.stringify(value)?.slice(0, 60)}`];
    }
    if (Array.isArray(s.enum) && !(s.enum as unknown[]).includes(value)) problems.push(`${at}: ${JSON.stringify(value)} not in ${JSON.stringify(s.enum)}`);
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const record = value as Record<string, unknown>;
      for (const key of (s.required as string[] | undefined) ?? []) if (!(key in record)) problems.push(`${at}: missing required ${key}`);
      const properties = (s.properties as Record<string, Schema> | undefined) ?? {};
      for (const [key, sub] of Object.entries(properties)) if (key in record) problems.push(...this.check(record[key], sub, `${at}.${key}`));
      if (s.additionalProperties === false) for (const key of Object.keys(record)) if (!(key in properties)) problems.push(`${at}: unexpected ${key}`);
    }
    if (Array.isArray(value) && s.items && typeof s.items === 'object') value.forEach((item, i) => problems.push(...this.check(item, s.items as Schema, `${at}[${i}]`)));
    return problems;
  }

  component(name: string): Schema {
    const schema = this.document.components?.schemas?.[name];
    if (!schema) throw new Error(`${this.name}: no components.schemas.${name}`);
    return schema as Schema;
  }

  /** The JSON schema of `method path`'s answer with `status` (templated path as in the document). */
  response(method: string, route: string, status: string): Schema {
    const op = (this.document.paths?.[route] as Record<string, { responses?: Record<string, { content?: Record<string, { schema?: Schema }> }> }> | undefined)?.[method];
    const schema = op?.responses?.[status]?.content?.['application/json']?.schema;
    if (!schema) throw new Error(`${this.name}: no JSON schema for ${method.toUpperCase()} ${route} ${status}`);
    return schema;
  }
}
