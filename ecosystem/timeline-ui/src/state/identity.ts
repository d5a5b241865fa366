// Who this tab is to the others (PROTOCOL.md 10.1): the token's `sub` when it has one, else a pseudonym such as
// "Guest 4821" kept in localStorage, so the same browser keeps its name across tabs and reloads. The colour is
// derived from the name, so everyone sees the same person in the same colour without agreeing on anything.
import type { Access } from '../api';

const KEY = 'timeline-ui.guest-name';

export interface Identity {
  name: string;
  color: string;
}

function storage(): Storage | undefined {
  try {
    return globalThis.localStorage;
  } catch {
    return undefined; // storage disabled
  }
}

let memoryName: string | null = null; // no localStorage (tests, privacy settings): one name per page load

/** The browser's pseudonym, made once. */
export function guestName(random: () => number = Math.random): string {
  const s = storage();
  const kept = s?.getItem(KEY) ?? memoryName;
  if (kept) return kept;
  const name = `Guest ${1000 + Math.floor(random() * 9000)}`;
  memoryName = name;
  try {
    s?.setItem(KEY, name);
  } catch {
    /* full or disabled: the in-memory name stays for this page */
  }
  return name;
}

export function identityOf(access: Access, random?: () => number): Identity {
  const name = access.user ?? guestName(random);
  return { name, color: colorFor(name) };
}

/** A stable colour (`#rrggbb`, dark enough for white initials) for a name. */
export function colorFor(seed: string): string {
  let hash = 2166136261;
  for (let i = 0; i < seed.length; i++) hash = Math.imul(hash ^ seed.charCodeAt(i), 16777619);
  const hue = (hash >>> 0) % 360;
  return hslToHex(hue, 0.6, 0.46);
}

function hslToHex(h: number, s: number, l: number): string {
  const a = s * Math.min(l, 1 - l);
  const channel = (n: number) => {
    const k = (n + h / 30) % 12;
    const value = l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(value * 255)
      .toString(16)
      .padStart(2, '0');
  };
  return `#${channel(0)}${channel(8)}${channel(4)}`;
}
