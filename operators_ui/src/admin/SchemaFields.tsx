// Renders a channel kind's form from its parsed schema (admin/schema.ts) and collects what the
// admin typed back into config. Labels come from the schema's x-title in the console's language.
import type { Localized } from "../api/types";
import { localized, t } from "../i18n";
import { FieldError } from "../ui/FieldError";
import { collectConfig, formValue, type Field } from "./schema";

function Described({ text }: { text?: Localized }) {
  return text ? <small class="muted field-help">{localized(text)}</small> : null;
}

// A control's label is its own element (label for=), not a wrapper: a select's options would
// otherwise be part of the label's text.
function Input({ f, value, editing, id }: { f: Field; value: unknown; editing: boolean; id: string }) {
  const shown = formValue(f, value);
  const testid = `channel-${f.key}`;
  const label = <label for={id}>{localized(f.title)}</label>;
  const required = f.required && !(editing && f.kind === "secret");
  switch (f.kind) {
    case "boolean":
      return <label class="inline"><input type="checkbox" name={f.key} data-testid={testid} defaultChecked={shown as boolean} />{localized(f.title)}</label>;
    case "choices":
      return (
        <fieldset data-testid={testid}><legend>{localized(f.title)}</legend>
          {f.options.map((o) => (
            <label key={o.value} class="inline"><input type="checkbox" name={f.key} value={o.value} defaultChecked={(shown as string[]).includes(o.value)} />{localized(o.title)}</label>
          ))}
        </fieldset>
      );
    case "choice":
      return (
        <>{label}
          <select id={id} name={f.key} data-testid={testid} required={required}>
            {!f.required && f.initial === undefined && <option value="">—</option>}
            {f.options.map((o) => <option key={o.value} value={o.value} selected={o.value === shown}>{localized(o.title)}</option>)}
          </select>
        </>
      );
    case "multiline":
    case "list":
      return <>{label}<textarea id={id} name={f.key} rows={2} data-testid={testid} required={required} defaultValue={shown as string} /></>;
    case "integer":
    case "number":
      return (
        <>{label}
          <input id={id} type="number" name={f.key} data-testid={testid} required={required} min={f.minimum} max={f.maximum}
            step={f.kind === "integer" ? 1 : "any"} defaultValue={shown as string} />
        </>
      );
    case "secret":
      return (
        <>{label}
          <input id={id} type="password" name={f.key} data-testid={testid} required={required} autocomplete="new-password"
            placeholder={editing ? t("ch.keepSecret") : undefined} />
        </>
      );
    default:
      return <>{label}<input id={id} type="text" name={f.key} data-testid={testid} required={required} defaultValue={shown as string} /></>;
  }
}

/** The inputs of one kind's config; `values` fills them when editing a channel. `idPrefix`
 * keeps element ids apart when two forms are on the page (a new channel, one being edited). */
export function SchemaFields({ fields, values, editing, idPrefix, err = null }: {
  fields: Field[]; values?: Record<string, unknown>; editing: boolean; idPrefix: string; err?: unknown;
}) {
  return (
    <>
      {fields.map((f) => (
        <div key={f.key} class="field" data-field={f.key}>
          <Input f={f} value={values?.[f.key]} editing={editing} id={`${idPrefix}-${f.key}`} />
          <Described text={f.description} />
          <FieldError err={err} name={f.key} />
        </div>
      ))}
    </>
  );
}

/** The config the form holds, by the rules of collectConfig. */
export function collectFromForm(fields: Field[], form: HTMLFormElement, editing: boolean): Record<string, unknown> {
  const data = new FormData(form);
  return collectConfig(fields, (key) => data.getAll(key).map(String), editing);
}
