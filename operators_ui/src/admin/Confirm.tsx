// A confirmation before something that cannot be taken back (delete, deactivate, archive,
// rotate a secret): a modal <dialog>, so focus stays in it and Escape cancels.
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { t } from "../i18n";

export type ConfirmProps = {
  title: string;
  children?: ComponentChildren;
  /** The button that does it, named by what it does ("Delete", "Archive"). */
  action: string;
  danger?: boolean;
  /** Resolves when done (the dialog closes, unless it resolves to `false`: the caller shows
   * something else); a rejection keeps the dialog open and shows it. */
  run: () => Promise<unknown>;
  close: () => void;
  testid?: string;
};

export function Confirm({ title, children, action, danger = true, run, close, testid = "confirm-dialog" }: ConfirmProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const el = ref.current;
    if (el && !el.open) el.showModal?.();
  }, []);
  const go = async () => {
    setBusy(true);
    setError(null);
    try {
      if ((await run()) !== false) close();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally { setBusy(false); }
  };
  const id = `${testid}-title`;
  return (
    <dialog ref={ref} class="confirm card" data-testid={testid} aria-labelledby={id} onCancel={(e) => { e.preventDefault(); close(); }}>
      <h3 id={id}>{title}</h3>
      {children}
      {error && <p class="error" role="alert" data-testid="confirm-error">{error}</p>}
      <div class="row">
        <button class={danger ? "danger" : "primary"} data-testid="confirm-yes" disabled={busy} onClick={go}>{action}</button>
        <button data-testid="confirm-no" onClick={close}>{t("act.cancel")}</button>
      </div>
    </dialog>
  );
}
