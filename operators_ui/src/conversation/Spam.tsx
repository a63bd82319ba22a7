// Spam, blocked clients and the supervisor's rating in a conversation (docs/spam.md): the
// header's Spam action (confirmed first), the marks a list row and the header show, and the
// stars a supervisor rates a closed conversation with.
import { useState } from "preact/hooks";
import { Confirm } from "../admin/Confirm";
import * as api from "../api/client";
import { LocalError, errorText, fieldError } from "../api/http";
import type { Conv } from "../api/types";
import { t } from "../i18n";
import { upsert } from "../state/conversations";
import { isAdmin } from "../state/session";
import { S } from "../state/store";
import { Rating } from "../ui/Rating";

/** Runs a hub call for a dialog, failing with the text the user reads (their language). */
export async function inTheirWords<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw new LocalError(errorText(err));
  }
}

/** Whether the user may mark it spam: who takes part, the line's staff and admins (the hub's
 * rule, hub/conversations/spam.py). */
export function marksSpam(c: Conv): boolean {
  const me = S.me!.id;
  if (isAdmin() || c.assignee_id === me || c.participants.some((p) => p.user_id === me)) return true;
  const line = S.lines.find((l) => l.id === c.line_id);
  return !!line && (line.operators.includes(me) || line.supervisors.includes(me));
}

/** "Spam": closes without the closing text or the rating request, once confirmed. */
export function SpamAction({ c }: { c: Conv }) {
  const [asking, setAsking] = useState(false);
  return (
    <>
      <button data-testid="spam" onClick={() => setAsking(true)}>{t("act.spam")}</button>
      {asking && (
        <Confirm testid="spam-dialog" title={t("spam.title")} action={t("spam.confirm")} close={() => setAsking(false)}
          run={() => inTheirWords(async () => upsert(await api.markSpam(c.id)))}>
          <p>{t("spam.text")}</p>
        </Confirm>
      )}
    </>
  );
}

/** What sets the conversation apart: a blocked client, a spam close, the supervisor's rating. */
export function Marks({ c }: { c: Conv }) {
  return (
    <>
      {c.client.blocked && c.status !== "closed" && <span class="badge blocked" data-testid="blocked-badge">{t("conv.blocked")}</span>}
      {c.status === "closed" && c.close_reason === "spam" && <span class="badge spam" data-testid="spam-badge">{t("conv.spam")}</span>}
      <Rating csat={c.rating} comment by="supervisor" />
    </>
  );
}

/** A supervisor's 1–5 stars and comment on a closed conversation; rating again replaces it. */
export function RateForm({ c }: { c: Conv }) {
  const [rating, setRating] = useState(c.rating?.rating ?? 0);
  const [comment, setComment] = useState(c.rating?.comment ?? "");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try { upsert(await api.rateConversation(c.id, rating, comment.trim())); } catch (err) { setError(err); } finally { setBusy(false); }
  };
  const problem = error ? fieldError(error, "rating") || fieldError(error, "comment") || errorText(error) : null;
  return (
    <form class="rate-form" data-testid="rate-form" onSubmit={save}>
      <fieldset class="rate">
        <legend>{t(c.rating ? "rating.again" : "rating.title")}</legend>
        {[1, 2, 3, 4, 5].map((n) => (
          <label key={n} class={n <= rating ? "on" : ""}>
            <input type="radio" name={`rating-${c.id}`} value={n} checked={rating === n} data-testid={`rate-${n}`}
              onChange={() => setRating(n)} />
            <span aria-hidden="true">★</span><span class="sr-only">{t("rating.stars", { n })}</span>
          </label>
        ))}
      </fieldset>
      <label class="sr-only" for={`rate-comment-${c.id}`}>{t("rating.commentLabel")}</label>
      <textarea id={`rate-comment-${c.id}`} data-testid="rate-comment" rows={2} maxLength={2000} value={comment}
        placeholder={t("rating.commentLabel")} onInput={(e) => setComment((e.target as HTMLTextAreaElement).value)} />
      {problem && <p class="error" role="alert" data-testid="rate-error">{problem}</p>}
      <button class="primary" type="submit" data-testid="rate-save" disabled={busy || !rating}>{t("rating.save")}</button>
    </form>
  );
}
