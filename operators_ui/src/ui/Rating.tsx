// A rating of a conversation as staff see it: five stars, read out as "n of 5", and the comment
// when one was left. ``by``: the client's (CSAT) or the supervisor's (docs/spam.md).
import { t } from "../i18n";

type Rated = { rating: number | null; comment?: string | null };

export function Rating({ csat, comment = false, by = "client" }: {
  csat: Rated | null | undefined; comment?: boolean; by?: "client" | "supervisor";
}) {
  if (!csat || csat.rating == null) return null;
  const n = csat.rating;
  const [testid, label, commentLabel] = by === "client"
    ? ["csat", t("csat.rated", { n }), t("csat.comment")]
    : ["supervisor-rating", t("rating.rated", { n }), t("rating.comment")];
  return (
    <span class={`rating by-${by}`} data-testid={testid} data-rating={n}>
      <span class="stars" role="img" aria-label={label} title={label}>
        {"★".repeat(n)}<span class="off">{"★".repeat(Math.max(0, 5 - n))}</span>
      </span>
      {comment && csat.comment && <q class="comment" data-testid={`${testid}-comment`} title={commentLabel}>{csat.comment}</q>}
    </span>
  );
}
