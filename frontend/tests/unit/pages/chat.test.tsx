// @vitest-environment jsdom
// The chat page against a stand-in agent (under /agent, as the browser reaches it): the streamed answer,
// a tool result shown as a table (not JSON), and the note that chat orders go through approval.
import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChatFinalEvent, ChatSession, ChatSessionEvent, ChatToolCallEvent, ChatToolResultEvent } from '../../../src/api/types.ts';
import { Chat } from '../../../src/pages/Chat.tsx';
import { StandIn, renderApp } from '../support/stand-in.tsx';

const session: ChatSessionEvent = { sessionId: 'chat-1' };
const call: ChatToolCallEvent = { id: 'c1', name: 'get_positions', arguments: '{}' };
const result: ChatToolResultEvent = { id: 'c1', name: 'get_positions', isError: false, result: JSON.stringify({ positions: [{ instId: 'BTC-USDT-SWAP', pos: '1', upl: '12.5' }] }) };
const final: ChatFinalEvent = { content: 'You hold 1 BTC contract.', model: 'aitrader-offline-rules-v1', provider: 'offline', sessionId: 'chat-1', usage: { cachedInputTokens: 0, costUsd: 0, inputTokens: 1, outputTokens: 1, reasoningTokens: 0 } };
const sessions: ChatSession[] = [];

const standIn = new StandIn()
  .on('GET /api/market/tickers', { body: [] })
  .on('GET /agent/sessions', { body: sessions })
  .on('POST /agent/chat', { sse: [{ event: 'session', data: session }, { event: 'tool_call', data: call }, { event: 'tool_result', data: result }, { event: 'delta', data: { text: 'You hold 1 BTC contract.' } }, { event: 'final', data: final }] });
beforeAll(() => standIn.start());
afterAll(() => standIn.stop());
afterEach(cleanup);

describe('chat page', () => {
  it('streams the answer and shows the tool result as a table', async () => {
    renderApp(<Chat />);
    expect(screen.getByTestId('chat-note').textContent).toContain('approval');
    fireEvent.change(screen.getByRole('textbox'), { target: { value: 'What do I hold?' } });
    fireEvent.click(screen.getByRole('button', { name: 'Send' }));
    const answer = (await screen.findAllByTestId('message-assistant')).at(-1)!;
    await waitFor(() => expect(answer.textContent).toContain('You hold 1 BTC contract.'));
    const table = within(answer).getByTestId('tool-table');
    expect([...table.querySelectorAll('th')].map((th) => th.textContent)).toEqual(['instId', 'pos', 'upl']);
    expect(table.querySelector('td')?.textContent).toBe('BTC-USDT-SWAP');
    expect(JSON.parse(standIn.requests('/agent/chat')[0]!.body)).toMatchObject({ message: 'What do I hold?' });
  });
});
