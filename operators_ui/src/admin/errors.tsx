// A failed save shown next to what it is about: the field a 422 names (its `details`), else
// the form as a whole. The text is the server's until the console's own error texts land
// (api/http.ts errorText); only the field is worked out here.
export type FormError = { field: string | null; text: string };

/** The field names a 422's details point at: `[{loc: [..., "name"]}]` or `{field: "name"}`. */
function fieldOf(details: unknown): string | null {
  const first = Array.isArray(details) ? details[0] : details;
  if (!first || typeof first !== "object") return null;
  const d = first as { loc?: unknown[]; field?: unknown };
  if (typeof d.field === "string") return d.field.split(".").pop() || null;
  if (Array.isArray(d.loc) && d.loc.length) return String(d.loc[d.loc.length - 1]);
  return null;
}

export function formError(err: unknown): FormError {
  const text = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: string })?.code;
  // A taken title or e-mail is about that field although it is a 409.
  if (code === "title_taken") return { field: "title", text };
  if (code === "email_taken") return { field: "email", text };
  return { field: fieldOf((err as { details?: unknown })?.details), text };
}

/** The error's text when it is about `field` (for the line under that input). */
export const errorFor = (err: FormError | null, field: string): string | null =>
  err && err.field === field ? err.text : null;

/** The error under an input, read out when it appears. `field` "form": under the form, for an
 * error about none of the form's `fields` (those show their own). */
export function FieldError({ err, field, fields = [] }: { err: FormError | null; field: string; fields?: string[] }) {
  const text = field === "form" ? (err && !(err.field && fields.includes(err.field)) ? err.text : null) : errorFor(err, field);
  return text ? <p class="error field-error" role="alert" data-testid={`error-${field}`}>{text}</p> : null;
}
