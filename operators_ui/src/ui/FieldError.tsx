// What a refused save says about one form field (api/http.ts fieldError), shown under it.
import { fieldError } from "../api/http";

export function FieldError({ err, name, id }: { err: unknown; name: string; id?: string }) {
  const text = fieldError(err, name);
  return text ? <small class="error field-error" role="alert" id={id} data-testid={`field-error-${name}`}>{text}</small> : null;
}
