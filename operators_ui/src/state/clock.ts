// The one-second clock. Only components that show a time (waiting, offer countdown, typing)
// subscribe to it, so a tick re-renders them and nothing else.
import { useEffect, useState } from "preact/hooks";

const listeners = new Set<(now: number) => void>();
let timer: number | undefined;

function tick(): void {
  const now = Date.now();
  for (const fn of [...listeners]) fn(now);
}

/** The current time in ms, re-rendering the caller every second while it is mounted. */
export function useNow(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    listeners.add(setNow);
    if (timer === undefined) timer = window.setInterval(tick, 1000);
    return () => {
      listeners.delete(setNow);
      if (!listeners.size && timer !== undefined) { clearInterval(timer); timer = undefined; }
    };
  }, []);
  return now;
}
