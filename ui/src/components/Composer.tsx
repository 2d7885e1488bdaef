// The message box under a chat: Enter sends, Shift+Enter starts a new line; the buttons beside it
// (send, stop) are the caller's.
import type { ReactNode } from "react";

export function Composer({
  testId,
  value,
  onChange,
  onSend,
  placeholder,
  children,
}: {
  testId: string;
  value: string;
  onChange: (text: string) => void;
  onSend: () => void;
  placeholder: string;
  children: ReactNode;
}) {
  return (
    <form
      className="row composer"
      onSubmit={(e) => {
        e.preventDefault();
        onSend();
      }}
    >
      <textarea
        data-testid={testId}
        rows={2}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && !e.shiftKey) {
            e.preventDefault();
            onSend();
          }
        }}
        placeholder={placeholder}
      />
      {children}
    </form>
  );
}
