import { describe, expect, it } from 'vitest';
import { type ChatAction, type ChatState, chatEventToAction, chatReducer, historyToMessages, initialChatState } from '../../../src/lib/chat.ts';

const play = (actions: ChatAction[], start: ChatState = initialChatState) => actions.reduce(chatReducer, start);

describe('chat stream assembly', () => {
  it('appends deltas to the answer being written and ends it on final', () => {
    const state = play([
      { type: 'send', id: 'u1', text: 'BTC?' },
      { type: 'session', sessionId: 's1' },
      { type: 'delta', text: 'BTC is ' },
      { type: 'delta', text: '' },
      { type: 'delta', text: 'up.' },
      { type: 'final', content: 'BTC is up.', sessionId: 's1' },
    ]);
    expect(state.sessionId).toBe('s1');
    expect(state.streaming).toBe(false);
    expect(state.messages).toHaveLength(2);
    expect(state.messages[0]).toMatchObject({ role: 'user', parts: [{ kind: 'text', text: 'BTC?' }] });
    expect(state.messages[1]).toMatchObject({ role: 'assistant', streaming: false, parts: [{ kind: 'text', text: 'BTC is up.' }] });
  });

  it('shows tool calls as they start and fills in their results, between text parts', () => {
    const state = play([
      { type: 'send', id: 'u1', text: 'price?' },
      { type: 'delta', text: 'Checking.' },
      { type: 'toolCall', id: 'c1', name: 'get_ticker', arguments: '{"instId":"BTC-USDT-SWAP"}' },
      { type: 'toolCall', id: 'c2', name: 'get_balance', arguments: {} },
    ]);
    const answer = state.messages[1]!;
    expect(answer.streaming).toBe(true);
    expect(answer.parts).toEqual([
      { kind: 'text', text: 'Checking.' },
      { kind: 'tool', id: 'c1', name: 'get_ticker', arguments: { instId: 'BTC-USDT-SWAP' }, status: 'running' },
      { kind: 'tool', id: 'c2', name: 'get_balance', arguments: {}, status: 'running' },
    ]);
    const after = play([
      { type: 'toolResult', id: 'c2', result: '{"totalEq":"100"}', isError: false },
      { type: 'toolResult', id: 'c1', result: 'timeout', isError: true },
      { type: 'delta', text: 'Done' },
    ], state);
    expect(after.messages[1]!.parts).toEqual([
      { kind: 'text', text: 'Checking.' },
      { kind: 'tool', id: 'c1', name: 'get_ticker', arguments: { instId: 'BTC-USDT-SWAP' }, status: 'error', result: 'timeout' },
      { kind: 'tool', id: 'c2', name: 'get_balance', arguments: {}, status: 'done', result: { totalEq: '100' } },
      { kind: 'text', text: 'Done' },
    ]);
  });

  it('lets the final message win when deltas were lost, keeping the tool calls', () => {
    const state = play([
      { type: 'send', id: 'u1', text: 'hi' },
      { type: 'toolCall', id: 'c1', name: 't', arguments: null },
      { type: 'delta', text: 'Hel' },
      { type: 'final', content: 'Hello there' },
    ]);
    expect(state.messages[1]!.parts.map((p) => p.kind)).toEqual(['tool', 'text']);
    expect(state.messages[1]!.parts[1]).toEqual({ kind: 'text', text: 'Hello there' });
  });

  it('records an error on the answer and stops streaming', () => {
    const state = play([{ type: 'send', id: 'u1', text: 'hi' }, { type: 'delta', text: 'Hm' }, { type: 'error', error: 'model timeout' }]);
    expect(state.streaming).toBe(false);
    expect(state.error).toBe('model timeout');
    expect(state.messages[1]).toMatchObject({ streaming: false, error: 'model timeout', parts: [{ kind: 'text', text: 'Hm' }] });
  });

  it('a new conversation starts empty; reset keeps nothing', () => {
    const state = play([{ type: 'send', id: 'u1', text: 'hi' }, { type: 'reset', sessionId: null }]);
    expect(state).toEqual(initialChatState);
  });
});

describe('stored sessions', () => {
  it('rebuild the transcript with tool results attached to their calls', () => {
    const messages = historyToMessages([
      { role: 'system', content: 'You are…' },
      { role: 'user', content: 'Open a long' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'place_order', arguments: '{"side":"buy"}' }] },
      { role: 'tool', content: '{"ordId":"1"}', toolCallId: 'c1' },
      { role: 'assistant', content: 'Done: long 1 contract.' },
      { role: 'user', content: 'Thanks' },
    ]);
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(messages[1]!.parts).toEqual([
      { kind: 'tool', id: 'c1', name: 'place_order', arguments: { side: 'buy' }, status: 'done', result: { ordId: '1' } },
      { kind: 'text', text: 'Done: long 1 contract.' },
    ]);
    const state = chatReducer(initialChatState, { type: 'history', sessionId: 's9', messages: [{ role: 'user', content: 'x' }] });
    expect(state).toMatchObject({ sessionId: 's9', streaming: false, messages: [{ role: 'user' }] });
  });
});

describe('agent SSE events → actions', () => {
  it('maps every event the agent sends', () => {
    expect(chatEventToAction('session', { sessionId: 's1' })).toEqual({ type: 'session', sessionId: 's1' });
    expect(chatEventToAction('delta', { text: 'a' })).toEqual({ type: 'delta', text: 'a' });
    expect(chatEventToAction('tool_call', { id: 'c', name: 'n', arguments: '{"a":1}' })).toEqual({ type: 'toolCall', id: 'c', name: 'n', arguments: '{"a":1}' });
    expect(chatEventToAction('tool_result', { id: 'c', name: 'n', result: 'no such order', isError: true })).toEqual({ type: 'toolResult', id: 'c', result: 'no such order', isError: true });
    expect(chatEventToAction('reasoning', { text: 'hmm' })).toBeNull();
    expect(chatEventToAction('final', { sessionId: 's1', content: 'x' })).toEqual({ type: 'final', content: 'x', sessionId: 's1' });
    expect(chatEventToAction('error', { error: 'boom' })).toEqual({ type: 'error', error: 'boom' });
    expect(chatEventToAction('session', {})).toBeNull();
    expect(chatEventToAction('ping', {})).toBeNull();
  });
});
