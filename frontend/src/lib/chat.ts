// Chat transcript assembly from the agent's /chat SSE stream: text deltas append to the answer
// being written, tool calls appear as they start and get their result when it arrives.
import type { ChatDeltaEvent, ChatFinalEvent, ChatSessionEvent, ChatSessionMessage, ChatToolCallEvent, ChatToolResultEvent } from '../api/types.ts';

/** The fields of a stored session message (GET /agent/sessions/{id}) the transcript needs. */
export type HistoryEntry = Pick<ChatSessionMessage, 'role'> & Partial<Pick<ChatSessionMessage, 'content' | 'toolCalls' | 'toolCallId'>>;

export interface ToolPart {
  kind: 'tool';
  id: string;
  name: string;
  arguments: unknown;
  status: 'running' | 'done' | 'error';
  result?: unknown;
}

export interface TextPart {
  kind: 'text';
  text: string;
}

export type ChatPart = TextPart | ToolPart;

export interface ChatMessage {
  id: string;
  role: 'user' | 'assistant';
  parts: ChatPart[];
  /** the assistant message is still being streamed */
  streaming?: boolean;
  error?: string;
}

export interface ChatState {
  sessionId: string | null;
  messages: ChatMessage[];
  streaming: boolean;
  error: string | null;
}

export type ChatAction =
  | { type: 'reset'; sessionId: string | null }
  | { type: 'history'; sessionId: string; messages: readonly HistoryEntry[] }
  | { type: 'send'; id: string; text: string }
  | { type: 'session'; sessionId: string }
  | { type: 'delta'; text: string }
  | { type: 'toolCall'; id: string; name: string; arguments: unknown }
  | { type: 'toolResult'; id: string; result: unknown; isError: boolean }
  | { type: 'final'; content: string | null; sessionId?: string | null }
  | { type: 'error'; error: string };

export const initialChatState: ChatState = { sessionId: null, messages: [], streaming: false, error: null };

function updateStreaming(state: ChatState, update: (message: ChatMessage) => ChatMessage): ChatState {
  const last = state.messages[state.messages.length - 1];
  if (!last || last.role !== 'assistant' || !last.streaming) {
    // an event without a pending answer (e.g. a reopened stream): start one
    const fresh: ChatMessage = { id: `a-${state.messages.length}`, role: 'assistant', parts: [], streaming: true };
    return { ...state, messages: [...state.messages, update(fresh)] };
  }
  return { ...state, messages: [...state.messages.slice(0, -1), update(last)] };
}

function textOf(message: ChatMessage): string {
  return message.parts.filter((p): p is TextPart => p.kind === 'text').map((p) => p.text).join('');
}

