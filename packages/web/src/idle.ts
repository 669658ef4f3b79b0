/**
 * Idle sign-out (DESIGN §1.4: 30 minutes), with a warning a minute before. The idle time can be
 * shortened for tests and demonstrations with `?idleSeconds=N` in the page's URL or the
 * localStorage item `verbatim.idleSeconds` (the URL wins); the warning comes min(60 s, half the
 * idle time) before the end.
 */
export const DEFAULT_IDLE_SECONDS = 30 * 60;

export function idleSeconds(location: Location, storage: Storage): number {
  const fromUrl = new URLSearchParams(location.search).get('idleSeconds');
  const text = fromUrl ?? storage.getItem('verbatim.idleSeconds');
  const value = text === null ? Number.NaN : Number(text);
  return Number.isFinite(value) && value > 0 ? value : DEFAULT_IDLE_SECONDS;
}

export function warningSeconds(idle: number): number {
  return Math.min(60, idle / 2);
}
