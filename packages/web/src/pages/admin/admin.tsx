import { useRoute } from 'preact-iso';

import { usePageTitle } from '../../components/page-title.ts';

/** Administration (`/admin`, `/admin/:section`). Placeholder: the sections come next. */
export function AdminPage() {
  const { params } = useRoute();
  usePageTitle('Administration');
  return (
    <>
      <h1>Administration</h1>
      <p>
        {params.section === undefined ? 'Choose a section.' : `Section ${params.section} is not built yet.`}
      </p>
    </>
  );
}
