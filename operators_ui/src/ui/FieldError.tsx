// What a refused save says, shown where it belongs (api/http.ts fieldError / errorText): under
// the field it names, or, with name "form", under the form when it names none of the form's
// `fields` (those show their own).
import { errorText, fieldError } from "../api/http";

export function FieldError({ err, name, id, fields = [] }: { err: unknown; name: string; id?: string; fields?: string[] }) {
  if (!err) return null;
  const text = name === "form"
    ? (fields.some((f) => fieldError(err, f)) ? null : errorText(err))
    : fieldError(err, name);
  return text ? <small class="error field-error" role="alert" id={id} data-testid={`field-error-${name}`}>{text}</small> : null;
}
