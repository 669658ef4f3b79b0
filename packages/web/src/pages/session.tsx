import { useRoute } from 'preact-iso';

import { usePageTitle } from '../components/page-title.ts';

/** One session (`/search/sessions/:id`). Placeholder: the player comes next. */
export function SessionPage() {
  const { params } = useRoute();
  const id = params.id ?? '';
  usePageTitle(`Session ${id}`);
  return (
    <>
      <h1>Session {id}</h1>
      <p>
        <a href="/">Back to Search and Play</a>
      </p>
    </>
  );
}
