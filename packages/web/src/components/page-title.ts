import { useEffect } from 'preact/hooks';

/** The tab's title names the page (screen readers announce it on navigation). */
export function usePageTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Verbatim`;
  }, [title]);
}
