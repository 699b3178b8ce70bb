import { useEffect, useReducer, useRef, useState } from 'react';
import { AGENT_PREFIX, agent, apiUrl, unwrap } from '../api/client.ts';
import { fetchSse } from '../api/sse-fetch.ts';
import type { ChatSession } from '../api/types.ts';
import { JsonBlock } from '../components/RunDetail.tsx';
import { ToolResult } from '../components/ToolResult.tsx';
import { DataState, ErrorBox } from '../components/State.tsx';
import { useApiData } from '../hooks/useApiData.ts';
import { useI18n } from '../i18n.tsx';
import { type ChatMessage, chatEventToAction, chatReducer, initialChatState } from '../lib/chat.ts';
import { formatDateTime } from '../lib/format.ts';

export function Chat() {
  const { t } = useI18n();
  const [state, dispatch] = useReducer(chatReducer, initialChatState);
  const [input, setInput] = useState('');
  const [loadError, setLoadError] = useState<Error | null>(null);
  const sessions = useApiData<ChatSession[]>((signal) => unwrap(agent.GET('/sessions', { params: { query: { limit: 50 } }, signal })), 'chat-sessions');
  const streamRef = useRef<AbortController | null>(null);
  const bottom = useRef<HTMLDivElement>(null);

  useEffect(() => () => streamRef.current?.abort(), []);
  useEffect(() => {
    // braces matter: newer browsers return a Promise from scrollIntoView, and an effect may return only a cleanup
    bottom.current?.scrollIntoView?.({ block: 'end' });
  }, [state.messages]);

  const openSession = async (id: string) => {
    streamRef.current?.abort();
    setLoadError(null);
    try {
      const detail = await unwrap(agent.GET('/sessions/{session_id}', { params: { path: { session_id: id } } }));
      dispatch({ type: 'history', sessionId: detail.id, messages: detail.messages });
    } catch (error) {
      setLoadError(error as Error);
    }
  };

  const send = async () => {
    const text = input.trim();
    if (!text || state.streaming) return;
    setInput('');
    const controller = new AbortController();
    streamRef.current = controller;
    dispatch({ type: 'send', id: `u-${Date.now()}`, text });
    let finished = false;
    try {
      await fetchSse(apiUrl(AGENT_PREFIX + '/chat'), { method: 'POST', body: { message: text, sessionId: state.sessionId }, signal: controller.signal }, {
        onEvent: (name, payload) => {
          const action = chatEventToAction(name, payload);
          if (!action) return;
          if (action.type === 'final' || action.type === 'error') finished = true;
          dispatch(action);
        },
      });
      if (!finished) dispatch({ type: 'final', content: null });
    } catch (error) {
      if ((error as Error).name === 'AbortError') dispatch({ type: 'final', content: null });
      else dispatch({ type: 'error', error: (error as Error).message });
    } finally {
      streamRef.current = null;
      sessions.reload();
    }
  };

  return (
    <div className="page chat">
      <aside className="panel chat-sessions">
        <header className="panel-head">
          <h2>{t('chat.sessions')}</h2>
          <button type="button" className="btn btn-small" onClick={() => { streamRef.current?.abort(); dispatch({ type: 'reset', sessionId: null }); }}>
            {t('chat.newSession')}
          </button>
        </header>
        <DataState data={sessions.data} error={sessions.error} loading={sessions.loading} reload={sessions.reload} isEmpty={(d) => d.length === 0} empty={t('chat.noSessions')}>
          {(list) => (
            <ul className="session-list" data-testid="chat-sessions">
              {list.map((s) => (
                <li key={s.id}>
                  <button type="button" className={`session ${s.id === state.sessionId ? 'selected' : ''}`} onClick={() => void openSession(s.id)}>
                    <span className="session-title">{s.title || s.instId || s.id.slice(0, 8)}</span>
                    <span className="muted small">{s.kind} · {formatDateTime(s.updatedAt)}</span>
                  </button>
                </li>
              ))}
            </ul>
          )}
        </DataState>
      </aside>
      <section className="panel chat-main">
        <header className="panel-head"><h2>{t('chat.title')}</h2></header>
        {loadError && <ErrorBox error={loadError} />}
        <div className="transcript" data-testid="chat-transcript" aria-live="polite">
          {state.messages.length === 0 && <p className="muted">{t('chat.empty')}</p>}
          {state.messages.map((message) => <MessageView key={message.id} message={message} />)}
          <div ref={bottom} />
        </div>
        {state.error && <div className="state state-error" role="alert">{state.error}</div>}
        <p className="muted small" data-testid="chat-note">{t('chat.approvalNote')}</p>
        <form className="chat-input" onSubmit={(e) => { e.preventDefault(); void send(); }}>
          <textarea
            value={input}
            placeholder={t('chat.placeholder')}
            aria-label={t('chat.placeholder')}
            onChange={(e) => setInput(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
                e.preventDefault();
                void send();
              }
            }}
            rows={2}
          />
          {state.streaming ? (
            <button type="button" className="btn btn-danger" onClick={() => streamRef.current?.abort()}>{t('chat.stop')}</button>
          ) : (
            <button type="submit" className="btn btn-primary" disabled={!input.trim()}>{t('chat.send')}</button>
          )}
        </form>
      </section>
    </div>
  );
}

function MessageView({ message }: { message: ChatMessage }) {
  const { t } = useI18n();
  return (
    <div className={`message message-${message.role}`} data-testid={`message-${message.role}`}>
      {message.parts.map((part, index) =>
        part.kind === 'text' ? (
          <div key={index} className="message-text">{part.text}</div>
        ) : (
          <details key={part.id} className={`tool-call tool-${part.status}`} data-testid="tool-call">
            <summary>
              {t('chat.tool')} <code>{part.name}</code> {part.status === 'running' ? <span className="pulse">{t('chat.toolRunning')}</span> : part.status === 'error' ? '✕' : '✓'}
            </summary>
            <JsonBlock value={part.arguments} />
            <ToolResult value={part.result} />
          </details>
        ),
      )}
      {message.streaming && <span className="pulse small">{t('chat.writing')}</span>}
      {message.error && <div className="down small">{message.error}</div>}
    </div>
  );
}
