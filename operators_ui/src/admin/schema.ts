// A channel kind's config schema (JSON Schema from GET /api/v1/channel-types, with the hub's
// x- annotations) turned into form field descriptors, and form input turned back into config.
// Pure and typed, so the channel form needs no knowledge of any kind: a new kind brings its
// own schema and the console shows its form unchanged.
import type { ConfigSchema, Localized, SchemaProperty } from "../api/types";

export type FieldKind =
  | "text" // a line of text
  | "secret" // a password input; on edit, blank keeps the stored value
  | "multiline" // a textarea
  | "integer"
  | "number"
  | "boolean" // a checkbox
  | "choice" // one of an enum: a select
  | "choices" // several of an enum: a checkbox group
  | "list"; // free strings, one per line (or comma separated)

export type FieldOption = { value: string; title: Localized };

export type Field = {
  key: string;
  kind: FieldKind;
  title: Localized;
  description?: Localized;
  required: boolean;
  /** Whether null is allowed (an optional field an edit may clear). */
  nullable: boolean;
  /** The schema's default, as the form shows it before anyone types. */
  initial?: unknown;
  minimum?: number;
  maximum?: number;
  options: FieldOption[];
};

/** A value the hub generates or shows once (a webhook secret): not in the form, shown after creation. */
export type ShownOnce = { key: string; title: Localized };

export type ParsedSchema = { fields: Field[]; once: ShownOnce[] };

type Defs = Record<string, SchemaProperty>;

/** Follows a local $ref and one-element allOf, merging the annotations beside them. */
function resolve(prop: SchemaProperty & { $ref?: string; allOf?: SchemaProperty[] }, defs: Defs): SchemaProperty {
  let out: SchemaProperty & { $ref?: string; allOf?: SchemaProperty[] } = prop;
  if (out.allOf && out.allOf.length === 1) {
    const { allOf, ...rest } = out;
    out = { ...resolve(allOf[0], defs), ...rest };
  }
  if (out.$ref) {
    const { $ref, ...rest } = out;
    const target = defs[$ref.replace(/^#\/(\$defs|definitions)\//, "")];
    out = { ...(target ? resolve(target, defs) : {}), ...rest };
  }
  return out;
}

/** The property without its "or null" alternative (how optional fields come out of pydantic). */
function isNullable(prop: SchemaProperty, defs: Defs): boolean {
  const resolved = resolve(prop, defs);
  if (resolved.anyOf) return resolved.anyOf.some((p) => resolve(p, defs).type === "null");
  return Array.isArray(resolved.type) && resolved.type.includes("null");
}

function nonNull(prop: SchemaProperty, defs: Defs): SchemaProperty {
  const resolved = resolve(prop, defs);
  if (resolved.anyOf) {
    const options = resolved.anyOf.map((p) => resolve(p, defs)).filter((p) => p.type !== "null");
    const { anyOf: _anyOf, ...rest } = resolved;
    if (options.length === 1) return { ...options[0], ...rest };
  }
  if (Array.isArray(resolved.type)) {
    const types = resolved.type.filter((x) => x !== "null");
    return { ...resolved, type: types[0] };
  }
  return resolved;
}

function titleOf(key: string, prop: SchemaProperty): Localized {
  if (prop["x-title"]) return prop["x-title"];
  const plain = prop.title || key.replace(/_/g, " ");
  return { ru: plain, en: plain };
}

function optionsOf(values: unknown[] | undefined, titles: Record<string, Localized> | undefined): FieldOption[] {
  return (values || []).map((v) => {
    const value = String(v);
    return { value, title: titles?.[value] || { ru: value, en: value } };
  });
}

/** The inclusive bounds a number input can enforce (an integer's exclusive bound moves by one). */
function bounds(prop: SchemaProperty): { minimum?: number; maximum?: number } {
  const step = prop.type === "integer" ? 1 : 0;
  return {
    minimum: prop.minimum ?? (prop.exclusiveMinimum === undefined ? undefined : prop.exclusiveMinimum + step),
    maximum: prop.maximum ?? (prop.exclusiveMaximum === undefined ? undefined : prop.exclusiveMaximum - step),
  };
}

function kindOf(prop: SchemaProperty): FieldKind {
  if (prop.type === "array") return prop.items?.enum ? "choices" : "list";
  if (prop.enum) return "choice";
  if (prop.type === "boolean") return "boolean";
  if (prop.type === "integer") return "integer";
  if (prop.type === "number") return "number";
  if (prop.writeOnly) return "secret";
  if (prop["x-multiline"]) return "multiline";
  return "text";
}

/** The form of a kind: its fields in schema order, and the values shown once after creation. */
export function parseSchema(schema: ConfigSchema & { $defs?: Defs; definitions?: Defs }): ParsedSchema {
  const defs: Defs = { ...(schema.definitions || {}), ...(schema.$defs || {}) };
  const required = new Set(schema.required || []);
  const fields: Field[] = [];
  const once: ShownOnce[] = [];
  for (const [key, raw] of Object.entries(schema.properties || {})) {
    const prop = nonNull(raw, defs);
    if (prop["x-generated"] || prop["x-once"]) { once.push({ key, title: titleOf(key, prop) }); continue; }
    const kind = kindOf(prop);
    const items = prop.items ? nonNull(prop.items, defs) : undefined;
    fields.push({
      key, kind, title: titleOf(key, prop), description: prop["x-description"],
      required: required.has(key), nullable: isNullable(raw, defs), initial: prop.default ?? undefined,
      ...bounds(prop),
      options: kind === "choices" ? optionsOf(items?.enum, items?.["x-enum-titles"] || prop["x-enum-titles"])
        : kind === "choice" ? optionsOf(prop.enum, prop["x-enum-titles"]) : [],
    });
  }
  return { fields, once };
}

/** What the form holds for one field: every value under its name (a checkbox group has several). */
export type RawValues = (key: string) => string[];

/**
 * The config to send from what the form holds. Creating, a blank field is left out (the hub
 * applies its default); editing, a blank secret is left out (the hub keeps the stored one), a
 * blank nullable field is sent as null (the admin cleared it) and any other blank is left out.
 */
export function collectConfig(fields: Field[], raw: RawValues, editing: boolean): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  for (const f of fields) {
    const values = raw(f.key);
    if (f.kind === "choices") { config[f.key] = values; continue; }
    if (f.kind === "boolean") { config[f.key] = values.includes("on") || values.includes("true"); continue; }
    const text = (values[0] ?? "").trim();
    if (!text) {
      if (editing && f.kind === "list") config[f.key] = [];
      else if (editing && f.kind !== "secret" && f.nullable) config[f.key] = null;
      continue;
    }
    if (f.kind === "list") config[f.key] = text.split(/[\n,]+/).map((x) => x.trim()).filter(Boolean);
    else if (f.kind === "integer" || f.kind === "number") config[f.key] = Number(text);
    else config[f.key] = text;
  }
  return config;
}

/** How a stored value shows in the form when editing (lists one per line). */
export function formValue(f: Field, value: unknown): string | string[] | boolean {
  if (f.kind === "boolean") return value === undefined ? !!f.initial : !!value;
  if (f.kind === "choices") return Array.isArray(value) ? value.map(String) : Array.isArray(f.initial) ? f.initial.map(String) : [];
  if (f.kind === "secret") return "";
  if (value === undefined || value === null) return f.initial === undefined || f.initial === null ? "" : Array.isArray(f.initial) ? f.initial.join("\n") : String(f.initial);
  return Array.isArray(value) ? value.join("\n") : String(value);
}
