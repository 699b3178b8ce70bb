import { Component, type ReactNode } from 'react';

/**
 * A screen that throws while rendering shows its error (and a way back) instead of blanking the
 * whole app; the top bar, the stream and the other screens keep working. `resetKey` (the route)
 * clears the error when the user moves on.
 */
export class ErrorBoundary extends Component<{ resetKey: string; title: string; retry: string; children: ReactNode }, { error: Error | null; key: string }> {
  state = { error: null as Error | null, key: this.props.resetKey };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  static getDerivedStateFromProps(props: { resetKey: string }, state: { error: Error | null; key: string }) {
    return props.resetKey !== state.key ? { error: null, key: props.resetKey } : null;
  }

  render() {
    if (!this.state.error) return this.props.children;
    return (
      <div className="page">
        <div className="state state-error" role="alert" data-testid="screen-error">
          <span>{this.props.title}: {this.state.error.message}</span>
          <button type="button" className="btn btn-small" onClick={() => this.setState({ error: null })}>{this.props.retry}</button>
        </div>
      </div>
    );
  }
}
