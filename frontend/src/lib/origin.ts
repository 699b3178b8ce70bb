// Order / approval / refusal origins (COMMON.md interface 1): `agent:run:<runId>`, `agent:chat:<sessionId>`,
// `mcp:<tokenName>`, `manual`; older records say just `agent` or `manual`.

export type OriginKind = 'run' | 'chat' | 'mcp' | 'manual' | 'agent' | 'other';

export interface ParsedOrigin {
  kind: OriginKind;
  /** run id, chat session id or MCP token name; null for manual / agent */
  ref: string | null;
}

export function parseOrigin(origin: string | null | undefined): ParsedOrigin {
  const text = (origin ?? '').trim();
  if (text === '' || text === 'manual') return { kind: 'manual', ref: null };
  if (text === 'agent') return { kind: 'agent', ref: null };
  const match = /^(agent:run|agent:chat|mcp):(.+)$/.exec(text);
  if (!match) return { kind: 'other', ref: text };
  const kind: OriginKind = match[1] === 'agent:run' ? 'run' : match[1] === 'agent:chat' ? 'chat' : 'mcp';
  return { kind, ref: match[2]! };
}

/** Grouping for the performance page: AI analysis, AI chat, MCP client, manual. */
export type OriginGroup = 'analysis' | 'chat' | 'mcp' | 'manual' | 'other';

export function originGroup(origin: string | null | undefined): OriginGroup {
  const { kind } = parseOrigin(origin);
  if (kind === 'run' || kind === 'agent') return 'analysis';
  if (kind === 'chat') return 'chat';
  if (kind === 'mcp') return 'mcp';
  return kind === 'other' ? 'other' : 'manual';
}
