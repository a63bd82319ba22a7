// Admin: the forms staff send into conversations (issue 17, point 4) — each field's key, its
// label in Russian and English, its type, its options when it is a choice, and whether it is
// required; an optional agreement the client accepts. Deleting asks first.
import { Fragment } from "preact";
import { useEffect, useState } from "preact/hooks";
import * as api from "../api/client";
import type { Form, FormDraft, FormFieldDraft, Texts } from "../api/types";
import { S } from "../state/store";
import { t } from "../i18n";
import { fail, toast } from "../state/ui";
import { FieldError } from "../ui/FieldError";
import { Confirm } from "./Confirm";

const TYPES = ["text", "email", "phone", "number", "select", "checkbox"];

/** A label in the console's language, else the other one. */
const labelOf = (x: Texts): string => (S.lang === "ru" ? x.ru || x.en : x.en || x.ru) || "";

const blankField = (n: number): FormFieldDraft => ({ key: `field_${n}`, label: { ru: null, en: null }, type: "text", options: null, required: false });
const blankForm = (): FormDraft => ({ name: "", fields: [blankField(1)], agreement_text: null });

/** A text in both languages as the hub takes it: an empty one is left out. */
function texts(v: Texts | null): Texts | null {
  const ru = v?.ru?.trim() || null, en = v?.en?.trim() || null;
  return ru || en ? { ru, en } : null;
}

/** The form as the hub takes it: empty labels left out, options only on a choice. */
function body(form: FormDraft): FormDraft {
  return {
    name: form.name,
    agreement_text: texts(form.agreement_text),
    fields: form.fields.map((f) => ({
      ...f,
      label: texts(f.label) ?? { ru: null, en: null },
      options: f.type === "select" ? (f.options || []).map((o) => ({ key: o.key, label: texts(o.label) ?? { ru: null, en: null } })) : null,
    })),
  };
}

export function TextsInput({ value, set, label, testid }: { value: Texts | null; set: (v: Texts) => void; label: string; testid: string }) {
  const v = value || { ru: null, en: null };
  return (
    <div class="row wrap texts">
      <label>{label} (RU)<input data-testid={`${testid}-ru`} value={v.ru ?? ""} onInput={(e) => set({ ...v, ru: (e.target as HTMLInputElement).value })} /></label>
      <label>{label} (EN)<input data-testid={`${testid}-en`} value={v.en ?? ""} onInput={(e) => set({ ...v, en: (e.target as HTMLInputElement).value })} /></label>
    </div>
  );
}

