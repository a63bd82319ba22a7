// The language switch of the header and the sign-in form.
import type { Lang } from "../api/types";
import { t } from "../i18n";
import { S } from "../state/store";
import { setLang } from "../state/ui";

export function LangSwitch() {
  return (
    <select data-testid="lang-switch" aria-label={t("nav.language")} value={S.lang}
      onChange={(e) => setLang((e.target as HTMLSelectElement).value as Lang)}>
      <option value="ru">Русский</option>
      <option value="en">English</option>
    </select>
  );
}
