import { Component, type ReactNode } from 'react';

/** A screen that throws shows what went wrong (and a way back) instead of a blank page. */
export class ErrorBoundary extends Component<{ children: ReactNode; resetKey: string }, { error?: Error; key?: string }> {
  state: { error?: Error; key?: string } = {};
  static getDerivedStateFromError(error: Error) { return { error }; }
  static getDerivedStateFromProps(props: { resetKey: string }, state: { error?: Error; key?: string }) {
    return state.key !== props.resetKey ? { error: undefined, key: props.resetKey } : null;
  }
  componentDidCatch(error: Error) { console.error('screen failed:', error); }
  render() {
    if (this.state.error) return <div role="alert" className="error" data-testid="screen-error">This screen failed: {this.state.error.message}. <a href="/">Back to workflows</a></div>;
    return this.props.children;
  }
}
