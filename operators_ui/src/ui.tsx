// Small pieces shared by the console's screens.
import { t } from "./core";

const ICONS: Record<string, string> = { telegram: "✈", vk: "VK", email: "✉", widget: "💬", api: "⚙" };

export function ChannelIcon({ type }: { type: string }) {
  return <span class={`ch-icon ch-${type}`} title={t(`ch.type.${type}`)} data-channel={type}>{ICONS[type] || "•"}</span>;
}
