/** Message ids: unique per tab and across reloads (1-64 characters, PROTOCOL.md 3.1). */
export function newMessageId(prefix = 'm'): string {
  const c = globalThis.crypto;
  const random =
    c && typeof c.randomUUID === 'function'
      ? c.randomUUID().replaceAll('-', '')
      : Math.random().toString(36).slice(2) + Date.now().toString(36);
  return `${prefix}_${random}`.slice(0, 64);
}