function parseArguments(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** Stored session messages (OpenAI-style roles) → transcript; tool results are attached to their calls. */
export function historyToMessages(history: readonly HistoryEntry[]): ChatMessage[] {
  const messages: ChatMessage[] = [];
  const toolById = new Map<string, ToolPart>();
  history.forEach((entry, index) => {
    if (entry.role === 'user') {
      messages.push({ id: `h-${index}`, role: 'user', parts: [{ kind: 'text', text: entry.content ?? '' }] });
    } else if (entry.role === 'assistant') {
      const parts: ChatPart[] = [];
      for (const call of entry.toolCalls ?? []) {
        const part: ToolPart = { kind: 'tool', id: call.id, name: call.name, arguments: parseArguments(call.arguments), status: 'running' };
        toolById.set(call.id, part);
        parts.push(part);
      }
      if (entry.content) parts.push({ kind: 'text', text: entry.content });
      const previous = messages[messages.length - 1];
      // consecutive assistant turns of one answer (tool call, then the text) read as one message
      if (previous && previous.role === 'assistant') previous.parts.push(...parts);
      else messages.push({ id: `h-${index}`, role: 'assistant', parts });
    } else if (entry.role === 'tool' && entry.toolCallId) {
      const part = toolById.get(entry.toolCallId);
      if (part) {
        part.result = parseArguments(entry.content);
        part.status = 'done';
      }
    }
  });
  return messages;
}

export function chatReducer(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case 'reset':
      return { ...initialChatState, sessionId: action.sessionId };
    case 'history':
      return { sessionId: action.sessionId, messages: historyToMessages(action.messages), streaming: false, error: null };
    case 'send':
      return {
        ...state,
        streaming: true,
        error: null,
        messages: [
          ...state.messages,
          { id: action.id, role: 'user', parts: [{ kind: 'text', text: action.text }] },
          { id: `${action.id}-answer`, role: 'assistant', parts: [], streaming: true },
        ],
      };
    case 'session':
      return { ...state, sessionId: action.sessionId };
    case 'delta':
      if (!action.text) return state;
      return updateStreaming(state, (message) => {
        const last = message.parts[message.parts.length - 1];
        const parts: ChatPart[] =
          last && last.kind === 'text'
            ? [...message.parts.slice(0, -1), { kind: 'text', text: last.text + action.text }]
            : [...message.parts, { kind: 'text', text: action.text }];
        return { ...message, parts };
      });
    case 'toolCall':
      return updateStreaming(state, (message) => {
        const existing = message.parts.findIndex((p) => p.kind === 'tool' && p.id === action.id);
        const part: ToolPart = { kind: 'tool', id: action.id, name: action.name, arguments: parseArguments(action.arguments), status: 'running' };
        if (existing === -1) return { ...message, parts: [...message.parts, part] };
        const parts = message.parts.slice();
        parts[existing] = { ...(parts[existing] as ToolPart), name: action.name, arguments: part.arguments };
        return { ...message, parts };
      });
    case 'toolResult':
      return updateStreaming(state, (message) => ({
        ...message,
        parts: message.parts.map((p) =>
          p.kind === 'tool' && p.id === action.id ? { ...p, result: parseArguments(action.result), status: action.isError ? 'error' : 'done' } : p,
        ),
      }));
    case 'final': {
      const next = updateStreaming(state, (message) => {
        // the final message carries the whole answer: it wins when deltas were lost
        const streamed = textOf(message);
        const parts =
          action.content && action.content !== streamed
            ? [...message.parts.filter((p) => p.kind === 'tool'), { kind: 'text' as const, text: action.content }]
            : message.parts;
        return { ...message, parts, streaming: false };
      });
      return { ...next, streaming: false, sessionId: action.sessionId ?? next.sessionId };
    }
    case 'error': {
      const next = updateStreaming(state, (message) => ({ ...message, streaming: false, error: action.error }));
      return { ...next, streaming: false, error: action.error };
    }
    default:
      return state;
  }
}

/**
 * Maps one decoded SSE event of /agent/chat to a reducer action (null for events the transcript does
 * not show: `reasoning`, pings, unknown names). Event names and payloads are the agent's
 * (ChatSessionEvent, ChatDeltaEvent, ChatToolCallEvent, ChatToolResultEvent, ChatFinalEvent,
 * ChatErrorEvent in its OpenAPI document); fields are still checked, as the stream is not typed.
 */
export function chatEventToAction(name: string, payload: unknown): ChatAction | null {
  const data = (payload && typeof payload === 'object' ? payload : {}) as Record<string, unknown>;
  const str = (key: string): string | null => (typeof data[key] === 'string' ? (data[key] as string) : null);
  switch (name) {
    case 'session': {
      const event = data as Partial<ChatSessionEvent>;
      return typeof event.sessionId === 'string' ? { type: 'session', sessionId: event.sessionId } : null;
    }
    case 'delta':
      return { type: 'delta', text: (data as Partial<ChatDeltaEvent>).text ?? '' };
    case 'tool_call': {
      const event = data as Partial<ChatToolCallEvent>;
      return { type: 'toolCall', id: event.id ?? event.name ?? 'tool', name: event.name ?? '?', arguments: event.arguments };
    }
    case 'tool_result': {
      const event = data as Partial<ChatToolResultEvent>;
      return { type: 'toolResult', id: event.id ?? event.name ?? 'tool', result: event.result, isError: event.isError === true };
    }
    case 'final': {
      const event = data as Partial<ChatFinalEvent>;
      return { type: 'final', content: str('content'), sessionId: typeof event.sessionId === 'string' ? event.sessionId : null };
    }
    case 'error':
      return { type: 'error', error: str('error') ?? 'error' };
    default:
      return null;
  }
}
