// Icons shared by the console's screens.
import { t } from "../i18n";

// Line icons drawn with SVG (shapes after Feather, MIT): emoji fonts are not on every desktop.
const SHAPES: Record<string, preact.JSX.Element> = {
  clip: <path d="M21.4 11.1l-9.2 9.2a6 6 0 0 1-8.5-8.5l9.2-9.2a4 4 0 0 1 5.7 5.7l-9.2 9.2a2 2 0 0 1-2.8-2.8l8.5-8.5" />,
  lock: <><rect x="4" y="11" width="16" height="10" rx="2" /><path d="M8 11V7a4 4 0 0 1 8 0v4" /></>,
  smile: <><circle cx="12" cy="12" r="9" /><path d="M8 14s1.5 2 4 2 4-2 4-2M9 9h.01M15 9h.01" /></>,
  chat: <path d="M21 11.5a8.4 8.4 0 0 1-9 8.5 8.4 8.4 0 0 1-3.8-.9L3 21l1.9-5.2A8.4 8.4 0 0 1 12 3a8.5 8.5 0 0 1 9 8.5z" />,
  plane: <path d="M22 2L11 13M22 2l-7 20-4-9-9-4z" />,
  mail: <><rect x="2" y="4" width="20" height="16" rx="2" /><path d="M22 6l-10 7L2 6" /></>,
  code: <path d="M16 18l6-6-6-6M8 6l-6 6 6 6" />,
  bell: <path d="M18 8A6 6 0 0 0 6 8c0 7-3 9-3 9h18s-3-2-3-9M13.7 21a2 2 0 0 1-3.4 0" />,
  bellOff: <path d="M18 8A6 6 0 0 0 6 8c0 7-3 9-3 9h18s-3-2-3-9M13.7 21a2 2 0 0 1-3.4 0M2 2l20 20" />,
  bellPlus: <path d="M18 8A6 6 0 0 0 6 8c0 7-3 9-3 9h18s-3-2-3-9M13.7 21a2 2 0 0 1-3.4 0M19 1v6M16 4h6" />,
};

export function Icon({ name, size = 16 }: { name: keyof typeof SHAPES; size?: number }) {
  return (
    <svg class="icon" width={size} height={size} viewBox="0 0 24 24" fill="none" stroke="currentColor"
      stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">{SHAPES[name]}</svg>
  );
}

const CHANNEL_SHAPES: Record<string, string> = { telegram: "plane", email: "mail", widget: "chat", api: "code" };

export function ChannelIcon({ type }: { type: string }) {
  const shape = CHANNEL_SHAPES[type];
  // A kind the console has no string for (a new channel) is titled by its name.
  const key = `ch.type.${type}`;
  const title = t(key) === key ? type : t(key);
  return (
    <span class={`ch-icon ch-${type}`} title={title} data-channel={type}>
      {shape ? <Icon name={shape} size={14} /> : type === "vk" ? "VK" : "•"}
    </span>
  );
}
