import { Component, type ErrorInfo, type ReactNode } from "react";

/** Shows what broke instead of a blank window, with a way back. */
export class ErrorBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  state = { error: null as Error | null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  componentDidCatch(error: Error, info: ErrorInfo) {
    console.error(error, info.componentStack);
  }

  render() {
    if (!this.state.error) return this.props.children;
    return (
      <section className="crash" data-testid="crash">
        <h1>Something in this window broke</h1>
        <p>Your projects and examples are safe: everything is saved as you work.</p>
        <pre>{String(this.state.error.stack ?? this.state.error)}</pre>
        <button onClick={() => this.setState({ error: null })}>Try again</button> <button onClick={() => location.reload()}>Reload the window</button>
      </section>
    );
  }
}
