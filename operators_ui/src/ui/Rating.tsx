// The client's rating of a conversation as staff see it: five stars, read out as "n of 5", and
// their comment when they left one.
import type { Csat } from "../api/types";
import { t } from "../i18n";

export function Rating({ csat, comment = false }: { csat: Csat | null | undefined; comment?: boolean }) {
  if (!csat || csat.rating == null) return null;
  const n = csat.rating;
  return (
    <span class="rating" data-testid="csat" data-rating={n}>
      <span class="stars" role="img" aria-label={t("csat.rated", { n })} title={t("csat.rated", { n })}>
        {"★".repeat(n)}<span class="off">{"★".repeat(Math.max(0, 5 - n))}</span>
      </span>
      {comment && csat.comment && <q class="comment" data-testid="csat-comment" title={t("csat.comment")}>{csat.comment}</q>}
    </span>
  );
}
