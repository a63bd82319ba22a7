// In-place editing of one field of a CRM record (docs/crm.md, "Editing"): the value with an
// Edit button; editing shows a labelled control, Save sends the one field (PATCH), and the
// hub's refusal is shown at the field. Escape cancels.
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { errorText, fieldError } from "../api/http";
import { t } from "../i18n";

export type Option = { value: string; label: string };
export type FieldKind = "text" | "number" | "textarea" | "select" | "list";
type Value = string | number | string[] | null;

type Props = {
  name: string;
  label: string;
  value: Value;
  kind?: FieldKind;
  /** The value as shown (default: the value itself, "—" when empty). */
  display?: ComponentChildren;
  options?: Option[];
  /** A select's "none" choice (sent as null); without it the select has no empty choice. */
  none?: string;
  inputType?: string;
  maxLength?: number;
  editable: boolean;
  save: (value: Value) => Promise<unknown>;
};

/** A ref that focuses its element once, when it appears (a confirmation that replaced the
 * button the user pressed: the keyboard focus moves on to it). Stable, so it runs once. */
export const focusOnMount = (el: HTMLElement | null): void => { el?.focus(); };

/** What a refusal says, in the user's language (the field's own problem when it names one). */
export const message = (err: unknown, field?: string): string =>
  (field ? fieldError(err, field) : null) || errorText(err);

function initial(kind: FieldKind, value: Value): string | string[] {
  if (kind === "list") return Array.isArray(value) && value.length ? [...value] : [""];
  return value == null ? "" : String(value);
}

function parsed(kind: FieldKind, draft: string | string[]): Value {
  if (kind === "list") return (draft as string[]).map((v) => v.trim()).filter(Boolean);
  const text = (draft as string).trim();
  if (!text) return null;
  return kind === "number" ? Number(text) : text;
}

export function Field(props: Props) {
  const { name, label, value, kind = "text", editable } = props;
  const [draft, setDraft] = useState<string | string[] | null>(null);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const form = useRef<HTMLFormElement>(null);
  const editButton = useRef<HTMLButtonElement>(null);
  const backToButton = useRef(false);
  const editing = draft !== null;
  // Keyboard users land in the control they asked to edit, and back on Edit when done.
  useEffect(() => {
    if (editing) form.current?.querySelector<HTMLElement>("input,select,textarea")?.focus();
    else if (backToButton.current) editButton.current?.focus();
    backToButton.current = false;
  }, [editing]);
  const shown = props.display ?? (Array.isArray(value) ? value.join(", ") || "—" : value ?? "—");
  const cancel = () => { backToButton.current = true; setDraft(null); setError(""); };
  const submit = async (e: Event) => {
    e.preventDefault();
    if (draft === null || busy) return;
    setBusy(true);
    try {
      await props.save(parsed(kind, draft));
      cancel();
    } catch (err) {
      setError(message(err, name));
    } finally { setBusy(false); }
  };
  if (draft === null) {
    return (
      <div class="crm-field" data-testid={`field-${name}`}>
        <b>{label}:</b> <span data-testid={`value-${name}`}>{shown}</span>
        {editable && <button ref={editButton} type="button" class="link edit" data-testid={`edit-${name}`}
          aria-label={t("crm.editField", { field: label })} onClick={() => setDraft(initial(kind, value))}>{t("act.edit")}</button>}
      </div>
    );
  }
  const errId = `crm-err-${name}`;
  const aria = error ? { "aria-invalid": true, "aria-describedby": errId } : {};
  const text = draft as string;
  const set = (v: string | string[]) => { setDraft(v); };
  let control: ComponentChildren;
  if (kind === "list") {
    const items = draft as string[];
    control = (
      <fieldset class="crm-list">
        <legend>{label}</legend>
        {items.map((item, i) => (
          <div class="row" key={i}>
            <input class="grow" data-testid={`input-${name}`} type={props.inputType || "text"} maxLength={props.maxLength}
              aria-label={`${label} ${i + 1}`} value={item} {...aria}
              onInput={(e) => set(items.map((v, j) => (j === i ? (e.target as HTMLInputElement).value : v)))} />
            <button type="button" data-testid={`remove-${name}`} aria-label={t("crm.removeItem", { value: item || `${label} ${i + 1}` })}
              onClick={() => set(items.filter((_, j) => j !== i))}>✕</button>
          </div>
        ))}
        <button type="button" data-testid={`add-${name}`} onClick={() => set([...items, ""])}>{t("crm.addItem")}</button>
      </fieldset>
    );
  } else if (kind === "select") {
    control = (
      <label>{label}
        <select data-testid={`input-${name}`} value={text} {...aria} onChange={(e) => set((e.target as HTMLSelectElement).value)}>
          {props.none !== undefined && <option value="">{props.none}</option>}
          {(props.options || []).map((o) => <option key={o.value} value={o.value}>{o.label}</option>)}
        </select></label>
    );
  } else if (kind === "textarea") {
    control = (
      <label>{label}
        <textarea rows={3} data-testid={`input-${name}`} maxLength={props.maxLength} value={text} {...aria}
          onInput={(e) => set((e.target as HTMLTextAreaElement).value)} /></label>
    );
  } else {
    control = (
      <label>{label}
        <input data-testid={`input-${name}`} type={kind === "number" ? "number" : props.inputType || "text"} maxLength={props.maxLength}
          min={kind === "number" ? 0 : undefined} step={kind === "number" ? "any" : undefined} value={text} {...aria}
          onInput={(e) => set((e.target as HTMLInputElement).value)} /></label>
    );
  }
  return (
    <form ref={form} class="crm-field editing" data-testid={`field-${name}`} onSubmit={submit} noValidate
      onKeyDown={(e) => { if (e.key === "Escape") { e.preventDefault(); cancel(); } }}>
      {control}
      {error && <p class="error" role="alert" id={errId} data-testid={`error-${name}`}>{error}</p>}
      <div class="row">
        <button class="primary" type="submit" data-testid={`save-${name}`} disabled={busy}>{t("act.save")}</button>
        <button type="button" data-testid={`cancel-${name}`} onClick={cancel}>{t("act.cancel")}</button>
      </div>
    </form>
  );
}
