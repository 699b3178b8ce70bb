// Types of openapi-merge.mjs for the TypeScript callers (the e2e suite).
export type OpenApiDocument = {
  info?: { title?: string };
  paths?: Record<string, Record<string, unknown>>;
  components?: { schemas?: Record<string, unknown> };
  [key: string]: unknown;
};
export const frontendRoot: string;
export function isUntypedSchema(schema: unknown): boolean;
export function mergePending(real: OpenApiDocument, pending: OpenApiDocument, label?: string): OpenApiDocument;
export function loadMerged(name: 'api' | 'agent'): OpenApiDocument;
