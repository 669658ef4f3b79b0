import { usePageTitle } from '../components/page-title.ts';

export function NotFoundPage() {
  usePageTitle('Page not found');
  return (
    <>
      <h1>Page not found</h1>
      <p>
        There is no page at this address. <a href="/">Go to Search and Play</a>.
      </p>
    </>
  );
}
