// How the console writes durations, days and times in the current language.
import { locale, t } from "../i18n";

export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return t("time.s", { n: s });
  if (s < 3600) return t("time.m", { n: Math.floor(s / 60) });
  return t("time.h", { n: Math.floor(s / 3600) });
}

export function dayLabel(iso: string): string {
  const d = new Date(iso);
  const today = new Date();
  const yesterday = new Date(Date.now() - 86400000);
  if (d.toDateString() === today.toDateString()) return t("msg.today");
  if (d.toDateString() === yesterday.toDateString()) return t("msg.yesterday");
  return d.toLocaleDateString(locale(), { day: "numeric", month: "long", year: "numeric" });
}

/** A calendar day ("2026-12-31") in the console's language: "31 декабря 2026 г.". */
export function calendarDay(day: string): string {
  const d = new Date(`${day}T00:00:00`);
  return Number.isNaN(d.getTime()) ? day : d.toLocaleDateString(locale(), { day: "numeric", month: "long", year: "numeric" });
}

export function timeOfDay(iso: string): string {
  return new Date(iso).toLocaleTimeString(locale(), { hour: "2-digit", minute: "2-digit" });
}

export function dateTime(iso: string): string {
  return new Date(iso).toLocaleString(locale(), { dateStyle: "short", timeStyle: "short" });
}

/** A number in the console's locale ("1 234,5" in Russian); `digits`: fraction digits to show. */
export function number(n: number, digits?: number): string {
  return n.toLocaleString(locale(), digits === undefined ? {} : { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A file's size in kilobytes, rounded up, in the console's locale. */
export function fileSize(bytes: number): string {
  return t("unit.kb", { n: number(Math.ceil(bytes / 1024)) });
}