function FormEditor({ form, done }: { form: Form | FormDraft; done: (saved: boolean) => void }) {
  const [v, setV] = useState<FormDraft>({ name: form.name, fields: form.fields.map((f) => ({ ...f })), agreement_text: form.agreement_text });
  const [err, setErr] = useState<unknown>(null);
  const setField = (i: number, patch: Partial<FormFieldDraft>) =>
    setV({ ...v, fields: v.fields.map((f, j) => (j === i ? { ...f, ...patch } : f)) });
  const save = async () => {
    setErr(null);
    try {
      if ("id" in form) await api.patchForm(form.id, body(v));
      else await api.createForm(body(v));
      toast(t("forms.saved"));
      done(true);
    } catch (error) { setErr(error); }
  };
  return (
    <div class="card form" data-testid="form-editor">
      <label>{t("forms.name")}<input data-testid="form-name" value={v.name} onInput={(e) => setV({ ...v, name: (e.target as HTMLInputElement).value })} /></label>
      <FieldError err={err} name="name" />
      {v.fields.map((f, i) => (
        <fieldset key={i} data-testid="form-field"><legend>{t("forms.field", { n: String(i + 1) })}</legend>
          <label>{t("forms.key")}<input data-testid="form-field-key" value={f.key} onInput={(e) => setField(i, { key: (e.target as HTMLInputElement).value })} /></label>
          <FieldError err={err} name={`fields.${i}.key`} />
          <TextsInput value={f.label} label={t("forms.label")} testid="form-field-label" set={(label) => setField(i, { label })} />
          <FieldError err={err} name={`fields.${i}.label`} />
          <label>{t("forms.type")}<select data-testid="form-field-type" value={f.type} onChange={(e) => {
            const type = (e.target as HTMLSelectElement).value;
            setField(i, { type, options: type === "select" ? f.options || [{ key: "option_1", label: { ru: null, en: null } }] : null });
          }}>{TYPES.map((type) => <option key={type} value={type}>{t(`forms.type.${type}`)}</option>)}</select></label>
          <label class="inline"><input type="checkbox" data-testid="form-field-required" checked={f.required} onChange={() => setField(i, { required: !f.required })} />{t("forms.required")}</label>
          {f.type === "select" && <div data-testid="form-field-options"><b>{t("forms.options")}</b>
            {(f.options || []).map((o, k) => (
              <div key={k} class="row wrap option">
                <label>{t("forms.key")}<input data-testid="form-option-key" value={o.key} onInput={(e) => setField(i, { options: (f.options || []).map((x, j) => (j === k ? { ...x, key: (e.target as HTMLInputElement).value } : x)) })} /></label>
                <TextsInput value={o.label} label={t("forms.label")} testid="form-option-label" set={(label) => setField(i, { options: (f.options || []).map((x, j) => (j === k ? { ...x, label } : x)) })} />
                <button aria-label={`${t("act.delete")}: ${o.key}`} onClick={() => setField(i, { options: (f.options || []).filter((_, j) => j !== k) })}>×</button>
              </div>
            ))}
            <button data-testid="form-option-add" onClick={() => setField(i, { options: [...(f.options || []), { key: `option_${(f.options || []).length + 1}`, label: { ru: null, en: null } }] })}>{t("forms.addOption")}</button>
          </div>}
          <FieldError err={err} name={`fields.${i}`} />
          {v.fields.length > 1 && <button class="danger" data-testid="form-field-remove" onClick={() => setV({ ...v, fields: v.fields.filter((_, j) => j !== i) })}>{t("forms.removeField")}</button>}
        </fieldset>
      ))}
      <button data-testid="form-field-add" onClick={() => setV({ ...v, fields: [...v.fields, blankField(v.fields.length + 1)] })}>{t("forms.addField")}</button>
      <FieldError err={err} name="fields" />
      <TextsInput value={v.agreement_text} label={t("forms.agreement")} testid="form-agreement" set={(agreement_text) => setV({ ...v, agreement_text })} />
      <FieldError err={err} name="form" fields={["name", "fields", "agreement_text"]} />
      <div class="row"><button class="primary" data-testid="form-save" onClick={save}>{t("act.save")}</button><button onClick={() => done(false)}>{t("act.cancel")}</button></div>
    </div>
  );
}

export function Forms() {
  const [items, setItems] = useState<Form[]>([]);
  const [editing, setEditing] = useState<Form | FormDraft | null>(null);
  const [deleting, setDeleting] = useState<Form | null>(null);
  const reload = () => api.listForms().then(setItems).catch(fail);
  useEffect(() => { reload(); }, []);
  return (
    <div class="page">
      <h2>{t("forms.title")}</h2>
      <p class="hint">{t("forms.hint")}</p>
      {editing ? <FormEditor form={editing} done={(saved) => { setEditing(null); if (saved) reload(); }} /> : <>
        <button class="primary" data-testid="form-new" onClick={() => setEditing(blankForm())}>{t("forms.new")}</button>
        <table class="cards"><tbody>{items.map((f) => (
          <tr key={f.id} data-testid="form-row" data-form-id={f.id}>
            <td class="card-title"><b>{f.name}</b></td>
            <td data-label={t("forms.fields")}>{f.fields.map((x, i) => <Fragment key={x.key}>{i ? ", " : ""}{labelOf(x.label)}{x.required ? " *" : ""}</Fragment>)}</td>
            <td><div class="row wrap">
              <button data-testid="form-edit" aria-label={`${t("act.edit")}: ${f.name}`} onClick={() => setEditing(f)}>{t("act.edit")}</button>
              <button class="danger" data-testid="form-delete" aria-label={`${t("act.delete")}: ${f.name}`} onClick={() => setDeleting(f)}>{t("act.delete")}</button>
            </div></td>
          </tr>
        ))}</tbody></table>
        {!items.length && <p class="empty">{t("forms.none")}</p>}
      </>}
      {deleting && (
        <Confirm testid="form-delete-dialog" title={t("forms.deleteTitle", { name: deleting.name })} action={t("act.delete")} close={() => setDeleting(null)}
          run={async () => { await api.deleteForm(deleting.id); reload(); }} />
      )}
    </div>
  );
}
